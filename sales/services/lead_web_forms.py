"""Web-to-lead forms: what they may ask, the HTML snippet an admin pastes on the company
website, and what happens to a submission (throttled, checked, turned into an assigned, scored
lead attributed to the form's campaign).

The public endpoint lives at /f/<org slug>/<token>/ (sales.views.lead_web_forms): the slug says
which tenant to set before the form is looked up by its token, which is unique per organization.
"""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from sales.models import Lead, WebForm
from sales.services.leads import lead_create
from tenancy.context import require_org
from tenancy.models import Organization

HONEYPOT_FIELD = "fax"
MAX_BODY_BYTES = 20 * 1024
RATE_LIMIT = 10  # submissions per address and form...
RATE_WINDOW = 10 * 60  # ...in this many seconds


@dataclass(frozen=True)
class WebFormField:
    """A lead field a web form may ask for, as the public form and the snippet render it."""

    label: object  # a lazy translation
    input_type: str = "text"
    max_length: int = 0
    autocomplete: str = ""

    def form_field(self, *, required: bool) -> forms.Field:
        if self.input_type == "email":
            return forms.EmailField(label=self.label, required=required, max_length=254)
        if self.input_type == "number":
            return forms.IntegerField(
                label=self.label, required=required, min_value=0, max_value=10_000_000
            )
        return forms.CharField(
            label=self.label, required=required, max_length=self.max_length, strip=True
        )


WEB_FORM_FIELDS: dict[str, WebFormField] = {
    "first_name": WebFormField(_("First name"), max_length=80, autocomplete="given-name"),
    "last_name": WebFormField(_("Last name"), max_length=80, autocomplete="family-name"),
    "email": WebFormField(_("Email"), "email", 254, "email"),
    "phone": WebFormField(_("Phone"), "tel", 40, "tel"),
    "company": WebFormField(_("Company"), max_length=200, autocomplete="organization"),
    "title": WebFormField(_("Job title"), max_length=120, autocomplete="organization-title"),
    "website": WebFormField(_("Website"), "url", 200, "url"),
    "industry": WebFormField(_("Industry"), max_length=80),
    "employees": WebFormField(_("Number of employees"), "number"),
    "city": WebFormField(_("City"), max_length=80, autocomplete="address-level2"),
    "region": WebFormField(_("Region or state"), max_length=80, autocomplete="address-level1"),
    "country": WebFormField(_("Country code (e.g. US)"), max_length=2, autocomplete="country"),
    "notes": WebFormField(_("Message"), "textarea", 5000),
}


def required_fields(web_form: WebForm) -> set[str]:
    """The last name always; the email, or the phone when the form has no email field."""
    chosen = set(web_form.fields)
    return {"last_name", "email" if "email" in chosen else "phone"}


def form_fields(web_form: WebForm) -> list[tuple[str, WebFormField, bool]]:
    """(name, spec, required) of the form's fields, in the standard order."""
    required = required_fields(web_form)
    return [
        (name, spec, name in required)
        for name, spec in WEB_FORM_FIELDS.items()
        if name in web_form.fields
    ]


def web_form_snippet(*, web_form: WebForm, action_url: str) -> str:
    """The HTML an admin pastes on the company website: a plain form posting to `action_url`,
    with the honeypot field hidden by a class of its own."""
    return render_to_string(
        "sales/leads/web_forms/snippet.html",
        {
            "web_form": web_form,
            "action_url": action_url,
            "fields": form_fields(web_form),
            "honeypot": HONEYPOT_FIELD,
        },
    ).strip()


@transaction.atomic
def web_form_save(
    *, org: Organization, data: dict[str, Any], web_form: WebForm | None = None
) -> WebForm:
    web_form = web_form or WebForm(organization=org)
    for name, value in data.items():
        setattr(web_form, name, value)
    web_form.save()
    return web_form


def web_form_delete(*, web_form: WebForm) -> None:
    """Delete a form; its leads stay, without the link to it (SET_NULL)."""
    web_form.delete()


def web_form_throttled(*, web_form: WebForm, address: str) -> bool:
    """Count one submission from `address`; whether it is over the limit of the window.

    A fixed window in the cache (shared by every worker with Redis): the first submission
    starts it, and it resets RATE_WINDOW seconds later.
    """
    limit = getattr(settings, "WEB_FORM_RATE_LIMIT", RATE_LIMIT)
    window = getattr(settings, "WEB_FORM_RATE_WINDOW", RATE_WINDOW)
    key = f"sales:web-form-rate:{web_form.organization_id}:{web_form.pk}:{address}"
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
    return count > limit


@transaction.atomic
def web_form_submit(*, web_form: WebForm, data: dict[str, Any]) -> Lead:
    """Create the lead of one valid submission: the form's fields, its source and campaign,
    owner from the assignment rules, score from the score rules."""
    values = {name: data[name] for name in web_form.fields if data.get(name) not in (None, "")}
    values.update(source=web_form.source, web_form=web_form, campaign_name=web_form.campaign_name)
    return lead_create(org=require_org(), by=None, data=values)
