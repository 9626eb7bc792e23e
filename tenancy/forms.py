from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tenancy.models import Organization, User
from tenancy.permissions import Role

CURRENCIES = [
    ("USD", "USD"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("CNY", "CNY"),
    ("JPY", "JPY"),
    ("CAD", "CAD"),
    ("AUD", "AUD"),
    ("CHF", "CHF"),
    ("HKD", "HKD"),
    ("SGD", "SGD"),
]


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email address and password do not match an account."),
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class _PasswordPairForm(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def _user_for_validation(self) -> User:
        return User(
            email=self.cleaned_data.get("email", ""),
            full_name=self.cleaned_data.get("full_name", ""),
        )

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, self._user_for_validation())
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SignupForm(_PasswordPairForm):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Work email"))
    organization_name = forms.CharField(
        label=_("Company name"), max_length=120, help_text=_("You can invite colleagues next.")
    )
    field_order = ["full_name", "email", "organization_name", "password1", "password2"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists. Sign in instead.")
            )
        return email


class AcceptInvitationForm(_PasswordPairForm):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def _user_for_validation(self) -> User:
        return User(email=self.email, full_name=self.cleaned_data.get("full_name", ""))


class OrganizationForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES)

    class Meta:
        model = Organization
        fields = ["name", "currency"]


class NewOrganizationForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
