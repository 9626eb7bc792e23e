"""Importing customers and contacts from CSV and Excel files, one service per step.

1. `import_batch_create`: check and store an upload, read its header row, count its rows.
2. `import_batch_map` saves the column mapping and the options; `import_preview` shows what the
   first rows would do, writing nothing.
3. `import_batch_queue`, then (in a Celery task) `import_run`: the whole file in one
   transaction, so a failed import leaves nothing behind. Bad rows either fail the import or,
   when the person chose to skip them, go to the report with their reason.
4. `import_undo`: deletes what the import created and restores what it updated.

Progress is kept in the cache, because the import's own transaction hides its writes (and the
batch's counters) from the page that polls until it commits.
"""

import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import IO

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.import_fields import (
    CONTACTS,
    KINDS,
    CleanRow,
    RowCleaner,
    check_mapping,
)
from customers.import_files import (
    FileFormat,
    ImportFileError,
    check_upload_name,
    inspect_upload,
    read_rows,
    spool_as_csv,
    too_many_rows,
)
from customers.import_matching import (
    FileKeys,
    Index,
    Match,
    Matcher,
    Ref,
    existing_companies,
    existing_contacts,
    existing_customers,
)
from customers.import_selectors import (
    PROGRESS_TTL,
    batch_targets,
    custom_fields,
    progress_key,
    undo_key,
)
from customers.import_undo import chunked, delete_created, restore_updated
from customers.import_writer import (
    CHUNK_SIZE,
    ON_MATCH_CHOICES,
    REJECTED,
    SKIP,
    SKIPPED,
    UPDATE,
    ImportWriter,
    Report,
    decide,
)
from customers.models import (
    Contact,
    Customer,
    ImportBatch,
    ImportRowChange,
    ImportStatus,
)
from tenancy.models import Organization, User

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
MAPPABLE = (ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.FAILED)


# --- 1. Upload ----------------------------------------------------------------------------


def import_batch_create(
    *, org: Organization, by: User | None, kind: str, upload: UploadedFile
) -> ImportBatch:
    """Check an uploaded file, store it under imports/<org id>/ and record it as a batch.

    Raises ImportFileError (a ValidationError) with a message for the person: wrong type,
    empty, too large, unreadable text, no header row, no rows or too many rows.
    """
    if kind not in KINDS:
        raise ValidationError(_("Choose what the file contains."))
    file_name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
    check_upload_name(file_name)
    if not upload.size:
        raise ImportFileError(_("The file is empty."))
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            _("The file is %(size)s; files can be at most %(limit)s.")
            % {
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.IMPORT_MAX_BYTES),
            }
        )
    upload.seek(0)
    inspection = inspect_upload(
        _raw(upload), file_name=file_name, max_rows=settings.IMPORT_MAX_ROWS
    )
    upload.seek(0)
    path = default_storage.save(
        f"imports/{org.pk}/{uuid.uuid4().hex}.{inspection.format.kind}", upload
    )
    return ImportBatch.objects.create(
        organization=org,
        kind=kind,
        file_name=file_name,
        file_path=path,
        status=ImportStatus.UPLOADED,
        mapping={
            "headers": inspection.headers,
            "fields": {},
            "format": inspection.format.as_json(),
            # The first rows, for the preview (which then needs not open the file again);
            # dropped once the import is done.
            "sample": inspection.samples,
        },
        on_match=SKIP,
        skip_bad_rows=False,
        total_rows=inspection.total_rows,
        created_by=by,
    )


def _raw(file) -> IO[bytes]:
    """The binary stream under a Django File (io.TextIOWrapper needs a real one)."""
    return getattr(file, "file", file)


@contextmanager
def _open(batch: ImportBatch) -> Iterator[IO[bytes]]:
    if not batch.file_path or not default_storage.exists(batch.file_path):
        raise ImportFileError(_("The uploaded file is no longer available. Upload it again."))
    with default_storage.open(batch.file_path, "rb") as file:
        yield _raw(file)


# --- 2. Mapping and preview ---------------------------------------------------------------


