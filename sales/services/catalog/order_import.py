"""Importing order history from a CSV or Excel file, as a company moving from another system.

Columns are recognized by name (ORDER_COLUMNS lists the accepted names of each). Every row is
checked first; then either nothing is written when a row is bad (all-or-nothing), or the good
rows are written and the bad ones reported with their reason. Customers are matched by email,
else by name (the same normalization as the customers import); an unknown customer rejects the
row or is created, as the person importing chooses. Rows are written with bulk_create in
batches, in one transaction.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import IO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.exports import neutralize
from customers.import_files import ImportFileError, inspect_upload, read_rows
from customers.import_matching import FileKeys, existing_customers
from customers.matching import normalize_email, normalize_name
from customers.models import Customer, CustomerKind, LifecycleStage, Source
from sales.models import Order, OrderChannel, OrderStatus
from sales.services.catalog.totals import money
from tenancy.models import Organization, User

BATCH_SIZE = 1000
_IN_CHUNK = 500

# field: (label, accepted column names, normalized: lower case, "_" and "-" as spaces)
ORDER_COLUMNS: dict[str, tuple] = {
    "number": (
        gettext_lazy("Order number"),
        {"order number", "order", "order no", "order id", "number", "order #", "no"},
    ),
    "customer_email": (
        gettext_lazy("Customer email"),
        {"customer email", "email", "e mail", "customer e mail"},
    ),
    "customer_name": (
        gettext_lazy("Customer"),
        {"customer", "customer name", "name", "client", "company"},
    ),
    "ordered_at": (
        gettext_lazy("Date"),
        {"date", "order date", "ordered", "ordered at", "ordered on", "purchase date"},
    ),
    "total": (gettext_lazy("Total"), {"total", "amount", "order total", "revenue", "value"}),
    "cost": (gettext_lazy("Cost"), {"cost", "cost total", "costs", "cogs"}),
    "discount": (gettext_lazy("Discount"), {"discount", "discount total"}),
    "status": (gettext_lazy("Status"), {"status", "order status", "state"}),
    "channel": (gettext_lazy("Channel"), {"channel", "sales channel", "source"}),
    "gift": (gettext_lazy("Gift"), {"gift", "is gift", "gift order"}),
}
REQUIRED = ("number", "ordered_at", "total")

STATUS_WORDS = {
    OrderStatus.COMPLETED: {
        "completed",
        "complete",
        "paid",
        "done",
        "fulfilled",
        "shipped",
        "delivered",
    },
    OrderStatus.CANCELLED: {"cancelled", "canceled", "void", "voided"},
    OrderStatus.RETURNED: {"returned", "refunded", "return", "refund"},
}
TRUE_WORDS = {"yes", "y", "true", "1", "x", "gift"}
FALSE_WORDS = {"no", "n", "false", "0", ""}
_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}\s*|\s*[A-Za-z]{3}$")
_AMOUNT = re.compile(r"-?(?=[\d.,]*\d)[\d.,]+")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M")


class UnknownCustomers:
    REJECT = "reject"
    CREATE = "create"


@dataclass(frozen=True)
class ImportOptions:
    unknown_customers: str = UnknownCustomers.REJECT
    all_or_nothing: bool = False
    day_first: bool = False  # 03/04/2024 is the 3rd of April (else March 4th)
    default_channel: str = OrderChannel.WEB


@dataclass
class RejectedRow:
    row: int
    reason: str
    cells: list[str]


@dataclass
class ImportResult:
    headers: list[str]
    total_rows: int = 0
    orders_created: int = 0
    customers_created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    written: bool = False  # False when all-or-nothing met a bad row

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)


@dataclass
class _Row:
    number: int
    cells: list[str]
    order_number: str
    email: str
    name: str
    ordered_at: datetime
    total: Decimal
    cost: Decimal | None
    discount: Decimal
    status: str
    channel: str
    is_gift: bool

    @property
    def customer_key(self) -> tuple[str, str]:
        return ("email", self.email) if self.email else ("name", normalize_name(self.name))


# --- Reading the columns ----------------------------------------------------------------------


def _normal_header(name: str) -> str:
    return " ".join(re.sub(r"[_\-]", " ", name).lower().split())


def map_columns(headers: list[str]) -> dict[str, int]:
    """{field: column index} for the recognized columns; raises ImportFileError when a required
    one is missing (naming the names it accepts)."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        normal = _normal_header(header)
        for name, (_label, accepted) in ORDER_COLUMNS.items():
            if normal in accepted and name not in mapping:
                mapping[name] = index
                break
    missing = [name for name in REQUIRED if name not in mapping]
    if "customer_email" not in mapping and "customer_name" not in mapping:
        missing.insert(1, "customer_name")
    if missing:
        raise ImportFileError(
            _("The file needs these columns: %(columns)s.")
            % {"columns": ", ".join(str(ORDER_COLUMNS[name][0]) for name in missing)}
        )
    return mapping


