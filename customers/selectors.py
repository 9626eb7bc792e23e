"""Reads about customers, contacts, interactions, history and custom fields."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404

from analytics.models import churn_sort_key, clv_sort_key
from crm_site import pagination
from crm_site.pagination import KeysetPage, SortKey, keyset_page
from customers.filters import SORTS, CustomerFilter, search_condition, search_walk_condition
from customers.models import (
    NOT_MERGED,
    Contact,
    Customer,
    CustomerMerge,
    CustomFieldDefinition,
    FieldChange,
    ImportBatch,
    Interaction,
    Tag,
)
from tenancy.models import Organization, User

LIST_COLUMNS = [
    "id",
    "organization_id",
    "kind",
    "name",
    "email",
    "phone",
    "city",
    "country",
    "lifecycle_stage",
    "owner_id",
    "scores__rfm_segment",
    "scores__clv",
    "scores__churn_probability",
    "scores__customer_created_at",  # the sort key of score filters (customer_list_page)
    "created_at",
    "updated_at",
    "custom",
]


def customer_base(*, org: Organization) -> QuerySet[Customer]:
    """Every live customer of the organization (merged-away duplicates excluded)."""
    return Customer.objects.filter(NOT_MERGED)  # the condition of the list's partial indexes


def custom_field_list(*, org: Organization) -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.order_by("position", "label"))


def customer_filterset(
    *,
    org: Organization,
    user: User,
    params,
    custom_fields: list[CustomFieldDefinition] | None = None,
) -> CustomerFilter:
    if custom_fields is None:
        custom_fields = custom_field_list(org=org)
    return CustomerFilter(
        params, queryset=customer_base(org=org), org=org, user=user, custom_fields=custom_fields
    )


def customer_list_searches_text(params) -> bool:
    """Whether the list's filters include a text search (a substring of names, emails and phone
    numbers): its count is then planned as a sparse one (crm_site.pagination.capped_count)."""
    return bool(str(params.get("q") or "").strip())


def customer_list(*, org: Organization, user: User, params) -> QuerySet[Customer]:
    """The customers matching the list's filters (for bulk actions and exports)."""
    filterset = customer_filterset(org=org, user=user, params=params)
    return filterset.qs if filterset.is_valid() else customer_base(org=org).none()


@dataclass
class CustomerListResult:
    filterset: CustomerFilter
    page: KeysetPage
    sort: str
    custom_fields: list[CustomFieldDefinition]


def customer_list_page(
    *, org: Organization, user: User, params, base_url: str, per_page: int = 50
) -> CustomerListResult:
    """One keyset page of the filtered, sorted list, its capped count and the filter form."""
    custom_fields = custom_field_list(org=org)
    filterset = customer_filterset(org=org, user=user, params=params, custom_fields=custom_fields)
    valid = filterset.is_valid()
    total = None
    search = None
    sort = filterset.sort_key
    field, descending, nullable, _label = SORTS[sort]
    if field == "created_at" and valid and _filters_on_indexed_scores(filterset):
        # Only scored customers match, and their score row carries a copy of created_at that
        # leads an index with the filtered score: "segment X, newest first" is one index walk
        # (walking all customers newest first for the few old ones in a segment took seconds).
        field = "scores__customer_created_at"
    if valid and customer_list_searches_text(params) and connection.vendor == "postgresql":
        search = _text_search_rows(filterset, sort_field=field)
        queryset, total = search.queryset, search.total
    else:
        queryset = filterset.qs if valid else customer_base(org=org).none()
        tag = filterset.form.cleaned_data.get("tag") if valid else None
        if tag is not None and _only_filter(params, "tag") and connection.vendor == "postgresql":
            total = _tag_count(org=org, tag=tag, cap=pagination.COUNT_CAP)
    queryset = (
        queryset.only(*LIST_COLUMNS)
        .select_related("owner", "scores")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="tag_list")
        )
    )
    coarse, coarse_of = COARSE_SORT_KEYS.get(field, ("", None))
    if coarse and valid and _filters_on_indexed_scores(filterset):
        # "Lost customers by lifetime value": lost customers sit at the low end of the value
        # index, which PostgreSQL would walk from the top (1 s at a million); the segment's
        # own index and a sort of its rows take a third of that.
        coarse, coarse_of = "", None
    page = keyset_page(
        queryset,
        key=SortKey(
            field, descending=descending, nullable=nullable, coarse=coarse, coarse_of=coarse_of
        ),
        params=params,  # the QueryDict: the page links keep every value of each filter
        base_url=base_url,
        per_page=per_page,
        sparse_count=customer_list_searches_text(params),
        total=total,
        hx_target="#customer-results",
        candidates=search.candidates if search else None,
        narrow=search.narrow if search else None,
    )
    return CustomerListResult(
        filterset=filterset, page=page, sort=sort, custom_fields=custom_fields
    )