def import_batch_map(
    *, batch: ImportBatch, mapping: dict[str, str], on_match: str, skip_bad_rows: bool
) -> ImportBatch:
    """Save which column goes into which field, and the options; the batch is then ready.

    `mapping` is {column name: target key or ""}; on_match is skip, update or create.
    Raises ValidationError listing what is wrong with the mapping.
    """
    if batch.status not in MAPPABLE:
        raise ValidationError(_("This import has already run."))
    headers = batch.mapping.get("headers", [])
    mapping = {header: mapping.get(header, "") or "" for header in headers}
    errors = check_mapping(kind=batch.kind, mapping=mapping, targets=batch_targets(batch))
    if on_match not in ON_MATCH_CHOICES:
        errors.append(_("Choose what to do with rows that match an existing record."))
    if errors:
        raise ValidationError(errors)
    batch.mapping = {**batch.mapping, "fields": mapping}
    batch.on_match = on_match
    batch.skip_bad_rows = skip_bad_rows
    batch.status = ImportStatus.MAPPED
    batch.save(update_fields=["mapping", "on_match", "skip_bad_rows", "status"])
    return batch


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    status: str  # new, update, skip, duplicate, create, error
    message: str


@dataclass
class Preview:
    columns: list[tuple[str, str]]  # (column name, target label) of the mapped columns
    rows: list[PreviewRow] = field(default_factory=list)
    error: str = ""

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def _cleaner(batch: ImportBatch, mapping: dict[str, str]) -> RowCleaner:
    members = User.objects.filter(memberships__organization_id=batch.organization_id)
    return RowCleaner(
        kind=batch.kind,
        headers=batch.mapping.get("headers", []),
        mapping=mapping,
        custom_fields=custom_fields(),
        members={email.lower(): pk for pk, email in members.values_list("pk", "email")},
    )


def import_preview(
    *,
    batch: ImportBatch,
    mapping: dict[str, str] | None = None,
    on_match: str | None = None,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """What the first `limit` rows would do with this mapping (the saved one by default):
    rejected with the reason, new, update or skip an existing record, or a duplicate of an
    earlier row. Reads the database, writes nothing."""
    mapping = mapping if mapping is not None else batch.mapping.get("fields", {})
    on_match = on_match or batch.on_match
    labels = {t.key: t.label for t in batch_targets(batch)}
    headers = batch.mapping.get("headers", [])
    mapped = [(i, h) for i, h in enumerate(headers) if mapping.get(h) in labels]
    preview = Preview(columns=[(h, labels[mapping[h]]) for _i, h in mapped])
    cleaner = _cleaner(batch, mapping)
    try:
        sample = _sample(batch, limit)
    except ImportFileError as error:
        preview.error = " ".join(error.messages)
        return preview
    cleaned = [cleaner.clean(number, cells) for number, cells in sample]
    keys = FileKeys()
    for row in cleaned:
        if isinstance(row, CleanRow):
            keys.add(row)
    matcher = Matcher(_existing(batch.kind, keys)[0])
    for (number, cells), row in zip(sample, cleaned, strict=True):
        shown = [cells[i] for i, _h in mapped]
        if isinstance(row, str):
            preview.rows.append(PreviewRow(number, shown, "error", row))
            continue
        match = matcher.find(row)
        action, why = decide(match, on_match)
        status, message = _preview_status(match, action, why)
        preview.rows.append(PreviewRow(number, shown, status, message))
        matcher.remember(row, match.ref if match else Ref(row=number, created=True))
    return preview


def _sample(batch: ImportBatch, limit: int) -> list[tuple[int, list[str]]]:
    """The first rows of the file: kept on the batch at upload, or read again."""
    if not batch.file_path or not default_storage.exists(batch.file_path):
        raise ImportFileError(_("The uploaded file is no longer available. Upload it again."))
    if "sample" in batch.mapping:
        return [(number, cells) for number, cells in batch.mapping["sample"][:limit]]
    with _open(batch) as stream:
        _headers, rows = read_rows(stream, FileFormat.from_json(batch.mapping["format"]))
        return list(islice(rows, limit))


def _preview_status(match: Match | None, action: str, why: str) -> tuple[str, str]:
    if match is None:
        return "new", ""
    duplicate = match.in_file and match.ref.created
    if action == SKIP:
        return ("duplicate" if duplicate else "skip"), _("Skipped: %(why)s") % {"why": why}
    if action == UPDATE:
        if duplicate:
            return "duplicate", _("Updates the record of row %(row)s") % {"row": match.ref.row}
        return "update", _("Updates existing #%(id)s") % {"id": match.ref.id}
    return ("duplicate" if duplicate else "create"), _("Created anyway: %(why)s") % {"why": why}


def _existing(kind: str, keys: FileKeys) -> tuple[Index, dict[str, int] | None]:
    """The records the file's keys match (and, for contacts, its companies that exist)."""
    if kind == CONTACTS:
        companies = existing_companies(keys)
        return existing_contacts(keys, companies), companies
    return existing_customers(keys), None


# --- 3. Run -------------------------------------------------------------------------------


def import_batch_queue(*, batch: ImportBatch) -> bool:
    """Mark a mapped import as running; False when it already is (a second click)."""
    queued = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.MAPPED).update(
        status=ImportStatus.RUNNING, processed_rows=0
    )
    cache.set(progress_key(batch), 0, PROGRESS_TTL)
    batch.refresh_from_db(fields=["status", "processed_rows"])
    return bool(queued)


