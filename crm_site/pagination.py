"""Pagination that stays fast at millions of rows.

Keyset pagination: a page is "the next N rows after this sort key", found by walking an index,
so page 1 and page 20,000 cost the same. The cursor travels in the URL as an opaque token. The
total is counted only up to a cap ("10,000+"), since an exact count of a million rows costs a
full scan.
"""

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet, ObjectDoesNotExist, ValidationError
from django.db import connections
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.db.models.constants import LOOKUP_SEP
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

COUNT_CAP = 10_000
# A text search's count stops sooner: its matches are found through a trigram index and read
# from the table one by one (10,001 of them: 70-80 ms at a million customers), and nobody pages
# through thousands of search results; "1,000+ results" says enough. When they are all the
# matches, the same rows give the page (customers.selectors._text_search_rows); beyond the cap,
# the page walks the newest customers in an index that carries their search text, which for a
# text just over the cap (one customer in a thousand) reads about 51,000 index entries (30 ms).
# At 3,000 the count cost 15-20 ms more for every common text than at 1,000 (100 names of the
# million-customer benchmark: 31 ms of SQL a page on average against 22).
SEARCH_COUNT_CAP = 1_000


@dataclass(frozen=True)
class SortKey:
    """Sort by `field` (then by id, same direction). `nullable` puts NULLs last either way.

    `coarse`: a field holding `coarse_of(field)`, a step function that never decreases as the
    value grows, and that an index leads with (analytics.CustomerScore.clv_key, say). Ordering
    by (coarse, field, id) is then exactly the order of (field, id), and PostgreSQL walks that
    index, sorting only each step's rows; cursors bound the step too (with one step's slack, so
    that the database's and Python's arithmetic may differ at a step's edge).
    """

    field: str
    descending: bool = True
    nullable: bool = False
    coarse: str = ""
    coarse_of: Callable[[Any], Any] | None = None

    def order_by(self) -> list:
        from django.db.models import F

        if self.coarse:
            return [
                F(name).desc(nulls_last=True) if self.descending else F(name).asc(nulls_last=True)
                for name in (self.coarse, self.field)
            ] + ["-id" if self.descending else "id"]
        if not self.nullable:
            # Plain ASC / DESC, as the indexes are declared. An explicit NULLS LAST on a DESC
            # key does not match a DESC index (which is NULLS FIRST), even on a NOT NULL column,
            # and PostgreSQL then sorts the whole tenant for every page (0.6 s at a million).
            return [f"-{self.field}", "-id"] if self.descending else [self.field, "id"]
        expr = (
            F(self.field).desc(nulls_last=True)
            if self.descending
            else F(self.field).asc(nulls_last=True)
        )
        return [expr, "-id" if self.descending else "id"]


def encode_cursor(values: list) -> str:
    def default(value):
        if isinstance(value, datetime):
            return {"dt": value.isoformat()}
        if isinstance(value, date):
            return {"d": value.isoformat()}
        if isinstance(value, Decimal):
            return {"dec": str(value)}
        raise TypeError(type(value))

    raw = json.dumps(values, default=default, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, length: int = 2) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != length:
        return None

    def revive(value):
        if isinstance(value, dict):
            if "dt" in value:
                parsed = parse_datetime(value["dt"])
                if parsed is None:  # parse_datetime answers None for text that is no date
                    raise ValueError(value["dt"])
                return parsed
            if "d" in value:
                return date.fromisoformat(value["d"])
            if "dec" in value:
                return Decimal(value["dec"])
        return value

    try:
        return [revive(v) for v in values]
    except (ValueError, ArithmeticError):
        return None


def _after(key: SortKey, value: Any, pk: int) -> list[Q]:
    """Rows that come after (value, pk) in the sort order (NULLs last), as conditions to fetch
    in turn.

    Each condition is one range of the sort index: a bound on the sort field that the index
    scan seeks to (`field <= value` going down), the tie on id as a filter. An OR of the ranges
    (`field < value OR (field = value AND id < pk)`, or the NULLs) is no index bound at all:
    PostgreSQL walks the tenant's index from the top and filters, a second at page 10,000.
    """
    op, bound = ("lt", "lte") if key.descending else ("gt", "gte")
    id_after = Q(**{f"id__{op}": pk})
    if value is None:  # already among the NULLs, which come last: only ids remain
        return [Q(**{f"{key.field}__isnull": True}) & id_after]
    ranges = [
        Q(**{f"{key.field}__{bound}": value})
        & _coarse_bound(key, value, ahead=True)
        & (Q(**{f"{key.field}__{op}": value}) | (Q(**{key.field: value}) & id_after))
    ]
    if key.nullable:
        ranges.append(Q(**{f"{key.field}__isnull": True}))
    return ranges


