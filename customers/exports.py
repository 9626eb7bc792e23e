"""Exports of the filtered customer list: CSV (streamed, or written to a file) and Excel (.xlsx).

Both take the same queryset as the list (customers.selectors.customer_list), include tags and
the organization's custom fields, and neutralize cells that a spreadsheet would run as a
formula. Rows are read a chunk at a time, each chunk inside `tenant_context(org)` (a streamed
CSV is produced after the request and its transaction have ended); chunks follow the primary
key (keyset), so every chunk is one index range scan whatever the size of the list.

A request exports a small list itself; a larger one becomes a background job that writes a
file with the same functions (customers.export_jobs).
"""

import csv
import logging
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from customers.models import Customer, CustomerTag, CustomFieldDefinition
from tenancy.context import tenant_context
from tenancy.models import Organization

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

FIELDS = (
    "name",
    "kind",
    "email",
    "phone",
    "website",
    "industry",
    "company_size",
    "city",
    "region",
    "country",
    "lifecycle_stage",
    "source",
    "acquisition_channel",
    "birth_date",
    "gender",
    "income_band",
    "household_size",
    "interests",
    "needs",
    "preferred_channel",
    "preferred_contact_time",
    "credit_limit",
    "credit_rating",
    "payment_terms",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "scores__rfm_segment",  # the scores: analytics.CustomerScore
    "scores__clv",
    "scores__churn_probability",
    "created_at",
    "updated_at",
)
# Owner and tags come right after the lifecycle stage (the ID column is first).
_OWNER_COLUMN = FIELDS.index("lifecycle_stage") + 2


def neutralize(value: Any) -> Any:
    """Text a spreadsheet would read as a formula (=, +, -, @, tab, CR first) gets a leading
    single quote; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _field(name: str):
    """The model field of an exported column (`scores__clv` is the score's lifetime value)."""
    if name.startswith("scores__"):
        return Customer.scores.related.related_model._meta.get_field(name.removeprefix("scores__"))
    return Customer._meta.get_field(name)


def _value(customer: Customer, name: str) -> Any:
    if name.startswith("scores__"):
        score = getattr(customer, "scores", None)  # None when the customer is not scored
        return getattr(score, name.removeprefix("scores__")) if score is not None else None
    return getattr(customer, name)


def export_headers(custom_fields: list[CustomFieldDefinition]) -> list[str]:
    """Column names in the reader's language; the importer recognizes them in either."""
    labels = [_("ID")]
    labels += [capfirst(str(_field(name).verbose_name)) for name in FIELDS]
    labels[_OWNER_COLUMN:_OWNER_COLUMN] = [_("Owner"), _("Tags")]
    return labels + [d.label for d in custom_fields]


def _choice_labels() -> dict[str, dict[str, str]]:
    """{field: {stored value: label in the reader's language}} of the exported choice fields."""
    return {
        name: {k: str(v) for k, v in _field(name).flatchoices}
        for name in FIELDS
        if _field(name).choices
    }


def export_rows(
    *, org: Organization, queryset: QuerySet[Customer], custom_fields: list[CustomFieldDefinition]
) -> Iterator[list[Any]]:
    """One list of Python values per customer, in id order, read a chunk at a time."""
    queryset = queryset.select_related("owner", "scores").only(
        "id", "organization_id", *FIELDS, "custom", "owner__email"
    )
    keys = [d.key for d in custom_fields]
    labels = _choice_labels()
    columns = [(name, labels.get(name)) for name in FIELDS]
    after = 0
    while True:
        with tenant_context(org):
            chunk = list(queryset.filter(pk__gt=after).order_by("pk")[:CHUNK_SIZE])
            tags: dict[int, list[str]] = {}
            links = CustomerTag.objects.filter(customer_id__in=[c.pk for c in chunk])
            for customer_id, name in links.values_list("customer_id", "tag__name").order_by(
                "tag__name"
            ):
                tags.setdefault(customer_id, []).append(name)
        if not chunk:
            return
        for customer in chunk:
            row: list[Any] = [customer.pk]
            for name, choices in columns:
                value = _value(customer, name)
                row.append(choices.get(value, value) if choices and value else value)
            row[_OWNER_COLUMN:_OWNER_COLUMN] = [
                customer.owner.email if customer.owner_id else "",
                ", ".join(tags.get(customer.pk, [])),
            ]
            custom = customer.custom or {}
            row += [custom.get(key) for key in keys]
            yield row
        after = chunk[-1].pk


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, (date, Decimal, int, float)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return neutralize(str(value))


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


Progress = Callable[[int], None]


def csv_lines(
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    progress: Progress | None = None,
) -> Iterator[str]:
    """The CSV text: a byte-order mark, the header line, then one line per customer.

    `progress`, if given, is called with the number of rows written after every chunk.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so that Excel reads UTF-8 (and Chinese) correctly
    yield writer.writerow([neutralize(h) for h in export_headers(custom_fields)])
    rows = 0
    for row in export_rows(org=org, queryset=queryset, custom_fields=custom_fields):
        yield writer.writerow([_text(value) for value in row])
        rows += 1
        if progress and rows % CHUNK_SIZE == 0:
            progress(rows)
    if progress:
        progress(rows)


def csv_response(
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    filename: str,
) -> StreamingHttpResponse:
    """The list streamed as CSV; callers keep it small (settings.EXPORT_IMMEDIATE_MAX_ROWS),
    since gunicorn's sync workers kill a response that outlasts their timeout."""
    logger.info("customer export started: organization %s, format csv", org.pk)
    response = StreamingHttpResponse(
        csv_lines(org=org, queryset=queryset, custom_fields=custom_fields),
        content_type=CONTENT_TYPES["csv"],
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _excel_value(value: Any) -> Any:
    if value == "":
        return None  # openpyxl writes no cell at all for None: a smaller, faster file
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, str):
        return neutralize(value)
    if isinstance(value, (dict, list)):
        return neutralize(str(value))
    return value


def xlsx_write(
    file: IO[bytes],
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    progress: Progress | None = None,
) -> int:
    """Write the list as one workbook to `file`, row by row (openpyxl's write-only mode keeps
    memory flat); returns the number of customers written. `progress` as for csv_lines."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Customers"))[:31])
    sheet.append([neutralize(h) for h in export_headers(custom_fields)])
    rows = 0
    for row in export_rows(org=org, queryset=queryset, custom_fields=custom_fields):
        sheet.append([_excel_value(value) for value in row])
        rows += 1
        if progress and rows % CHUNK_SIZE == 0:
            progress(rows)
    workbook.save(file)
    if progress:
        progress(rows)
    return rows


def xlsx_response(
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    filename: str,
) -> FileResponse:
    """The whole list as one workbook, written to a temporary file; callers cap the row count
    first (settings.EXPORT_XLSX_MAX_ROWS, and EXPORT_IMMEDIATE_MAX_ROWS in a request)."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    rows = xlsx_write(file, org=org, queryset=queryset, custom_fields=custom_fields)
    file.seek(0)
    logger.info("customer export: organization %s, format xlsx, %s rows", org.pk, rows)
    return FileResponse(
        file, as_attachment=True, filename=f"{filename}.xlsx", content_type=CONTENT_TYPES["xlsx"]
    )