@dataclass
class _Result:
    writer: ImportWriter | None = None
    report: Report | None = None
    processed: int = 0
    failed: bool = False
    error: str = ""


def import_run(*, batch: ImportBatch, by: User | None = None) -> ImportBatch:
    """Import every row of a mapped (or queued) batch and record the outcome on it.

    One transaction: when a row is bad and skip_bad_rows is off, or anything goes wrong,
    nothing is written and the batch is FAILED with the reasons; otherwise it is DONE with its
    counts and a report of the rejected and skipped rows. Returns the batch; a batch that is
    not ready (already done, or taken by another worker) is returned unchanged.
    """
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status not in (ImportStatus.MAPPED, ImportStatus.RUNNING):
            return batch
        by = by or batch.created_by
        result = _Result()
        try:
            with transaction.atomic():
                result = _run(batch, by)
                if result.failed:
                    transaction.set_rollback(True)
        except ImportFileError as error:
            result.failed, result.error = True, " ".join(error.messages)
        except ValidationError as error:
            result.failed = True
            result.error = _("The import could not be written: %(error)s") % {
                "error": " ".join(error.messages)
            }
        except (ProtectedError, RestrictedError):
            result.failed = True
            result.error = _("The import could not be written: records it needs are protected.")
        except Exception:
            logger.exception("Import %s of organization %s failed", batch.pk, batch.organization_id)
            result.failed = True
            result.error = _("The import stopped on an unexpected error. Nothing was imported.")
        _finish(batch, result)
    return batch


def _run(batch: ImportBatch, by: User | None) -> _Result:
    with _open(batch) as stream:
        # A workbook is read once (openpyxl is slow), into a CSV read twice below.
        spooled, fmt = spool_as_csv(stream, FileFormat.from_json(batch.mapping["format"]))
        with contextlib.closing(spooled):
            return _import_rows(batch, by, spooled, fmt)


def _import_rows(batch: ImportBatch, by: User | None, stream: IO[bytes], fmt: FileFormat):
    cleaner = _cleaner(batch, batch.mapping.get("fields", {}))
    # First pass: the keys the file contains, to load the matching records in bulk.
    keys = FileKeys()
    headers, rows = read_rows(stream, fmt)
    if headers != batch.mapping.get("headers"):
        raise ImportFileError(_("The file's columns changed since it was mapped."))
    for number, cells in rows:
        keys.add(cleaner.key_row(number, cells))
    existing, companies = _existing(batch.kind, keys)
    members = User.objects.filter(memberships__organization_id=batch.organization_id)
    writer = ImportWriter(
        batch=batch,
        org=batch.organization,
        by=by,
        existing=existing,
        companies=companies,
        member_names={pk: str(name) for pk, name in members.values_list("pk", "full_name")},
    )
    report = Report(headers)
    result = _Result(writer=writer, report=report)
    progress = progress_key(batch)
    limit = settings.IMPORT_MAX_ROWS
    # Second pass: check, match and write, a chunk at a time.
    stream.seek(0)
    _headers, rows = read_rows(stream, fmt)
    for number, cells in rows:
        result.processed += 1
        if result.processed > limit:
            raise ImportFileError(too_many_rows(limit))
        row = cleaner.clean(number, cells)
        if isinstance(row, str):
            writer.counts.rejected += 1
            report.add(number, REJECTED, row, cells)
            if not batch.skip_bad_rows and not result.failed:
                result.failed = True
                writer.discard()
        elif not result.failed:
            action, why = writer.add(row, batch.on_match)
            if action == SKIP:
                report.add(number, SKIPPED, why, cells)
        if result.processed % CHUNK_SIZE == 0:
            if not result.failed:
                writer.flush()
            cache.set(progress, result.processed, PROGRESS_TTL)
    if not result.failed:
        writer.finish()
    return result


