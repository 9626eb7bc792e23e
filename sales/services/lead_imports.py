"""Importing leads from a CSV file or an Excel workbook.

The files are read by the customers import machinery (customers.import_files: encodings,
delimiters, .xlsx, header checks, row limits); what is specific to leads is small enough to
live here: the columns a lead can take, the checks of each row, and the creation, which goes
through `leads_create_many` so that assignment and score rules apply as for any other lead.

1. `lead_import_upload` checks and stores the file and returns a signed `LeadUpload` token
   (organization, stored path, columns), so the mapping step needs no table of its own.
2. `lead_import_preview` shows what the first rows would give; `lead_import_run` imports the
   whole file in one transaction, skipping the rows it cannot use and saying why.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.import_files import (
    FileFormat,
    ImportFileError,
    check_upload_name,
    inspect_upload,
    read_rows,
)
from customers.matching import normalize_email
from sales.models import Lead, LeadRating, LeadSource
from sales.services.leads import leads_create_many
from tenancy.models import Organization, User

MAX_ROWS = 20_000  # one request, one transaction: larger files are split by the person
MAX_REJECTED_SHOWN = 50
PREVIEW_ROWS = 8
TOKEN_MAX_AGE = 24 * 60 * 60
_SALT = "sales.lead-import"
_PATH_PREFIX = "lead-imports"

Cleaner = Callable[[str, "RowContext"], Any]


@dataclass(frozen=True)
class ImportTarget:
    label: Any  # lazy translation
    aliases: tuple[str, ...] = ()


IMPORT_TARGETS: dict[str, ImportTarget] = {
    "first_name": ImportTarget(gettext_lazy("First name"), ("first", "given name", "名")),
    "last_name": ImportTarget(gettext_lazy("Last name"), ("last", "surname", "family name", "姓")),
    "full_name": ImportTarget(
        gettext_lazy("Full name (split into first and last)"),
        ("name", "contact", "contact name", "姓名"),
    ),
    "company": ImportTarget(
        gettext_lazy("Company"), ("organization", "organisation", "account", "company name", "公司")
    ),
    "title": ImportTarget(gettext_lazy("Job title"), ("job title", "position", "role", "职位")),
    "email": ImportTarget(gettext_lazy("Email"), ("e-mail", "email address", "mail", "邮箱")),
    "phone": ImportTarget(
        gettext_lazy("Phone"), ("telephone", "mobile", "phone number", "tel", "电话", "手机")
    ),
    "website": ImportTarget(gettext_lazy("Website"), ("web", "url", "site", "网站")),
    "industry": ImportTarget(gettext_lazy("Industry"), ("sector", "行业")),
    "employees": ImportTarget(
        gettext_lazy("Employees"), ("employee count", "company size", "staff", "员工数")
    ),
    "city": ImportTarget(gettext_lazy("City"), ("town", "城市")),
    "region": ImportTarget(gettext_lazy("Region"), ("state", "province", "county", "省份")),
    "country": ImportTarget(gettext_lazy("Country code"), ("country", "国家")),
    "source": ImportTarget(gettext_lazy("Source"), ("lead source", "来源")),
    "rating": ImportTarget(gettext_lazy("Rating"), ("评级",)),
    "campaign_name": ImportTarget(gettext_lazy("Campaign"), ("campaign", "活动")),
    "notes": ImportTarget(gettext_lazy("Notes"), ("note", "comments", "message", "备注")),
    "owner": ImportTarget(
        gettext_lazy("Owner (member's email)"), ("owner email", "assigned to", "负责人")
    ),
}


def _key(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{column: target or ""}: a target whose name, label or alias is the column's name."""
    known: dict[str, str] = {}
    for name, target in IMPORT_TARGETS.items():
        for word in (name, str(target.label), *target.aliases):
            known.setdefault(_key(word), name)
    mapping, used = {}, set()
    for header in headers:
        target = known.get(_key(header), "")
        if target in used:
            target = ""
        mapping[header] = target
        used.add(target)
    return mapping


# --- 1. Upload ----------------------------------------------------------------------------


