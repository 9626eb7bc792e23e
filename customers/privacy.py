"""Privacy tools for admins: export everything held about one customer, and erase it.

Export gathers the customer, the records merged into it, their contacts, interactions, consent
events, tags, custom fields, merges and field history, as JSON, or as a zip of that JSON and one
CSV per kind. Erasure anonymizes the personal data of the customer (and of the records merged
into it) everywhere it is kept, history included, but keeps the rows and what accounting needs.

Other apps holding personal data about a customer (orders with shipping addresses, tickets)
register an exporter and an eraser: `@privacy_exporter("orders")` returns a list of dicts for
`customers` (the customer and its merged records); `@privacy_eraser("orders")` anonymizes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.history import history_event
from customers.models import (
    ChangeAction,
    ConsentEvent,
    ConsentState,
    Contact,
    Customer,
    CustomerMerge,
    CustomerTag,
    CustomFieldDefinition,
    FieldChange,
    ImportRowChange,
    Interaction,
)
from customers.services import customer_set_consent
from tenancy.context import require_org
from tenancy.models import User

EXPORT_FORMAT = "clientele.personal-data-export/1"
ERASURE_SOURCE = "erasure"

# Customer fields cleared by an erasure. Kept: kind, lifecycle, owner, source, country (tax),
# industry and size (about a company, not a person), payment terms (open invoices), dates.
CUSTOMER_CLEARED: dict[str, Any] = {
    "email": "",
    "phone": "",
    "phone_normalized": "",
    "website": "",
    "birth_date": None,
    "gender": "",
    "income_band": "",
    "household_size": None,
    "city": "",
    "region": "",
    "interests": "",
    "needs": "",
    "preferred_channel": "",
    "preferred_contact_time": "",
    "acquisition_channel": "",
    "credit_limit": None,
    "credit_rating": "",
    "custom": {},
    # Profiling results (analytics scores) are personal data too: analytics/hooks.py erases
    # them, and the analytics job skips erased customers.
}
CONTACT_CLEARED: dict[str, Any] = {
    "last_name": "",
    "title": "",
    "decision_role": "",
    "email": "",
    "phone": "",
    "phone_normalized": "",
    "birthday": None,
    "family": "",
    "education": "",
    "career_history": "",
    "hobbies": "",
    "values": "",
    "notes": "",
}

Exporter = Callable[..., list[dict[str, Any]]]
Eraser = Callable[..., None]
EXPORTERS: dict[str, Exporter] = {}
ERASERS: dict[str, Eraser] = {}


def privacy_exporter(key: str) -> Callable[[Exporter], Exporter]:
    """Register `export(*, customer_ids) -> list[dict]`: a section of the export."""

    def register(function: Exporter) -> Exporter:
        EXPORTERS[key] = function
        return function

    return register


def privacy_eraser(key: str) -> Callable[[Eraser], Eraser]:
    """Register `erase(*, customer_ids, by)`: anonymize what the app keeps about them."""

    def register(function: Eraser) -> Eraser:
        ERASERS[key] = function
        return function

    return register


class ErasureError(ValidationError):
    pass


def _record(instance: models.Model, *, exclude: tuple[str, ...] = ("organization",)) -> dict:
    """Every concrete field of a row, by name (foreign keys as ids)."""
    return {
        f.name: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.name not in exclude
    }


def merged_ids(customer: Customer) -> list[int]:
    """The customer and every record merged into it, however deep (one query per level)."""
    ids, frontier = [customer.pk], [customer.pk]
    while frontier:
        frontier = list(
            Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        frontier = [pk for pk in frontier if pk not in ids]
        ids += frontier
    return ids


def _records_filter(customer_ids: list[int], contact_ids: list[int]) -> Q:
    """History lines (or import row changes) of these customers and contacts."""
    return Q(entity="customer", entity_id__in=customer_ids) | Q(
        entity="contact", entity_id__in=contact_ids
    )


def _user_name(user: User | None) -> str:
    return str(user) if user is not None else ""


def personal_data(customer: Customer) -> dict[str, Any]:
    """Everything held about one customer, as plain data (see the module docstring)."""
    ids = merged_ids(customer)
    customers = list(Customer.objects.filter(pk__in=ids).order_by("pk"))
    labels = dict(CustomFieldDefinition.objects.values_list("key", "label"))
    contacts = list(Contact.objects.filter(customer_id__in=ids).order_by("pk"))
    contact_ids = [c.pk for c in contacts]
    tags = CustomerTag.objects.filter(customer_id__in=ids).select_related("tag")
    tags_by_customer: dict[int, list[str]] = {}
    for row in tags.order_by("tag__name"):
        tags_by_customer.setdefault(row.customer_id, []).append(row.tag.name)
    interactions = Interaction.objects.filter(customer_id__in=ids).select_related("user")
    consent = ConsentEvent.objects.filter(customer_id__in=ids).select_related("recorded_by")
    history = FieldChange.objects.filter(_records_filter(ids, contact_ids)).select_related(
        "changed_by"
    )
    merges = CustomerMerge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids))
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "organization": require_org().name,
        "customer": None,
        "merged_records": [],
        "contacts": [_record(c) for c in contacts],
        "interactions": [
            {**_record(i, exclude=("organization", "user")), "user": _user_name(i.user)}
            for i in interactions.order_by("occurred_at", "pk")
        ],
        "consent_events": [
            {
                **_record(e, exclude=("organization", "recorded_by")),
                "recorded_by": _user_name(e.recorded_by),
            }
            for e in consent.order_by("recorded_at", "pk")
        ],
        "merges": [
            _record(m, exclude=("organization", "survivor_before", "moved", "merged_by"))
            for m in merges.order_by("merged_at", "pk")
        ],
        "history": [
            {
                **_record(h, exclude=("organization", "batch", "changed_by")),
                "changed_by": _user_name(h.changed_by),
            }
            for h in history.order_by("changed_at", "pk")
        ],
    }
    for row in customers:
        record = {
            **_record(row, exclude=("organization", "custom")),
            "tags": tags_by_customer.get(row.pk, []),
            "custom_fields": [
                {"key": key, "label": labels.get(key, key), "value": value}
                for key, value in sorted((row.custom or {}).items())
            ],
        }
        if row.pk == customer.pk:
            data["customer"] = record
        else:
            data["merged_records"].append(record)
    for key, export in EXPORTERS.items():
        data[key] = export(customer_ids=ids)
    return data


def export_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, cls=DjangoJSONEncoder, ensure_ascii=False)
                if isinstance(v, dict | list)
                else v
                for k, v in row.items()
            }
        )
    return out.getvalue().encode("utf-8-sig")  # with a BOM, so spreadsheets read UTF-8


def export_zip(data: dict[str, Any]) -> bytes:
    """The JSON export and one CSV per kind of record, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("personal-data.json", export_json(data))
        archive.writestr("customer.csv", _csv([data["customer"], *data["merged_records"]]))
        for key, rows in data.items():
            if isinstance(rows, list) and key != "merged_records":
                archive.writestr(f"{key}.csv", _csv(rows))
    return buffer.getvalue()


