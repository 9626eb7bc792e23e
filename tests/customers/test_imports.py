"""Imports: files in every common shape, the mapping (guessed and remembered), the preview, the
three ways of treating matches, bad rows (all or nothing, or skipped into the report), undo, the
limits and bad files (a clear message, never a 500), and the pages: roles, tenants, queries."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from customers import import_matching, import_selectors, import_writer, imports
from customers.import_files import ImportFileError
from customers.models import (
    ConsentEvent,
    Contact,
    Customer,
    CustomerTag,
    FieldChange,
    ImportBatch,
    ImportRowChange,
    ImportStatus,
    Tag,
)
from customers.tasks import import_run_task, import_undo_task
from tenancy.context import tenant_context
from tests.customers.conftest import HTMX
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    CustomFieldDefinitionFactory,
    ImportBatchFactory,
    TagFactory,
)


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


def csv_bytes(rows: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(org, by, content: bytes, *, name: str = "people.csv", kind: str = "customers"):
    with tenant_context(org):
        return imports.import_batch_create(
            org=org, by=by, kind=kind, upload=SimpleUploadedFile(name, content)
        )


def run(batch, *, mapping=None, on_match="skip", skip_bad_rows=False) -> ImportBatch:
    """Map (the guessed mapping unless given), queue and run, as the views and the task do."""
    with tenant_context(batch.organization):
        targets = import_selectors.batch_targets(batch)
        mapping = mapping or import_selectors.import_mapping_initial(batch=batch, targets=targets)
        imports.import_batch_map(
            batch=batch, mapping=mapping, on_match=on_match, skip_bad_rows=skip_bad_rows
        )
        assert imports.import_batch_queue(batch=batch)
        return imports.import_run(batch=batch)


def customers(org) -> dict[str, Customer]:
    with tenant_context(org):
        return {c.name: c for c in Customer.objects.order_by("pk")}


HEADER = ["Name", "Email", "Phone", "Stage", "Tags"]


# --- Happy paths ------------------------------------------------------------------------------


def test_it_imports_a_csv_of_customers_with_every_kind_of_field(org_a, admin_a, alice):
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty", label="Loyalty number")
    CustomFieldDefinitionFactory(
        organization=org_a, key="renewal", label="Renewal", field_type="date"
    )
    content = csv_bytes(
        [
            [
                *HEADER,
                "Owner",
                "Kind",
                "Credit limit",
                "Email consent",
                "Loyalty number",
                "Renewal",
            ],
            [
                "Acme Ltd",
                "Sales@Acme.example",
                "+1 (555) 010-2000",
                "Active",
                "vip, b2b",
                "alice@a.example",
                "company",
                "1,250.50",
                "yes",
                "L-42",
                "2025-03-01",
            ],
            ["Zhang Wei", "", "", "", "", "", "individual", "", "", "", ""],
        ]
    )
    batch = upload(org_a, admin_a, content)

    batch = run(batch)

    assert (batch.status, batch.created_count, batch.rejected_count) == ("done", 2, 0)
    acme = customers(org_a)["Acme Ltd"]
    assert acme.email == "sales@acme.example"
    assert acme.phone_normalized == "15550102000"
    assert acme.lifecycle_stage == "active"
    assert acme.owner_id == alice.pk
    assert acme.credit_limit == Decimal("1250.50")
    assert acme.consent_email == "granted"
    assert acme.custom == {"loyalty": "L-42", "renewal": "2025-03-01"}
    assert acme.source == "import"
    assert acme.import_batch_id == batch.pk
    with tenant_context(org_a):
        assert sorted(acme.tags.values_list("name", flat=True)) == ["b2b", "vip"]
        assert ConsentEvent.objects.get(customer=acme).state == "granted"
        assert FieldChange.objects.filter(entity_id=acme.pk, action="import").count() == 1
        assert ImportRowChange.objects.filter(batch=batch, created=True).count() == 2
    assert customers(org_a)["Zhang Wei"].kind == "individual"
    assert batch.file_path == ""  # the file is not kept once its rows are in


def test_it_imports_an_excel_workbook(org_a, admin_a):
    content = xlsx_bytes(
        [
            ["Name", "Phone", "Credit limit", "Birth date"],
            ["Excel Person", 15550102000, 99.5, date(1990, 5, 17)],
        ]
    )
    batch = upload(org_a, admin_a, content, name="people.xlsx")

    batch = run(batch)

    person = customers(org_a)["Excel Person"]
    assert batch.status == "done"
    assert person.phone == "15550102000"  # not 1.5550102e10
    assert person.credit_limit == Decimal("99.5")
    assert person.birth_date == date(1990, 5, 17)


def test_a_workbook_keeps_its_row_numbers_across_blank_rows(org_a, admin_a):
    content = xlsx_bytes(
        [["Name", "Email"], ["Good", "good@x.io"], [None, None], [None, None], ["Bad", "nope"]]
    )
    batch = upload(org_a, admin_a, content, name="gaps.xlsx")
    assert batch.total_rows == 2
    assert batch.mapping["sample"] == [[2, ["Good", "good@x.io"]], [5, ["Bad", "nope"]]]

    batch = run(batch, skip_bad_rows=True)

    assert (batch.created_count, batch.rejected_count) == (1, 1)
    assert batch.rejected_report.splitlines()[1].startswith("5,rejected,Email:")


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("gb18030", ";"), ("utf-16", "\t"), ("cp1252", ",")],
)
def test_it_reads_the_common_encodings_and_delimiters(org_a, admin_a, encoding, delimiter):
    name = "Café Müller" if encoding == "cp1252" else "北京星辰科技有限公司"
    content = csv_bytes([["客户名称", "邮箱"], [name, "x@example.com"]], encoding="utf-8")
    if encoding == "cp1252":
        content = csv_bytes([["Name", "Email"], [name, "x@example.com"]], encoding="cp1252")
    else:
        content = csv_bytes(
            [["客户名称", "邮箱"], [name, "x@example.com"]], encoding=encoding, delimiter=delimiter
        )

    batch = run(upload(org_a, admin_a, content))

    assert batch.status == "done"
    assert list(customers(org_a)) == [name]


def test_it_guesses_columns_from_english_and_chinese_names(org_a, admin_a):
    content = csv_bytes(
        [["公司名称", "E-mail address", "手机号", "阶段", "标签", "Owner", "Mystery"], ["A"] * 7]
    )
    batch = upload(org_a, admin_a, content)

    with tenant_context(org_a):
        mapping = import_selectors.import_mapping_initial(
            batch=batch, targets=import_selectors.batch_targets(batch)
        )

    assert mapping == {
        "公司名称": "name",
        "E-mail address": "email",
        "手机号": "phone",
        "阶段": "lifecycle_stage",
        "标签": "tags",
        "Owner": "owner",
        "Mystery": "",
    }


def test_it_remembers_the_last_mapping_for_files_of_the_same_kind(org_a, admin_a):
    first = upload(org_a, admin_a, csv_bytes([["Firma", "Notiz", "Mail"], ["A", "n", "a@x.io"]]))
    run(first, mapping={"Firma": "name", "Notiz": "industry", "Mail": "email"})
    second = upload(org_a, admin_a, csv_bytes([["Firma", "Mail", "Other"], ["B", "b@x.io", "x"]]))
    contacts = upload(
        org_a, admin_a, csv_bytes([["Firma", "Vorname"], ["A", "Li"]]), kind="contacts"
    )

    with tenant_context(org_a):
        remembered = import_selectors.import_mapping_initial(
            batch=second, targets=import_selectors.batch_targets(second)
        )
        other_kind = import_selectors.import_mapping_initial(
            batch=contacts, targets=import_selectors.batch_targets(contacts)
        )

    assert remembered == {"Firma": "name", "Mail": "email", "Other": ""}
    assert other_kind["Firma"] == ""  # a customers mapping is not offered for contacts


# --- Preview ----------------------------------------------------------------------------------


def test_the_preview_shows_what_each_row_would_do_without_writing(org_a, admin_a):
    existing = CustomerFactory(organization=org_a, name="Old Co", email="old@x.io")
    content = csv_bytes(
        [
            HEADER,
            ["New Co", "new@x.io", "", "", ""],
            ["Old Co renamed", "OLD@x.io", "", "", ""],
            ["New Co again", "new@x.io", "", "", ""],
            ["Broken", "not an email", "", "Sleeping", ""],
        ]
    )
    batch = upload(org_a, admin_a, content)

    with tenant_context(org_a):
        mapping = import_selectors.import_mapping_initial(
            batch=batch, targets=import_selectors.batch_targets(batch)
        )
        preview = imports.import_preview(batch=batch, mapping=mapping, on_match="update")

    assert [(r.number, r.status) for r in preview.rows] == [
        (2, "new"),
        (3, "update"),
        (4, "duplicate"),
        (5, "error"),
    ]
    assert f"#{existing.pk}" in preview.rows[1].message
    assert "row 2" in preview.rows[2].message
    assert "Email: Enter a valid email address." in preview.rows[3].message
    assert "Stage: “Sleeping” is not one of" in preview.rows[3].message
    assert list(customers(org_a)) == ["Old Co"]


def test_the_preview_shows_only_the_first_twenty_rows(org_a, admin_a):
    content = csv_bytes([["Name"], *[[f"Person {n}"] for n in range(50)]])
    batch = upload(org_a, admin_a, content)

    with tenant_context(org_a):
        preview = imports.import_preview(batch=batch, mapping={"Name": "name"})

    assert len(preview.rows) == 20
    assert preview.columns == [("Name", "Name")]


# --- Matching ---------------------------------------------------------------------------------


@pytest.fixture
def matching_file(org_a, admin_a):
    """Existing records matched by email, by phone and by name, and a brand-new row."""
    by_email = CustomerFactory(organization=org_a, name="By Email", email="e@x.io", city="Old")
    by_phone = CustomerFactory(
        organization=org_a,
        name="By Phone",
        phone="+44 20 7946 0000",
        phone_normalized="442079460000",
    )
    by_name = CustomerFactory(organization=org_a, name="Name Match GmbH", city="Old")
    content = csv_bytes(
        [
            ["Name", "Email", "Phone", "City"],
            ["Email row", "E@X.IO", "", "Paris"],
            ["Phone row", "", "0044 20 7946 0000", "Rome"],
            ["name match", "", "", "Oslo"],
            ["Fresh", "fresh@x.io", "", "Lima"],
        ]
    )
    return upload(org_a, admin_a, content), (by_email, by_phone, by_name)


def test_matching_rows_are_skipped_when_asked(org_a, matching_file):
    batch, existing = matching_file

    batch = run(batch, on_match="skip")

    assert (batch.created_count, batch.updated_count, batch.skipped_count) == (1, 0, 3)
    assert sorted(customers(org_a)) == ["By Email", "By Phone", "Fresh", "Name Match GmbH"]
    assert customers(org_a)["By Email"].city == "Old"
    report = list(csv.reader(io.StringIO(batch.rejected_report)))
    assert [(r[0], r[1]) for r in report[1:]] == [
        ("2", "skipped"),
        ("3", "skipped"),
        ("4", "skipped"),
    ]
    assert f"matches existing #{existing[0].pk} (same email)" in report[1][2]


def test_matching_rows_update_the_existing_record_when_asked(org_a, matching_file):
    batch, (by_email, by_phone, by_name) = matching_file

    batch = run(batch, on_match="update")

    assert (batch.created_count, batch.updated_count, batch.skipped_count) == (1, 3, 0)
    found = {c.pk: c for c in customers(org_a).values()}
    assert (found[by_email.pk].name, found[by_email.pk].city) == ("Email row", "Paris")
    assert found[by_phone.pk].city == "Rome"
    assert (found[by_name.pk].name, found[by_name.pk].city) == ("name match", "Oslo")
    assert found[by_phone.pk].name == "Phone row"
    with tenant_context(org_a):
        change = FieldChange.objects.get(entity_id=by_email.pk, field="city")
        assert (change.action, change.old_value, change.new_value) == ("import", "Old", "Paris")


@pytest.mark.parametrize("indexed_names", [500, 0], ids=["name-key-index", "one-pass"])
def test_names_match_without_case_punctuation_or_company_suffix(
    org_a, admin_a, monkeypatch, indexed_names
):
    monkeypatch.setattr(import_matching, "INDEXED_NAMES", indexed_names)
    acme = CustomerFactory(organization=org_a, name="ACME, Inc.")
    globex = CustomerFactory(organization=org_a, name="Globex Corporation")
    content = csv_bytes([["Name", "City"], ["Acme", "Oslo"], ["globex", "Rome"], ["Initech", "x"]])

    batch = run(upload(org_a, admin_a, content), on_match="update")

    assert (batch.created_count, batch.updated_count) == (1, 2)
    with tenant_context(org_a):
        acme.refresh_from_db()
        globex.refresh_from_db()
    assert (acme.city, globex.city) == ("Oslo", "Rome")


def test_matching_rows_create_new_records_anyway_when_asked(org_a, matching_file):
    batch, _existing = matching_file

    batch = run(batch, on_match="create")

    assert (batch.created_count, batch.updated_count, batch.skipped_count) == (4, 0, 0)
    assert len(customers(org_a)) == 7


def test_an_update_keeps_existing_values_for_empty_cells(org_a, admin_a):
    CustomerFactory(organization=org_a, name="Keep", email="k@x.io", city="Berlin")
    batch = upload(org_a, admin_a, csv_bytes([["Email", "Name", "City"], ["k@x.io", "Keep", ""]]))

    run(batch, on_match="update")

    assert customers(org_a)["Keep"].city == "Berlin"


def test_duplicates_inside_the_file_match_their_first_occurrence(org_a, admin_a):
    content = csv_bytes(
        [
            ["Name", "Email", "Phone"],
            ["First", "dup@x.io", ""],
            ["Second", "DUP@x.io", ""],
            ["Third", "", "555 123 4567"],
            ["Fourth", "", "(555) 123-4567"],
        ]
    )

    skipped = run(upload(org_a, admin_a, content), on_match="skip")

    assert (skipped.created_count, skipped.skipped_count) == (2, 2)
    assert sorted(customers(org_a)) == ["First", "Third"]
    assert "duplicate of row 2 (same email)" in skipped.rejected_report


def test_a_duplicate_in_the_file_can_update_the_record_its_first_occurrence_created(
    org_a, admin_a, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 2)  # the two rows land in different chunks
    content = csv_bytes(
        [
            ["Name", "Email", "City"],
            ["First", "dup@x.io", ""],
            ["x", "y@x.io", ""],
            ["Second", "dup@x.io", "Lyon"],
        ]
    )

    batch = run(upload(org_a, admin_a, content), on_match="update")

    assert (batch.created_count, batch.updated_count) == (2, 1)
    assert customers(org_a)["Second"].city == "Lyon"


def test_it_matches_in_bounded_queries_whatever_the_number_of_rows(
    org_a, admin_a, django_assert_max_num_queries
):
    for n in range(30):
        CustomerFactory(organization=org_a, name=f"Existing {n}", email=f"e{n}@x.io")
    rows = [["Name", "Email"]] + [[f"Row {n}", f"e{n % 40}@x.io"] for n in range(300)]
    batch = upload(org_a, admin_a, csv_bytes(rows))

    with django_assert_max_num_queries(40):
        batch = run(batch, on_match="update")

    assert (batch.created_count, batch.updated_count) == (10, 290)


# --- Bad rows ---------------------------------------------------------------------------------

BAD_FILE = [
    ["Name", "Email", "Stage"],
    ["Good One", "one@x.io", "active"],
    ["", "nameless@x.io", ""],
    ["Bad Mail", "nope", ""],
    ["Good Two", "two@x.io", "prospect"],
]


def test_a_bad_row_fails_the_whole_import_when_bad_rows_are_not_skipped(org_a, admin_a):
    batch = run(upload(org_a, admin_a, csv_bytes(BAD_FILE)), skip_bad_rows=False)

    assert batch.status == ImportStatus.FAILED
    assert (batch.created_count, batch.rejected_count) == (0, 2)
    assert customers(org_a) == {}
    with tenant_context(org_a):
        assert ImportRowChange.objects.count() == 0
        assert FieldChange.objects.count() == 0
    assert "2 rows have errors, so nothing was imported" in batch.error
    assert "Row 3: Name: This field cannot be blank." in batch.error
    assert "Row 4: Email: Enter a valid email address." in batch.error


def test_bad_rows_go_to_the_report_when_they_are_skipped(org_a, admin_a):
    batch = run(upload(org_a, admin_a, csv_bytes(BAD_FILE)), skip_bad_rows=True)

    assert batch.status == ImportStatus.DONE
    assert (batch.created_count, batch.rejected_count) == (2, 2)
    assert sorted(customers(org_a)) == ["Good One", "Good Two"]
    report = list(csv.reader(io.StringIO(batch.rejected_report)))
    assert report[0] == ["Row", "Outcome", "Reason", "Name", "Email", "Stage"]
    assert report[1] == [
        "3",
        "rejected",
        "Name: This field cannot be blank.",
        "",
        "nameless@x.io",
        "",
    ]
    assert report[2][:3] == ["4", "rejected", "Email: Enter a valid email address."]


def test_an_unexpected_error_half_way_leaves_nothing_behind(org_a, admin_a, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 2)
    calls = []
    real_flush = import_writer.ImportWriter.flush

    def failing_flush(self):
        calls.append(1)
        real_flush(self)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_writer.ImportWriter, "flush", failing_flush)
    rows = [["Name"]] + [[f"Person {n}"] for n in range(6)]

    batch = run(upload(org_a, admin_a, csv_bytes(rows)), skip_bad_rows=True)

    assert batch.status == ImportStatus.FAILED
    assert "unexpected error" in batch.error
    assert customers(org_a) == {}


# --- Undo -------------------------------------------------------------------------------------


def test_undo_deletes_what_the_import_created_and_restores_what_it_updated(org_a, admin_a):
    vip = TagFactory(organization=org_a, name="vip")
    kept = CustomerFactory(
        organization=org_a, name="Kept", email="kept@x.io", city="Old", tags=[vip]
    )
    content = csv_bytes(
        [
            ["Name", "Email", "City", "Tags", "SMS consent"],
            ["Kept renamed", "kept@x.io", "New", "vip, gold", "no"],
            ["Brand New", "new@x.io", "Nice", "gold", ""],
        ]
    )
    batch = run(upload(org_a, admin_a, content), on_match="update")
    assert (batch.created_count, batch.updated_count) == (1, 1)
    with tenant_context(org_a):
        ContactFactory(customer=Customer.objects.get(name="Brand New"))

    with tenant_context(org_a):
        imports.import_undo(batch=batch, by=admin_a)
        batch.refresh_from_db()

    assert batch.status == ImportStatus.UNDONE
    restored = customers(org_a)
    assert list(restored) == ["Kept"]
    assert (restored["Kept"].city, restored["Kept"].consent_sms) == ("Old", "unknown")
    with tenant_context(org_a):
        assert list(CustomerTag.objects.values_list("customer_id", "tag__name")) == [
            (kept.pk, "vip")
        ]
        assert ConsentEvent.objects.count() == 0
        assert Contact.objects.count() == 0
        assert ImportRowChange.objects.count() == 0
        assert FieldChange.objects.filter(entity_id=kept.pk, action="undo").count() == 1
        assert Tag.objects.filter(name="gold").exists()  # tags stay: they are harmless


def test_an_import_can_be_undone_only_once(org_a, admin_a):
    batch = run(upload(org_a, admin_a, csv_bytes([["Name"], ["Once"]])))
    with tenant_context(org_a):
        imports.import_undo(batch=batch, by=admin_a)

        with pytest.raises(Exception, match="Only a finished import can be undone"):
            imports.import_undo(batch=batch, by=admin_a)


# --- Contacts ---------------------------------------------------------------------------------


def test_it_imports_contacts_into_existing_and_new_companies(org_a, admin_a):
    acme = CustomerFactory(organization=org_a, name="Acme Inc.")
    known = ContactFactory(customer=acme, first_name="Li", last_name="Wei", title="")
    content = csv_bytes(
        [
            ["Company", "Name", "Job title", "Email"],
            ["ACME", "Li Wei", "CTO", ""],
            ["Acme Inc", "Ann Lee", "CEO", "ann@acme.io"],
            ["Globex", "Hank Scorpio", "Boss", "hank@globex.io"],
            ["Globex", "Marge S", "", "hank@globex.io"],
            ["", "No Company", "", ""],
        ]
    )
    batch = upload(org_a, admin_a, content, kind="contacts")

    batch = run(batch, on_match="update", skip_bad_rows=True)

    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (2, 2, 1)
    with tenant_context(org_a):
        known.refresh_from_db()
        assert known.title == "CTO"
        globex = Customer.objects.get(name="Globex")
        assert (globex.kind, globex.import_batch_id) == ("company", batch.pk)
        assert list(globex.contacts.values_list("first_name", "last_name")) == [("Marge", "S")]
        assert Contact.objects.get(email="ann@acme.io").customer_id == acme.pk
        imports.import_undo(batch=batch, by=admin_a)
        assert not Customer.objects.filter(name="Globex").exists()
        assert list(Contact.objects.values_list("pk", flat=True)) == [known.pk]
        known.refresh_from_db()
        assert known.title == ""


# --- The task and progress --------------------------------------------------------------------


def test_the_task_runs_a_queued_import_as_its_organization(org_a, admin_a):
    batch = upload(org_a, admin_a, csv_bytes([["Name"], ["Tasked"]]))
    with tenant_context(org_a):
        imports.import_batch_map(
            batch=batch, mapping={"Name": "name"}, on_match="skip", skip_bad_rows=False
        )
        imports.import_batch_queue(batch=batch)

    assert import_run_task.delay(org_a.pk, batch.pk).get() == "done"
    assert list(customers(org_a)) == ["Tasked"]
    # A second delivery of the same task finds the import done and leaves it alone.
    assert import_run_task.delay(org_a.pk, batch.pk).get() == "done"
    assert list(customers(org_a)) == ["Tasked"]


def test_progress_comes_from_the_cache_while_the_import_runs(org_a, admin_a):
    batch = upload(org_a, admin_a, csv_bytes([["Name"], *[["x"]] * 10]))
    with tenant_context(org_a):
        imports.import_batch_map(
            batch=batch, mapping={"Name": "name"}, on_match="skip", skip_bad_rows=False
        )
        imports.import_batch_queue(batch=batch)
        cache.set(import_selectors.progress_key(batch), 4)

        progress = import_selectors.import_progress(batch=batch)

    assert (progress.processed, progress.total, progress.percent) == (4, 10, 40)


# --- Limits and bad files ---------------------------------------------------------------------


@pytest.fixture
def admin_client(client_for, admin_a):
    return client_for(admin_a)


def post_file(client, org, name: str, content: bytes, kind: str = "customers"):
    return client.post(
        reverse("customers:import-upload", args=[org.slug]),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


def form_errors(response) -> list[str]:
    # filesizeformat puts a no-break space between the number and the unit.
    return [e.replace("\xa0", " ") for e in response.context["form"].errors.get("file", [])]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.pdf", b"%PDF-1.4", "Upload a CSV file or an Excel workbook (.xlsx)."),
        ("old.xls", b"\xd0\xcf\x11\xe0junk", "Excel 97-2003 (.xls) files are not supported."),
        ("empty.csv", b"", "file is empty."),
        ("blank.csv", b"\n\n  \n", "The file is empty."),
        ("header.csv", b"Name,Email\n", "The file has a header row but no data rows."),
        ("noheader.csv", b"Ann,ann@x.io\nBob,bob@x.io\n", "The first row looks like data"),
        ("numbers.csv", b"1,2\n3,4\n", "The first row looks like data"),
        ("binary.csv", b"\x00\x01\x02\xff\xfe\x00" * 50, "could not be read"),
        ("latin.csv", b"Name\nab\x81\n", "could not be read"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "could not be opened"),
        ("fake.xlsx", b"Name,Email\nA,b@c.de\n", "not a valid Excel workbook"),
        ("huge.csv", b'Name\n"' + b"x" * 200_000 + b'"\n', "Row 2 could not be read"),
    ],
    ids=lambda value: value if isinstance(value, str) and "." in value else None,
)
def test_a_bad_file_gets_a_clear_message_and_no_batch(admin_client, org_a, name, content, message):
    response = post_file(admin_client, org_a, name, content)

    assert response.status_code == 400
    assert message in " ".join(form_errors(response))
    with tenant_context(org_a):
        assert ImportBatch.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(admin_client, org_a, settings):
    settings.IMPORT_MAX_BYTES = 1024

    response = post_file(admin_client, org_a, "big.csv", b"Name\n" + b"Someone\n" * 200)

    assert response.status_code == 400
    assert form_errors(response) == ["The file is 1.6 KB; files can be at most 1.0 KB."]


def test_a_file_over_the_row_limit_is_refused(admin_client, org_a, settings):
    settings.IMPORT_MAX_ROWS = 5

    response = post_file(admin_client, org_a, "many.csv", csv_bytes([["Name"], *[["x"]] * 6]))

    assert response.status_code == 400
    assert form_errors(response) == ["The file has more than 5 rows. Split it into smaller files."]


def test_a_file_bigger_than_the_in_memory_limit_is_read_from_its_temporary_file(
    admin_client, org_a, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django spools bigger uploads to disk
    rows = [["Name", "Email"]] + [[f"Person {n}", f"p{n}@x.io"] for n in range(500)]

    response = post_file(admin_client, org_a, "big.csv", csv_bytes(rows))

    assert response.status_code == 302
    with tenant_context(org_a):
        batch = ImportBatch.objects.get()
    assert (batch.total_rows, batch.mapping["headers"]) == (500, ["Name", "Email"])


def test_the_upload_form_says_what_it_accepts(admin_client, org_a):
    response = admin_client.get(reverse("customers:import-upload", args=[org_a.slug]))

    assert response.status_code == 200
    assert "at most 20.0\xa0MB and 200,000 rows" in response.content.decode()


# --- The pages --------------------------------------------------------------------------------


def test_an_admin_goes_through_the_whole_flow(
    admin_client, org_a, admin_a, django_capture_on_commit_callbacks
):
    CustomerFactory(organization=org_a, name="Already Here", email="here@x.io")
    content = csv_bytes(
        [
            ["Name", "E-mail", "Stage"],
            ["Newcomer", "new@x.io", "active"],
            ["Here again", "here@x.io", ""],
            ["Broken", "broken", ""],
        ]
    )

    response = post_file(admin_client, org_a, "people.csv", content)
    with tenant_context(org_a):
        batch_pk = ImportBatch.objects.get().pk
    map_url = reverse("customers:import-map", args=[org_a.slug, batch_pk])
    assert (response.status_code, response["Location"]) == (302, map_url)

    page = admin_client.get(map_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<option value="email" selected>' in html
    assert [row.status for row in page.context["preview"].rows] == ["new", "skip", "error"]

    form = {"col_0": "name", "col_1": "email", "col_2": "", "on_match": "update"}
    fragment = admin_client.post(map_url, form, headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert [row.status for row in fragment.context["preview"].rows] == ["new", "update", "error"]

    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(
            reverse("customers:import-run", args=[org_a.slug, batch_pk]),
            {**form, "skip_bad_rows": "on"},
        )
    detail_url = reverse("customers:import-detail", args=[org_a.slug, batch_pk])
    assert (started.status_code, started["Location"]) == (302, detail_url)

    result = admin_client.get(detail_url)
    batch = result.context["batch"]
    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (1, 1, 1)
    assert "Undo import" in result.content.decode()

    report = admin_client.get(reverse("customers:import-report", args=[org_a.slug, batch_pk]))
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert "E-mail: Enter a valid email address." in report.content.decode("utf-8-sig")

    with django_capture_on_commit_callbacks(execute=True):
        undone = admin_client.post(reverse("customers:import-undo", args=[org_a.slug, batch_pk]))
    assert undone.status_code == 302
    assert "This import was undone" in admin_client.get(detail_url).content.decode()
    assert list(customers(org_a)) == ["Already Here"]


def test_the_page_shows_an_undo_under_way_and_polls_until_it_ends(
    admin_client, org_a, admin_a, django_capture_on_commit_callbacks
):
    batch = run(upload(org_a, admin_a, csv_bytes([["Name"], ["Undo Me"]])))
    undo_url = reverse("customers:import-undo", args=[org_a.slug, batch.pk])
    progress_url = reverse("customers:import-progress", args=[org_a.slug, batch.pk])

    admin_client.post(undo_url)  # queued: the task runs after the commit, which tests skip
    queued = admin_client.get(progress_url, headers=HTMX).content.decode()
    with tenant_context(org_a):
        import_undo_task(org_a.pk, batch.pk, admin_a.pk)
    finished = admin_client.get(progress_url, headers=HTMX).content.decode()

    assert "Undoing the import" in queued
    assert 'hx-trigger="every 1s"' in queued
    assert "This import was undone" in finished
    assert "hx-trigger" not in finished
    assert customers(org_a) == {}


def test_an_undo_that_is_refused_says_why_on_the_page(
    admin_client, org_a, admin_a, django_capture_on_commit_callbacks
):
    from customers.merge import customers_merge

    batch = run(upload(org_a, admin_a, csv_bytes([["Name"], ["Imported Survivor"]])))
    other = CustomerFactory(organization=org_a, name="Absorbed")
    with tenant_context(org_a):
        survivor = Customer.objects.get(name="Imported Survivor")
        customers_merge(survivor=survivor, merged=other, choices={}, by=admin_a)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("customers:import-undo", args=[org_a.slug, batch.pk]))
    page = admin_client.get(reverse("customers:import-detail", args=[org_a.slug, batch.pk]))

    assert "absorbed others in a merge" in page.content.decode()
    with tenant_context(org_a):
        batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
    assert "Imported Survivor" in customers(org_a)


def test_the_mapping_form_explains_a_missing_name_column(admin_client, org_a, admin_a):
    batch = upload(org_a, admin_a, csv_bytes([["Email"], ["a@x.io"]]))

    response = admin_client.post(
        reverse("customers:import-run", args=[org_a.slug, batch.pk]),
        {"col_0": "email", "on_match": "skip"},
    )

    assert response.status_code == 400
    assert "Choose the column with the customer&#x27;s name." in response.content.decode()
    with tenant_context(org_a):
        batch.refresh_from_db()
    assert batch.status == ImportStatus.UPLOADED


def test_the_map_page_of_a_batch_whose_file_is_gone_explains_it(admin_client, org_a, admin_a):
    batch = upload(org_a, admin_a, csv_bytes([["Name"], ["a"]]))
    with tenant_context(org_a):
        imports.default_storage.delete(batch.file_path)

    response = admin_client.get(reverse("customers:import-map", args=[org_a.slug, batch.pk]))

    assert response.status_code == 200
    assert "The uploaded file is no longer available" in response.content.decode()


def test_the_progress_fragment_polls_while_running_and_stops_when_done(
    admin_client, org_a, admin_a
):
    batch = ImportBatchFactory(organization=org_a, status="running", total_rows=200)
    url = reverse("customers:import-progress", args=[org_a.slug, batch.pk])
    cache.set(import_selectors.progress_key(batch), 50)

    running = admin_client.get(url, headers=HTMX).content.decode()
    with tenant_context(org_a):
        ImportBatch.objects.filter(pk=batch.pk).update(status="done", created_count=200)
    done = admin_client.get(url, headers=HTMX).content.decode()

    assert 'hx-trigger="every 1s"' in running
    assert "width: 25%" in running
    assert "hx-trigger" not in done
    assert "Undo import" in done


@pytest.mark.parametrize("user", ["alice", "bob", "carol"])
def test_only_admins_may_import(user, request, org_a, admin_a, client_for):
    client = client_for(request.getfixturevalue(user))
    batch = ImportBatchFactory(organization=org_a)

    assert client.get(reverse("customers:import-list", args=[org_a.slug])).status_code == 403
    assert client.get(reverse("customers:import-upload", args=[org_a.slug])).status_code == 403
    for name in ("import-detail", "import-progress", "import-report", "import-map"):
        assert (
            client.get(reverse(f"customers:{name}", args=[org_a.slug, batch.pk])).status_code == 403
        )
    for name in ("import-run", "import-undo"):
        assert (
            client.post(reverse(f"customers:{name}", args=[org_a.slug, batch.pk])).status_code
            == 403
        )


def test_another_organizations_import_is_not_found(admin_client, org_a, org_b, mallory):
    theirs = upload(org_b, mallory, csv_bytes([["Name"], ["Secret"]]))
    run(theirs)

    for name in ("import-detail", "import-progress", "import-report", "import-map"):
        url = reverse(f"customers:{name}", args=[org_a.slug, theirs.pk])
        assert admin_client.get(url).status_code == 404, name
    for name in ("import-run", "import-undo"):
        url = reverse(f"customers:{name}", args=[org_a.slug, theirs.pk])
        assert admin_client.post(url).status_code == 404, name
    with tenant_context(org_b):
        theirs.refresh_from_db()
    assert theirs.status == ImportStatus.DONE
    assert list(customers(org_b)) == ["Secret"]


def test_the_import_history_lists_only_this_organizations_imports(
    admin_client, org_a, org_b, admin_a, mallory
):
    ImportBatchFactory(organization=org_a, file_name="ours.csv", created_by=admin_a)
    ImportBatchFactory(organization=org_b, file_name="theirs.csv", created_by=mallory)

    html = admin_client.get(reverse("customers:import-list", args=[org_a.slug])).content.decode()

    assert "ours.csv" in html
    assert "theirs.csv" not in html


def test_the_import_history_costs_the_same_queries_for_more_imports(admin_client, org_a, member_of):
    url = reverse("customers:import-list", args=[org_a.slug])
    for _n in range(3):
        ImportBatchFactory(organization=org_a, created_by=member_of(org_a, "admin"))
    admin_client.get(url)  # the session and the caches are warm from here on
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _n in range(20):
        ImportBatchFactory(organization=org_a, created_by=member_of(org_a, "admin"))

    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)

    assert len(response.context["batches"]) == 23
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_mapping_page_costs_the_same_queries_for_a_bigger_file(admin_client, org_a, admin_a):
    for n in range(40):
        CustomerFactory(organization=org_a, name=f"Person {n}", email=f"p{n}@x.io")
    small = upload(org_a, admin_a, csv_bytes([["Name", "Email"], ["Person 1", "p1@x.io"]]))
    rows = [["Name", "Email"]] + [[f"Person {n}", f"p{n}@x.io"] for n in range(300)]
    big = upload(org_a, admin_a, csv_bytes(rows))
    admin_client.get(reverse("customers:import-map", args=[org_a.slug, small.pk]))

    def count_queries(batch) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(
                reverse("customers:import-map", args=[org_a.slug, batch.pk])
            )
        assert response.status_code == 200
        return len(queries.captured_queries)

    assert count_queries(big) == count_queries(small)


def test_the_progress_fragment_costs_a_fixed_number_of_queries(
    admin_client, org_a, admin_a, django_assert_max_num_queries
):
    batch = run(upload(org_a, admin_a, csv_bytes([["Name"], *[[f"P{n}"] for n in range(50)]])))
    url = reverse("customers:import-progress", args=[org_a.slug, batch.pk])
    admin_client.get(url, headers=HTMX)  # the session is written once, on the first request

    # Session, user, organization, membership, the batch (with its starter); on PostgreSQL
    # also setting and resetting the tenant.
    with django_assert_max_num_queries(9):
        response = admin_client.get(url, headers=HTMX)

    assert response.status_code == 200


def test_the_customer_list_links_to_imports_for_admins_only(client_for, org_a, admin_a, alice):
    url = reverse("customers:customer-list", args=[org_a.slug])
    import_url = reverse("customers:import-list", args=[org_a.slug])

    assert import_url in client_for(admin_a).get(url).content.decode()
    assert import_url not in client_for(alice).get(url).content.decode()


def test_the_service_refuses_an_unknown_kind(org_a, admin_a):
    with tenant_context(org_a), pytest.raises(Exception, match="Choose what the file contains"):
        imports.import_batch_create(
            org=org_a, by=admin_a, kind="deals", upload=SimpleUploadedFile("a.csv", b"Name\nx\n")
        )


def test_import_file_errors_are_validation_errors():
    from django.core.exceptions import ValidationError

    assert issubclass(ImportFileError, ValidationError)
