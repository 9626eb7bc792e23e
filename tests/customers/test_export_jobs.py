"""Large exports: over EXPORT_IMMEDIATE_MAX_ROWS the list is prepared by a task as a file under
MEDIA_ROOT (one folder per organization, a random name), with a page that polls its progress
and a download for the organization's exporters only; small exports stay immediate; files
expire; a failed or vanished job says so."""

import csv
import gzip
import io
import json
import os
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from customers import export_jobs, exports
from customers.export_jobs import ExportStatus, export_job_run, export_job_start
from customers.tasks import customer_export_task, exports_expire
from tenancy.context import tenant_context
from tenancy.permissions import Role
from tests.customers.conftest import HTMX
from tests.factories import CustomerFactory, CustomFieldDefinitionFactory, TagFactory

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture(autouse=True)
def _small_threshold(settings):
    settings.EXPORT_IMMEDIATE_MAX_ROWS = 3


@pytest.fixture
def book(org_a, org_b):
    """Five customers in A (two of them active, one a formula), one in B."""
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty", label="Loyalty number")
    vip = TagFactory(organization=org_a, name="vip")
    for n in range(3):
        CustomerFactory(organization=org_a, name=f"Prospect {n}", lifecycle_stage="prospect")
    CustomerFactory(organization=org_a, name="Active Ann", lifecycle_stage="active", tags=[vip])
    CustomerFactory(
        organization=org_a, name="=HYPERLINK(1)", lifecycle_stage="active", custom={"loyalty": "7"}
    )
    CustomerFactory(organization=org_b, name="Beta Secret", lifecycle_stage="active")


def export_url(org, fmt: str = "csv", query: str = "") -> str:
    url = reverse(f"customers:customer-export-{fmt}", args=[org.slug])
    return f"{url}?{query}" if query else url


def job_url(name: str, org, job) -> str:
    return reverse(f"customers:{name}", args=[org.slug, job.token])


def start(client, org, capture, fmt: str = "csv", query: str = ""):
    """POST the export as the page's button does, running the task when the request commits."""
    with capture(execute=True):
        response = client.post(export_url(org, fmt, query))
    assert response.status_code == 302, response.content[:500]
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return export_jobs.export_job_get(org=org, token=token), response


