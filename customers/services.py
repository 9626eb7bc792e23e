"""Writes about customers, contacts, interactions, tags, consent and custom fields.

Each function is one transaction (the request's, or its own), records field history where a
person would expect it, and has no hidden side effects.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.history import history_event, history_record, snapshot
from customers.matching import normalize_email, normalize_phone
from customers.models import (
    ChangeAction,
    ConsentChannel,
    ConsentEvent,
    Contact,
    Customer,
    CustomerTag,
    CustomFieldDefinition,
    FieldChange,
    Interaction,
    LifecycleStage,
    Tag,
)
from tenancy.context import require_org
from tenancy.models import Organization, User

CONSENT_CHANNELS = {c.value for c in ConsentChannel}


def _apply(instance, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(instance, name, value)


def _prepare_customer(customer: Customer) -> None:
    customer.email = normalize_email(customer.email)
    customer.phone_normalized = normalize_phone(customer.phone)


@transaction.atomic
def customer_create(
    *, org: Organization, by: User | None, data: dict[str, Any], tags: Iterable[Tag] = ()
) -> Customer:
    """Create a customer from cleaned form data (`custom` holds custom-field values)."""
    consent = {c: data.pop(f"consent_{c}", None) for c in CONSENT_CHANNELS}
    customer = Customer(organization=org, created_by=by)
    _apply(customer, data)
    _prepare_customer(customer)
    customer.stage_changed_at = timezone.now()
    customer.full_clean(
        exclude=["organization", "owner", "created_by", "import_batch", "merged_into"]
    )
    customer.save()
    for channel, state in consent.items():
        if state and state != "unknown":
            customer_set_consent(
                customer=customer, channel=channel, state=state, source=_("Entered by staff"), by=by
            )
    after = snapshot(customer)
    if tags:
        CustomerTag.objects.bulk_create(
            [CustomerTag(organization=org, customer=customer, tag=tag) for tag in tags]
        )
        after["tags"] = ", ".join(sorted(tag.name for tag in tags))
    history_record(
        org=org,
        entity="customer",
        entity_id=customer.pk,
        before=None,
        after=after,
        by=by,
        action=ChangeAction.CREATE,
    )
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, by: User | None, data: dict[str, Any], tags: Iterable[Tag] | None = None
) -> Customer:
    """Change a customer's profile; every changed field goes to its history."""
    before = snapshot(customer)
    consent = {c: data.pop(f"consent_{c}", None) for c in CONSENT_CHANNELS}
    old_stage = customer.lifecycle_stage
    _apply(customer, data)
    _prepare_customer(customer)
    if customer.lifecycle_stage != old_stage:
        customer.stage_changed_at = timezone.now()
    customer.save()
    for channel, state in consent.items():
        if state and state != getattr(customer, f"consent_{channel}"):
            customer_set_consent(
                customer=customer, channel=channel, state=state, source=_("Changed by staff"), by=by
            )
    after = snapshot(customer)
    if tags is not None:
        old_tags = set(customer.tags.values_list("name", flat=True))
        customer_set_tags(customer=customer, tags=tags)
        before["tags"] = ", ".join(sorted(old_tags))
        after["tags"] = ", ".join(sorted(t.name for t in tags))
    history_record(
        org=customer.organization,
        entity="customer",
        entity_id=customer.pk,
        before=before,
        after=after,
        by=by,
        action=ChangeAction.UPDATE,
    )
    return customer


def customer_set_tags(*, customer: Customer, tags: Iterable[Tag]) -> None:
    wanted = {t.pk for t in tags}
    current = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
    CustomerTag.objects.filter(customer=customer, tag_id__in=current - wanted).delete()
    CustomerTag.objects.bulk_create(
        [
            CustomerTag(organization_id=customer.organization_id, customer=customer, tag_id=pk)
            for pk in wanted - current
        ]
    )


@transaction.atomic
def customer_set_consent(
    *, customer: Customer, channel: str, state: str, source: str, by: User | None
) -> ConsentEvent:
    """Record a grant or withdrawal of marketing consent on one channel, with its source."""
    if channel not in CONSENT_CHANNELS:
        raise ValidationError(_("Unknown consent channel."))
    now = timezone.now()
    setattr(customer, f"consent_{channel}", state)
    setattr(customer, f"consent_{channel}_at", now)
    setattr(customer, f"consent_{channel}_source", source[:80])
    customer.save(
        update_fields=[
            f"consent_{channel}",
            f"consent_{channel}_at",
            f"consent_{channel}_source",
            "updated_at",
        ]
    )
    return ConsentEvent.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        channel=channel,
        state=state,
        source=source[:80],
        recorded_at=now,
        recorded_by=by,
    )


# --- Bulk actions on a selection or on a whole filtered list ------------------------------


@transaction.atomic
def customers_assign_owner(*, customers: QuerySet[Customer], owner: User | None, by: User) -> int:
    ids = list(customers.values_list("pk", flat=True))
    _bulk_history(ids, "owner", str(owner or ""), by)
    return Customer.objects.filter(pk__in=ids).update(owner=owner, updated_at=timezone.now())


