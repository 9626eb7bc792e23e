from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from customers.models import (
    Channel,
    ConsentState,
    Contact,
    Customer,
    CustomFieldDefinition,
    CustomFieldType,
    Direction,
    Interaction,
    LifecycleStage,
    Tag,
)

CUSTOMER_FIELDS = [
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
]

CUSTOMER_SECTIONS = [
    (
        _("Profile"),
        ["kind", "name", "email", "phone", "website", "owner", "lifecycle_stage", "tags"],
    ),
    (_("Company"), ["industry", "company_size"]),
    (_("Person"), ["birth_date", "gender", "income_band", "household_size"]),
    (_("Address"), ["city", "region", "country"]),
    (
        _("Needs and preferences"),
        ["interests", "needs", "preferred_channel", "preferred_contact_time"],
    ),
    (_("Acquisition"), ["source", "acquisition_channel"]),
    (_("Marketing consent"), ["consent_email", "consent_sms", "consent_phone"]),
    (_("Credit"), ["credit_limit", "credit_rating", "payment_terms"]),
]


def custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    common = {
        "label": definition.label,
        "required": definition.required,
        "help_text": definition.help_text,
    }
    match definition.field_type:
        case CustomFieldType.NUMBER:
            return forms.DecimalField(max_digits=18, decimal_places=4, **common)
        case CustomFieldType.DATE:
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        case CustomFieldType.CHOICE:
            return forms.ChoiceField(
                choices=[("", "—"), *[(c, c) for c in definition.choices]], **common
            )
        case CustomFieldType.BOOLEAN:
            return forms.BooleanField(**{**common, "required": False})
        case _:
            return forms.CharField(max_length=500, **common)


def custom_value_to_json(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def custom_value_from_json(definition: CustomFieldDefinition, value):
    if value in (None, ""):
        return None
    if definition.field_type == CustomFieldType.DATE and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return value


class CustomerForm(forms.ModelForm):
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.unscoped.none(),
        required=False,
        label=_("Tags"),
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    consent_email = forms.ChoiceField(
        label=_("Email"), choices=ConsentState.choices, initial=ConsentState.UNKNOWN
    )
    consent_sms = forms.ChoiceField(
        label=_("SMS"), choices=ConsentState.choices, initial=ConsentState.UNKNOWN
    )
    consent_phone = forms.ChoiceField(
        label=_("Phone"), choices=ConsentState.choices, initial=ConsentState.UNKNOWN
    )

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "needs": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, org, custom_fields: list[CustomFieldDefinition], members, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = custom_fields
        self.fields["owner"].queryset = members
        self.fields["tags"].queryset = Tag.objects.order_by("name")
        self.fields["name"].widget.attrs["autofocus"] = True
        if self.instance.pk:
            self.fields["tags"].initial = list(self.instance.tags.all())
            for channel in ("email", "sms", "phone"):
                self.fields[f"consent_{channel}"].initial = getattr(
                    self.instance, f"consent_{channel}"
                )
        for definition in custom_fields:
            field = custom_form_field(definition)
            field.initial = custom_value_from_json(
                definition, (self.instance.custom or {}).get(definition.key)
            )
            self.fields[f"cf_{definition.key}"] = field

    def sections(self):
        """Field groups for the template, with the organization's custom fields last."""
        groups = [(title, [self[name] for name in names]) for title, names in CUSTOMER_SECTIONS]
        if self.custom_fields:
            groups.append((_("Custom fields"), [self[f"cf_{d.key}"] for d in self.custom_fields]))
        return groups

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def service_data(self) -> dict:
        """Cleaned values in the shape customers.services expects."""
        data = {name: self.cleaned_data[name] for name in CUSTOMER_FIELDS}
        for channel in ("email", "sms", "phone"):
            data[f"consent_{channel}"] = self.cleaned_data[f"consent_{channel}"]
        custom = dict(self.instance.custom or {})
        for definition in self.custom_fields:
            value = self.cleaned_data.get(f"cf_{definition.key}")
            if value in (None, "") and definition.field_type != CustomFieldType.BOOLEAN:
                custom.pop(definition.key, None)
            else:
                custom[definition.key] = custom_value_to_json(value)
        data["custom"] = custom
        return data


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "title",
            "decision_role",
            "email",
            "phone",
            "is_primary",
            "birthday",
            "family",
            "education",
            "career_history",
            "hobbies",
            "values",
            "notes",
        ]
        widgets = {
            "birthday": forms.DateInput(attrs={"type": "date"}),
            **{
                name: forms.Textarea(attrs={"rows": 2})
                for name in ["family", "education", "career_history", "hobbies", "values", "notes"]
            },
        }


