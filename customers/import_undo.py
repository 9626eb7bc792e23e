"""Undoing an import: what `customers.imports.import_undo` does to each chunk of records.

`restore_updated` puts back the previous values ImportRowChange kept for the records an import
updated (and removes the tags and consent events it added); `delete_created` deletes the records
it created, refusing when one has since become the survivor of a merge or is protected.
"""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.utils.translation import gettext as _

from customers.models import ChangeAction, ConsentEvent, CustomerMerge, CustomerTag, FieldChange
from tenancy.models import User

UNDO_CHUNK = 1000


def chunked(queryset: QuerySet) -> Iterator[list]:
    """The queryset's rows, streamed, in lists of UNDO_CHUNK."""
    chunk: list = []
    for item in queryset.iterator(chunk_size=UNDO_CHUNK):
        chunk.append(item)
        if len(chunk) == UNDO_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def restore_updated(
    model: type[Model], entity: str, previous: dict[int, dict], *, by: User | None, note: str
) -> None:
    """Give records ({id: previous values}) their values from before the import back."""
    records = model.objects.in_bulk(list(previous))
    columns = {f.attname: f for f in model._meta.concrete_fields}
    fields: set[str] = set()
    tags_added: list[tuple[int, int]] = []
    events: list[int] = []
    for pk, values in previous.items():
        record = records.get(pk)
        if record is None:
            continue
        for name, value in values.items():
            if name == "_tags_added":
                tags_added += [(pk, tag_id) for tag_id in value]
            elif name == "_consent_events":
                events += value
            elif name in columns:
                setattr(record, name, columns[name].to_python(value))
                fields.add(columns[name].name)
    if fields:
        model.objects.bulk_update(list(records.values()), sorted(fields), batch_size=500)
    if tags_added:
        wanted = set(tags_added)
        links = CustomerTag.objects.filter(customer_id__in={pk for pk, _t in wanted})
        CustomerTag.objects.filter(
            pk__in=[
                pk
                for pk, customer_id, tag_id in links.values_list("pk", "customer_id", "tag_id")
                if (customer_id, tag_id) in wanted
            ]
        ).delete()
    if events:
        ConsentEvent.objects.filter(pk__in=events).delete()
    FieldChange.objects.bulk_create(
        [
            FieldChange(
                organization_id=record.organization_id,
                entity=entity,
                entity_id=pk,
                action=ChangeAction.UNDO,
                new_value=note,
                changed_by=by,
            )
            for pk, record in records.items()
        ]
    )


def delete_created(model: type[Model], entity: str, ids: list[int]) -> None:
    """Delete records the import created (their history too: they never existed)."""
    if (
        entity == "customer"
        and CustomerMerge.objects.filter(survivor_id__in=ids, undone_at__isnull=True).exists()
    ):
        raise ValidationError(
            _(
                "Some imported customers have since absorbed others in a merge. Undo those "
                "merges first."
            )
        )
    try:
        model.objects.filter(pk__in=ids).only("pk").delete()
    except (ProtectedError, RestrictedError):
        raise ValidationError(
            _(
                "Some imported records are now used elsewhere (for example in deals), so the "
                "import cannot be undone."
            )
        ) from None
    FieldChange.objects.filter(entity=entity, entity_id__in=ids).delete()
