"""Exports of the filtered customer list: CSV streamed row by row, Excel (.xlsx) as a file.

Both take the same queryset as the list (customers.selectors.customer_list), include tags and
the organization's custom fields, and neutralize cells that a spreadsheet would run as a
formula. The CSV generator runs after the request (and its transaction) has ended, so it reads
each chunk inside `tenant_context(org)`; chunks follow the primary key (keyset), so every chunk
is one index range scan whatever the size of the list.
"""

import csv
import logging
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    "rfm_segment",
    "clv",
    "churn_probability",
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


def export_headers(custom_fields: list[CustomFieldDefinition]) -> list[str]:
    """Column names in the reader's language; the importer recognizes them in either."""
    labels = [_("ID")]
    labels += [capfirst(str(Customer._meta.get_field(name).verbose_name)) for name in FIELDS]
    labels[_OWNER_COLUMN:_OWNER_COLUMN] = [_("Owner"), _("Tags")]
    return labels + [d.label for d in custom_fields]


def _choice_labels() -> dict[str, dict[str, str]]:
    """{field: {stored value: label in the reader's language}} of the exported choice fields."""
    fields = [Customer._meta.get_field(name) for name in FIELDS]
    return {f.name: {k: str(v) for k, v in f.flatchoices} for f in fields if f.choices}


def export_rows(
    *, org: Organization, queryset: QuerySet[Customer], custom_fields: list[CustomFieldDefinition]
) -> Iterator[list[Any]]:
    """One list of Python values per customer, in id order, read a chunk at a time."""
    queryset = queryset.select_related("owner").only(
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
                value = getattr(customer, name)
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


def csv_response(
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    filename: str,
) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a BOM, so that Excel reads UTF-8 (and Chinese) correctly
        yield writer.writerow([neutralize(h) for h in export_headers(custom_fields)])
        for row in export_rows(org=org, queryset=queryset, custom_fields=custom_fields):
            yield writer.writerow([_text(value) for value in row])

    logger.info("customer export started: organization %s, format csv", org.pk)
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
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


def xlsx_response(
    *,
    org: Organization,
    queryset: QuerySet[Customer],
    custom_fields: list[CustomFieldDefinition],
    filename: str,
) -> FileResponse:
    """The whole list as one workbook, written row by row (openpyxl's write-only mode) to a
    temporary file; callers cap the row count first (settings.EXPORT_XLSX_MAX_ROWS)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Customers"))[:31])
    sheet.append([neutralize(h) for h in export_headers(custom_fields)])
    rows = 0
    for row in export_rows(org=org, queryset=queryset, custom_fields=custom_fields):
        sheet.append([_excel_value(value) for value in row])
        rows += 1
    file = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    workbook.save(file)
    file.seek(0)
    logger.info("customer export: organization %s, format xlsx, %s rows", org.pk, rows)
    return FileResponse(
        file,
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
