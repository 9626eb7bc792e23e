"""Writing one import: valid rows in, customers or contacts out, a chunk at a time.

`ImportWriter.add` decides what each row does (create, update, skip) from its match and the
import's `on_match`, and queues it; `flush` writes a chunk with bulk queries (a fixed number of
queries per chunk, never one per row) together with what undo needs (`ImportRowChange`, with the
previous values of updated records) and one history line per record.
"""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.bulk_insert import insert_rows
from customers.exports import neutralize
from customers.import_fields import CONSENT_FIELDS, CONTACTS, CleanRow
from customers.import_matching import Index, Match, Matcher, NewRecord, Ref
from customers.matching import normalize_phone
from customers.models import (
    ChangeAction,
    ConsentEvent,
    ConsentState,
    Contact,
    Customer,
    CustomerKind,
    CustomerTag,
    FieldChange,
    ImportBatch,
    ImportRowChange,
    Source,
    Tag,
)
from tenancy.models import Organization, User

CHUNK_SIZE = 2000
CREATE, UPDATE, SKIP = "create", "update", "skip"
ON_MATCH_CHOICES = (SKIP, UPDATE, CREATE)
REJECTED, SKIPPED = "rejected", "skipped"  # outcomes in the report
MAX_REASONS = 20


def decide(match: Match | None, on_match: str) -> tuple[str, str]:
    """What a row does, and why, in words for the preview and the report."""
    if match is None:
        return CREATE, ""
    ref = match.ref
    by = {"email": _("email"), "phone": _("phone"), "name": _("name")}[match.by]
    if match.in_file and ref.created:
        why = _("duplicate of row %(row)s (same %(key)s)") % {"row": ref.row, "key": by}
    else:
        why = _("matches existing #%(id)s (same %(key)s)") % {"id": ref.id, "key": by}
    if on_match == UPDATE:
        return UPDATE, why
    if on_match == CREATE:
        return CREATE, why
    return SKIP, why


