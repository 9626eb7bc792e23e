"""Background exports of the customer list: a job that writes a file under MEDIA_ROOT.

Exporting more than settings.EXPORT_IMMEDIATE_MAX_ROWS customers takes longer than a web worker
may spend on one request (gunicorn kills a sync worker after GUNICORN_TIMEOUT, 30 s, mid-file).
Such an export becomes a job:

1. `export_job_start` (the export view, on the person's POST) records it: a JSON manifest,
   `exports/<organization id>/<token>.json` under MEDIA_ROOT, with the list's query string, the
   format, who asked and in which language, and its state (queued).
2. `customers.tasks.customer_export_task` (a Celery worker; the request itself when there is no
   broker) calls `export_job_run`, which writes the file beside the manifest with the functions
   of customers.exports (CSV gzip-compressed as `<token>.csv.gz`, Excel as `<token>.xlsx`),
   into a `.part` file renamed once complete, and records the rows written after every chunk.
3. The job's page polls the manifest (htmx); when the file is ready it links to the download,
   which the web app serves to members of the organization with the export capability.
4. `export_jobs_expire` (Celery beat, hourly) deletes jobs and files after
   settings.EXPORT_FILE_HOURS.

The token (128 random bits) is the files' only name, so no file can be guessed, and a job is
looked up in the requesting organization's folder only (the folder comes from the request's
organization, never from the URL), so another organization's token answers 404. The manifest is
the job: there is no table, so nothing here needs a migration; the rows themselves are read
under row-level security as always.
"""

import gzip
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers import exports, selectors
from tenancy.context import tenant_context
from tenancy.models import Organization, User

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
TOKEN = re.compile(r"[0-9a-f]{32}")
# Exports queued or running at once in one organization (each holds a worker for minutes).
MAX_ACTIVE_PER_ORGANIZATION = 3
# A running job records its progress every chunk (a second or two); one silent for this long
# has died (a worker killed by its time limit or a restart), and a queued job nobody took for
# this long was lost: both are shown as failed, so the person can start again.
RUNNING_STALE = timedelta(minutes=10)
QUEUED_STALE = timedelta(hours=2)
LIST_LIMIT = 50


class ExportStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ExportJob:
    token: str
    organization_id: int
    format: str  # "csv" or "xlsx"
    query: str  # the customer list's query string: its filters
    filename: str  # the download's name without extension: customers-<org>-<date>
    language: str  # headers and labels in the language of the person who asked
    created_by_id: int
    created_by_name: str
    created_at: datetime
    updated_at: datetime
    status: str = ExportStatus.QUEUED
    rows: int = 0  # written so far
    total: int | None = None  # counted when the job starts
    size: int = 0  # bytes of the finished file
    finished_at: datetime | None = None
    error: str = ""
    stale: bool = field(default=False, compare=False)  # not stored: see _load

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return min(100, round(100 * self.rows / self.total)) if self.total else 0

    @property
    def expires_at(self) -> datetime:
        return self.created_at + timedelta(hours=settings.EXPORT_FILE_HOURS)

    @property
    def download_name(self) -> str:
        return f"{self.filename}.{self.format}"


# --- Files ------------------------------------------------------------------------------------


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def _folder(organization_id: int) -> Path:
    return _root() / str(int(organization_id))


def _manifest(organization_id: int, token: str) -> Path:
    return _folder(organization_id) / f"{token}.json"


def export_file_path(job: ExportJob) -> Path:
    """Where the finished file is (CSV is stored gzip-compressed)."""
    suffix = "csv.gz" if job.format == "csv" else job.format
    return _folder(job.organization_id) / f"{job.token}.{suffix}"


def _save(job: ExportJob) -> None:
    """Write the manifest atomically (a reader sees the old one or the new one, never half)."""
    path = _manifest(job.organization_id, job.token)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in asdict(job).items() if k != "stale"}
    for key in ("created_at", "updated_at", "finished_at"):
        data[key] = data[key].isoformat() if data[key] else None
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


