"""Field-level change history of customers and contacts."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm_site.pagination import KeysetPage, SortKey, keyset_page
from customers.models import ChangeAction, Contact, Customer, CustomFieldDefinition, FieldChange
from tenancy.models import Organization, User

# Fields never shown in the history (bookkeeping or written by the analytics job).
IGNORED_FIELDS = frozenset(
    {
        "id",
        "organization",
        "updated_at",
        "created_at",
        "phone_normalized",
        "import_batch",
        "merged_into",
        "erased_at",
        "created_by",
    }
)


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items()) if v not in ("", None))
    return str(value)


def tracked_fields(instance: models.Model) -> list[models.Field]:
    return [
        f for f in instance._meta.concrete_fields if f.name not in IGNORED_FIELDS and f.editable
    ]


def snapshot(instance: models.Model) -> dict[str, str]:
    """The displayable value of every tracked field, to diff before and after a change."""
    values = {}
    for field in tracked_fields(instance):
        value = getattr(instance, field.attname)
        if field.name == "custom":
            for key, item in sorted((value or {}).items()):
                values[f"custom.{key}"] = _display(item)
            continue
        if field.choices and value not in (None, ""):
            value = dict(field.flatchoices).get(value, value)
        elif isinstance(field, models.ForeignKey) and value is not None:
            value = getattr(instance, field.name)
        values[field.name] = _display(value)
    return values


def history_record(
    *,
    org: Organization,
    entity: str,
    entity_id: int,
    before: dict[str, str] | None,
    after: dict[str, str],
    by: User | None,
    action: ChangeAction,
) -> list[FieldChange]:
    """Write one FieldChange per field that differs (all non-empty fields for a creation)."""
    batch = uuid.uuid4()
    rows = []
    names = list(after) + [name for name in (before or {}) if name not in after]
    for name in names:
        new = after.get(name, "")
        old = (before or {}).get(name, "")
        if old == new or (before is None and new == ""):
            continue
        rows.append(
            FieldChange(
                organization=org,
                entity=entity,
                entity_id=entity_id,
                batch=batch,
                action=action,
                field=name,
                old_value=old,
                new_value=new,
                changed_by=by,
            )
        )
    if not rows:
        rows.append(
            FieldChange(
                organization=org,
                entity=entity,
                entity_id=entity_id,
                batch=batch,
                action=action,
                changed_by=by,
            )
        )
    return FieldChange.objects.bulk_create(rows)


def history_event(
    *,
    org: Organization,
    entity: str,
    entity_id: int,
    action: ChangeAction,
    by: User | None,
    note: str = "",
) -> FieldChange:
    """A history line without field diffs (a merge, an erasure, an undo)."""
    return FieldChange.objects.create(
        organization=org,
        entity=entity,
        entity_id=entity_id,
        action=action,
        new_value=note,
        changed_by=by,
    )


def history_fields_label(model: type[models.Model], names: Iterable[str]) -> dict[str, str]:
    return {name: str(model._meta.get_field(name).verbose_name) for name in names}


# Names recorded in the history that are not model fields.
_EXTRA_LABELS = {"tags": _("Tags")}


def field_label(entity: str, name: str, custom_labels: Mapping[str, str]) -> str:
    """The human, translated name of a recorded field: "lifecycle_stage" -> "Lifecycle stage",
    "custom.loyalty_number" -> that custom field's label (its key if it was deleted)."""
    if not name:
        return ""
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        return custom_labels.get(key, key)
    if name in _EXTRA_LABELS:
        return str(_EXTRA_LABELS[name])
    model = Contact if entity == "contact" else Customer
    try:
        return capfirst(str(model._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return name


def history_page(
    *, entity: str, entity_id: int, params, base_url: str, per_page: int = 50
) -> KeysetPage:
    """One keyset page of a record's history, newest first."""
    return keyset_page(
        FieldChange.objects.filter(entity=entity, entity_id=entity_id).select_related("changed_by"),
        key=SortKey("changed_at", descending=True),
        params={k: v for k, v in params.items()},
        base_url=base_url,
        per_page=per_page,
        hx_target="#history-results",
    )


def custom_field_labels() -> dict[str, str]:
    """key -> label of the current organization's custom fields, for field_label."""
    return dict(CustomFieldDefinition.objects.values_list("key", "label"))
