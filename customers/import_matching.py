"""Finding the record a row of an import refers to, in the database or earlier in the file.

Rows match by exact email, then by normalized phone, then by normalized name (for contacts:
name and company). The database side is loaded once per import, and only for the keys the file
contains (chunked `__in` queries on indexed columns; names, which are normalized in Python, are
streamed and only the ones the file mentions are kept), so a query per row is never needed and
memory stays proportional to the file, not to the organization.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from customers.import_fields import CleanRow
from customers.matching import normalize_name
from customers.models import Contact, Customer

IN_CHUNK = 2000
KEYS = ("email", "phone", "name")


@dataclass(eq=False)
class NewRecord:
    """A record the import will create: its column values until it is written, then its id."""

    values: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    company: "NewRecord | None" = None  # a contact's company, created by the same import
    pk: int | None = None


@dataclass(eq=False)
class Ref:
    """A record rows of the file point at: an existing one, or one this import creates."""

    row: int  # the first row of the file that pointed at it
    created: bool
    pk: int | None = None  # an existing record's id
    record: NewRecord | None = None  # a created record (its pk is set once written)

    @property
    def id(self) -> int | None:
        return self.record.pk if self.record is not None else self.pk


@dataclass
class Match:
    ref: Ref
    by: str  # "email", "phone" or "name"
    in_file: bool  # found through an earlier row of the file


@dataclass
class Index:
    """Key -> record, for each of email, phone and name."""

    email: dict = field(default_factory=dict)
    phone: dict = field(default_factory=dict)
    name: dict = field(default_factory=dict)


def row_keys(row: CleanRow) -> tuple[tuple[str, object], ...]:
    name = (row.name_key, row.company_key) if row.company_key else row.name_key
    return (("email", row.email_key), ("phone", row.phone_key), ("name", name))


class Matcher:
    """Matches rows against existing records, then against earlier rows of the same file."""

    def __init__(self, existing: Index) -> None:
        self.existing = existing
        self.seen = Index()

    def find(self, row: CleanRow) -> Match | None:
        for by, key in row_keys(row):
            if not key or (isinstance(key, tuple) and not key[0]):
                continue
            pk = getattr(self.existing, by).get(key)
            if pk is not None:
                return Match(Ref(row=row.number, created=False, pk=pk), by, in_file=False)
            ref = getattr(self.seen, by).get(key)
            if ref is not None:
                return Match(ref, by, in_file=True)
        return None

    def remember(self, row: CleanRow, ref: Ref) -> None:
        """Later rows with one of this row's keys point at `ref` (the first row wins)."""
        for by, key in row_keys(row):
            if key and not (isinstance(key, tuple) and not key[0]):
                getattr(self.seen, by).setdefault(key, ref)


def _chunks(values: Iterable, size: int = IN_CHUNK) -> Iterator[list]:
    chunk: list = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def live_customers() -> models.QuerySet[Customer]:
    return Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


def _lookup(queryset: models.QuerySet, column: str, keys: set[str]) -> dict[str, int]:
    """{key: lowest id} for the rows whose `column` is one of `keys`."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(keys)):
        rows = queryset.filter(**{f"{column}__in": chunk}).values_list(column, "pk")
        for key, pk in rows.order_by("pk"):
            found.setdefault(key, pk)
    return found


# The company suffixes customers.matching.normalize_name drops, and the characters the
# customers' name_key column (customers.models.name_key_expression) drops.
_SUFFIXES = (
    *("inc", "incorporated", "llc", "ltd", "limited", "gmbh", "corp", "corporation"),
    *("co", "company", "plc", "sa", "ag", "bv"),
)
_NAME_KEY_DROPS = str.maketrans("", "", " ,.-'&/()")
# Up to this many names are looked up through the name_key index; more are found in one pass
# over the organization's names, which costs less than thousands of index probes.
INDEXED_NAMES = 500


def _name_key(text: str) -> str:
    return text.lower().translate(_NAME_KEY_DROPS)


def _names(wanted: set[str]) -> dict[str, int]:
    """{normalized name: lowest id} of the live customers whose normalized name is wanted.

    A few names (a preview) are looked up through the indexed name_key column, trying each
    name with and without the company suffixes normalize_name drops; many names (a whole
    file) are matched in one streamed pass over the names, which keeps only the hits.
    Either way the match itself is normalize_name(stored name) == wanted."""
    found: dict[str, int] = {}
    if not wanted:
        return found
    rows = live_customers().order_by("pk").values_list("pk", "name")
    if len(wanted) <= INDEXED_NAMES:
        candidates = {_name_key(name + suffix) for name in wanted for suffix in ("", *_SUFFIXES)}
        rows = rows.filter(name_key__in=sorted(candidates))
    for pk, name in rows.iterator(chunk_size=10_000):
        key = normalize_name(name)
        if key in wanted and key not in found:
            found[key] = pk
    return found


@dataclass
class FileKeys:
    """The matching keys a whole file contains, collected in a first pass over it."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    companies: set[str] = field(default_factory=set)
    contact_names: set[tuple[str, str]] = field(default_factory=set)

    def add(self, row: CleanRow) -> None:
        if row.email_key:
            self.emails.add(row.email_key)
        if row.phone_key:
            self.phones.add(row.phone_key)
        if row.company_key:
            self.companies.add(row.company_key)
            if row.name_key:
                self.contact_names.add((row.name_key, row.company_key))
        elif row.name_key:
            self.names.add(row.name_key)


def existing_customers(keys: FileKeys) -> Index:
    return Index(
        email=_lookup(live_customers(), "email", keys.emails),
        phone=_lookup(live_customers(), "phone_normalized", keys.phones),
        name=_names(keys.names),
    )


def existing_companies(keys: FileKeys) -> dict[str, int]:
    """{normalized company name: customer id} for the companies a contacts file names."""
    return _names(keys.companies)


def existing_contacts(keys: FileKeys, companies: dict[str, int]) -> Index:
    contacts = Contact.objects.filter(
        customer__merged_into__isnull=True, customer__erased_at__isnull=True
    )
    index = Index(
        email=_lookup(contacts, "email", keys.emails),
        phone=_lookup(contacts, "phone_normalized", keys.phones),
    )
    wanted = {key for key in keys.contact_names if key[1] in companies}
    company_of = {pk: key for key, pk in companies.items()}
    ids = sorted({companies[company] for _name, company in wanted})
    for chunk in _chunks(ids):
        people = contacts.filter(customer_id__in=chunk).order_by("pk")
        for pk, first, last, customer_id in people.values_list(
            "pk", "first_name", "last_name", "customer_id"
        ):
            key = (normalize_name(f"{first} {last}"), company_of[customer_id])
            if key in wanted:
                index.name.setdefault(key, pk)
    return index
