"""The customer list's filters: one FilterSet shared by the list, bulk actions, exports and
(later) marketing segments, so they all select exactly the same customers."""

from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.db import connections
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _

from analytics.models import ChurnBand
from crm_site import pagination
from customers.matching import normalize_phone
from customers.models import (
    ConsentState,
    Customer,
    CustomerKind,
    CustomFieldDefinition,
    CustomFieldType,
    LifecycleStage,
    RfmSegment,
    Source,
    Tag,
    ValueQuadrant,
)
from tenancy.models import User

SORTS = {
    "-created": ("created_at", True, False, _("Newest first")),
    "created": ("created_at", False, False, _("Oldest first")),
    "name": ("name", False, False, _("Name A–Z")),
    "-name": ("name", True, False, _("Name Z–A")),
    "-updated": ("updated_at", True, False, _("Recently updated")),
    # The scores live in analytics.CustomerScore (`customer.scores`), joined by its key.
    "-clv": ("scores__clv", True, True, _("Highest lifetime value")),
    "-churn": ("scores__churn_probability", True, True, _("Highest churn risk")),
}
DEFAULT_SORT = "-created"


def _search_texts(q: str) -> list:
    """What the search text must contain: the text in lower case (lowered by the database, as
    the column is: Python's str.lower differs on a few letters, such as the Turkish dotted I),
    or the phone digits in it."""
    q = q.strip()
    texts = [Lower(Value(q))]
    digits = normalize_phone(q)
    if digits and digits != q:
        texts.append(Value(digits))
    return texts


def search_condition(q: str) -> Q:
    """Name, email or phone contains the text: a substring (LIKE) of Customer.search_text, which
    the customer_org_search_trgm index serves on PostgreSQL."""
    condition = Q()
    for text in _search_texts(q):
        condition |= Q(search_text__contains=text)
    return condition