def csv_download(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def queued(org, user, fmt: str = "csv", query: str = ""):
    job, created = export_job_start(org=org, by=user, query=query, fmt=fmt)
    assert created
    return job


def manifest(job) -> dict:
    path = export_jobs._manifest(job.organization_id, job.token)
    return json.loads(path.read_text())


def rewrite(job, **changes) -> None:
    """Change a stored job as time or a dead worker would have."""
    data = {**manifest(job), **changes}
    export_jobs._manifest(job.organization_id, job.token).write_text(json.dumps(data))


# --- Small stays immediate, large asks first --------------------------------------------------


def test_a_list_up_to_the_threshold_is_exported_at_once(client_for, alice, org_a, book):
    response = client_for(alice).get(export_url(org_a, query="lifecycle_stage=active"))

    assert response.streaming
    assert [r[1] for r in csv_download(response)[1:]] == ["Active Ann", "'=HYPERLINK(1)"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_larger_list_gets_a_page_offering_to_prepare_the_file(
    fmt, client_for, alice, org_a, book
):
    response = client_for(alice).get(export_url(org_a, fmt, "sort=name"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "This list has 5 customers." in html
    assert f'action="{export_url(org_a, fmt, "sort=name")}"' in html
    assert export_jobs.export_job_list(org=org_a) == []  # nothing starts on a GET


def test_preparing_a_csv_writes_the_filtered_rows_to_a_file_of_the_organization(
    client_for, alice, org_a, book, django_capture_on_commit_callbacks
):
    job, response = start(
        client_for(alice), org_a, django_capture_on_commit_callbacks, query="sort=name"
    )

    assert response["Location"] == job_url("export-detail", org_a, job)
    assert (job.status, job.rows, job.total) == (ExportStatus.DONE, 5, 5)
    path = export_jobs.export_file_path(job)
    assert path.parent == django_settings.MEDIA_ROOT / "exports" / str(org_a.pk)
    assert path.name == f"{job.token}.csv.gz" and len(job.token) == 32
    assert not list(path.parent.glob("*.part"))
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    names = [row[1] for row in csv.reader(io.StringIO(text[1:]))]
    assert names[0] == "Name"
    assert sorted(names[1:]) == sorted(
        ["Prospect 0", "Prospect 1", "Prospect 2", "Active Ann", "'=HYPERLINK(1)"]
    )


def test_the_download_is_the_csv_gzip_encoded_for_browsers_and_plain_for_others(
    client_for, alice, marketer, org_a, book, django_capture_on_commit_callbacks
):
    job, _response = start(
        client_for(alice), org_a, django_capture_on_commit_callbacks, query="lifecycle_stage=active"
    )
    url = job_url("export-download", org_a, job)

    # Any exporter of the organization may fetch it, not only the person who asked.
    browser = client_for(marketer).get(url, headers=GZIP)
    script = client_for(marketer).get(url)

    assert browser["Content-Encoding"] == "gzip"
    assert browser["Content-Disposition"] == f'attachment; filename="{job.download_name}"'
    assert browser["Content-Type"] == "text/csv; charset=utf-8"
    assert "Content-Encoding" not in script
    assert script["Content-Disposition"] == browser["Content-Disposition"]
    rows = csv_download(browser)
    assert csv_download(script) == rows
    assert rows[0][-1] == "Loyalty number"
    assert sorted(r[1] for r in rows[1:]) == ["'=HYPERLINK(1)", "Active Ann"]


def test_preparing_an_excel_file_gives_a_workbook_of_the_filtered_rows(
    client_for, alice, org_a, book, django_capture_on_commit_callbacks
):
    job, _response = start(client_for(alice), org_a, django_capture_on_commit_callbacks, "xlsx")

    response = client_for(alice).get(job_url("export-download", org_a, job), headers=GZIP)

    assert "Content-Encoding" not in response  # .xlsx is compressed already
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    assert len(rows) == 6
    assert "'=HYPERLINK(1)" in [row[1] for row in rows]


def test_an_excel_export_over_the_cap_is_refused_before_any_job(
    client_for, alice, org_a, book, settings
):
    settings.EXPORT_XLSX_MAX_ROWS = 4

    response = client_for(alice).post(export_url(org_a, "xlsx"), follow=True)

    assert "Excel exports are limited to 4 customers" in response.content.decode()
    assert export_jobs.export_job_list(org=org_a) == []


def test_a_queued_excel_job_over_the_cap_fails_with_the_reason(alice, org_a, book, settings):
    job = queued(org_a, alice, "xlsx")
    settings.EXPORT_XLSX_MAX_ROWS = 4  # lowered after the job was queued

    job = export_job_run(org=org_a, token=job.token)

    assert job.status == ExportStatus.FAILED
    assert "Excel exports are limited to 4 customers" in job.error
    assert list(export_jobs._folder(org_a.pk).iterdir()) == [
        export_jobs._manifest(org_a.pk, job.token)
    ]


def test_only_mine_exports_the_rows_of_the_person_who_asked(
    client_for, alice, bob, org_a, django_capture_on_commit_callbacks
):
    for n in range(4):
        CustomerFactory(organization=org_a, name=f"Alice's {n}", owner=alice)
    CustomerFactory(organization=org_a, name="Bob's", owner=bob)

    job, _response = start(
        client_for(alice), org_a, django_capture_on_commit_callbacks, query="mine=on"
    )

    response = client_for(alice).get(job_url("export-download", org_a, job))
    assert sorted(r[1] for r in csv_download(response)[1:]) == [f"Alice's {n}" for n in range(4)]


def test_a_job_whose_person_is_gone_fails_rather_than_export_everyone(alice, org_a, book):
    job = queued(org_a, alice, query="mine=on")
    with tenant_context(org_a):  # row-level security: her membership is visible in A only
        alice.delete()

    job = export_job_run(org=org_a, token=job.token)

    assert job.status == ExportStatus.FAILED
    assert job.error == "The person who started this export no longer exists."


def test_the_file_speaks_the_language_of_the_person_who_asked(alice, org_a, book):
    with translation.override("zh-hans"):
        job = queued(org_a, alice)
        expected = exports.export_headers([])[:3]
    assert job.language == "zh-hans"

    export_job_run(org=org_a, token=job.token)  # a worker, in no language in particular

    text = gzip.decompress(export_jobs.export_file_path(job).read_bytes()).decode("utf-8")
    assert next(csv.reader(io.StringIO(text[1:])))[:3] == expected


# --- Progress and the job's page --------------------------------------------------------------


def test_the_job_records_its_progress_after_every_chunk(alice, org_a, book, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    saved = []
    original = export_jobs._save
    monkeypatch.setattr(
        export_jobs, "_save", lambda job: saved.append((job.status, job.rows)) or original(job)
    )
    job = queued(org_a, alice)
    saved.clear()

    export_job_run(org=org_a, token=job.token)

    assert saved == [
        ("running", 0),
        ("running", 0),  # counted: 5 customers
        ("running", 2),
        ("running", 4),
        ("running", 5),
        ("done", 5),
    ]


def test_the_page_polls_while_the_job_is_waiting_or_running_and_stops_when_done(
    client_for, alice, org_a, book
):
    job = queued(org_a, alice)
    client = client_for(alice)

    waiting = client.get(job_url("export-detail", org_a, job)).content.decode()
    rewrite(job, status="running", rows=2, total=5)
    running = client.get(job_url("export-progress", org_a, job), headers=HTMX).content.decode()
    rewrite(job, status="queued", rows=0, total=None)
    customer_export_task(org_a.pk, job.token)
    done = client.get(job_url("export-progress", org_a, job), headers=HTMX).content.decode()

    progress_url = job_url("export-progress", org_a, job)
    assert "Waiting for a worker" in waiting and f'hx-get="{progress_url}"' in waiting
    assert "2 of 5 customers written." in running and 'hx-trigger="every 1s"' in running
    assert 'aria-valuenow="40"' in running
    assert "hx-trigger" not in done
    assert "The file is ready." in done and job_url("export-download", org_a, job) in done


def test_the_download_of_an_unfinished_job_goes_back_to_its_page(client_for, alice, org_a, book):
    job = queued(org_a, alice)

    response = client_for(alice).get(job_url("export-download", org_a, job))

    assert response.status_code == 302
    assert response["Location"] == job_url("export-detail", org_a, job)


def test_a_failure_while_writing_is_recorded_and_leaves_no_partial_file(
    alice, org_a, book, monkeypatch
):
    def broken(**kwargs):
        yield "\ufeff"
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "csv_lines", broken)
    job = queued(org_a, alice)

    job = export_job_run(org=org_a, token=job.token)

    assert job.status == ExportStatus.FAILED
    assert job.error == "The export failed. Try again, or narrow the filters."
    assert [p.suffix for p in export_jobs._folder(org_a.pk).iterdir()] == [".json"]


def test_a_job_silent_too_long_shows_as_failed_and_can_be_started_again(
    client_for, alice, org_a, book, django_capture_on_commit_callbacks
):
    job = queued(org_a, alice)
    long_ago = (timezone.now() - timedelta(minutes=11)).isoformat()
    rewrite(job, status="running", updated_at=long_ago)  # its worker was killed

    html = client_for(alice).get(job_url("export-detail", org_a, job)).content.decode()
    again, _response = start(client_for(alice), org_a, django_capture_on_commit_callbacks)

    assert "The export stopped before it was finished." in html
    assert job_url("export-progress", org_a, job) not in html  # no more polling
    assert again.token != job.token and again.status == ExportStatus.DONE


def test_a_running_job_is_not_run_twice(alice, org_a, book):
    job = queued(org_a, alice)
    rewrite(job, status="running")  # a redelivered message, the first worker still at it

    assert export_job_run(org=org_a, token=job.token).status == ExportStatus.RUNNING
    assert not export_jobs.export_file_path(job).exists()
    assert customer_export_task(org_a.pk, "0" * 32) == "missing"


def test_the_same_export_asked_twice_is_one_job(client_for, alice, org_a, book):
    client = client_for(alice)

    first = client.post(export_url(org_a, query="sort=name"))
    second = client.post(export_url(org_a, query="sort=name"), follow=True)

    assert second.redirect_chain[0][0] == first["Location"]
    assert "This export is being prepared already." in second.content.decode()
    assert len(export_jobs.export_job_list(org=org_a)) == 1


def test_an_organization_prepares_at_most_three_exports_at_once(client_for, alice, org_a, book):
    client = client_for(alice)
    for stage in ("prospect", "active", "churned"):
        client.post(export_url(org_a, query=f"lifecycle_stage={stage}"))

    response = client.post(export_url(org_a), follow=True)

    assert "3 exports are being prepared for this organization already." in (
        response.content.decode()
    )
    assert len(export_jobs.export_job_list(org=org_a)) == 3


# --- Tenancy, roles, tokens -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export-detail", "export-progress", "export-download"])
def test_another_organizations_export_is_404_even_with_its_token(
    name, client_for, alice, mallory, org_a, org_b, book
):
    job = queued(org_a, alice)
    export_job_run(org=org_a, token=job.token)

    assert client_for(mallory).get(job_url(name, org_b, job)).status_code == 404
    assert client_for(mallory).get(job_url(name, org_a, job)).status_code == 404
    assert export_jobs.export_job_list(org=org_b) == []


@pytest.mark.parametrize(
    "token", ["../../etc/passwd", "0" * 31, "A" * 32, "0" * 33, "00000000000000000000000000000000"]
)
def test_a_malformed_or_unknown_token_is_404(token, client_for, alice, org_a):
    url = reverse("customers:export-download", args=[org_a.slug, "x"]).replace("/x/", f"/{token}/")

    assert client_for(alice).get(url).status_code == 404


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.MANAGER, True),
        (Role.MARKETING, True),
        (Role.SALES, False),
        (Role.SUPPORT, False),
    ],
)
def test_only_exporters_see_the_prepared_exports(
    role, allowed, alice, org_a, member_of, client_for
):
    job = queued(org_a, alice)
    export_job_run(org=org_a, token=job.token)
    client = client_for(member_of(org_a, role))

    for url in (
        reverse("customers:export-list", args=[org_a.slug]),
        job_url("export-download", org_a, job),
    ):
        assert client.get(url).status_code == (200 if allowed else 403)


def test_the_list_page_shows_the_organizations_exports_newest_first(
    client_for, alice, marketer, org_a, org_b, mallory, book
):
    older = queued(org_a, alice, query="lifecycle_stage=prospect")
    export_job_run(org=org_a, token=older.token)
    newer = queued(org_a, marketer)
    queued(org_b, mallory)

    response = client_for(alice).get(reverse("customers:export-list", args=[org_a.slug]))

    assert [j.token for j in response.context["jobs"]] == [newer.token, older.token]
    html = response.content.decode()
    assert "Mia Marketing" in html and "Alice Manager" in html and "Mallory" not in html


def test_the_customer_list_links_to_prepared_exports_for_exporters_only(
    client_for, alice, bob, org_a
):
    url = reverse("customers:customer-list", args=[org_a.slug])
    exports_url = reverse("customers:export-list", args=[org_a.slug])

    assert exports_url in client_for(alice).get(url).content.decode()
    assert exports_url not in client_for(bob).get(url).content.decode()


# --- Expiry -----------------------------------------------------------------------------------


def test_old_exports_are_deleted_and_recent_ones_kept(alice, mallory, org_a, org_b, book):
    old = queued(org_a, alice, query="lifecycle_stage=active")
    export_job_run(org=org_a, token=old.token)
    fresh = queued(org_a, alice)
    export_job_run(org=org_a, token=fresh.token)
    other = queued(org_b, mallory)
    hours = django_settings.EXPORT_FILE_HOURS
    rewrite(old, created_at=(timezone.now() - timedelta(hours=hours, minutes=1)).isoformat())
    stray = export_jobs._folder(org_a.pk) / f"{'f' * 32}.csv.gz.part"  # a crashed worker's
    stray.write_bytes(b"half")
    day_old = (timezone.now() - timedelta(hours=hours + 1)).timestamp()
    os.utime(stray, (day_old, day_old))

    assert export_jobs.export_job_list(org=org_a) == [export_jobs._load(org_a.pk, fresh.token)]
    assert exports_expire() == 1

    left = sorted(p.name for p in export_jobs._folder(org_a.pk).iterdir())
    assert left == sorted([f"{fresh.token}.json", f"{fresh.token}.csv.gz"])
    assert export_jobs._load(org_b.pk, other.token) is not None
    assert exports_expire() == 0


def test_an_expired_export_answers_404(client_for, alice, org_a, book):
    job = queued(org_a, alice)
    export_job_run(org=org_a, token=job.token)
    hours = django_settings.EXPORT_FILE_HOURS
    rewrite(job, created_at=(timezone.now() - timedelta(hours=hours)).isoformat())

    for name in ("export-detail", "export-download"):
        assert client_for(alice).get(job_url(name, org_a, job)).status_code == 404


def test_a_file_deleted_under_a_finished_job_answers_404(client_for, alice, org_a, book):
    job = queued(org_a, alice)
    export_job_run(org=org_a, token=job.token)
    export_jobs.export_file_path(job).unlink()

    for headers in ({}, GZIP):
        response = client_for(alice).get(job_url("export-download", org_a, job), headers=headers)
        assert response.status_code == 404


def test_beat_expires_exports_every_hour():
    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "customers.tasks.exports_expire"
    )
    assert entry["schedule"].hour == set(range(24))