@dataclass
class TextSearchRows:
    queryset: QuerySet[Customer]
    total: int  # capped at SEARCH_COUNT_CAP + 1
    candidates: list[tuple] | None = None  # (created_at, id) of every match, when few
    narrow: QuerySet[Customer] | None = None  # the matches, walked in the list's order


# The sorts whose pages a text search picks itself (keyset_page's `candidates` and `narrow`):
# the list's default, newest first, and its reverse.
PICKED_SORT_FIELDS = frozenset({"created_at"})


def _text_search_rows(filterset: CustomerFilter, *, sort_field: str) -> TextSearchRows:
    """The list's rows for a text search (PostgreSQL), and their count capped at
    SEARCH_COUNT_CAP, looked up first in one query.

    The matches are looked up through the trigram index of Customer.search_text, planned for
    all of them and read only up to the cap (crm_site.pagination.capped_values): that is the
    count the page shows, and it tells the page how to go:
    - At most the cap: every match is known. Sorted by creation, the page is picked among
      their (created_at, id), read with them, and only its own rows are read again; in another
      order it is taken among their ids, one index probe each.
    - More: the text is common (one customer in 300 or more). Sorted by creation, the page's
      ids are walked in the customer_org_search_walk_idx index, which carries the search text
      (an index-only scan: 4 ms for the 6,400 newest customers that "emma" takes, against 31 ms
      reading each one's row); in another order, the planner walks the order or collects the
      matches, whichever it finds cheaper.
    Neither depends on PostgreSQL's estimate of how many rows a substring matches, which is
    often far out (it once guessed a name that 200 customers have to be common, and walked
    225,000 customers for a page: 1.1 s).
    """
    text = filterset.form.cleaned_data["q"]
    others = filterset.without_search()  # every other filter
    matches = others.filter(search_condition(text))
    cap = pagination.SEARCH_COUNT_CAP  # read at call time, so tests can lower it
    picked = sort_field in PICKED_SORT_FIELDS
    found = pagination.capped_values(matches, cap, *([sort_field] if picked else []))
    if len(found) > cap:
        narrow = others.filter(search_walk_condition(text)) if picked else None
        return TextSearchRows(matches, len(found), narrow=narrow)
    if picked:
        return TextSearchRows(matches, len(found), candidates=[(value, pk) for pk, value in found])
    # An array parameter: one whatever the number of ids (customers.filters.custom_value_filter).
    ids = [pk for pk, *_values in found]
    return TextSearchRows(
        others.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids])), len(found)
    )


# Parameters that do not filter: the order and the keyset cursors.
NOT_FILTERS = frozenset({"sort", "after", "before"})


# Parameters the list's top bar holds (the search box and the order), not the filter panel.
TOP_BAR = frozenset({"q", "sort"})


def _filters_in_use(params) -> set[str]:
    """The parameters with a value, but the order and the cursors (an unknown parameter counts
    as a filter: callers then take the general path)."""
    return {key for key, value in params.items() if value not in ("", None)} - NOT_FILTERS


def customer_list_uses_panel(params) -> bool:
    """Whether any filter of the panel (anything but the search box) has a value: the list then
    shows the panel open, rendered with the page; otherwise the panel is rendered when opened
    (views.customer_filter_panel)."""
    return bool(_filters_in_use(params) - TOP_BAR)


def _only_filter(params, name: str) -> bool:
    """Whether `name` is the only parameter with a value, besides the order and the cursors."""
    return _filters_in_use(params) == {name}


