"""Forms admins use to tune lead capture: assignment rules, score rules and web forms."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from sales.models import AssignmentRule, LeadScoreRule, WebForm
from sales.services.lead_scoring import (
    ENGAGEMENT_METRICS,
    FIT_FIELDS,
    engagement_metric_choices,
)
from sales.services.lead_web_forms import WEB_FORM_FIELDS
from tenancy.models import User


class AssignmentRuleForm(forms.ModelForm):
    assignees = forms.TypedMultipleChoiceField(
        label=_("Assign in turn to"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("New leads go to these people one after the other (round robin)."),
    )

    class Meta:
        model = AssignmentRule
        fields = ["name", "position", "match_source", "match_region", "assignees", "is_active"]
        help_texts = {
            "position": _("Rules are tried from the lowest number; the first that fits wins."),
            "match_source": _("Leave empty for any source."),
            "match_region": _("A region or two-letter country code; leave empty for anywhere."),
        }

    def __init__(self, *args, members: QuerySet[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignees"].choices = [(u.pk, u.full_name or u.email) for u in members]
        self.fields["match_source"].required = False

    def clean_match_region(self) -> str:
        return self.cleaned_data["match_region"].strip()


NUMERIC_OPERATORS = {LeadScoreRule.Operator.GTE}


class LeadScoreRuleForm(forms.ModelForm):
    """One rule. Its kind follows from what it tests: a lead field (fit) or a count of the
    lead's interactions (engagement)."""

    field = forms.ChoiceField(label=_("When"))
    points = forms.IntegerField(
        label=_("Points"),
        min_value=-1000,
        max_value=1000,
        help_text=_("Negative points lower the score."),
    )

    class Meta:
        model = LeadScoreRule
        fields = ["label", "field", "operator", "value", "points", "is_active"]
        help_texts = {
            "label": _("Shown as the reason next to the score, e.g. “Works in software”."),
            "value": _("A word or a number; not needed for “is filled in”."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [
            (_("Fit: the lead's details"), [(k, v) for k, v in FIT_FIELDS.items()]),
            (_("Engagement: the lead's interactions"), engagement_metric_choices()),
        ]

    def clean(self):
        data = super().clean()
        field, operator = data.get("field"), data.get("operator")
        value = (data.get("value") or "").strip()
        data["value"] = value
        if not field or not operator:
            return data
        if field in ENGAGEMENT_METRICS and operator == LeadScoreRule.Operator.CONTAINS:
            self.add_error("operator", _("Counts of interactions cannot “contain” a word."))
        if operator in NUMERIC_OPERATORS or (
            field in ENGAGEMENT_METRICS and operator == LeadScoreRule.Operator.EQUALS
        ):
            try:
                Decimal(value)
            except (InvalidOperation, ValueError):
                self.add_error("value", _("Enter a number."))
        elif operator != LeadScoreRule.Operator.PRESENT and not value:
            self.add_error("value", _("Enter the value to compare with."))
        return data

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["kind"] = (
            LeadScoreRule.Kind.ENGAGEMENT
            if data["field"] in ENGAGEMENT_METRICS
            else LeadScoreRule.Kind.FIT
        )
        return data


class WebFormForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        label=_("Fields on the form"),
        choices=[(name, spec.label) for name, spec in WEB_FORM_FIELDS.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebForm
        fields = [
            "name",
            "fields",
            "thank_you_message",
            "redirect_url",
            "campaign_name",
            "source",
            "is_active",
        ]
        widgets = {"thank_you_message": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "name": _("For you only, e.g. “Contact us page”."),
            "thank_you_message": _("Shown after a visitor sends the form."),
            "redirect_url": _("Instead of the thank-you message, send visitors to this page."),
            "campaign_name": _("Leads from this form are attributed to this campaign."),
            "is_active": _("An inactive form refuses submissions."),
        }

    def clean_fields(self) -> list[str]:
        chosen = set(self.cleaned_data["fields"])
        if "last_name" not in chosen:
            raise forms.ValidationError(_("The form needs the “Last name” field."))
        if not chosen & {"email", "phone"}:
            raise forms.ValidationError(_("The form needs an email or a phone field."))
        return [name for name in WEB_FORM_FIELDS if name in chosen]  # in the standard order

    def clean_redirect_url(self) -> str:
        url = self.cleaned_data["redirect_url"].strip()
        if url and not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter a web address starting with https://."))
        return url