@dataclass
class LeadUpload:
    token: str
    path: str
    file_name: str
    format: FileFormat
    headers: list[str]
    total_rows: int


def lead_import_upload(*, org: Organization, upload: UploadedFile) -> LeadUpload:
    """Check an uploaded file and store it; ImportFileError says what is wrong with it."""
    file_name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
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
    inspection = inspect_upload(_raw(upload), file_name=file_name, max_rows=MAX_ROWS)
    upload.seek(0)
    path = default_storage.save(
        f"{_PATH_PREFIX}/{org.pk}/{uuid.uuid4().hex}.{inspection.format.kind}", upload
    )
    payload = {
        "org": org.pk,
        "path": path,
        "name": file_name,
        "format": inspection.format.as_json(),
        "headers": inspection.headers,
        "total": inspection.total_rows,
    }
    return _upload(signing.dumps(payload, salt=_SALT, compress=True), payload)


def _upload(token: str, payload: dict) -> LeadUpload:
    return LeadUpload(
        token=token,
        path=payload["path"],
        file_name=payload["name"],
        format=FileFormat.from_json(payload["format"]),
        headers=list(payload["headers"]),
        total_rows=int(payload["total"]),
    )


def lead_import_load(*, org: Organization, token: str) -> LeadUpload:
    """The upload a token stands for, if it is this organization's, recent and still stored."""
    gone = ValidationError(_("This upload has expired or is unknown. Upload the file again."))
    try:
        payload = signing.loads(token or "", salt=_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise gone from None
    if not isinstance(payload, dict) or payload.get("org") != org.pk:
        raise gone
    upload = _upload(token, payload)
    if not upload.path.startswith(f"{_PATH_PREFIX}/{org.pk}/") or not default_storage.exists(
        upload.path
    ):
        raise gone
    return upload


def _raw(file) -> IO[bytes]:
    return getattr(file, "file", file)


@contextmanager
def _rows(upload: LeadUpload) -> Iterator[Iterator[tuple[int, list[str]]]]:
    with default_storage.open(upload.path, "rb") as file:
        _headers, rows = read_rows(_raw(file), upload.format)
        yield rows


# --- 2. Rows ------------------------------------------------------------------------------


@dataclass
class RowContext:
    members: dict[str, int]  # member email -> user id


def _choice(choices, raw: str, what: str) -> str:
    wanted = _key(raw)
    for value, label in choices:
        if wanted in (_key(value), _key(label)):
            return value
    raise ValidationError(_("%(value)s is not a known %(what)s.") % {"value": raw, "what": what})


def _clean_model_field(name: str) -> Cleaner:
    model_field = Lead._meta.get_field(name)

    def clean(raw: str, context: RowContext) -> Any:
        value = model_field.to_python(raw)
        model_field.run_validators(value)
        return value

    return clean


def _clean_employees(raw: str, context: RowContext) -> int:
    digits = raw.replace(",", "").replace(" ", "")
    if digits.endswith(".0"):
        digits = digits[:-2]
    if not (digits.isascii() and digits.isdigit()) or int(digits) > 10_000_000:
        raise ValidationError(_("Enter a whole number of employees."))
    return int(digits)


def _clean_country(raw: str, context: RowContext) -> str:
    code = raw.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValidationError(_("Use the two-letter country code, e.g. US or CN."))
    return code


def _clean_owner(raw: str, context: RowContext) -> int:
    owner = context.members.get(normalize_email(raw))
    if owner is None:
        raise ValidationError(
            _("No member of this organization has the email address %(email)s.") % {"email": raw}
        )
    return owner


_check_email = _clean_model_field("email")

CLEANERS: dict[str, Cleaner] = {
    **{
        name: _clean_model_field(name)
        for name in (
            "first_name",
            "last_name",
            "company",
            "title",
            "phone",
            "website",
            "industry",
            "city",
            "region",
            "campaign_name",
            "notes",
        )
    },
    "email": lambda raw, context: normalize_email(_check_email(raw, context)),
    "employees": _clean_employees,
    "country": _clean_country,
    "source": lambda raw, context: _choice(LeadSource.choices, raw, _("source")),
    "rating": lambda raw, context: _choice(LeadRating.choices, raw, _("rating")),
    "owner": _clean_owner,
}


def _split_name(raw: str) -> tuple[str, str]:
    parts = raw.split()
    first, last = (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", raw)
    if len(first) > 80 or len(last) > 80:
        raise ValidationError(_("The name is too long."))
    return first, last


def clean_row(
    cells: list[str], headers: list[str], mapping: dict[str, str], context: RowContext
) -> dict[str, Any] | str:
    """The lead values of one row, or the reason it cannot be imported."""
    values: dict[str, Any] = {}
    errors = []
    for index, header in enumerate(headers):
        target = mapping.get(header, "")
        raw = cells[index].strip() if index < len(cells) else ""
        if not target or not raw:
            continue
        try:
            if target == "full_name":
                first, last = _split_name(raw)
                values.setdefault("first_name", first)
                values.setdefault("last_name", last)
            else:
                values["owner_id" if target == "owner" else target] = CLEANERS[target](raw, context)
        except ValidationError as error:
            errors.append(f"{header}: {' '.join(error.messages)}")
    if not errors and not values.get("last_name"):
        errors.append(_("The lead needs a last name."))
    return "; ".join(errors) if errors else values


def _context(org: Organization) -> RowContext:
    members = User.objects.filter(memberships__organization=org).values_list("email", "id")
    return RowContext(members={normalize_email(email): pk for email, pk in members})


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    error: str = ""


def lead_import_preview(
    *, org: Organization, upload: LeadUpload, mapping: dict[str, str], limit: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """The first rows as they would be read, each with its problem if it has one."""
    context = _context(org)
    preview = []
    with _rows(upload) as rows:
        for number, cells in rows:
            result = clean_row(cells, upload.headers, mapping, context)
            preview.append(
                PreviewRow(
                    number=number, cells=cells, error=result if isinstance(result, str) else ""
                )
            )
            if len(preview) >= limit:
                break
    return preview


@dataclass
class ImportOutcome:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_rows: list[tuple[int, str]] = field(default_factory=list)
    assigned: int = 0


def lead_import_run(
    *,
    org: Organization,
    by: User | None,
    upload: LeadUpload,
    mapping: dict[str, str],
    source: str,
    campaign_name: str = "",
    skip_existing: bool = True,
) -> ImportOutcome:
    """Import every usable row as a lead (assignment and score rules applied), in one
    transaction; then forget the stored file. Rows with problems are counted and listed."""
    if source not in LeadSource.values:
        raise ValidationError(_("Choose a source."))
    context = _context(org)
    outcome = ImportOutcome()
    rows: list[dict[str, Any]] = []
    seen_emails: set[str] = set()
    with _rows(upload) as file_rows:
        for number, cells in file_rows:
            result = clean_row(cells, upload.headers, mapping, context)
            if isinstance(result, str):
                outcome.rejected += 1
                if len(outcome.rejected_rows) < MAX_REJECTED_SHOWN:
                    outcome.rejected_rows.append((number, result))
                continue
            email = result.get("email", "")
            if skip_existing and email:
                if email in seen_emails:
                    outcome.duplicates += 1
                    continue
                seen_emails.add(email)
            result.setdefault("source", source)
            if campaign_name:
                result.setdefault("campaign_name", campaign_name)
            rows.append(result)
    if skip_existing and seen_emails:
        existing = _existing_emails(seen_emails)
        kept = [row for row in rows if row.get("email", "") not in existing]
        outcome.duplicates += len(rows) - len(kept)
        rows = kept
    leads = leads_create_many(org=org, by=by, rows=rows)
    outcome.created = len(leads)
    outcome.assigned = sum(1 for lead in leads if lead.owner_id)
    default_storage.delete(upload.path)
    return outcome


def _existing_emails(emails: set[str], chunk: int = 2000) -> set[str]:
    """Which of these emails leads of the organization already have (the email index)."""
    found: set[str] = set()
    ordered = sorted(emails)
    for start in range(0, len(ordered), chunk):
        found.update(
            Lead.objects.filter(email__in=ordered[start : start + chunk]).values_list(
                "email", flat=True
            )
        )
    return found