def parse_money(text: str) -> Decimal:
    """ "1,234.50", "$1234.5", "1.234,50" or "1 234,50" as a Decimal; raises ValueError."""
    cleaned = _CURRENCY_CODE.sub("", text.strip())
    cleaned = re.sub(r"[\s$€£¥'\u00a0\u202f]", "", cleaned)
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError(text)
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif cleaned.count(",") == 1 and len(cleaned) - cleaned.rfind(",") - 1 in (1, 2):
        decimal_mark = ","
    else:
        decimal_mark = "."
    thousands = "." if decimal_mark == "," else ","
    cleaned = cleaned.replace(thousands, "").replace(decimal_mark, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise ValueError(text)
    return money(value)


def parse_when(text: str, *, day_first: bool) -> datetime:
    """A date, or a date and time, as an aware datetime in the current time zone."""
    text = " ".join(text.replace("T", " ").split())
    day_part, _space, time_part = text.partition(" ")
    slashed = ("%d/%m/%Y", "%m/%d/%Y") if day_first else ("%m/%d/%Y", "%d/%m/%Y")
    parsed_day: date | None = None
    for fmt in (*DATE_FORMATS, slashed[0]):
        try:
            parsed_day = datetime.strptime(day_part, fmt).date()
            break
        except ValueError:
            continue
    if parsed_day is None:
        raise ValueError(text)
    moment = time(0)
    if time_part:
        time_part = time_part.removesuffix("Z").split("+")[0].split(".")[0]
        for fmt in TIME_FORMATS:
            try:
                moment = datetime.strptime(time_part, fmt).time()
                break
            except ValueError:
                continue
        else:
            raise ValueError(text)
    return timezone.make_aware(datetime.combine(parsed_day, moment))


def _choice(text: str, words: dict[str, set[str]], default: str) -> str | None:
    value = text.strip().lower()
    if not value:
        return default
    for choice, accepted in words.items():
        if value in accepted:
            return choice
    return None


def _channel_words() -> dict[str, set[str]]:
    return {value: {value, str(label).lower()} for value, label in OrderChannel.choices}


def _parse_row(number: int, cells: list[str], columns: dict[str, int], options: ImportOptions):
    """A _Row, or the reason the row is rejected."""

    def cell(name: str) -> str:
        return cells[columns[name]].strip() if name in columns else ""

    order_number = cell("number")
    if not order_number:
        return _("The order number is missing.")
    if len(order_number) > 40:
        return _("The order number is longer than 40 characters.")
    email, name = normalize_email(cell("customer_email")), cell("customer_name")
    if not email and "@" in name:
        email, name = normalize_email(name), ""
    if not email and not normalize_name(name):
        return _("The customer is missing.")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return _("The customer email %(email)s is not valid.") % {"email": email}
    if not cell("ordered_at"):
        return _("The date is missing.")
    try:
        ordered_at = parse_when(cell("ordered_at"), day_first=options.day_first)
    except ValueError:
        return _("%(value)s is not a date.") % {"value": cell("ordered_at")}
    amounts: dict[str, Decimal | None] = {}
    for key in ("total", "cost", "discount"):
        raw = cell(key)
        if not raw:
            if key == "total":
                return _("The total is missing.")
            amounts[key] = None
            continue
        try:
            amounts[key] = parse_money(raw)
        except ValueError:
            return _("%(value)s is not an amount.") % {"value": raw}
        if amounts[key] < 0:
            return _("%(value)s: amounts cannot be negative.") % {"value": raw}
    status = _choice(cell("status"), STATUS_WORDS, OrderStatus.COMPLETED)
    if status is None:
        return _("Unknown status %(value)s (use completed, cancelled or returned).") % {
            "value": cell("status")
        }
    channel = _choice(cell("channel"), _channel_words(), options.default_channel)
    if channel is None:
        return _("Unknown channel %(value)s.") % {"value": cell("channel")}
    gift = cell("gift").lower()
    if gift not in TRUE_WORDS | FALSE_WORDS:
        return _("%(value)s is not yes or no (gift).") % {"value": cell("gift")}
    return _Row(
        number=number,
        cells=cells,
        order_number=order_number,
        email=email,
        name=name[:200],
        ordered_at=ordered_at,
        total=amounts["total"],
        cost=amounts["cost"],
        discount=amounts["discount"] or Decimal("0"),
        status=status,
        channel=channel,
        is_gift=gift in TRUE_WORDS,
    )


# --- Checking and writing ---------------------------------------------------------------------


def _chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing_numbers(numbers: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(numbers), _IN_CHUNK):
        found.update(Order.objects.filter(number__in=chunk).values_list("number", flat=True))
    return found


def _match_customers(rows: list[_Row]) -> dict[tuple[str, str], int]:
    keys = FileKeys()
    for row in rows:
        kind, value = row.customer_key
        (keys.emails if kind == "email" else keys.names).add(value)
    index = existing_customers(keys)
    return {
        **{("email", key): pk for key, pk in index.email.items()},
        **{("name", key): pk for key, pk in index.name.items()},
    }


def _new_customers(org: Organization, rows: list[_Row], by: User | None) -> dict:
    """Create one customer per unknown key (first row's name and email); {key: id}."""
    first: dict[tuple[str, str], _Row] = {}
    for row in rows:
        first.setdefault(row.customer_key, row)
    now = timezone.now()
    customers = [
        Customer(
            organization=org,
            kind=CustomerKind.COMPANY if row.name else CustomerKind.INDIVIDUAL,
            name=row.name or row.email,
            email=row.email,
            source=Source.IMPORT,
            lifecycle_stage=LifecycleStage.ACTIVE,
            stage_changed_at=now,
            created_at=now,
            created_by=by,
        )
        for row in first.values()
    ]
    created = Customer.objects.bulk_create(customers, batch_size=BATCH_SIZE)
    return {key: customer.pk for key, customer in zip(first, created, strict=True)}


def _read(stream: IO[bytes], file_name: str, max_rows: int) -> tuple[list[str], Iterator]:
    inspection = inspect_upload(stream, file_name=file_name, max_rows=max_rows)
    stream.seek(0)
    return read_rows(stream, inspection.format)


@transaction.atomic
def order_import(
    *,
    org: Organization,
    stream: IO[bytes],
    file_name: str,
    options: ImportOptions,
    by: User | None,
    max_rows: int = 200_000,
) -> ImportResult:
    """Import the orders of an uploaded file into `org`. Raises ImportFileError when the file
    itself cannot be read or lacks a required column; bad rows are reported in the result."""
    headers, records = _read(stream, file_name, max_rows)
    columns = map_columns(headers)
    result = ImportResult(headers=headers)
    good: list[_Row] = []
    seen: set[str] = set()
    for number, cells in records:
        result.total_rows += 1
        parsed = _parse_row(number, cells, columns, options)
        if isinstance(parsed, str):
            result.rejected.append(RejectedRow(number, parsed, cells))
        elif parsed.order_number in seen:
            result.rejected.append(
                RejectedRow(number, _("The order number appears twice in the file."), cells)
            )
        else:
            seen.add(parsed.order_number)
            good.append(parsed)

    taken = _existing_numbers(seen)
    customer_ids = _match_customers(good)
    unknown: list[_Row] = []
    kept: list[_Row] = []
    for row in good:
        if row.order_number in taken:
            result.rejected.append(
                RejectedRow(row.number, _("An order with this number exists already."), row.cells)
            )
        elif row.customer_key not in customer_ids:
            if options.unknown_customers == UnknownCustomers.CREATE:
                unknown.append(row)
                kept.append(row)
            else:
                result.rejected.append(
                    RejectedRow(
                        row.number,
                        _("No customer matches %(who)s.") % {"who": row.email or row.name},
                        row.cells,
                    )
                )
        else:
            kept.append(row)
    result.rejected.sort(key=lambda rejected: rejected.row)
    if options.all_or_nothing and result.rejected:
        return result

    if unknown:
        new = _new_customers(org, unknown, by)
        customer_ids.update(new)
        result.customers_created = len(new)
    for chunk in _chunks(kept, BATCH_SIZE):
        Order.objects.bulk_create(
            [
                Order(
                    organization=org,
                    number=row.order_number,
                    customer_id=customer_ids[row.customer_key],
                    ordered_at=row.ordered_at,
                    status=row.status,
                    channel=row.channel,
                    is_gift=row.is_gift,
                    subtotal=row.total + row.discount,
                    discount=row.discount,
                    total=row.total,
                    cost_total=row.cost,
                )
                for row in chunk
            ]
        )
    result.orders_created = len(kept)
    result.written = True
    return result


def rejected_report_csv(result: ImportResult) -> str:
    """The rejected rows as CSV: row number, reason, then the row as it was in the file (cells a
    spreadsheet would run as formulas are neutralized)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Row"), _("Reason"), *result.headers])
    for rejected in result.rejected:
        writer.writerow(
            [rejected.row, neutralize(rejected.reason), *map(neutralize, rejected.cells)]
        )
    return buffer.getvalue()


def check_file_name(file_name: str) -> None:
    """Raise ValidationError for a file type the import cannot read."""
    from customers.import_files import check_upload_name

    try:
        check_upload_name(file_name)
    except ImportFileError as error:
        raise ValidationError(error.messages) from None
