"""Forms of the leads area: the list's filters, a lead, an interaction, the conversion."""

from datetime import timedelta
from decimal import Decimal

import django_filters
from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import F, Func, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_site.text_lookups import IContains
from customers.matching import normalize_phone
from customers.models import Channel, Direction
from sales.models import Lead, LeadInteraction, LeadRating, LeadSource, LeadStatus
from tenancy.models import User

SORTS = {
    "-created": ("created_at", True, _("Newest first")),
    "created": ("created_at", False, _("Oldest first")),
    "-score": ("score", True, _("Highest score")),
}
DEFAULT_SORT = "-created"
SCORE_BOUND = 9999
MAX_AMOUNT = Decimal("999999999999.99")


def lead_name_expression() -> Func:
    """first_name || ' ' || last_name, as the lead_org_name_trgm index has it."""
    return Func(
        F("first_name"), Value(" "), F("last_name"), template="(%(expressions)s)", arg_joiner=" || "
    )


def lead_search_condition(q: str) -> Q:
    """Name, company or email contains the text; or the phone contains its digits."""
    q = q.strip()
    condition = (
        Q(IContains(lead_name_expression(), q))
        | Q(IContains(F("company"), q))
        | Q(IContains(F("email"), q.lower()))
    )
    digits = normalize_phone(q)
    if digits:
        condition |= Q(phone_normalized__contains=digits)
    return condition


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=100)
    status = django_filters.MultipleChoiceFilter(
        choices=LeadStatus.choices, label=_("Status"), widget=forms.CheckboxSelectMultiple
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("Owner"))
    mine = django_filters.BooleanFilter(
        method="filter_mine", label=_("Only mine"), widget=forms.CheckboxInput
    )
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, label=_("Source"))
    rating = django_filters.ChoiceFilter(choices=LeadRating.choices, label=_("Rating"))
    score_min = django_filters.NumberFilter(
        field_name="score",
        lookup_expr="gte",
        label=_("Score from"),
        min_value=-SCORE_BOUND,
        max_value=SCORE_BOUND,
    )
    score_max = django_filters.NumberFilter(
        field_name="score",
        lookup_expr="lte",
        label=_("Score to"),
        min_value=-SCORE_BOUND,
        max_value=SCORE_BOUND,
    )
    sort = django_filters.ChoiceFilter(
        choices=[(k, v[2]) for k, v in SORTS.items()],
        method="filter_noop",
        label=_("Sort"),
        empty_label=None,
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, data=None, *args, org=None, user=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.filters["owner"].queryset = (
            User.objects.filter(memberships__organization=org).order_by("full_name")
            if org
            else User.objects.none()
        )

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(lead_search_condition(value)) if value.strip() else queryset

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(owner=self.user) if value and self.user else queryset

    def filter_noop(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset

    @property
    def sort_key(self) -> str:
        value = (
            self.form.cleaned_data.get("sort") if self.is_bound and self.form.is_valid() else None
        )
        return value if value in SORTS else DEFAULT_SORT


LEAD_FIELDS = [
    "first_name",
    "last_name",
    "company",
    "title",
    "email",
    "phone",
    "website",
    "industry",
    "employees",
    "city",
    "region",
    "country",
    "source",
    "rating",
    "owner",
    "campaign_name",
    "notes",
]

LEAD_SECTIONS = [
    (_("Person"), ["first_name", "last_name", "title", "email", "phone"]),
    (_("Company"), ["company", "website", "industry", "employees"]),
    (_("Where"), ["city", "region", "country"]),
    (_("Qualification"), ["source", "rating", "owner", "campaign_name"]),
    (_("Notes"), ["notes"]),
]


class LeadForm(forms.ModelForm):
    """Manual entry and edits. On a new lead, no owner means "let the assignment rules pick"."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("Owner"))

    class Meta:
        model = Lead
        fields = LEAD_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"country": _("Two-letter code, e.g. US")}

    def __init__(self, *args, members: QuerySet[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members
        self.fields["owner"].empty_label = (
            _("Nobody") if self.instance.pk else _("Assign by the rules")
        )
        self.fields["employees"].validators.append(MaxValueValidator(10_000_000))
        self.fields["employees"].widget.attrs["max"] = 10_000_000

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. US or CN."))
        return country

    @property
    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in LEAD_SECTIONS]


class LeadInteractionForm(forms.ModelForm):
    class Meta:
        model = LeadInteraction
        fields = ["channel", "direction", "subject", "body", "occurred_at"]
        widgets = {
            "occurred_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "body": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["occurred_at"].input_formats = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
        ]
        self.fields["channel"].initial = Channel.PHONE
        self.fields["direction"].initial = Direction.OUTBOUND

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value and value > timezone.now() + timedelta(days=1):
            raise forms.ValidationError(_("An interaction cannot be in the future."))
        return value


NEW_CUSTOMER = "new"


class LeadConvertForm(forms.Form):
    """Which customer the lead becomes (a new one, or a likely duplicate: a customer or one of
    its contacts), and whether to open an opportunity."""

    target = forms.ChoiceField(label=_("Customer"), widget=forms.RadioSelect)
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False)
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), min_value=0, max_value=MAX_AMOUNT, decimal_places=2, required=False
    )
    close_date = forms.DateField(
        label=_("Expected close"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, candidates: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        choices = [(NEW_CUSTOMER, _("Create a new customer"))]
        self.customers = {}
        self.contacts = {}
        # (value, candidate, [(value, contact)]): the radio buttons, as the template shows them.
        self.rows = []
        for candidate in candidates:
            value = f"customer:{candidate.customer.pk}"
            choices.append((value, candidate.customer.name))
            self.customers[candidate.customer.pk] = candidate.customer
            contact_rows = []
            for contact in candidate.contacts:
                contact_rows.append((f"contact:{contact.pk}", contact))
                choices.append((f"contact:{contact.pk}", contact.full_name))
                self.contacts[contact.pk] = contact
            self.rows.append((value, candidate, contact_rows))
        self.fields["target"].choices = choices

    def clean(self):
        data = super().clean()
        close_date = data.get("close_date")
        if close_date and close_date < timezone.localdate() - timedelta(days=365):
            self.add_error("close_date", _("The close date is too far in the past."))
        return data

    def chosen(self) -> tuple:
        """(customer or None, contact or None) from the validated target."""
        kind, _sep, pk = self.cleaned_data["target"].partition(":")
        if kind == "customer":
            return self.customers[int(pk)], None
        if kind == "contact":
            contact = self.contacts[int(pk)]
            return contact.customer, contact
        return None, None

    def opportunity(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("create_opportunity"):
            return None
        return {
            "name": data.get("opportunity_name") or "",
            "amount": data.get("amount"),
            "close_date": data.get("close_date"),
        }