def _finish(batch: ImportBatch, result: _Result) -> None:
    counts = result.writer.counts if result.writer else None
    rejected = counts.rejected if counts else 0
    batch.processed_rows = result.processed
    batch.total_rows = max(result.processed, batch.total_rows if result.failed else 0)
    batch.finished_at = timezone.now()
    batch.rejected_report = result.report.text() if result.report else ""
    if result.failed:
        batch.status = ImportStatus.FAILED
        batch.created_count = batch.updated_count = batch.skipped_count = 0
        batch.rejected_count = rejected
        reasons = result.report.reasons if result.report and not result.error else []
        summary = result.error or (
            _(
                "%(count)s rows have errors, so nothing was imported. Fix them, or choose to "
                "skip bad rows."
            )
            % {"count": f"{rejected:,}"}
        )
        batch.error = "\n".join([summary, *reasons])
    else:
        batch.status = ImportStatus.DONE
        batch.created_count = counts.created
        batch.updated_count = counts.updated
        batch.skipped_count = counts.skipped
        batch.rejected_count = rejected
        batch.error = ""
        batch.mapping = {k: v for k, v in batch.mapping.items() if k != "sample"}
        path = batch.file_path
        batch.file_path = ""  # the rows are in the database now; keep no copy of the file
        transaction.on_commit(lambda: default_storage.delete(path))
    batch.save(
        update_fields=[
            "status",
            "processed_rows",
            "total_rows",
            "created_count",
            "updated_count",
            "skipped_count",
            "rejected_count",
            "rejected_report",
            "error",
            "file_path",
            "mapping",
            "finished_at",
        ]
    )
    cache.delete(progress_key(batch))


# --- 4. Undo ------------------------------------------------------------------------------


def import_undo_queue(*, batch: ImportBatch) -> bool:
    """Mark a finished import as being undone; False when it is not finished or an undo is
    already under way. A large undo takes longer than a web request may, so a task runs it
    (customers.tasks.import_undo_task -> import_undo_queued)."""
    if batch.status != ImportStatus.DONE:
        return False
    key = undo_key(batch)
    if (cache.get(key) or {}).get("error"):
        cache.delete(key)  # a retry after a failed undo
    return cache.add(key, {"state": "queued"}, PROGRESS_TTL)


def import_undo_queued(*, batch: ImportBatch, by: User | None) -> ImportBatch:
    """Run a queued undo; a refusal (or failure) is kept for the import's page to show."""
    key = undo_key(batch)
    try:
        batch = import_undo(batch=batch, by=by)
    except ValidationError as error:
        cache.set(key, {"error": " ".join(error.messages)}, PROGRESS_TTL)
    except Exception:
        logger.exception(
            "Undo of import %s of organization %s failed", batch.pk, batch.organization_id
        )
        cache.set(
            key,
            {"error": _("The undo stopped on an unexpected error. Nothing changed.")},
            PROGRESS_TTL,
        )
    else:
        cache.delete(key)
    return batch


def import_undo(*, batch: ImportBatch, by: User | None) -> ImportBatch:
    """Delete every record the import created and put back the fields it changed on the
    others (tags it added and consent it recorded included); the batch becomes UNDONE.

    One transaction. Raises ValidationError when the import is not finished or when an
    imported record has since become the survivor of a merge or is protected elsewhere.
    """
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportStatus.DONE:
            raise ValidationError(_("Only a finished import can be undone."))
        changes = ImportRowChange.objects.filter(batch=batch)
        note = _("Undid the import of %(file)s") % {"file": batch.file_name}
        for entity, model in (("contact", Contact), ("customer", Customer)):
            updated = changes.filter(entity=entity, created=False).order_by("pk")
            for chunk in chunked(updated.values_list("entity_id", "previous")):
                restore_updated(model, entity, dict(chunk), by=by, note=note)
        for entity, model in (("contact", Contact), ("customer", Customer)):
            created = changes.filter(entity=entity, created=True).order_by("pk")
            for chunk in chunked(created.values_list("entity_id", flat=True)):
                delete_created(model, entity, chunk)
        changes.delete()
        batch.status = ImportStatus.UNDONE
        batch.save(update_fields=["status"])
    return batch