# --- Query counts -----------------------------------------------------------------------------

# session, user, organization, [set tenant], savepoint, membership, [the page's own reads:
# none, the job lives in a file], the organization switcher and the bell (full pages), release,
# [reset tenant].
EXPECTED = {
    "sqlite": {"list": 8, "detail": 8, "progress": 6, "download": 6, "confirm": 11},
    "postgresql": {"list": 10, "detail": 10, "progress": 8, "download": 8, "confirm": 13},
}


@pytest.mark.parametrize("jobs", [1, 8])
def test_the_export_pages_cost_the_same_queries_whatever_the_number_of_jobs(
    jobs, client_for, alice, org_a, book, django_assert_num_queries
):
    tokens = []
    for n in range(jobs):
        job = queued(org_a, alice, query=f"page={n}")
        export_job_run(org=org_a, token=job.token)
        tokens.append(job.token)
    client = client_for(alice)
    client.get(reverse("customers:export-list", args=[org_a.slug]))  # records the organization
    expected = EXPECTED[connection.vendor]
    job = export_jobs.export_job_get(org=org_a, token=tokens[0])

    for page, url, headers in [
        ("list", reverse("customers:export-list", args=[org_a.slug]), {}),
        ("detail", job_url("export-detail", org_a, job), {}),
        ("progress", job_url("export-progress", org_a, job), HTMX),
        ("download", job_url("export-download", org_a, job), GZIP),
    ]:
        with django_assert_num_queries(expected[page]):
            response = client.get(url, headers=headers)
        assert response.status_code == 200, page


