"""Forms of the import flow: the upload, then the column mapping with its options."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from customers.import_fields import CONTACTS, CUSTOMERS, Target, check_mapping
from customers.import_writer import CREATE, SKIP, UPDATE


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("The file contains"),
        choices=[
            (CUSTOMERS, _("Customers (companies and individuals)")),
            (CONTACTS, _("Contacts (people at company customers)")),
        ],
        initial=CUSTOMERS,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV or Excel (.xlsx), with the column names in the first row; at most %(size)s "
            "and %(rows)s rows."
        ) % {
            "size": filesizeformat(settings.IMPORT_MAX_BYTES),
            "rows": f"{settings.IMPORT_MAX_ROWS:,}",
        }


class ImportMapForm(forms.Form):
    """One select per column of the file (which field it goes into), and the options."""

    on_match = forms.ChoiceField(
        label=_("When a row matches an existing record (same email, phone or name)"),
        choices=[
            (SKIP, _("Skip the row and leave the existing record as it is")),
            (UPDATE, _("Update the existing record with the row's non-empty cells")),
            (CREATE, _("Create a new record anyway")),
        ],
        widget=forms.RadioSelect,
    )
    skip_bad_rows = forms.BooleanField(
        label=_("Skip rows with errors and import the others"),
        required=False,
        help_text=_(
            "Otherwise one row with an error stops the import and nothing is written. Either "
            "way, the report lists every rejected row with the reason."
        ),
    )

    def __init__(
        self,
        data=None,
        *,
        kind: str,
        headers: list[str],
        targets: list[Target],
        mapping: dict[str, str],
        on_match: str,
        skip_bad_rows: bool,
    ):
        super().__init__(data, initial={"on_match": on_match, "skip_bad_rows": skip_bad_rows})
        self.kind = kind
        self.headers = headers
        self.targets = targets
        choices = [("", _("— Do not import —")), *[(t.key, t.label) for t in targets]]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=mapping.get(header, ""),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def columns(self) -> list[forms.BoundField]:
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """{column: target} from the cleaned data, or from the initial values when unbound."""
        if self.is_bound:
            data = self.cleaned_data
            return {h: data.get(f"col_{i}", "") for i, h in enumerate(self.headers)}
        return {h: self.fields[f"col_{i}"].initial for i, h in enumerate(self.headers)}

    def clean(self):
        cleaned = super().clean()
        errors = check_mapping(kind=self.kind, mapping=self.mapping(), targets=self.targets)
        if errors:
            raise ValidationError(errors)
        return cleaned

    def service_data(self) -> dict:
        return {
            "mapping": self.mapping(),
            "on_match": self.cleaned_data["on_match"],
            "skip_bad_rows": self.cleaned_data["skip_bad_rows"],
        }