def _load(organization_id: int, token: str, *, now: datetime | None = None) -> ExportJob | None:
    try:
        data = json.loads(_manifest(organization_id, token).read_text())
        for key in ("created_at", "updated_at", "finished_at"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        job = ExportJob(**data)
    except (OSError, ValueError, TypeError, KeyError):  # gone, or not a manifest of ours
        return None
    now = now or timezone.now()
    if (job.status == ExportStatus.RUNNING and now - job.updated_at > RUNNING_STALE) or (
        job.status == ExportStatus.QUEUED and now - job.created_at > QUEUED_STALE
    ):
        job.status, job.stale = ExportStatus.FAILED, True
        job.error = _("The export stopped before it was finished. Start it again.")
    return job


def _jobs(organization_id: int) -> list[ExportJob]:
    folder = _folder(organization_id)
    if not folder.is_dir():
        return []
    now = timezone.now()
    jobs = [_load(organization_id, path.stem, now=now) for path in folder.glob("*.json")]
    return sorted((j for j in jobs if j), key=lambda j: j.created_at, reverse=True)


# --- Reads ------------------------------------------------------------------------------------


def export_job_get(*, org: Organization, token: str) -> ExportJob:
    """A job of `org`, or 404 (the same answer for another organization's token, an expired
    job and a token that was never made)."""
    job = _load(org.pk, token) if TOKEN.fullmatch(token) else None
    if job is None or job.expires_at <= timezone.now():
        raise Http404
    return job


def export_job_list(*, org: Organization) -> list[ExportJob]:
    """The organization's exports that have not expired yet, newest first."""
    now = timezone.now()
    return [job for job in _jobs(org.pk) if job.expires_at > now][:LIST_LIMIT]


# --- Writes -----------------------------------------------------------------------------------


def export_job_start(
    *, org: Organization, by: User, query: str, fmt: str
) -> tuple[ExportJob, bool]:
    """Record an export of the customer list filtered by `query` (a query string) as `fmt`, to
    be run by customers.tasks.customer_export_task; returns (job, created).

    The same export (same person, format and filters) already queued or running is returned
    instead of a second one (created False). Raises ValidationError when the organization has
    MAX_ACTIVE_PER_ORGANIZATION exports under way.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    active = [job for job in _jobs(org.pk) if job.active]
    for job in active:
        if (job.created_by_id, job.format, job.query) == (by.pk, fmt, query):
            return job, False
    if len(active) >= MAX_ACTIVE_PER_ORGANIZATION:
        raise ValidationError(
            _(
                "%(count)s exports are being prepared for this organization already. "
                "Start this one when one of them is ready."
            )
            % {"count": len(active)}
        )
    now = timezone.now()
    job = ExportJob(
        token=secrets.token_hex(16),
        organization_id=org.pk,
        format=fmt,
        query=query,
        filename=f"customers-{org.slug}-{timezone.localdate(now):%Y-%m-%d}",
        language=translation.get_language() or settings.LANGUAGE_CODE,
        created_by_id=by.pk,
        created_by_name=str(by),
        created_at=now,
        updated_at=now,
    )
    _save(job)
    logger.info("customer export queued: organization %s, format %s", org.pk, fmt)
    return job, True


def export_job_run(*, org: Organization, token: str) -> ExportJob | None:
    """Write the file of a queued job, recording progress; returns the job as it ends (None if
    there is no such job). A job that is not queued (done, failed, or taken by another worker
    after a redelivery) is left alone. Failures are recorded on the job, not raised."""
    job = _load(org.pk, token)
    if job is None or job.status != ExportStatus.QUEUED:
        return job
    job.status, job.updated_at = ExportStatus.RUNNING, timezone.now()
    _save(job)
    target = export_file_path(job)
    part = target.with_name(f"{target.name}.part")

    def progress(rows: int) -> None:
        job.rows, job.updated_at = rows, timezone.now()
        _save(job)

    try:
        with translation.override(job.language):
            _write(job, org=org, path=part, progress=progress)
        os.replace(part, target)
    except Exception as error:
        part.unlink(missing_ok=True)
        logger.exception("customer export failed: organization %s", org.pk)
        job.status, job.updated_at = ExportStatus.FAILED, timezone.now()
        with translation.override(job.language):
            job.error = (
                error.messages[0]
                if isinstance(error, ValidationError)
                else _("The export failed. Try again, or narrow the filters.")
            )
        _save(job)
        return job
    job.status, job.size = ExportStatus.DONE, target.stat().st_size
    job.finished_at = job.updated_at = timezone.now()
    _save(job)
    logger.info(
        "customer export done: organization %s, format %s, %s rows, %s bytes",
        org.pk,
        job.format,
        job.rows,
        job.size,
    )
    return job


def _write(job: ExportJob, *, org: Organization, path: Path, progress) -> None:
    # The filters as the person saw them: "only mine" needs the person, so a job whose person
    # is gone fails rather than export every customer.
    by = User.objects.filter(pk=job.created_by_id).first()
    if by is None:
        raise ValidationError(_("The person who started this export no longer exists."))
    with tenant_context(org):  # the filter form checks owners and tags of the organization
        queryset = selectors.customer_list(org=org, user=by, params=QueryDict(job.query))
        custom_fields = selectors.custom_field_list(org=org)
        job.total = queryset.count()
    if job.format == "xlsx" and job.total > settings.EXPORT_XLSX_MAX_ROWS:
        raise ValidationError(
            _("Excel exports are limited to %(limit)s customers and this list has more.")
            % {"limit": f"{settings.EXPORT_XLSX_MAX_ROWS:,}"}
        )
    progress(0)
    rows = {"org": org, "queryset": queryset, "custom_fields": custom_fields, "progress": progress}
    if job.format == "xlsx":
        with path.open("wb") as file:
            exports.xlsx_write(file, **rows)
        return
    # Level 6 costs the worker a few seconds per million rows and makes the download about
    # five times smaller (it is sent with Content-Encoding: gzip, see export_open).
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=6) as file:
        for line in exports.csv_lines(**rows):
            file.write(line)


def export_response(job: ExportJob, *, accept_encoding: str) -> HttpResponseBase:
    """The finished file as an attachment. A CSV is stored gzip-compressed: a client that
    accepts gzip (every browser) gets those bytes with Content-Encoding: gzip and saves the
    CSV; another gets it decompressed on the fly. Raises Http404 when the file is gone."""
    path = export_file_path(job)
    gzipped = job.format == "csv"
    if gzipped and "gzip" not in accept_encoding.lower():

        def chunks() -> Iterator[bytes]:
            with gzip.open(path, "rb") as file:
                while chunk := file.read(256 * 1024):
                    yield chunk

        if not path.is_file():
            raise Http404
        response: HttpResponseBase = StreamingHttpResponse(
            chunks(), content_type=exports.CONTENT_TYPES["csv"]
        )
        response["Content-Disposition"] = f'attachment; filename="{job.download_name}"'
    else:
        try:
            file = path.open("rb")  # FileResponse closes it
        except FileNotFoundError:
            raise Http404 from None
        # FileResponse hands the file to the server's sendfile: no Python loop per block.
        response = FileResponse(
            file,
            as_attachment=True,
            filename=job.download_name,
            content_type=exports.CONTENT_TYPES[job.format],
        )
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    return response


def export_jobs_expire(*, now: datetime | None = None) -> int:
    """Delete every organization's jobs (manifests and files) older than
    settings.EXPORT_FILE_HOURS, and files left without a manifest for as long; returns the
    number of jobs deleted. Touches no database table, so it needs no tenant."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.EXPORT_FILE_HOURS)
    root = _root()
    if not root.is_dir():
        return 0
    deleted = 0
    for folder in root.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        kept: set[str] = set()
        expired: set[str] = set()
        for path in folder.glob("*.json"):
            job = _load(int(folder.name), path.stem, now=now)
            if job is not None and job.created_at > cutoff:
                kept.add(path.stem)
            else:  # expired, or not a manifest of ours
                expired.add(path.stem)
                deleted += job is not None
        for path in folder.iterdir():
            token = path.name.split(".", 1)[0]
            if token in kept:
                continue
            # Files of no job (a worker that crashed, a manifest deleted by hand) go once they
            # are as old as an expired job's: a younger one may be a manifest being written.
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=now.tzinfo)
            if token in expired or modified <= cutoff:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
    if deleted:
        logger.info("customer exports expired: %s", deleted)
    return deleted