@pytest.mark.parametrize("customers", [5, 40])
def test_the_offer_to_prepare_a_file_costs_the_same_queries_whatever_the_list(
    customers, client_for, alice, org_a, django_assert_num_queries
):
    for n in range(customers):
        CustomerFactory(organization=org_a, name=f"Person {n}")
    client = client_for(alice)
    client.get(export_url(org_a))

    with django_assert_num_queries(EXPECTED[connection.vendor]["confirm"]):
        response = client.get(export_url(org_a, query="lifecycle_stage=prospect&sort=name"))

    assert response.status_code == 200


def test_a_job_reads_the_rows_in_chunks_whatever_the_list(alice, org_a, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 10)

    def count(customers: int) -> int:
        for n in range(customers):
            CustomerFactory(organization=org_a, name=f"Person {n}")
        job = queued(org_a, alice, query=f"n={customers}")
        with CaptureQueriesContext(connection) as queries:
            export_job_run(org=org_a, token=job.token)
        return len(queries)

    few, many = count(5), count(45)  # 1 chunk, then 5 (50 customers)
    # Each further chunk: savepoint, its customers, their tags, release (+ set and reset the
    # tenant on PostgreSQL).
    per_chunk = 4 + (2 if connection.vendor == "postgresql" else 0)
    assert many - few == 4 * per_chunk