@transaction.atomic
def personal_data_export(*, customer: Customer, as_zip: bool, by: User | None) -> bytes:
    """The export file, and a history event saying who exported it (not what it holds)."""
    data = personal_data(customer)
    history_event(
        org=require_org(),
        entity="customer",
        entity_id=customer.pk,
        action=ChangeAction.EXPORT,
        by=by,
        note=_("Exported the personal data (%(format)s).")
        % {"format": "ZIP" if as_zip else "JSON"},
    )
    return export_zip(data) if as_zip else export_json(data)


def erasure_summary(customer: Customer) -> dict[str, int]:
    """How many records an erasure of this customer touches, for the confirmation page."""
    ids = merged_ids(customer)
    contact_ids = list(Contact.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    return {
        "merged_records": len(ids) - 1,
        "contacts": len(contact_ids),
        "interactions": Interaction.objects.filter(customer_id__in=ids).count(),
        "history": FieldChange.objects.filter(_records_filter(ids, contact_ids)).count(),
    }


def erasure_name_matches(customer: Customer, typed: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(customer.name.split()).casefold()


@transaction.atomic
def customer_erase(*, customer: Customer, by: User | None) -> None:
    """Anonymize one customer (and the records merged into it), irreversibly.

    The rows stay, so orders and invoices keep their customer: its name becomes "Erased customer
    #id", every personal field is cleared, marketing consent is withdrawn (source "erasure"),
    tags are removed, contacts are anonymized, interactions lose their subject and notes, and
    the old and new values of every history line of these records are scrubbed, as are the
    field values a merge or an import kept for undoing. One history event records the erasure,
    without any of the old values.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ErasureError(_("This customer was already erased."))
    now = timezone.now()
    ids = merged_ids(customer)
    contact_ids = list(Contact.objects.filter(customer_id__in=ids).values_list("pk", flat=True))

    for channel in ("email", "sms", "phone"):
        if getattr(customer, f"consent_{channel}") != ConsentState.WITHDRAWN:
            customer_set_consent(
                customer=customer,
                channel=channel,
                state=ConsentState.WITHDRAWN,
                source=ERASURE_SOURCE,
                by=by,
            )
    for row in Customer.objects.filter(pk__in=ids):
        for name, value in CUSTOMER_CLEARED.items():
            setattr(row, name, value)
        row.name = _("Erased customer #%(id)s") % {"id": row.pk}
        for channel in ("email", "sms", "phone"):
            setattr(row, f"consent_{channel}", ConsentState.WITHDRAWN)
        row.erased_at = now
        row.save()
    Contact.objects.filter(pk__in=contact_ids).update(
        first_name=_("Erased contact"), erased_at=now, updated_at=now, **CONTACT_CLEARED
    )
    Interaction.objects.filter(customer_id__in=ids).update(subject=_("Erased"), body="")
    CustomerTag.objects.filter(customer_id__in=ids).delete()
    FieldChange.objects.filter(_records_filter(ids, contact_ids)).update(old_value="", new_value="")
    CustomerMerge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)).update(
        survivor_before={}
    )
    ImportRowChange.objects.filter(_records_filter(ids, contact_ids)).update(previous={})
    for erase in ERASERS.values():
        erase(customer_ids=ids, by=by)
    history_event(
        org=require_org(),
        entity="customer",
        entity_id=customer.pk,
        action=ChangeAction.ERASE,
        by=by,
    )
