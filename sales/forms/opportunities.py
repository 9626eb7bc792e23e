"""Forms of the opportunities area: opportunities, their filters and moves, pipelines and stages,
competitors and partners."""

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import LIVE_CUSTOMER, Contact, Customer
from sales.models import (
    Competitor,
    Opportunity,
    OpportunityCompetitor,
    Partner,
    Pipeline,
    Stage,
)
from tenancy.models import User

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_AMOUNT = Decimal("999999999999.99")


class OpenStatus:
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    ALL = "all"
    choices = [
        (OPEN, _("Open")),
        (WON, _("Won")),
        (LOST, pgettext_lazy("opportunity stage", "Lost")),
        (ALL, _("All")),
    ]


SORTS = {
    "close": ("close_date", False, _("Closing soonest")),
    "-created": ("created_at", True, _("Newest first")),
}
DEFAULT_SORT = "close"


class MonthField(forms.CharField):
    """A month as the browser's <input type="month"> sends it ("2026-03"), cleaned to its
    first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = MONTH.match(value.strip())
        if not match or not (1 <= int(match[2]) <= 12) or not (1900 <= int(match[1]) <= 9999):
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        return date(int(match[1]), int(match[2]), 1)


class OpportunityFilterForm(forms.Form):
    """The filters of the board and the list (the list adds search, pipeline, stage, status,
    partner and sort). Invalid fields are left out of `cleaned_data` and ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Anyone")
    )
    close_month = MonthField(label=_("Close month"), required=False)
    amount_min = forms.DecimalField(
        label=_("Amount from"), required=False, min_value=0, max_value=MAX_AMOUNT
    )
    amount_max = forms.DecimalField(
        label=_("Amount to"), required=False, min_value=0, max_value=MAX_AMOUNT
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.unscoped.none(), required=False, empty_label=_("All")
    )
    stage = forms.ModelChoiceField(
        label=_("Stage"), queryset=Stage.unscoped.none(), required=False, empty_label=_("All")
    )
    status = forms.ChoiceField(label=_("Status"), choices=OpenStatus.choices, required=False)
    partner = forms.ModelChoiceField(
        label=_("Partner"), queryset=Partner.unscoped.none(), required=False, empty_label=_("Any")
    )
    sort = forms.ChoiceField(
        label=_("Sort"), choices=[(k, v[2]) for k, v in SORTS.items()], required=False
    )

    BOARD_FIELDS = ("owner", "close_month", "amount_min", "amount_max")

    def __init__(self, data=None, *, members: QuerySet, board: bool = False, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["owner"].queryset = members
        if board:
            for name in list(self.fields):
                if name not in self.BOARD_FIELDS:
                    del self.fields[name]
        else:
            self.fields["pipeline"].queryset = Pipeline.objects.order_by("-is_default", "name")
            self.fields["stage"].queryset = Stage.objects.select_related("pipeline").order_by(
                "pipeline__name", "position"
            )
            self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name}: {s.name}"
            self.fields["partner"].queryset = Partner.objects.order_by("name")

    @property
    def values(self) -> dict:
        """The valid filters only: a wrong field is reported, the others still apply."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return any(k not in ("sort", "status") for k in self.values)


class SelectedOnlySelect(forms.Select):
    """A select that renders only its chosen option: the list behind it can be a million rows
    (customers); the others arrive by search (htmx)."""

    def __init__(self, *args, label_for=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.label_for = label_for

    def optgroups(self, name, value, attrs=None):
        chosen = [v for v in value if v not in ("", None)]
        label = self.label_for(chosen[0]) if chosen and self.label_for else ""
        options = [self.create_option(name, "", "—", not chosen, 0)]
        if label:
            options.append(self.create_option(name, chosen[0], label, True, 1))
        return [(None, options, 0)]


def _customer_label(pk) -> str:
    try:
        return (
            Customer.objects.filter(LIVE_CUSTOMER, pk=int(pk))
            .values_list("name", flat=True)
            .first()
            or ""
        )
    except (TypeError, ValueError):
        return ""


class OpportunityForm(forms.ModelForm):
    # Relations to tenant models are declared (no tenant at import time); their querysets are
    # set per request in __init__.
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.unscoped.none())
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.unscoped.none(), required=False
    )
    partner = forms.ModelChoiceField(
        label=_("Partner"), queryset=Partner.unscoped.none(), required=False
    )
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.unscoped.none())
    lost_reason = forms.CharField(
        label=_("Lost reason"),
        required=False,
        max_length=200,
        help_text=_("Needed when the stage is a lost stage."),
    )

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "customer",
            "contact",
            "amount",
            "close_date",
            "probability",
            "forecast_category",
            "owner",
            "next_step",
            "source_campaign",
            "partner",
        ]
        widgets = {"close_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(
        self, *args, members: QuerySet, stages: QuerySet, contact_options_url: str = "", **kwargs
    ):
        super().__init__(*args, **kwargs)
        customer = self.fields["customer"]
        customer.queryset = Customer.objects.filter(LIVE_CUSTOMER)
        # Choosing a customer (or a search result arriving) reloads its contacts.
        customer.widget = SelectedOnlySelect(
            label_for=_customer_label,
            attrs={
                "class": "form-select",
                "data-customer-select": "",
                "hx-get": contact_options_url,
                "hx-trigger": "change",
                "hx-target": "#id_contact",
                "hx-include": "this",
            },
        )
        customer_id = self._value_of("customer")
        contacts = self.fields["contact"]
        contacts.queryset = (
            Contact.objects.filter(customer_id=customer_id).order_by("last_name", "first_name")
            if customer_id
            else Contact.objects.none()
        )
        contacts.label_from_instance = lambda c: c.full_name
        self.fields["stage"].queryset = stages
        self.fields["stage"].label_from_instance = lambda s: (
            s.name if self.instance.pk else f"{s.pipeline.name}: {s.name}"
        )
        self.fields["owner"].queryset = members
        self.fields["partner"].queryset = Partner.objects.order_by("name")
        self.fields["probability"].required = False
        self.fields["probability"].help_text = _("Leave empty for the stage's default.")
        self.fields["probability"].widget.attrs.update(min=0, max=100)
        self.fields["amount"].widget.attrs.update(min=0, step="0.01")
        self.fields["name"].widget.attrs["autofocus"] = True
        if self.instance.pk:
            self.fields["lost_reason"].initial = self.instance.lost_reason
        elif not self.is_bound:
            self.initial["probability"] = None  # the stage's default unless typed in

    def _value_of(self, name: str):
        if self.is_bound:
            value = self.data.get(self.add_prefix(name))
        else:
            value = self.initial.get(name) or getattr(self.instance, f"{name}_id", None)
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def clean_probability(self):
        value = self.cleaned_data.get("probability")
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError(_("A percentage from 0 to 100."))
        return value

    def clean_amount(self):
        value = self.cleaned_data.get("amount")
        if value is not None and value < 0:
            raise forms.ValidationError(_("The amount cannot be negative."))
        return value

    def clean(self):
        data = super().clean()
        stage, contact, customer = data.get("stage"), data.get("contact"), data.get("customer")
        if stage is not None and stage.is_lost and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", _("Say why the opportunity was lost."))
        if contact is not None and customer is not None and contact.customer_id != customer.pk:
            self.add_error("contact", _("This contact works for another customer."))
        return data

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class MoveForm(forms.Form):
    """A move on the board (`before`/`after`: the neighbouring cards where it was dropped) or
    from the detail page (stage only)."""

    stage = forms.IntegerField(min_value=1)
    before = forms.IntegerField(required=False, min_value=1)
    after = forms.IntegerField(required=False, min_value=1)
    lost_reason = forms.CharField(required=False, max_length=200)


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "is_default"]
        labels = {"is_default": _("Default pipeline (the board opens on it)")}


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "probability", "is_won", "is_lost"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["probability"].widget.attrs.update(min=0, max=100)

    def clean(self):
        data = super().clean()
        if data.get("is_won") and data.get("is_lost"):
            raise forms.ValidationError(_("A stage cannot be both won and lost."))
        probability = data.get("probability")
        if probability is not None and probability > 100:
            self.add_error("probability", _("A percentage from 0 to 100."))
        return data


class StageOrderForm(forms.Form):
    order = forms.CharField(max_length=2000)  # comma-separated stage ids

    def clean_order(self) -> list[int]:
        try:
            return [int(part) for part in self.cleaned_data["order"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("The order is not a list of stages.")) from None


class CompetitorForm(forms.ModelForm):
    class Meta:
        model = Competitor
        fields = ["name", "website", "strengths", "weaknesses"]
        widgets = {
            "strengths": forms.Textarea(attrs={"rows": 3}),
            "weaknesses": forms.Textarea(attrs={"rows": 3}),
        }


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["name", "kind", "email", "phone", "commission_percent", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean_commission_percent(self):
        value = self.cleaned_data.get("commission_percent")
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError(_("A percentage from 0 to 100."))
        return value


class OpportunityCompetitorForm(forms.Form):
    competitor = forms.ModelChoiceField(label=_("Competitor"), queryset=Competitor.unscoped.none())
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=OpportunityCompetitor.Outcome.choices, required=False
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["competitor"].queryset = Competitor.objects.order_by("name")

    def clean_outcome(self) -> str:
        return self.cleaned_data.get("outcome") or OpportunityCompetitor.Outcome.OPEN


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=OpportunityCompetitor.Outcome.choices)
    notes = forms.CharField(required=False, max_length=300)