def _coarse_bound(key: SortKey, value: Any, *, ahead: bool) -> Q:
    """The coarse key's bound implied by `field <= value` (descending, ahead) and the like,
    widened by one step; no condition without a coarse key."""
    if not key.coarse or key.coarse_of is None:
        return Q()
    step = key.coarse_of(value)
    if step is None:
        return Q()
    if key.descending == ahead:
        return Q(**{f"{key.coarse}__lte": step + 1})
    return Q(**{f"{key.coarse}__gte": step - 1})


def _before(key: SortKey, value: Any, pk: int) -> list[Q]:
    """Rows that come before (value, pk) in the sort order (NULLs last), nearest first, as
    conditions to fetch in turn (see _after)."""
    op, bound = ("gt", "gte") if key.descending else ("lt", "lte")
    id_before = Q(**{f"id__{op}": pk})
    if value is None:  # among the NULLs: the NULLs before it, then every other row
        return [
            Q(**{f"{key.field}__isnull": True}) & id_before,
            Q(**{f"{key.field}__isnull": False}),
        ]
    return [
        Q(**{f"{key.field}__{bound}": value})
        & _coarse_bound(key, value, ahead=False)
        & (Q(**{f"{key.field}__{op}": value}) | (Q(**{key.field: value}) & id_before))
    ]


def _fetch(
    queryset: QuerySet,
    conditions: list[Q],
    order: list,
    limit: int,
    narrow: QuerySet | None = None,
) -> list:
    """Up to `limit` rows of the conditions' ranges, in turn, each in `order`. The caller
    prefetches related objects once, for the rows it shows.

    `narrow` (see keyset_page): the range's ids are walked in it, in a subquery, and only
    those rows are read in full."""
    ordered = queryset.prefetch_related(None).order_by(*order)
    rows: list = []
    for condition in conditions:
        wanted = limit - len(rows)
        if narrow is None:
            rows += ordered.filter(condition)[:wanted]
        else:
            ids = narrow.filter(condition).order_by(*order).values("pk")[:wanted]
            rows += ordered.filter(pk__in=ids)
        if len(rows) >= limit:
            break
    return rows


def _pick(
    queryset: QuerySet,
    key: SortKey,
    candidates: list[tuple[Any, int]],
    *,
    after: list | None,
    before: list | None,
    limit: int,
) -> list:
    """Up to `limit` rows after `after` (or before `before`, nearest first), chosen among
    `candidates`, every row's (sort value, id), and read by id (see keyset_page)."""
    ordered = sorted(candidates, reverse=key.descending)
    if before is not None:
        mark = tuple(before)
        chosen = [c for c in reversed(ordered) if (c > mark if key.descending else c < mark)]
        order = _reversed_order(key)
    else:
        mark = tuple(after) if after is not None else None
        chosen = (
            ordered
            if mark is None
            else [c for c in ordered if (c < mark if key.descending else c > mark)]
        )
        order = key.order_by()
    ids = [pk for _value, pk in chosen[:limit]]
    if not ids:
        return []
    return list(queryset.prefetch_related(None).filter(pk__in=ids).order_by(*order))


def _field(model, path: str):
    """The model field at `path`, following relations (`scores__clv`)."""
    *relations, name = path.split(LOOKUP_SEP)
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


def _sort_value(row, path: str):
    """The row's value at `path`; None when a related row it passes through does not exist."""
    value = row
    for name in path.split(LOOKUP_SEP):
        try:
            value = getattr(value, name)
        except ObjectDoesNotExist:  # a reverse one-to-one without its row
            return None
        if value is None:
            return None
    return value


