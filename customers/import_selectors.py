"""Reads of the import flow: the organization's imports, a running import's progress, the
fields a column can go into, and the mapping to offer (saved, remembered or guessed)."""

from dataclasses import dataclass

from django.core.cache import cache
from django.shortcuts import get_object_or_404

from customers.import_fields import Target, guess_mapping, import_targets
from customers.models import CustomFieldDefinition, ImportBatch, ImportStatus
from tenancy.models import Organization

PROGRESS_TTL = 24 * 60 * 60


# --- Reads --------------------------------------------------------------------------------


def import_batch_list(*, org: Organization, limit: int = 50) -> list[ImportBatch]:
    """The organization's latest imports, newest first (without their reports)."""
    return list(
        ImportBatch.objects.select_related("created_by")
        .defer("rejected_report", "mapping")
        .order_by("-created_at", "-id")[:limit]
    )


def import_batch_status_get(*, org: Organization, pk: int) -> ImportBatch:
    """An import of `org` without its report (for the page that polls), or 404."""
    return get_object_or_404(
        ImportBatch.objects.select_related("created_by").defer("rejected_report"), pk=pk
    )


@dataclass
class Progress:
    processed: int
    total: int
    undoing: bool = False  # an undo is queued or running
    undo_error: str = ""  # why the last undo failed

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.processed / self.total)) if self.total else 0


def progress_key(batch: ImportBatch) -> str:
    return f"customers:import-progress:{batch.organization_id}:{batch.pk}"


def undo_key(batch: ImportBatch) -> str:
    return f"customers:import-undo:{batch.organization_id}:{batch.pk}"


def import_progress(*, batch: ImportBatch) -> Progress:
    """How far a running import is (from the cache), and whether an undo is under way."""
    processed = batch.processed_rows
    if batch.status == ImportStatus.RUNNING:
        processed = cache.get(progress_key(batch), processed)
    undo = cache.get(undo_key(batch)) if batch.status == ImportStatus.DONE else None
    return Progress(
        processed=processed,
        total=batch.total_rows,
        undoing=bool(undo) and not undo.get("error"),
        undo_error=(undo or {}).get("error", ""),
    )


def batch_targets(batch: ImportBatch) -> list[Target]:
    return import_targets(kind=batch.kind, custom_fields=custom_fields())


def custom_fields() -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.order_by("position", "label"))


def import_remembered_mapping(*, kind: str, exclude_pk: int | None = None) -> dict[str, str]:
    """The mapping of the organization's latest mapped import of this kind ({} if none)."""
    mappings = (
        ImportBatch.objects.filter(kind=kind)
        .exclude(status=ImportStatus.UPLOADED)
        .exclude(pk=exclude_pk)
        .order_by("-created_at", "-id")
        .values_list("mapping", flat=True)[:10]
    )
    return next((m["fields"] for m in mappings if (m or {}).get("fields")), {})


def import_mapping_initial(*, batch: ImportBatch, targets: list[Target]) -> dict[str, str]:
    """The mapping to show: the saved one, else the remembered one and guesses by name."""
    if batch.mapping.get("fields"):
        return dict(batch.mapping["fields"])
    return guess_mapping(
        kind=batch.kind,
        headers=batch.mapping.get("headers", []),
        targets=targets,
        remembered=import_remembered_mapping(kind=batch.kind, exclude_pk=batch.pk),
        custom_fields=custom_fields(),
    )


def import_examples(*, batch: ImportBatch) -> list[str]:
    """A value of each column from the first rows kept at upload ("" when none), to show
    beside the column while mapping."""
    headers = batch.mapping.get("headers", [])
    rows = [cells for _number, cells in batch.mapping.get("sample", [])]
    return [
        next((row[i] for row in rows if i < len(row) and row[i]), "") for i in range(len(headers))
    ]
