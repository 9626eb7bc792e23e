"""Forms of the record-keeping screens: the merge screen and the erasure confirmation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.merge import MergeRow
from customers.models import Customer
from customers.privacy import erasure_name_matches

CHOICE_PREFIX = "keep__"


class MergeForm(forms.Form):
    """Which record survives, and for each differing field whose value it keeps.

    Choices are customer ids, never values, so a tampered form can only pick between the two
    records' own values, and anything else is refused as invalid.
    """

    survivor = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, a: Customer, b: Customer, rows: list[MergeRow], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.a, self.b, self.rows = a, b, rows
        options = [(a.pk, f"#{a.pk}"), (b.pk, f"#{b.pk}")]
        self.fields["survivor"].choices = options
        self.fields["survivor"].initial = a.pk
        for row in rows:
            if row.differs:
                # Left out, a field keeps the default (the survivor's value unless empty).
                self.fields[CHOICE_PREFIX + row.key] = forms.TypedChoiceField(
                    coerce=int,
                    choices=options,
                    initial=row.default,
                    label=row.label,
                    required=False,
                    empty_value=None,
                )

    def clean(self):
        data = super().clean()
        if self.errors:
            raise forms.ValidationError(
                _("The merge form was changed or is out of date. Please review it and try again.")
            )
        return data

    @property
    def choice_rows(self) -> list[tuple[MergeRow, int]]:
        """Each comparison row with the customer whose value is ticked."""
        return [(row, self.selected(row)) for row in self.rows]

    def selected(self, row: MergeRow) -> int:
        """The customer whose value is ticked for `row`, as submitted or by default."""
        name = CHOICE_PREFIX + row.key
        if self.is_bound and name in self.fields:
            try:
                return int(self.data.get(name))
            except (TypeError, ValueError):
                return row.default
        return row.default

    @property
    def selected_survivor(self) -> int:
        try:
            return int(self.data.get("survivor")) if self.is_bound else self.a.pk
        except (TypeError, ValueError):
            return self.a.pk

    def merge_arguments(self) -> dict:
        """survivor, merged and choices for customers.merge.customers_merge."""
        survivor_pk = self.cleaned_data["survivor"]
        survivor, merged = (self.a, self.b) if survivor_pk == self.a.pk else (self.b, self.a)
        choices = {
            name.removeprefix(CHOICE_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(CHOICE_PREFIX) and value is not None
        }
        return {"survivor": survivor, "merged": merged, "choices": choices}


class ErasureForm(forms.Form):
    confirm_name = forms.CharField(label=_("Customer's name"), max_length=200, strip=True)

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["confirm_name"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if not erasure_name_matches(self.customer, typed):
            raise forms.ValidationError(_("That is not the customer's name."))
        return typed