def json_value(value: Any) -> Any:
    """A field value as JSON, for ImportRowChange.previous."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)
    return value


class Report:
    """The rows that were not imported, with the reason: a CSV people can open and fix."""

    def __init__(self, headers: list[str]) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.writer.writerow([_("Row"), _("Outcome"), _("Reason"), *headers])
        self.reasons: list[str] = []

    def add(self, number: int, outcome: str, reason: str, cells: list[str]) -> None:
        self.writer.writerow([number, outcome, neutralize(reason), *map(neutralize, cells)])
        if outcome == REJECTED and len(self.reasons) < MAX_REASONS:
            self.reasons.append(_("Row %(row)s: %(reason)s") % {"row": number, "reason": reason})

    def text(self) -> str:
        return self.buffer.getvalue()


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0


class ImportWriter:
    """Decides and writes the rows of one import (customers, or contacts and their companies)."""

    def __init__(
        self,
        *,
        batch: ImportBatch,
        org: Organization,
        by: User | None,
        existing: Index,
        companies: dict[str, int] | None = None,
        member_names: dict[int, str] | None = None,
    ) -> None:
        self.batch = batch
        self.org = org
        self.by = by
        self.contacts = batch.kind == CONTACTS
        self.model: type[models.Model] = Contact if self.contacts else Customer
        self.entity = "contact" if self.contacts else "customer"
        self.matcher = Matcher(existing)
        self.companies: dict[str, int | NewRecord] = dict(companies or {})
        self.member_names = member_names or {}
        self.counts = Counts()
        self.now = timezone.now()
        self.source_note = (_("Import: %(file)s") % {"file": batch.file_name})[:80]
        self.history_note = _("Imported from %(file)s") % {"file": batch.file_name}
        self.tag_ids: dict[str, int] = {
            name.lower(): pk for pk, name in Tag.objects.values_list("pk", "name")
        }
        # Per chunk
        self.new_companies: list[NewRecord] = []
        self.new: list[NewRecord] = []
        self.updates: list[tuple[Ref, CleanRow]] = []
        # Per import: what undo needs of every existing record this import changed.
        self.previous: dict[int, dict] = {}

    # --- Deciding -------------------------------------------------------------------------

    def add(self, row: CleanRow, on_match: str) -> tuple[str, str]:
        """Queue a valid row; returns what it does (create, update, skip) and why."""
        match = self.matcher.find(row)
        action, why = decide(match, on_match)
        if action == SKIP:
            self.counts.skipped += 1
            self.matcher.remember(row, match.ref)
            return action, why
        if action == UPDATE:
            ref = match.ref
            if ref.record is not None and ref.record.pk is None:
                self._apply_to_new(ref.record, row)  # created earlier in this chunk
            else:
                self.updates.append((ref, row))
            self.counts.updated += 1
            self.matcher.remember(row, ref)
            return action, why
        record = self._new_record(row)
        self.new.append(record)
        self.counts.created += 1
        self.matcher.remember(row, Ref(row=row.number, created=True, record=record))
        return action, why

    def _base_values(self, *, customer: bool) -> dict[str, Any]:
        """What every record this import creates carries (the rest are the fields' defaults)."""
        values = {
            "organization_id": self.org.pk,
            "import_batch_id": self.batch.pk,
            "created_at": self.now,
            "updated_at": self.now,
        }
        if customer:
            values.update(
                created_by_id=self.by.pk if self.by else None,
                stage_changed_at=self.now,
                source=Source.IMPORT,
                custom={},
            )
        return values

    def _new_record(self, row: CleanRow) -> NewRecord:
        record = NewRecord(values=self._base_values(customer=not self.contacts))
        if self.contacts:
            company = self._company(row)
            if isinstance(company, NewRecord):
                record.company = company  # written before the contacts of the same chunk
            else:
                record.values["customer_id"] = company
        self._apply_to_new(record, row)
        return record

    def _apply_to_new(self, record: NewRecord, row: CleanRow) -> None:
        values = record.values
        values.update(row.values)
        values["phone_normalized"] = normalize_phone(values.get("phone", ""))
        if not self.contacts:
            values["custom"].update(row.custom)
            record.tags += [t for t in row.tags if t not in record.tags]
            for name in CONSENT_FIELDS:
                if row.values.get(name, ConsentState.UNKNOWN) != ConsentState.UNKNOWN:
                    values[f"{name}_at"] = self.now
                    values[f"{name}_source"] = self.source_note

    def _company(self, row: CleanRow) -> int | NewRecord:
        company = self.companies.get(row.company_key)
        if company is None:
            company = NewRecord(values=self._base_values(customer=True))
            company.values.update(kind=CustomerKind.COMPANY, name=row.company)
            self.companies[row.company_key] = company
            self.new_companies.append(company)
        return company

    # --- Writing --------------------------------------------------------------------------

    def discard(self) -> None:
        """Forget the queued chunk (an import that will be rolled back writes nothing more)."""
        self.new_companies, self.new, self.updates = [], [], []

    def flush(self) -> None:
        if self.new_companies:
            self._insert(Customer, self.new_companies)
        if self.new:
            for record in self.new:
                if record.company is not None:
                    record.values["customer_id"] = record.company.pk
            self._insert(self.model, self.new)
            if not self.contacts:
                self._consent_events([(r.pk, r.values) for r in self.new])
                self._link_tags({r.pk: r.tags for r in self.new}, fresh=True)
        if self.updates:
            self._write_updates()
        self.discard()

    def finish(self) -> None:
        """Write what undo needs: an ImportRowChange (and a history line) for every record the
        import created, and the previous values of every record it updated."""
        self.flush()
        for model, entity in ((Customer, "customer"), (Contact, "contact")):
            self._record_created(model, entity)
        ImportRowChange.objects.bulk_create(
            [
                ImportRowChange(
                    organization=self.org,
                    batch=self.batch,
                    entity=self.entity,
                    entity_id=pk,
                    created=False,
                    previous=previous,
                )
                for pk, previous in self.previous.items()
            ],
            batch_size=CHUNK_SIZE,
        )

    @staticmethod
    def _insert(model: type[models.Model], records: list[NewRecord]) -> None:
        ids = insert_rows(model, [r.values for r in records], batch_size=CHUNK_SIZE)
        for record, pk in zip(records, ids, strict=True):
            record.pk = pk

    def _record_created(self, model: type[models.Model], entity: str) -> None:
        """INSERT ... SELECT from the records carrying this import's id: one statement each,
        instead of two model instances per imported row."""
        source = model._meta.db_table
        changes = ImportRowChange._meta.db_table
        history = FieldChange._meta.db_table
        json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
        where = f"FROM {source} WHERE organization_id = %s AND import_batch_id = %s"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {changes} "
                "(organization_id, batch_id, entity, entity_id, created, previous) "
                f"SELECT organization_id, %s, %s, id, %s, {json} {where}",
                [self.batch.pk, entity, True, "{}", self.org.pk, self.batch.pk],
            )
            cursor.execute(
                f"INSERT INTO {history} (organization_id, entity, entity_id, batch, action, "
                "field, old_value, new_value, changed_by_id, changed_at) "
                f"SELECT organization_id, %s, id, %s, %s, '', '', %s, %s, %s {where}",
                [
                    entity,
                    FieldChange._meta.get_field("batch").get_db_prep_value(
                        uuid.uuid4(), connection
                    ),
                    ChangeAction.IMPORT,
                    self.history_note,
                    self.by.pk if self.by else None,
                    connection.ops.adapt_datetimefield_value(self.now),
                    self.org.pk,
                    self.batch.pk,
                ],
            )

    def _consent_events(
        self, customers: list[tuple[int, dict[str, Any]]], only: dict | None = None
    ) -> list[ConsentEvent]:
        """A consent event for each channel set (or, with `only`, changed) by the import;
        `customers` are (id, {consent field: state})."""
        events = []
        for pk, states in customers:
            for name in CONSENT_FIELDS:
                state = states.get(name, ConsentState.UNKNOWN)
                wanted = only.get(pk, ()) if only is not None else (name,)
                if name in wanted and state != ConsentState.UNKNOWN:
                    events.append(
                        ConsentEvent(
                            organization=self.org,
                            customer_id=pk,
                            channel=name.removeprefix("consent_"),
                            state=state,
                            source=self.source_note,
                            recorded_at=self.now,
                            recorded_by=self.by,
                        )
                    )
        return ConsentEvent.objects.bulk_create(events, batch_size=CHUNK_SIZE)

    def _link_tags(self, wanted: dict[int, list[str]], *, fresh: bool) -> None:
        """Tag customers (creating missing tags); `fresh` customers have no tags yet."""
        wanted = {pk: tags for pk, tags in wanted.items() if tags}
        if not wanted:
            return
        names = {n.lower(): n for tags in wanted.values() for n in tags}
        missing = [name for key, name in names.items() if key not in self.tag_ids]
        if missing:
            for tag in Tag.objects.bulk_create(
                [Tag(organization=self.org, name=name) for name in missing]
            ):
                self.tag_ids[tag.name.lower()] = tag.pk
        linked: set[tuple[int, int]] = set()
        if not fresh:
            linked = set(
                CustomerTag.objects.filter(customer_id__in=list(wanted)).values_list(
                    "customer_id", "tag_id"
                )
            )
        links = []
        for pk, tags in wanted.items():
            for tag_id in dict.fromkeys(self.tag_ids[t.lower()] for t in tags):
                if (pk, tag_id) in linked:
                    continue
                linked.add((pk, tag_id))
                links.append({"organization_id": self.org.pk, "customer_id": pk, "tag_id": tag_id})
                if pk in self.previous:
                    self.previous[pk].setdefault("_tags_added", []).append(tag_id)
        insert_rows(CustomerTag, links, batch_size=CHUNK_SIZE, returning=False)

    def _write_updates(self) -> None:
        records = self.model.objects.in_bulk({ref.id for ref, _row in self.updates})
        changed_fields: set[str] = set()
        history: list[FieldChange] = []
        tags: dict[int, list[str]] = {}
        consent: dict[int, set[str]] = {}
        for ref, row in self.updates:
            record = records.get(ref.id)
            if record is None:
                continue  # deleted since the file was matched
            previous = None if ref.created else self.previous.setdefault(record.pk, {})
            changes = self._apply_update(record, row, previous)
            changed_fields.update(name for name, _old, _new in changes)
            consent.setdefault(record.pk, set()).update(
                name for name, _old, _new in changes if name in CONSENT_FIELDS
            )
            if row.tags:
                tags.setdefault(record.pk, []).extend(row.tags)
            history += self._history(record.pk, changes)
        if changed_fields:
            changed_fields.add("updated_at")
            if "phone" in changed_fields:
                changed_fields.add("phone_normalized")
            if "lifecycle_stage" in changed_fields:
                changed_fields.add("stage_changed_at")
            for name in changed_fields & set(CONSENT_FIELDS):
                changed_fields |= {f"{name}_at", f"{name}_source"}
            columns = {f.attname: f.name for f in self.model._meta.concrete_fields}
            fields = sorted(columns[name] for name in changed_fields if name in columns)
            for record in records.values():
                record.updated_at = self.now
            self.model.objects.bulk_update(list(records.values()), fields, batch_size=500)
        FieldChange.objects.bulk_create(history, batch_size=CHUNK_SIZE)
        if not self.contacts:
            events = self._consent_events(
                [
                    (pk, {name: getattr(records[pk], name) for name in CONSENT_FIELDS})
                    for pk in consent
                    if consent[pk] and pk in records
                ],
                only=consent,
            )
            for event in events:
                if event.customer_id in self.previous:
                    previous = self.previous[event.customer_id]
                    previous.setdefault("_consent_events", []).append(event.pk)
            if tags:
                self._link_tags(tags, fresh=False)

    def _apply_update(
        self, record: models.Model, row: CleanRow, previous: dict | None
    ) -> list[tuple[str, Any, Any]]:
        """Non-empty cells overwrite; returns (field, old, new) of what changed."""

        def keep(name: str) -> None:
            if previous is not None and name not in previous:
                previous[name] = json_value(getattr(record, name))

        changes = []
        for name, value in row.values.items():
            old = getattr(record, name)
            if old == value:
                continue
            keep(name)
            changes.append((name, old, value))
            setattr(record, name, value)
            if name == "phone":
                keep("phone_normalized")
                record.phone_normalized = normalize_phone(value)
            elif name == "lifecycle_stage":
                keep("stage_changed_at")
                record.stage_changed_at = self.now
            elif name in CONSENT_FIELDS:
                keep(f"{name}_at")
                keep(f"{name}_source")
                setattr(record, f"{name}_at", self.now)
                setattr(record, f"{name}_source", self.source_note)
        if row.custom:
            merged = {**(record.custom or {}), **row.custom}
            if merged != (record.custom or {}):
                keep("custom")
                for key, value in row.custom.items():
                    old = (record.custom or {}).get(key)
                    if old != value:
                        changes.append((f"custom.{key}", old, value))
                record.custom = merged
                changes.append(("custom", None, None))
        return changes

    def _history(self, pk: int, changes: list[tuple[str, Any, Any]]) -> list[FieldChange]:
        group = uuid.uuid4()
        rows = [
            FieldChange(
                organization=self.org,
                entity=self.entity,
                entity_id=pk,
                batch=group,
                action=ChangeAction.IMPORT,
                field=name,
                old_value=self._display(name, old),
                new_value=self._display(name, new),
                changed_by=self.by,
                changed_at=self.now,
            )
            for name, old, new in changes
            if name != "custom"
        ]
        return rows or [
            FieldChange(
                organization=self.org,
                entity=self.entity,
                entity_id=pk,
                batch=group,
                action=ChangeAction.IMPORT,
                new_value=self.history_note,
                changed_by=self.by,
                changed_at=self.now,
            )
        ]

    def _display(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        if name == "owner_id":
            return self.member_names.get(value, str(value))
        if not name.startswith("custom."):
            model_field = self.model._meta.get_field(name)
            if model_field.choices:
                return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return str(value)
