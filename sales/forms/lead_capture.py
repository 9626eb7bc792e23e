"""Forms that bring leads in: a public web form submission, and a lead import's upload and
column mapping."""

from django import forms
from django.utils.translation import gettext_lazy as _

from sales.models import LeadSource
from sales.services.lead_imports import IMPORT_TARGETS
from sales.services.lead_web_forms import form_fields


class PublicLeadForm(forms.Form):
    """What a visitor sent through a web form: only the form's own fields."""

    def __init__(self, *args, web_form, **kwargs):
        super().__init__(*args, **kwargs)
        for name, spec, required in form_fields(web_form):
            self.fields[name] = spec.form_field(required=required)

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. US or CN."))
        return country


class LeadImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("A CSV file or an Excel workbook (.xlsx) with a header row."),
    )


class LeadImportMapForm(forms.Form):
    """One select per column of the file (named col_0, col_1...), and the import's options."""

    source = forms.ChoiceField(
        label=_("Source of rows without one"),
        choices=LeadSource.choices,
        initial=LeadSource.IMPORT,
    )
    campaign_name = forms.CharField(
        label=_("Campaign of rows without one"), max_length=120, required=False
    )
    skip_existing = forms.BooleanField(
        label=_("Skip rows whose email already belongs to a lead"), required=False, initial=True
    )

    def __init__(self, *args, headers: list[str], guessed: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("— Do not import —")), *[(k, t.label) for k, t in IMPORT_TARGETS.items()]]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=guessed.get(header, "")
            )

    def column_fields(self):
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{index}", "")
            for index, header in enumerate(self.headers)
        }

    def clean(self):
        data = super().clean()
        chosen = [data.get(f"col_{i}") for i in range(len(self.headers)) if data.get(f"col_{i}")]
        twice = sorted({str(IMPORT_TARGETS[t].label) for t in chosen if chosen.count(t) > 1})
        if twice:
            raise forms.ValidationError(
                _("Each field can take one column only: %(fields)s.") % {"fields": ", ".join(twice)}
            )
        if "last_name" not in chosen and "full_name" not in chosen:
            raise forms.ValidationError(
                _("Choose the column with the lead's last name or full name.")
            )
        return data