def _valid(queryset: QuerySet, key: SortKey, cursor: list | None) -> list | None:
    """The cursor with its values checked against the field types, or None if tampered with."""
    if cursor is None:
        return None
    value, pk = cursor
    if not isinstance(pk, int) or isinstance(pk, bool):
        return None
    if value is None:
        # Only a nullable sort has NULL positions; elsewhere a NULL would match no row.
        return [None, pk] if key.nullable else None
    try:
        return [_field(queryset.model, key.field).to_python(value), pk]
    except (ValidationError, TypeError, ValueError):
        return None


def _reversed_order(key: SortKey) -> list:
    from django.db.models import F

    if key.coarse:
        return [
            F(name).asc(nulls_first=True) if key.descending else F(name).desc(nulls_first=True)
            for name in (key.coarse, key.field)
        ] + ["id" if key.descending else "-id"]
    if not key.nullable:  # the same index walked backwards (see SortKey.order_by)
        return [key.field, "id"] if key.descending else [f"-{key.field}", "-id"]
    expr = (
        F(key.field).asc(nulls_first=True)
        if key.descending
        else F(key.field).desc(nulls_first=True)
    )
    return [expr, "id" if key.descending else "-id"]


@dataclass
class KeysetPage:
    items: list
    has_next: bool
    has_previous: bool
    next_url: str
    previous_url: str
    first_url: str
    count_label: str
    hx_target: str = ""
    total: int | None = None  # capped total, None when not counted


def _param_lists(params: Mapping) -> dict[str, list[str]]:
    """Every parameter with all its non-empty values: a QueryDict keeps every value of a
    multiple-choice filter (`?stage=a&stage=b`), which the page links must keep too."""
    if hasattr(params, "lists"):
        pairs = params.lists()
    else:
        pairs = ((k, v if isinstance(v, list | tuple) else [v]) for k, v in params.items())
    return {k: [v for v in values if v not in ("", None)] for k, values in pairs}


def keyset_page(
    queryset: QuerySet,
    *,
    key: SortKey,
    params: Mapping,
    base_url: str,
    per_page: int = 50,
    count: bool = True,
    sparse_count: bool = False,
    total: int | None = None,
    hx_target: str = "",
    candidates: list[tuple[Any, int]] | None = None,
    narrow: QuerySet | None = None,
) -> KeysetPage:
    """One page of `queryset` in `key` order, after params["after"] or before params["before"].

    `params` is the request's QueryDict (or a dict of strings or lists): the page links repeat
    every other parameter. Both cursors are the sort key of a row on the neighbouring page, so
    every page, however deep, is one index walk of `per_page + 1` rows. `sparse_count`: the
    filter is a substring search (see capped_count), counted up to SEARCH_COUNT_CAP. `total`:
    the capped count, when the caller has it already (not counted again).

    Two ways for a caller that knows more than the database's estimates (a text search,
    customers.selectors._text_search_rows), on a sort of one column of the model that is never
    NULL:
    - `candidates`: the (sort value, id) of every row of `queryset`, a short list that the
      caller has read already: the page is picked among them here and read by id.
    - `narrow`: the same rows as `queryset`, in a form that an index of the sort order answers
      alone; each page's ids are walked in it (a LIMITed subquery) before the rows are read.
    """
    simple_key = not (key.nullable or key.coarse or LOOKUP_SEP in key.field)
    if (candidates is not None or narrow is not None) and not simple_key:
        raise ValueError("candidates and narrow need a sort on a column that is never NULL")
    values = _param_lists(params)
    after_token = (values.get("after") or [""])[-1]
    before_token = (values.get("before") or [""])[-1]
    after = _valid(queryset, key, decode_cursor(after_token)) if after_token else None
    before = (
        _valid(queryset, key, decode_cursor(before_token))
        if before_token and after is None
        else None
    )
    if candidates is not None:
        rows = _pick(queryset, key, candidates, after=after, before=before, limit=per_page + 1)
        if before is not None:
            has_previous, has_next = len(rows) > per_page, True
            items = list(reversed(rows[:per_page]))
        else:
            items, has_next = rows[:per_page], len(rows) > per_page
            has_previous = after is not None
    elif before is not None:
        rows = _fetch(queryset, _before(key, *before), _reversed_order(key), per_page + 1, narrow)
        has_previous, has_next = len(rows) > per_page, True
        items = list(reversed(rows[:per_page]))
    else:
        if after is not None:
            conditions = _after(key, *after)
        elif key.nullable:
            # The values, then the NULLs: two ranges, as on later pages. On a related field
            # (`scores__clv`) the first range also makes the join an inner one, which lets
            # PostgreSQL start from the related table's rows instead of sorting every row.
            conditions = [Q(**{f"{key.field}__isnull": False}), Q(**{f"{key.field}__isnull": True})]
        else:
            conditions = [Q()]
        rows = _fetch(queryset, conditions, key.order_by(), per_page + 1, narrow)
        items, has_next, has_previous = rows[:per_page], len(rows) > per_page, after is not None
    # Once for the page, however many ranges it took (a private attribute, read only).
    prefetch_related_objects(items, *queryset._prefetch_related_lookups)

    base = {k: v for k, v in values.items() if k not in ("after", "before") and v}

    def url(extra: dict) -> str:
        query = urlencode({**base, **extra}, doseq=True)
        return f"{base_url}?{query}" if query else base_url

    next_url = (
        url({"after": encode_cursor([_sort_value(items[-1], key.field), items[-1].pk])})
        if has_next and items
        else ""
    )
    previous_url = (
        url({"before": encode_cursor([_sort_value(items[0], key.field), items[0].pk])})
        if has_previous and items
        else ""
    )
    cap = SEARCH_COUNT_CAP if sparse_count else COUNT_CAP
    if total is None and count:
        total = capped_count(queryset, cap=cap, sparse=sparse_count)
    return KeysetPage(
        items=items,
        has_next=bool(next_url),
        has_previous=bool(previous_url),
        next_url=next_url,
        previous_url=previous_url,
        first_url=url({}),
        count_label=count_label(total, cap) if total is not None else "",
        hx_target=hx_target,
        total=total,
    )