@transaction.atomic
def customers_change_stage(*, customers: QuerySet[Customer], stage: str, by: User) -> int:
    if stage not in LifecycleStage.values:
        raise ValidationError(_("Unknown lifecycle stage."))
    ids = list(customers.exclude(lifecycle_stage=stage).values_list("pk", flat=True))
    _bulk_history(ids, "lifecycle_stage", str(LifecycleStage(stage).label), by)
    now = timezone.now()
    return Customer.objects.filter(pk__in=ids).update(
        lifecycle_stage=stage, stage_changed_at=now, updated_at=now
    )


@transaction.atomic
def customers_add_tag(*, customers: QuerySet[Customer], tag: Tag, by: User) -> int:
    ids = set(customers.values_list("pk", flat=True))
    tagged = set(
        CustomerTag.objects.filter(tag=tag, customer_id__in=ids).values_list(
            "customer_id", flat=True
        )
    )
    new = ids - tagged
    CustomerTag.objects.bulk_create(
        [CustomerTag(organization_id=tag.organization_id, customer_id=pk, tag=tag) for pk in new],
        batch_size=5000,
    )
    _bulk_history(sorted(new), "tags", f"+ {tag.name}", by)
    return len(new)


@transaction.atomic
def customers_remove_tag(*, customers: QuerySet[Customer], tag: Tag, by: User) -> int:
    ids = list(customers.values_list("pk", flat=True))
    removed = CustomerTag.objects.filter(tag=tag, customer_id__in=ids)
    removed_ids = list(removed.values_list("customer_id", flat=True))
    removed.delete()
    _bulk_history(removed_ids, "tags", f"− {tag.name}", by)
    return len(removed_ids)


def _bulk_history(ids: list[int], field: str, new_value: str, by: User) -> None:
    org = require_org()
    batch = uuid.uuid4()
    FieldChange.objects.bulk_create(
        [
            FieldChange(
                organization=org,
                entity="customer",
                entity_id=pk,
                batch=batch,
                action=ChangeAction.UPDATE,
                field=field,
                new_value=new_value,
                changed_by=by,
            )
            for pk in ids
        ],
        batch_size=5000,
    )


# --- Tags ---------------------------------------------------------------------------------


def tag_get_or_create(*, org: Organization, name: str) -> Tag:
    name = name.strip()[:50]
    if not name:
        raise ValidationError(_("A tag needs a name."))
    tag = Tag.objects.filter(name__iexact=name).first()
    return tag or Tag.objects.create(organization=org, name=name)


# --- Contacts -----------------------------------------------------------------------------


@transaction.atomic
def contact_create(*, customer: Customer, by: User | None, data: dict[str, Any]) -> Contact:
    contact = Contact(organization_id=customer.organization_id, customer=customer)
    _apply(contact, data)
    contact.email = normalize_email(contact.email)
    contact.phone_normalized = normalize_phone(contact.phone)
    contact.save()
    history_record(
        org=customer.organization,
        entity="contact",
        entity_id=contact.pk,
        before=None,
        after=snapshot(contact),
        by=by,
        action=ChangeAction.CREATE,
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by: User | None, data: dict[str, Any]) -> Contact:
    before = snapshot(contact)
    _apply(contact, data)
    contact.email = normalize_email(contact.email)
    contact.phone_normalized = normalize_phone(contact.phone)
    contact.save()
    history_record(
        org=contact.organization,
        entity="contact",
        entity_id=contact.pk,
        before=before,
        after=snapshot(contact),
        by=by,
        action=ChangeAction.UPDATE,
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, by: User | None) -> None:
    history_event(
        org=contact.organization,
        entity="customer",
        entity_id=contact.customer_id,
        action=ChangeAction.UPDATE,
        by=by,
        note=_("Removed contact %(name)s") % {"name": contact.full_name},
    )
    contact.delete()


# --- Interactions -------------------------------------------------------------------------


def interaction_log(*, customer: Customer, by: User | None, data: dict[str, Any]) -> Interaction:
    """Log one touch with a customer; a contact, if given, must belong to that customer."""
    contact = data.get("contact")
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError(_("That contact belongs to another customer."))
    interaction = Interaction(organization_id=customer.organization_id, customer=customer, user=by)
    _apply(interaction, data)
    interaction.save()
    return interaction


# --- Custom fields ------------------------------------------------------------------------


def custom_field_save(
    *, org: Organization, data: dict[str, Any], definition: CustomFieldDefinition | None = None
) -> CustomFieldDefinition:
    definition = definition or CustomFieldDefinition(organization=org)
    _apply(definition, data)
    definition.save()
    return definition


def custom_field_delete(*, definition: CustomFieldDefinition) -> None:
    """Delete a definition; the values stay in each customer's JSON but are no longer shown."""
    definition.delete()