def _tag_count(*, org: Organization, tag: Tag, cap: int) -> int:
    """How many live customers carry `tag`, counted up to `cap` + 1 from its links alone.

    The general count joined the tag's links to the live customers (a merge join over the
    (organization, id) index of the customers not merged away: 26 ms for 10,001 at a million).
    The links are counted here in the (organization, tag, customer) index alone (index-only),
    less those of merged-away customers: merging moves a customer's tags to the survivor, so
    there are usually none, but nothing in the database forbids one, and the count stays
    exact either way. Those are found from the merged customers (an index on (organization,
    merged_into)), one link probe each; the links are then read `cap` + 1 beyond them.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH merged AS MATERIALIZED ("
            "  SELECT id FROM customers_customer"
            "  WHERE organization_id = %(org)s AND merged_into_id IS NOT NULL"
            "), stale AS MATERIALIZED ("
            "  SELECT count(*) AS n FROM merged WHERE EXISTS ("
            "    SELECT 1 FROM customers_customertag link WHERE link.organization_id = %(org)s"
            "    AND link.customer_id = merged.id AND link.tag_id = %(tag)s)"
            ") "
            "SELECT (SELECT count(*) FROM ("
            "  SELECT 1 FROM customers_customertag"
            "  WHERE organization_id = %(org)s AND tag_id = %(tag)s"
            "  LIMIT %(cap)s + 1 + (SELECT n FROM stale)"
            ") links) - (SELECT n FROM stale)",
            {"org": org.pk, "tag": tag.pk, "cap": cap},
        )
        return cursor.fetchone()[0]


SCORE_FILTERS_INDEXED = ("rfm_segment", "cluster", "value_quadrant", "churn")

# The score sorts walk an index of a coarse copy of the score (crm_site.pagination.SortKey):
# the exact values change every night for nearly every customer, too often to index.
COARSE_SORT_KEYS = {
    "scores__clv": ("scores__clv_key", clv_sort_key),
    "scores__churn_probability": ("scores__churn_key", churn_sort_key),
}


def _filters_on_indexed_scores(filterset: CustomerFilter) -> bool:
    data = filterset.form.cleaned_data
    return any(data.get(name) not in (None, "") for name in SCORE_FILTERS_INDEXED)


def customer_get(*, org: Organization, pk: int) -> Customer:
    """A live customer of `org`, or 404 (the same answer for "not yours" and "does not exist"),
    with its owner and its scores (`customer.scores`, analytics.CustomerScore) in one query."""
    return get_object_or_404(customer_base(org=org).select_related("owner", "scores"), pk=pk)


def customer_survivor_id(*, org: Organization, pk: int) -> int | None:
    """The customer a merged-away duplicate now lives in (following chains), or None."""
    seen: set[int] = set()
    current = pk
    while True:
        merged_into = (
            Customer.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        )
        if merged_into is None or merged_into in seen:
            return current if current != pk else None
        seen.add(current)
        current = merged_into


def customer_get_any(*, org: Organization, pk: int) -> Customer:
    """A customer of `org` even if merged away (merge undo, history, old links), with its
    owner and its scores (`customer.scores`) in one query."""
    return get_object_or_404(Customer.objects.select_related("owner", "scores"), pk=pk)


def customer_list_owned_recent(*, org: Organization, user: User, limit: int = 8) -> list[Customer]:
    return list(
        customer_base(org=org)
        .filter(owner=user)
        .order_by("-updated_at", "-id")
        .only("id", "organization_id", "name", "lifecycle_stage", "updated_at")[:limit]
    )


def contact_list_for_customer(*, customer: Customer) -> list[Contact]:
    return list(
        Contact.objects.filter(customer=customer).order_by("-is_primary", "last_name", "first_name")
    )


def contact_get(*, org: Organization, pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related("customer").filter(customer__merged_into__isnull=True), pk=pk
    )


def interaction_get(*, org: Organization, pk: int) -> Interaction:
    return get_object_or_404(
        Interaction.objects.select_related("customer", "contact", "user"), pk=pk
    )


def interaction_list_by_user(*, org: Organization, user: User, limit: int = 6) -> list[Interaction]:
    return list(
        Interaction.objects.filter(user=user)
        .select_related("customer")
        .order_by("-occurred_at", "-id")[:limit]
    )


def history_list(
    *, org: Organization, entity: str, entity_id: int, limit: int = 100
) -> list[FieldChange]:
    return list(
        FieldChange.objects.filter(entity=entity, entity_id=entity_id)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


def tag_list(*, org: Organization) -> list[Tag]:
    return list(Tag.objects.order_by("name"))


def custom_field_get(*, org: Organization, pk: int) -> CustomFieldDefinition:
    return get_object_or_404(CustomFieldDefinition.objects.all(), pk=pk)


def member_choices(*, org: Organization) -> QuerySet[User]:
    return User.objects.filter(memberships__organization=org).order_by("full_name")


def import_batch_get(*, org: Organization, pk: int) -> ImportBatch:
    return get_object_or_404(ImportBatch.objects.all(), pk=pk)


def merge_get(*, org: Organization, pk: int) -> CustomerMerge:
    return get_object_or_404(CustomerMerge.objects.select_related("survivor", "merged"), pk=pk)
