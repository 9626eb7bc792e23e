"""Converting a qualified lead, in one step and one transaction: the customer (new, or the
existing one the person picked among the likely duplicates), its contact, optionally an
opportunity, the lead's interactions and campaign attribution carried over, the lead marked
converted.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.history import history_event
from customers.matching import normalize_email, normalize_phone
from customers.models import ChangeAction, Contact, Customer, CustomerKind, Interaction, Source
from customers.services import contact_create, customer_create
from sales.models import Lead, LeadInteraction, LeadSource, LeadStatus, Opportunity, Stage, Task
from tenancy.context import require_org
from tenancy.models import User

# Where a lead came from, in the customers' words.
CUSTOMER_SOURCE = {
    LeadSource.WEB_FORM: Source.WEB,
    LeadSource.WEBSITE: Source.WEB,
    LeadSource.REFERRAL: Source.REFERRAL,
    LeadSource.EVENT: Source.EVENT,
    LeadSource.PARTNER: Source.PARTNER,
    LeadSource.ADVERTISING: Source.ADVERTISING,
    LeadSource.COLD_CALL: Source.OUTBOUND,
    LeadSource.IMPORT: Source.IMPORT,
    LeadSource.OTHER: Source.OTHER,
}


def conversion_refusal(lead: Lead) -> str:
    """Why this lead cannot be converted now, or "" when it can."""
    if lead.status == LeadStatus.CONVERTED:
        return _("This lead was already converted.")
    if lead.status != LeadStatus.QUALIFIED:
        return _("Only a qualified lead can be converted. Qualify it first.")
    return ""


def _new_customer(lead: Lead, by: User | None) -> Customer:
    is_company = bool(lead.company.strip())
    data = {
        "kind": CustomerKind.COMPANY if is_company else CustomerKind.INDIVIDUAL,
        "name": (lead.company.strip() if is_company else lead.full_name)[:200],
        "email": "" if is_company else lead.email,
        "phone": "" if is_company else lead.phone,
        "website": lead.website,
        "industry": lead.industry,
        "city": lead.city,
        "region": lead.region,
        "country": lead.country,
        "source": CUSTOMER_SOURCE.get(lead.source, ""),
        "acquisition_channel": lead.campaign_name[:80],
        "owner": lead.owner,
        "needs": lead.notes,
    }
    return customer_create(org=require_org(), by=by, data=data)


def _attribute(customer: Customer, lead: Lead) -> None:
    """An existing customer keeps its own attribution; only what it lacks comes from the lead."""
    changed = []
    if not customer.source and lead.source in CUSTOMER_SOURCE:
        customer.source = CUSTOMER_SOURCE[lead.source]
        changed.append("source")
    if not customer.acquisition_channel and lead.campaign_name:
        customer.acquisition_channel = lead.campaign_name[:80]
        changed.append("acquisition_channel")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])


def _matching_contact(customer: Customer, lead: Lead) -> Contact | None:
    email, phone = normalize_email(lead.email), normalize_phone(lead.phone)
    contacts = Contact.objects.filter(customer=customer, erased_at__isnull=True)
    if email:
        found = contacts.filter(email=email).first()
        if found:
            return found
    if phone:
        return contacts.filter(phone_normalized=phone).first()
    return None


def _contact_for(customer: Customer, lead: Lead, by: User | None) -> Contact | None:
    """The lead as a contact of a company customer (an existing one with the same email or
    phone, else a new one); individuals need no contact."""
    if customer.kind != CustomerKind.COMPANY:
        return None
    found = _matching_contact(customer, lead)
    if found:
        return found
    first, last = (lead.first_name, lead.last_name) if lead.first_name else (lead.last_name, "")
    has_primary = Contact.objects.filter(customer=customer, is_primary=True).exists()
    return contact_create(
        customer=customer,
        by=by,
        data={
            "first_name": first[:80],
            "last_name": last[:80],
            "title": lead.title,
            "email": lead.email,
            "phone": lead.phone,
            "is_primary": not has_primary,
        },
    )


def _copy_interactions(lead: Lead, customer: Customer, contact: Contact | None) -> int:
    rows = LeadInteraction.objects.filter(lead=lead).order_by("occurred_at", "id")
    copies = [
        Interaction(
            organization_id=customer.organization_id,
            customer=customer,
            contact=contact,
            channel=row.channel,
            direction=row.direction,
            subject=row.subject,
            body=row.body,
            occurred_at=row.occurred_at,
            user_id=row.user_id,
        )
        for row in rows
    ]
    Interaction.objects.bulk_create(copies, batch_size=1000)
    return len(copies)


def _new_opportunity(
    lead: Lead,
    customer: Customer,
    contact: Contact | None,
    by: User | None,
    opportunity: dict[str, Any],
) -> Opportunity:
    from sales.services.opportunities import opportunity_create, pipeline_ensure_default

    org = require_org()
    pipeline = pipeline_ensure_default(org)
    stage = (
        Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False)
        .order_by("position", "id")
        .first()
    )
    if stage is None:
        raise ValidationError(_("The default pipeline has no open stage to start in."))
    created = opportunity_create(
        org=org,
        by=by,
        stage=stage,
        data={
            "name": (opportunity.get("name") or customer.name)[:200],
            "customer": customer,
            "contact": contact,
            "amount": opportunity.get("amount") or Decimal("0"),
            "close_date": opportunity.get("close_date") or default_close_date(),
            "owner": lead.owner or by,
            "source_campaign": lead.campaign_name,
        },
    )
    created.lead = lead
    created.save(update_fields=["lead"])
    return created


def default_close_date() -> date:
    return timezone.localdate() + timedelta(days=30)


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    by: User | None,
    customer: Customer | None = None,
    contact: Contact | None = None,
    opportunity: dict[str, Any] | None = None,
) -> Customer:
    """Convert a qualified lead and return the customer.

    `customer`: an existing customer to attach the lead to (None creates one from the lead);
    `contact`: an existing contact of that customer to use (None matches by email or phone,
    or creates one); `opportunity`: None for no opportunity, else {"name", "amount",
    "close_date"} for one in the default pipeline's first open stage, with the lead's campaign
    as its source. Raises ValidationError when the lead is not qualified or already converted.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)  # one conversion at a time
    refusal = conversion_refusal(lead)
    if refusal:
        raise ValidationError(refusal)
    if contact is not None:
        if customer is not None and contact.customer_id != customer.pk:
            raise ValidationError(_("That contact works for another customer."))
        customer = contact.customer
    if customer is None:
        customer = _new_customer(lead, by)
    else:
        _attribute(customer, lead)
    contact = contact or _contact_for(customer, lead, by)
    _copy_interactions(lead, customer, contact)
    created = None
    if opportunity is not None:
        created = _new_opportunity(lead, customer, contact, by, opportunity)
    Task.objects.filter(lead=lead, customer__isnull=True).update(customer=customer)

    lead.status = LeadStatus.CONVERTED
    lead.converted_customer = customer
    lead.converted_contact = contact
    lead.converted_opportunity = created
    lead.converted_at = timezone.now()
    lead.save(
        update_fields=[
            "status",
            "converted_customer",
            "converted_contact",
            "converted_opportunity",
            "converted_at",
            "updated_at",
        ]
    )
    history_event(
        org=require_org(),
        entity="customer",
        entity_id=customer.pk,
        action=ChangeAction.UPDATE,
        by=by,
        note=_("Converted lead %(name)s") % {"name": lead.full_name},
    )
    return customer