class InteractionForm(forms.ModelForm):
    """Quick logging from the customer page: channel, subject, done."""

    # Declared so that Django does not build it from Contact's tenant-scoped default manager
    # when the module is imported (no tenant then); the real choices are set per request.
    contact = forms.ModelChoiceField(
        queryset=Contact.unscoped.none(), required=False, label=_("Contact")
    )

    class Meta:
        model = Interaction
        fields = ["channel", "direction", "subject", "body", "contact", "occurred_at"]
        widgets = {
            "occurred_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "body": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer).order_by(
            "last_name"
        )
        self.fields["contact"].required = False
        self.fields["occurred_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["occurred_at"].input_formats = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
        ]
        self.fields["channel"].initial = Channel.PHONE
        self.fields["direction"].initial = Direction.OUTBOUND
        self.fields["subject"].widget.attrs.update({"placeholder": _("What was it about?")})

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value and value > timezone.now() + timedelta(days=1):
            raise forms.ValidationError(_("An interaction cannot be in the future."))
        return value


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        help_text=_("For a choice field: the options, separated by commas."),
    )

    class Meta:
        model = CustomFieldDefinition
        fields = ["label", "field_type", "required", "help_text", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["choices_text"].initial = ", ".join(self.instance.choices)
            self.fields["field_type"].disabled = True  # changing the type would orphan values

    def clean(self):
        cleaned = super().clean()
        choices = [c.strip() for c in cleaned.get("choices_text", "").split(",") if c.strip()]
        if cleaned.get("field_type") == CustomFieldType.CHOICE and not choices:
            self.add_error("choices_text", _("A choice field needs at least one option."))
        cleaned["choices"] = choices
        if not self.instance.pk:
            key = slugify(cleaned.get("label", ""))[:40].replace("-", "_")
            if not key:
                self.add_error("label", _("Use at least one letter or digit in the label."))
            elif CustomFieldDefinition.objects.filter(key=key).exists():
                self.add_error("label", _("A custom field with this name already exists."))
            cleaned["key"] = key
        return cleaned

    def service_data(self) -> dict:
        data = {
            name: self.cleaned_data[name]
            for name in ["label", "field_type", "required", "help_text", "position"]
        }
        data["choices"] = self.cleaned_data["choices"]
        if "key" in self.cleaned_data:
            data["key"] = self.cleaned_data["key"]
        return data


class BulkActionForm(forms.Form):
    ACTIONS = [
        ("assign_owner", _("Assign owner")),
        ("add_tag", _("Add tag")),
        ("remove_tag", _("Remove tag")),
        ("change_stage", _("Change stage")),
    ]
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    scope = forms.ChoiceField(
        choices=[
            ("selected", _("Selected customers")),
            ("all", _("All customers matching the filters")),
        ],
        initial="selected",
    )
    ids = forms.CharField(required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Owner"), empty_label=_("Nobody")
    )
    tag = forms.CharField(required=False, max_length=50, label=_("Tag"))
    stage = forms.ChoiceField(choices=LifecycleStage.choices, required=False, label=_("Stage"))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "selected":
            try:
                cleaned["id_list"] = [
                    int(x) for x in cleaned.get("ids", "").split(",") if x.strip()
                ]
            except ValueError:
                raise forms.ValidationError(_("The selection is not valid.")) from None
            if not cleaned["id_list"]:
                raise forms.ValidationError(
                    _("Select at least one customer, or choose all matching customers.")
                )
        action = cleaned.get("action")
        if action in ("add_tag", "remove_tag") and not cleaned.get("tag", "").strip():
            self.add_error("tag", _("Name the tag."))
        if action == "change_stage" and not cleaned.get("stage"):
            self.add_error("stage", _("Choose a stage."))
        return cleaned