def capped_count(queryset: QuerySet, cap: int | None = None, *, sparse: bool = False) -> int:
    """Count up to `cap` + 1 rows: the database stops as soon as it has seen that many.

    `sparse`: the filter is a substring search (ILIKE '%text%'), whose matches PostgreSQL
    cannot estimate; see capped_ids. Elsewhere the plan for the first cap + 1 rows is the right
    one (a tag or stage filter matching one row in ten: read rows until 10,001 are found).
    """
    cap = COUNT_CAP if cap is None else cap  # read at call time, so tests can lower it
    queryset = queryset.order_by()
    if connections[queryset.db].vendor != "postgresql" or not sparse:
        return queryset[: cap + 1].count()
    return len(capped_ids(queryset, cap))


def capped_ids(queryset: QuerySet, cap: int) -> list[int]:
    """The ids of up to `cap` + 1 rows of a sparse filter (see capped_values), in no order."""
    return [pk for (pk,) in capped_values(queryset, cap)]


def capped_values(queryset: QuerySet, cap: int, *fields: str) -> list[tuple]:
    """(id, *fields) of up to `cap` + 1 rows of a sparse filter (a substring search), in no
    order.

    On PostgreSQL the matches go through a MATERIALIZED CTE: planned for all of them, read only
    up to the cap. `SELECT ... LIMIT cap + 1` let the planner, which cannot estimate how many
    rows a substring (ILIKE) matches, choose a sequential scan "until 10,001 are found": for a
    search that matches fewer, every row of the tenant, 1.5-3 s at a million customers. Planned
    for all rows it uses the trigram indexes when the matches are few, and still stops after
    cap + 1 rows of a sequential scan when they are many. (For a dense filter without a
    substring, planning for all rows would read every row instead: 50 ms -> 260 ms for a tag
    that one customer in eight has, hence capped_count's `sparse`.)
    """
    queryset = queryset.order_by().values_list("pk", *fields)
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset[: cap + 1])
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # .none(), or a filter that can match nothing
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH matches AS MATERIALIZED ({sql}) "  # Django's own SQL, parameters apart
            "SELECT * FROM matches LIMIT %s",
            [*params, cap + 1],
        )
        # The values as the ORM reads them too (psycopg2's own types, aware datetimes).
        return cursor.fetchall()


def count_label(total: int, cap: int | None = None) -> str:
    cap = COUNT_CAP if cap is None else cap
    if total > cap:
        return _("%(count)s+ results") % {"count": f"{cap:,}"}
    return ngettext("%(count)s result", "%(count)s results", total) % {"count": f"{total:,}"}