def search_walk_condition(q: str) -> Q:
    """The same rows as search_condition, in a form no index answers (strpos rather than LIKE):
    for walking the newest customers in the customer_org_search_walk_idx index, testing each
    one's text there (an index-only scan), when the matches are known to be many
    (customers.selectors._text_search_rows). With LIKE, PostgreSQL could instead collect every
    match through the trigram index and sort them, when it takes a common text for a rare one."""
    condition = Q()
    for text in _search_texts(q):
        condition |= Q(GreaterThan(StrIndex("search_text", text), 0))
    return condition


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices, label=_("Kind"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("Owner"))
    mine = django_filters.BooleanFilter(
        method="filter_mine", label=_("Only mine"), widget=forms.CheckboxInput
    )
    # distinct=False: django-filter's default for multiple choices adds SELECT DISTINCT over
    # every column, which no index can return in order (a 0.2 s sort at a million customers);
    # a column of the customer itself yields no duplicates.
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices,
        label=_("Stage"),
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    tag = django_filters.ModelChoiceFilter(
        queryset=Tag.unscoped.none(), method="filter_tag", label=_("Tag")
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    consent_email = django_filters.ChoiceFilter(
        choices=ConsentState.choices, label=_("Email consent")
    )
    consent_sms = django_filters.ChoiceFilter(choices=ConsentState.choices, label=_("SMS consent"))
    consent_phone = django_filters.ChoiceFilter(
        choices=ConsentState.choices, label=_("Phone consent")
    )
    created_after = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label=_("Created from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label=_("Created until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    rfm_segment = django_filters.ChoiceFilter(
        field_name="scores__rfm_segment", choices=RfmSegment.choices, label=_("RFM segment")
    )
    cluster = django_filters.NumberFilter(field_name="scores__cluster", label=_("Cluster"))
    value_quadrant = django_filters.ChoiceFilter(
        field_name="scores__value_quadrant",
        choices=ValueQuadrant.choices,
        label=_("Value quadrant"),
    )
    clv_min = django_filters.NumberFilter(
        field_name="scores__clv", lookup_expr="gte", label=_("Lifetime value from")
    )
    clv_max = django_filters.NumberFilter(
        field_name="scores__clv", lookup_expr="lte", label=_("Lifetime value to")
    )
    churn = django_filters.ChoiceFilter(
        choices=ChurnBand.choices, method="filter_churn", label=_("Churn risk")
    )
    sort = django_filters.ChoiceFilter(
        choices=[(k, v[3]) for k, v in SORTS.items()],
        method="filter_noop",
        label=_("Sort"),
        empty_label=None,
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def __init__(self, data=None, *args, org=None, user=None, custom_fields=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.filters["owner"].queryset = (
            User.objects.filter(memberships__organization=org).order_by("full_name")
            if org
            else User.objects.none()
        )
        self.filters["tag"].queryset = Tag.objects.all() if org else Tag.unscoped.none()
        self.custom_fields = list(custom_fields or [])
        for definition in self.custom_fields:
            self.filters[f"cf_{definition.key}"] = _custom_filter(definition)

    # "index": the text search through the trigram indexes; "none": left out (see without_search)
    search_mode = "index"

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value.strip() or self.search_mode == "none":
            return queryset
        return queryset.filter(search_condition(value))

    def without_search(self) -> QuerySet:
        """Every filter but the text search (`q`), for a caller that narrows the rows by the
        text itself (customers.selectors.customer_list_page). Call after is_valid()."""
        self.search_mode = "none"
        try:
            return self.filter_queryset(self.queryset.all())
        finally:
            self.search_mode = "index"

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(owner=self.user) if value and self.user else queryset

    def filter_tag(self, queryset: QuerySet, name: str, value: Tag) -> QuerySet:
        # EXISTS keeps one row per customer and uses the (organization, tag, customer) index.
        from django.db.models import Exists, OuterRef

        from customers.models import CustomerTag

        return queryset.filter(
            Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag=value))
        )

    def filter_churn(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The band is stored with the scores (and indexed): the nightly job sets it from the
        # probability, which changes every day while the band seldom does.
        return queryset.filter(scores__churn_band=value)

    def filter_noop(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset

    @property
    def sort_key(self) -> str:
        value = (
            self.form.cleaned_data.get("sort") if self.is_bound and self.form.is_valid() else None
        )
        return value if value in SORTS else DEFAULT_SORT


def _custom_filter(definition: CustomFieldDefinition) -> django_filters.Filter:
    key = definition.key
    label = definition.label
    if definition.field_type == CustomFieldType.CHOICE:
        return django_filters.ChoiceFilter(
            field_name=f"custom__{key}",
            choices=[(c, c) for c in definition.choices],
            label=label,
            method=_json_equals(key),
        )
    if definition.field_type == CustomFieldType.BOOLEAN:
        return django_filters.BooleanFilter(
            field_name=f"custom__{key}", label=label, method=_json_equals(key)
        )
    if definition.field_type == CustomFieldType.NUMBER:
        return django_filters.NumberFilter(
            field_name=f"custom__{key}", label=label, method=_number_equals(key)
        )
    if definition.field_type == CustomFieldType.DATE:
        return django_filters.DateFilter(
            field_name=f"custom__{key}",
            label=label,
            method=_date_equals(key),
            widget=forms.DateInput(attrs={"type": "date"}),
        )
    return django_filters.CharFilter(
        field_name=f"custom__{key}", lookup_expr="icontains", label=label
    )


def custom_value_filter(queryset: QuerySet, key: str, value) -> QuerySet:
    """The customers whose custom field `key` equals `value` (a JSON scalar).

    On PostgreSQL as containment, `custom @> '{"key": value}'`, which the (organization, custom)
    GIN index serves (migration 0008). PostgreSQL cannot estimate how many rows a containment
    matches (it assumes 1%), so with the list's newest-first order it walks the organization's
    customers by creation time until it has a page: for a value that few or no customers have,
    every row (3.5 s at a million). So the matches are looked up first through the index, with
    no order; when there are at most COUNT_CAP of them the filter becomes that list of ids
    (one index probe each), and when there are more the value is common enough for the walk to
    find a page at once. SQLite has no JSON containment: a comparison of the key.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(**{f"custom__{key}": value})
    matching = queryset.filter(custom__contains={key: value})
    cap = pagination.COUNT_CAP
    ids = list(matching.order_by().values_list("pk", flat=True)[: cap + 1])
    if len(ids) > cap:
        return matching
    # An array parameter rather than `pk__in=ids`: one parameter whatever the number of ids,
    # and the page's queries still run when there are none (the same query count every time).
    return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))


def _json_equals(key: str):
    def method(queryset, name, value):
        return custom_value_filter(queryset, key, value)

    return method


def _number_equals(key: str):
    def method(queryset, name, value):
        try:
            number = Decimal(value)
        except (InvalidOperation, TypeError):
            return queryset.none()
        # JSON stores numbers as numbers; compare as such.
        return custom_value_filter(queryset, key, float(number) if number % 1 else int(number))

    return method


def _date_equals(key: str):
    def method(queryset, name, value):
        return custom_value_filter(queryset, key, value.isoformat())

    return method
