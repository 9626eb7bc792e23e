"""Duplicate customers: finding them at any size, merging two into one, undoing a merge.

Detection never compares all pairs. Each detector is one grouped or ordered SQL query that stops
after a page, walked with a keyset cursor:

- same email, same phone: GROUP BY the normalized value HAVING count > 1 over the
  (organization, value) index, then one query for the members of the page's groups (at most
  MAX_GROUP_MEMBERS each). A group of n customers gives n - 1 pairs, each member paired with the
  oldest one it has not been dismissed with.
- similar names, PostgreSQL: live customers walked in the order of Customer.name_key (the name
  in lower case without spaces or punctuation, indexed), each compared by pg_trgm similarity with
  its NAME_NEIGHBOURS predecessors. A page reads at most NAME_SCAN_ROWS rows, so its cost does
  not grow with the organization; near-identical names sort next to each other and are found.
  (Trigram operators cannot use their GIN index under row-level security, since they are not
  leakproof; plain text comparisons are, so the walk uses a btree.)
- similar names, SQLite (development): groups of equal `normalize_name` values.

A merge moves every related row of the merged customer to the survivor through MERGE_MOVERS,
records what it did in a CustomerMerge, and can be undone while nothing made that unsafe. Other
apps register their rows with `register_related` (a plain foreign key to the customer) or the
`merge_mover` decorator.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, F, FloatField, Func, Q, Value
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_site.pagination import decode_cursor, encode_cursor
from customers.history import field_label, history_event, history_record, snapshot
from customers.matching import normalize_email, normalize_name, normalize_phone
from customers.models import (
    LIVE_CUSTOMER,
    ChangeAction,
    ConsentEvent,
    Contact,
    Customer,
    CustomerMerge,
    CustomerTag,
    DuplicateDismissal,
    Interaction,
)
from tenancy.context import require_org
from tenancy.models import User

MAX_GROUP_MEMBERS = 10
NAME_SIMILARITY = 0.6
# Neighbours this similar are read back and also matched when their normalize_name is equal
# ("Acme Corporation" and "ACME Corp.", similarity 0.5).
NAME_CANDIDATE_SIMILARITY = 0.4
NAME_NEIGHBOURS = 3
NAME_SCAN_ROWS = 5000
# Customers compared with one customer's name: this many on each side in name_key order.
NAME_NEIGHBOURS_OF_ONE = 10

PAIR_COLUMNS = (
    "id",
    "organization_id",
    "kind",
    "name",
    "email",
    "phone",
    "phone_normalized",
    "city",
    "country",
    "lifecycle_stage",
    "created_at",
)

# The profile fields a person picks on the merge screen, in the order of the customer form.
MERGE_FIELDS = (
    "kind",
    "name",
    "email",
    "phone",
    "website",
    "owner",
    "lifecycle_stage",
    "source",
    "acquisition_channel",
    "industry",
    "company_size",
    "birth_date",
    "gender",
    "income_band",
    "household_size",
    "city",
    "region",
    "country",
    "interests",
    "needs",
    "preferred_channel",
    "preferred_contact_time",
    "credit_limit",
    "credit_rating",
    "payment_terms",
)
CONSENT_CHANNELS = ("email", "sms", "phone")
_CONSENT_FIELDS = tuple(
    f"consent_{channel}{suffix}"
    for channel in CONSENT_CHANNELS
    for suffix in ("", "_at", "_source")
)
# Everything a merge may change on the survivor, and so what an undo puts back.
_RESTORED_FIELDS = (*MERGE_FIELDS, "custom", "created_at", "stage_changed_at", *_CONSENT_FIELDS)


class MergeError(ValidationError):
    """A merge or an undo that cannot be done; the message says why, for the person asking."""


# --- Detection --------------------------------------------------------------------------------


class MatchKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"


MATCH_LABELS = {
    MatchKind.EMAIL: gettext_lazy("Same email"),
    MatchKind.PHONE: gettext_lazy("Same phone"),
    MatchKind.NAME: gettext_lazy("Similar name"),
}


@dataclass(frozen=True)
class MatchReason:
    kind: MatchKind
    score: float | None = None  # name similarity, 0..1

    @property
    def label(self) -> str:
        return str(MATCH_LABELS[self.kind])

    @property
    def percent(self) -> int | None:
        return round(self.score * 100) if self.score is not None else None


@dataclass
class DuplicatePair:
    """Two live customers that look like the same one; `a` is the older (lower id)."""

    a: Customer
    b: Customer
    reasons: list[MatchReason] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int]:
        return (self.a.pk, self.b.pk)

    @property
    def strength(self) -> float:
        return sum(1.0 if r.kind != MatchKind.NAME else (r.score or 0) for r in self.reasons)


@dataclass
class DuplicatePage:
    pairs: list[DuplicatePair]
    next_cursors: dict[str, str]  # reason -> opaque cursor of its next page; absent at the end


def _pair_key(x: int, y: int) -> tuple[int, int]:
    return (x, y) if x < y else (y, x)


def _live() -> models.QuerySet[Customer]:
    """Customers that may take part in a merge: not merged away, not erased."""
    return Customer.objects.filter(LIVE_CUSTOMER)


def _sqlite_normalize_name() -> Func:
    # SQLite has no trigram similarity: compare matching.normalize_name, registered as a function
    # of this connection (a development fallback; it reads the whole table).
    connection.ensure_connection()
    connection.connection.create_function(
        "clientele_normalize_name", 1, normalize_name, deterministic=True
    )
    return Func(F("name"), function="clientele_normalize_name", output_field=models.CharField())


def _key_expression(kind: MatchKind):
    if kind == MatchKind.EMAIL:
        return F("email")
    if kind == MatchKind.PHONE:
        return F("phone_normalized")
    return _sqlite_normalize_name()


def _value_groups(
    kind: MatchKind, *, after: str | None, limit: int
) -> tuple[list[list[Customer]], str]:
    """Up to `limit` groups of customers sharing one key value, after the key `after`, and the
    cursor of the next page ("" at the end). Two queries whatever the group sizes."""
    keyed = _live().annotate(match_key=_key_expression(kind)).exclude(match_key="")
    if after is not None:
        keyed = keyed.filter(match_key__gt=after)
    keys = list(
        keyed.values("match_key")
        .annotate(size=Count("*"))
        .filter(size__gt=1)
        .order_by("match_key")
        .values_list("match_key", flat=True)[: limit + 1]
    )
    more, keys = len(keys) > limit, keys[:limit]
    if not keys:
        return [], ""
    members = (
        _live()
        .annotate(match_key=_key_expression(kind))
        .filter(match_key__in=keys)
        .annotate(rank=Window(RowNumber(), partition_by=[F("match_key")], order_by=[F("id").asc()]))
        .filter(rank__lte=MAX_GROUP_MEMBERS)
        .only(*PAIR_COLUMNS)
        .order_by("match_key", "id")
    )
    groups: dict[str, list[Customer]] = defaultdict(list)
    for customer in members:
        groups[customer.match_key].append(customer)
    next_cursor = encode_cursor([keys[-1]]) if more else ""
    return [groups[key] for key in keys if len(groups[key]) > 1], next_cursor


_NAME_LAGS = ", ".join(
    f"lag(id, {n}) OVER w AS id{n}, lag(name, {n}) OVER w AS name{n}, "
    f"similarity(name, lag(name, {n}) OVER w) AS s{n}"
    for n in range(1, NAME_NEIGHBOURS + 1)
)
_NAME_SCORES = ", ".join(f"id{n}, name{n}, s{n}" for n in range(1, NAME_NEIGHBOURS + 1))
# Plain column comparisons only: under row-level security PostgreSQL may use an index for a
# condition only if its operators are leakproof, which text comparison is and lower() is not.
_NAME_LIVE = "organization_id = %s AND merged_into_id IS NULL AND erased_at IS NULL"


def _name_neighbour_sql(with_cursor: bool) -> str:
    forward = (
        "(SELECT id, name, name_key AS k, true AS fwd FROM customers_customer "
        f"WHERE {_NAME_LIVE}{' AND (name_key, id) > (%s, %s)' if with_cursor else ''} "
        "ORDER BY name_key, id LIMIT %s)"
    )
    # The rows just before the cursor, so that the first rows of this page have neighbours.
    lookback = (
        "(SELECT id, name, name_key AS k, false AS fwd FROM customers_customer "
        f"WHERE {_NAME_LIVE} AND (name_key, id) <= (%s, %s) "
        f"ORDER BY name_key DESC, id DESC LIMIT {NAME_NEIGHBOURS}) UNION ALL "
        if with_cursor
        else ""
    )
    best = ", ".join(f"s{n}" for n in range(1, NAME_NEIGHBOURS + 1))
    return (
        f"SELECT id, name, k, fwd, rn, total, scanned, {_NAME_SCORES} FROM ("
        "SELECT id, name, k, fwd, row_number() OVER w AS rn, count(*) OVER () AS total, "
        f"count(*) FILTER (WHERE fwd) OVER () AS scanned, {_NAME_LAGS} "
        f"FROM ({lookback}{forward}) scanned_rows WINDOW w AS (ORDER BY k, id)) compared "
        f"WHERE rn = total OR greatest({best}) >= %s ORDER BY k, id"
    )


def _same_name(first: str, second: str) -> bool:
    normalized = normalize_name(first)
    return bool(normalized) and normalized == normalize_name(second)


def _similar_name_pairs(
    *, after: list | None, limit: int
) -> tuple[list[tuple[int, int, float]], str]:
    """PostgreSQL: (id, id, similarity) of neighbouring similar names, and the next cursor."""
    org_id = require_org().pk
    params: list[Any] = []
    if after is not None:
        params += [org_id, after[0], after[1]]
    params += [org_id, *(after or []), NAME_SCAN_ROWS, NAME_CANDIDATE_SIMILARITY]
    with connection.cursor() as cursor:
        cursor.execute(_name_neighbour_sql(after is not None), params)
        rows = cursor.fetchall()
    pairs: list[tuple[int, int, float]] = []
    for row in rows:
        pk, name, key, forward, rn, total, scanned = row[:7]
        if not forward:
            continue
        for n in range(NAME_NEIGHBOURS):
            other, other_name, score = row[7 + 3 * n : 10 + 3 * n]
            if other is None or score is None:
                continue
            if score < NAME_SIMILARITY and _same_name(name, other_name):
                score = 1.0  # the same name once case, punctuation and "Inc." are set aside
            if score >= NAME_SIMILARITY:
                pairs.append((*_pair_key(pk, other), float(score)))
        more = rn < total or scanned >= NAME_SCAN_ROWS
        if len(pairs) >= limit:
            return pairs, encode_cursor([key, pk]) if more else ""
        if rn == total and scanned >= NAME_SCAN_ROWS:
            return pairs, encode_cursor([key, pk])
    return pairs, ""


def _dismissed(ids: Iterable[int]) -> set[tuple[int, int]]:
    ids = set(ids)
    if len(ids) < 2:
        return set()
    return set(
        DuplicateDismissal.objects.filter(customer_a_id__in=ids, customer_b_id__in=ids).values_list(
            "customer_a_id", "customer_b_id"
        )
    )


def _star_pairs(members: list[Customer], dismissed: set[tuple[int, int]]):
    """Each member after the first, with the oldest member it was not dismissed with."""
    for index, customer in enumerate(members[1:], start=1):
        partner = next(
            (m for m in members[:index] if _pair_key(m.pk, customer.pk) not in dismissed), None
        )
        if partner is not None:
            yield partner, customer


def _add(pairs: dict, a: Customer, b: Customer, reason: MatchReason) -> None:
    if a.pk > b.pk:
        a, b = b, a
    pair = pairs.setdefault((a.pk, b.pk), DuplicatePair(a=a, b=b))
    if all(r.kind != reason.kind for r in pair.reasons):
        pair.reasons.append(reason)


def _other_reasons(pair: DuplicatePair) -> None:
    """Say every way a pair matches, not only the one its detector found."""
    a, b = pair.a, pair.b
    extra = []
    if a.email and a.email == b.email:
        extra.append(MatchReason(MatchKind.EMAIL))
    if a.phone_normalized and a.phone_normalized == b.phone_normalized:
        extra.append(MatchReason(MatchKind.PHONE))
    if normalize_name(a.name) and normalize_name(a.name) == normalize_name(b.name):
        extra.append(MatchReason(MatchKind.NAME, 1.0))
    for reason in extra:
        if all(r.kind != reason.kind for r in pair.reasons):
            pair.reasons.append(reason)
    order = list(MatchKind)
    pair.reasons.sort(key=lambda r: order.index(r.kind))


def duplicate_page(*, reason: str = "", cursor: str = "", per_page: int = 50) -> DuplicatePage:
    """Likely duplicate pairs of the current organization.

    `reason` "email", "phone" or "name" walks that detector a page at a time from `cursor`;
    "" (all) shows the first page of each, strongest pairs first. Dismissed pairs are left out.
    A constant number of queries (at most 8) whatever the number of groups.
    """
    kinds = [MatchKind(reason)] if reason in {k.value for k in MatchKind} else list(MatchKind)
    walking = len(kinds) == 1
    groups: dict[MatchKind, list[list[Customer]]] = {}
    name_scores: list[tuple[int, int, float]] = []
    next_cursors: dict[str, str] = {}
    for kind in kinds:
        if kind == MatchKind.NAME and connection.vendor == "postgresql":
            after = decode_cursor(cursor, length=2) if walking and cursor else None
            if after is not None and not (isinstance(after[0], str) and isinstance(after[1], int)):
                after = None
            name_scores, next_cursors[kind] = _similar_name_pairs(after=after, limit=per_page)
            continue
        after = decode_cursor(cursor, length=1) if walking and cursor else None
        key = after[0] if after is not None and isinstance(after[0], str) else None
        groups[kind], next_cursors[kind] = _value_groups(kind, after=key, limit=per_page)

    by_id = {c.pk: c for members in groups.values() for group in members for c in group}
    if name_scores:  # one query, even when the other detectors already loaded some of them
        named = {pk for a, b, _score in name_scores for pk in (a, b)}
        by_id.update((c.pk, c) for c in _live().filter(pk__in=named).only(*PAIR_COLUMNS))
    dismissed = _dismissed(by_id)

    pairs: dict[tuple[int, int], DuplicatePair] = {}
    for kind, kind_groups in groups.items():
        score = 1.0 if kind == MatchKind.NAME else None
        for group in kind_groups:
            for a, b in _star_pairs(group, dismissed):
                _add(pairs, a, b, MatchReason(kind, score))
    for a_id, b_id, score in name_scores:
        if (a_id, b_id) not in dismissed and a_id in by_id and b_id in by_id:
            _add(pairs, by_id[a_id], by_id[b_id], MatchReason(MatchKind.NAME, score))
    result = list(pairs.values())
    for pair in result:
        _other_reasons(pair)
    if not walking:
        result.sort(key=lambda p: (-p.strength, p.a.pk, p.b.pk))
    return DuplicatePage(pairs=result, next_cursors={k: v for k, v in next_cursors.items() if v})


def _name_neighbours(customer: Customer, others: models.QuerySet[Customer]) -> list[Customer]:
    """The customers next to this one in name_key order, on both sides (two index walks), each
    with `score`: pg_trgm similarity on PostgreSQL, 1.0 or 0.0 for the same normalized name on
    SQLite."""
    if connection.vendor == "postgresql":
        similarity = Func(
            F("name"), Value(customer.name), function="similarity", output_field=FloatField()
        )
        others = others.annotate(score=similarity)
    else:
        others = others.annotate(score=Value(0.0, output_field=FloatField()))
    key, n = customer.name_key, NAME_NEIGHBOURS_OF_ONE
    after = others.filter(name_key__gte=key).order_by("name_key", "id")[:n]
    before = others.filter(name_key__lte=key).order_by("-name_key", "-id")[:n]
    found = {c.pk: c for c in [*before, *after]}
    for other in found.values():
        if _same_name(customer.name, other.name):
            other.score = 1.0
    return sorted(found.values(), key=lambda c: (-c.score, c.pk))


def duplicates_of(customer: Customer, *, limit: int = 20) -> list[DuplicatePair]:
    """Likely duplicates of one customer: the same email, the same phone, or a similar name
    among its neighbours in name order. Indexed lookups only; dismissed pairs left out."""
    candidates: dict[int, Customer] = {}
    reasons: dict[int, list[MatchReason]] = defaultdict(list)
    others = _live().exclude(pk=customer.pk).only(*PAIR_COLUMNS)
    lookups: list[tuple[MatchKind, Iterable[Customer]]] = []
    if customer.email:
        lookups.append((MatchKind.EMAIL, others.filter(email=customer.email).order_by("id")))
    if customer.phone_normalized:
        same_phone = others.filter(phone_normalized=customer.phone_normalized).order_by("id")
        lookups.append((MatchKind.PHONE, same_phone))
    lookups.append((MatchKind.NAME, _name_neighbours(customer, others)))
    for kind, rows in lookups:
        for other in list(rows)[:limit]:
            score = other.score if kind == MatchKind.NAME else None
            if score is not None and score < NAME_SIMILARITY:
                continue
            candidates.setdefault(other.pk, other)
            reasons[other.pk].append(MatchReason(kind, score))
    dismissed = _dismissed([customer.pk, *candidates])
    pairs = []
    for pk, other in candidates.items():
        if _pair_key(customer.pk, pk) in dismissed:
            continue
        pair = DuplicatePair(a=customer, b=other, reasons=reasons[pk])
        _other_reasons(pair)
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.strength, p.b.pk))
    return pairs[:limit]


@transaction.atomic
def duplicate_dismiss(*, a: Customer, b: Customer, by: User | None) -> DuplicateDismissal:
    """Mark two customers as "not a duplicate": detection no longer offers the pair."""
    if a.pk == b.pk:
        raise MergeError(_("Pick two different customers."))
    first, second = (a, b) if a.pk < b.pk else (b, a)
    dismissal, _created = DuplicateDismissal.objects.get_or_create(
        customer_a=first, customer_b=second, defaults={"dismissed_by": by}
    )
    return dismissal


# --- Moving related rows ----------------------------------------------------------------------

Moved = Any  # what a mover returns: JSON-serializable, usually the list of ids it moved


@dataclass(frozen=True)
class MergeMover:
    """Moves one kind of row from the merged customer to the survivor, and back on undo.

    `move(survivor=, merged=)` returns a JSON-serializable record of what it moved (usually the
    ids); `undo(survivor=, merged=, moved=)` receives that record back.
    """

    key: str
    move: Callable[..., Moved]
    undo: Callable[..., None]


MERGE_MOVERS: list[MergeMover] = []


def merge_mover(key: str, *, undo: Callable[..., None]) -> Callable:
    """Decorator registering `move` (and its `undo`) under `key`, for rows that need more than
    a foreign key change."""

    def register(move: Callable[..., Moved]) -> Callable[..., Moved]:
        MERGE_MOVERS[:] = [m for m in MERGE_MOVERS if m.key != key]
        MERGE_MOVERS.append(MergeMover(key=key, move=move, undo=undo))
        return move

    return register


def register_related(key: str, model: type[models.Model], *, field: str = "customer") -> None:
    """Register a tenant model whose `field` points at the customer (orders, tickets, ...): a
    merge moves its rows to the survivor; an undo moves back those still on the survivor."""

    def undo(*, survivor: Customer, merged: Customer, moved: list[int]) -> None:
        model.objects.filter(pk__in=moved, **{field: survivor}).update(**{field: merged})

    @merge_mover(key, undo=undo)
    def move(*, survivor: Customer, merged: Customer) -> list[int]:
        rows = model.objects.filter(**{field: merged})
        ids = list(rows.values_list("pk", flat=True))
        rows.update(**{field: survivor})
        return ids


def _undo_contacts(*, survivor: Customer, merged: Customer, moved: dict) -> None:
    Contact.objects.filter(pk__in=moved["ids"], customer=survivor).update(customer=merged)
    Contact.objects.filter(pk__in=moved["unprimaried"]).update(is_primary=True)


@merge_mover("contacts", undo=_undo_contacts)
def _move_contacts(*, survivor: Customer, merged: Customer) -> dict:
    # One primary contact per customer: the survivor's stays primary.
    contacts = list(Contact.objects.filter(customer=merged).values_list("pk", "is_primary"))
    unprimaried = []
    if Contact.objects.filter(customer=survivor, is_primary=True).exists():
        unprimaried = [pk for pk, primary in contacts if primary]
        Contact.objects.filter(pk__in=unprimaried).update(is_primary=False)
    Contact.objects.filter(customer=merged).update(customer=survivor)
    return {"ids": [pk for pk, _primary in contacts], "unprimaried": unprimaried}


def _undo_tags(*, survivor: Customer, merged: Customer, moved: dict) -> None:
    CustomerTag.objects.filter(pk__in=moved["ids"], customer=survivor).update(customer=merged)
    CustomerTag.objects.bulk_create(
        [
            CustomerTag(organization_id=merged.organization_id, customer=merged, tag_id=tag_id)
            for tag_id in moved["shared_tag_ids"]
        ],
        ignore_conflicts=True,
    )


@merge_mover("tags", undo=_undo_tags)
def _move_tags(*, survivor: Customer, merged: Customer) -> dict:
    # The survivor gets the union; a tag both had keeps the survivor's row.
    on_survivor = set(
        CustomerTag.objects.filter(customer=survivor).values_list("tag_id", flat=True)
    )
    rows = list(CustomerTag.objects.filter(customer=merged).values_list("pk", "tag_id"))
    moved = [pk for pk, tag_id in rows if tag_id not in on_survivor]
    shared = [tag_id for _pk, tag_id in rows if tag_id in on_survivor]
    CustomerTag.objects.filter(customer=merged, tag_id__in=shared).delete()
    CustomerTag.objects.filter(pk__in=moved).update(customer=survivor)
    return {"ids": moved, "shared_tag_ids": shared}


register_related("interactions", Interaction)
register_related("consent_events", ConsentEvent)


# --- Merging ----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _raw_values(customer: Customer) -> dict[str, Any]:
    """The restorable fields of a customer as JSON values (by attname: owner -> owner_id)."""
    meta = customer._meta
    return {
        meta.get_field(name).attname: _jsonable(getattr(customer, meta.get_field(name).attname))
        for name in _RESTORED_FIELDS
    }


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def merge_choice_keys(a: Customer, b: Customer) -> list[str]:
    """What the merge screen lets a person choose: profile fields and custom field keys."""
    custom = sorted(set(a.custom or {}) | set(b.custom or {}))
    return [*MERGE_FIELDS, *(f"custom.{key}" for key in custom)]


def _value(customer: Customer, key: str) -> Any:
    if key.startswith("custom."):
        return (customer.custom or {}).get(key.removeprefix("custom."))
    return getattr(customer, customer._meta.get_field(key).attname)


def merge_default_source(key: str, survivor: Customer, other: Customer) -> Customer:
    """The survivor's value unless it is empty and the other one's is not."""
    if _is_empty(_value(survivor, key)) and not _is_empty(_value(other, key)):
        return other
    return survivor


@dataclass(frozen=True)
class MergeRow:
    key: str
    label: str
    a_display: str
    b_display: str
    default: int  # pk of the customer whose value is kept by default

    @property
    def differs(self) -> bool:
        return self.a_display != self.b_display


def merge_rows(
    *, a: Customer, b: Customer, custom_labels: Mapping[str, str] | None = None
) -> list[MergeRow]:
    """The side-by-side comparison of two customers, `a` taken as the survivor for defaults.
    Rows where both are empty are left out."""
    a_shown, b_shown = snapshot(a), snapshot(b)
    rows = []
    for key in merge_choice_keys(a, b):
        a_display, b_display = a_shown.get(key, ""), b_shown.get(key, "")
        if not a_display and not b_display:
            continue
        rows.append(
            MergeRow(
                key=key,
                label=field_label("customer", key, custom_labels or {}),
                a_display=a_display,
                b_display=b_display,
                default=merge_default_source(key, a, b).pk,
            )
        )
    return rows


def _lock(*pks: int) -> dict[int, Customer]:
    return {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=pks)}


def merge_problem(survivor: Customer, merged: Customer) -> str:
    """Why these two cannot be merged, or "" if they can."""
    if survivor.pk == merged.pk:
        return _("Pick two different customers.")
    for customer in (survivor, merged):
        if customer.merged_into_id is not None:
            return _("Customer #%(id)s was already merged into another customer.") % {
                "id": customer.pk
            }
        if customer.erased_at is not None:
            return _("Customer #%(id)s was erased and cannot be merged.") % {"id": customer.pk}
    return ""


def _apply_choices(
    survivor: Customer, merged: Customer, choices: Mapping[str, int]
) -> dict[str, Any]:
    allowed = set(merge_choice_keys(survivor, merged))
    unknown = set(choices) - allowed
    if unknown or any(pk not in (survivor.pk, merged.pk) for pk in choices.values()):
        raise MergeError(
            _("The merge form was changed or is out of date. Please review it and try again.")
        )
    custom = dict(survivor.custom or {})
    for key in allowed:
        source_pk = choices.get(key) or merge_default_source(key, survivor, merged).pk
        source = survivor if source_pk == survivor.pk else merged
        if key.startswith("custom."):
            name = key.removeprefix("custom.")
            value = (source.custom or {}).get(name)
            if value is None:
                custom.pop(name, None)
            else:
                custom[name] = value
        else:
            attname = Customer._meta.get_field(key).attname
            setattr(survivor, attname, getattr(source, attname))
    survivor.custom = custom
    return custom


def _combine_consent(survivor: Customer, merged: Customer) -> None:
    # The most recent word of the person wins, channel by channel.
    for channel in CONSENT_CHANNELS:
        theirs = getattr(merged, f"consent_{channel}_at")
        ours = getattr(survivor, f"consent_{channel}_at")
        if theirs is not None and (ours is None or theirs > ours):
            for suffix in ("", "_at", "_source"):
                name = f"consent_{channel}{suffix}"
                setattr(survivor, name, getattr(merged, name))


def _shown_with_tags(customer: Customer) -> dict[str, str]:
    shown = snapshot(customer)
    shown["tags"] = ", ".join(sorted(customer.tags.values_list("name", flat=True)))
    return shown


@transaction.atomic
def customers_merge(
    *, survivor: Customer, merged: Customer, choices: Mapping[str, int], by: User | None
) -> CustomerMerge:
    """Merge `merged` into `survivor` in one transaction.

    `choices` maps a field name (or "custom.<key>") to the pk of the customer whose value the
    survivor keeps; fields left out keep the survivor's value unless it is empty. Consent takes
    the most recent state per channel; "customer since" the earlier date. Every registered mover
    moves its rows; `merged` is hidden (merged_into) and both records get a history event. The
    returned CustomerMerge holds what an undo needs. Raises MergeError.
    """
    locked = _lock(survivor.pk, merged.pk)
    if survivor.pk not in locked or merged.pk not in locked:
        raise MergeError(_("One of the customers no longer exists."))
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if problem := merge_problem(survivor, merged):
        raise MergeError(problem)
    shown_before, before = _shown_with_tags(survivor), _raw_values(survivor)
    _apply_choices(survivor, merged, choices)
    _combine_consent(survivor, merged)
    survivor.created_at = min(survivor.created_at, merged.created_at)
    if survivor.lifecycle_stage != before["lifecycle_stage"]:
        survivor.stage_changed_at = timezone.now()
    survivor.email = normalize_email(survivor.email)
    survivor.phone_normalized = normalize_phone(survivor.phone)
    survivor.save()
    moved = {mover.key: mover.move(survivor=survivor, merged=merged) for mover in MERGE_MOVERS}
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    merge = CustomerMerge.objects.create(
        organization_id=survivor.organization_id,
        survivor=survivor,
        merged=merged,
        survivor_before={"fields": before, "after": _raw_values(survivor)},
        moved=json.loads(json.dumps(moved)),
        merged_by=by,
    )
    org = require_org()
    history_event(
        org=org,
        entity="customer",
        entity_id=survivor.pk,
        action=ChangeAction.MERGE,
        by=by,
        note=_("Customer #%(id)s was merged into this one.") % {"id": merged.pk},
    )
    _record_changes(survivor, shown_before, ChangeAction.MERGE, by)
    history_event(
        org=org,
        entity="customer",
        entity_id=merged.pk,
        action=ChangeAction.MERGE,
        by=by,
        note=_("Merged into customer #%(id)s.") % {"id": survivor.pk},
    )
    return merge


def _record_changes(
    customer: Customer, before: dict[str, str], action: ChangeAction, by: User | None
) -> None:
    after = _shown_with_tags(customer)
    if any(before.get(key, "") != value for key, value in after.items()) or set(before) - set(
        after
    ):
        after.update({key: "" for key in set(before) - set(after)})
        history_record(
            org=require_org(),
            entity="customer",
            entity_id=customer.pk,
            before=before,
            after=after,
            by=by,
            action=action,
        )


# --- Undoing a merge --------------------------------------------------------------------------


def _undo_problem(merge: CustomerMerge, *, later_merged_id: int | None) -> str:
    if merge.undone_at is not None:
        return _("This merge was already undone.")
    survivor, merged = merge.survivor, merge.merged
    if merged.merged_into_id != survivor.pk:
        return _("Customer #%(id)s is no longer merged into customer #%(survivor)s.") % {
            "id": merged.pk,
            "survivor": survivor.pk,
        }
    if survivor.merged_into_id is not None:
        return _(
            "Customer #%(id)s was itself merged into customer #%(other)s later: "
            "undo that merge first."
        ) % {"id": survivor.pk, "other": survivor.merged_into_id}
    if survivor.erased_at is not None or merged.erased_at is not None:
        return _("The personal data of these customers was erased; the merge cannot be undone.")
    if later_merged_id is not None:
        return _(
            "Customer #%(other)s was merged into customer #%(id)s later: undo that merge first."
        ) % {"id": survivor.pk, "other": later_merged_id}
    return ""


def _later_merges(survivor_ids: Iterable[int]) -> list[tuple[int, int, datetime]]:
    return list(
        CustomerMerge.objects.filter(survivor_id__in=set(survivor_ids), undone_at__isnull=True)
        .order_by("-merged_at", "-id")
        .values_list("survivor_id", "merged_id", "merged_at")
    )


def _later_merged_id(merge: CustomerMerge, merges: list[tuple[int, int, datetime]]) -> int | None:
    return next(
        (
            merged_id
            for survivor_id, merged_id, merged_at in merges
            if survivor_id == merge.survivor_id and merged_at > merge.merged_at
        ),
        None,
    )


def merge_undo_problem(merge: CustomerMerge) -> str:
    """Why this merge cannot be undone any more, or "" if it can: already undone, either
    record erased or merged again since, or a later merge into the survivor not undone."""
    if merge.undone_at is not None:
        return _undo_problem(merge, later_merged_id=None)
    later = _later_merged_id(merge, _later_merges([merge.survivor_id]))
    return _undo_problem(merge, later_merged_id=later)


def _restore_fields(survivor: Customer, record: dict) -> list[str]:
    """Put back each field the merge changed, unless someone changed it since (those are kept
    and returned by name)."""
    before, after = record.get("fields", {}), record.get("after", {})
    current = _raw_values(survivor)
    kept = []
    for attname, old in before.items():
        if attname == "custom":
            continue
        if current.get(attname) == after.get(attname):
            model_field = next(f for f in Customer._meta.concrete_fields if f.attname == attname)
            setattr(survivor, attname, model_field.to_python(old) if old is not None else None)
        elif after.get(attname) != old:
            kept.append(attname)
    custom = dict(survivor.custom or {})
    old_custom, merged_custom = before.get("custom") or {}, after.get("custom") or {}
    for key in set(old_custom) | set(merged_custom):
        if custom.get(key) == merged_custom.get(key):
            if key in old_custom:
                custom[key] = old_custom[key]
            else:
                custom.pop(key, None)
        elif old_custom.get(key) != merged_custom.get(key):
            kept.append(f"custom.{key}")
    survivor.custom = custom
    return kept


@transaction.atomic
def merge_undo(*, merge: CustomerMerge, by: User | None) -> list[str]:
    """Undo a merge: the survivor's fields as they were (except fields changed since, whose
    names are returned), the moved rows back, the merged customer visible again. Raises
    MergeError when that is no longer safe (see merge_undo_problem)."""
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    locked = _lock(merge.survivor_id, merge.merged_id)
    merge.survivor, merge.merged = locked[merge.survivor_id], locked[merge.merged_id]
    if problem := merge_undo_problem(merge):
        raise MergeError(problem)
    survivor, merged = merge.survivor, merge.merged
    shown_before = _shown_with_tags(survivor)
    kept = _restore_fields(survivor, merge.survivor_before)
    survivor.phone_normalized = normalize_phone(survivor.phone)
    survivor.save()
    for mover in reversed(MERGE_MOVERS):
        if mover.key in merge.moved:
            mover.undo(survivor=survivor, merged=merged, moved=merge.moved[mover.key])
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at = timezone.now()
    merge.save(update_fields=["undone_at"])
    org = require_org()
    history_event(
        org=org,
        entity="customer",
        entity_id=survivor.pk,
        action=ChangeAction.UNDO,
        by=by,
        note=_("Undid the merge of customer #%(id)s into this one.") % {"id": merged.pk},
    )
    _record_changes(survivor, shown_before, ChangeAction.UNDO, by)
    history_event(
        org=org,
        entity="customer",
        entity_id=merged.pk,
        action=ChangeAction.UNDO,
        by=by,
        note=_("Undid the merge into customer #%(id)s.") % {"id": survivor.pk},
    )
    return kept


def merges_of(customer: Customer, *, limit: int = 20) -> list[CustomerMerge]:
    """The merges this customer took part in, newest first, each with `undo_problem` set
    ("" when it can be undone). Two queries."""
    merges = list(
        CustomerMerge.objects.filter(Q(survivor=customer) | Q(merged=customer))
        .select_related("survivor", "merged", "merged_by")
        .order_by("-merged_at", "-id")[:limit]
    )
    later = _later_merges(m.survivor_id for m in merges) if merges else []
    for merge in merges:
        merge.undo_problem = _undo_problem(merge, later_merged_id=_later_merged_id(merge, later))
    return merges


def latest_undoable_merge(customer: Customer) -> CustomerMerge | None:
    """The most recent merge into this customer, if it can still be undone."""
    merge = (
        CustomerMerge.objects.filter(survivor=customer, undone_at__isnull=True)
        .select_related("survivor", "merged")
        .order_by("-merged_at", "-id")
        .first()
    )
    if merge is None or merge_undo_problem(merge):
        return None
    return merge


def related_counts(a: Customer, b: Customer) -> dict[int, dict[str, int]]:
    """Contacts, interactions and tags of each of two customers (three queries)."""
    counts: dict[int, dict[str, int]] = {a.pk: {}, b.pk: {}}
    for key, model in (("contacts", Contact), ("interactions", Interaction), ("tags", CustomerTag)):
        rows = (
            model.objects.filter(customer_id__in=[a.pk, b.pk])
            .values("customer_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("customer_id", "n")
        )
        found = dict(rows)
        for pk in (a.pk, b.pk):
            counts[pk][key] = found.get(pk, 0)
    return counts
