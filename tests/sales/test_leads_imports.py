"""Importing leads from CSV and Excel files: upload, mapping with a preview, the import (rules
applied, duplicates skipped, bad rows explained)."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from sales.models import Lead
from sales.services.lead_imports import guess_mapping, lead_import_load, lead_import_upload
from tenancy.context import tenant_context
from tests.sales.factories_leads import AssignmentRuleFactory, LeadFactory, LeadScoreRuleFactory

CSV = (
    "Name,Company,E-mail,Phone,Industry,Lead source,Owner\n"
    "Jane Doe,Globex,JANE@globex.example,555 0100,Software,Event,\n"
    "Bob Roe,Initech,bob@initech.example,,Retail,,\n"
    ",Nameless Inc,nobody@x.example,,,,\n"
    "Ann Poe,Umbrella,ann@umbrella.example,,,Carrier pigeon,\n"
    "Jane Again,Globex,jane@globex.example,,,,\n"
    "Old Friend,Hooli,old@hooli.example,,,,\n"
    "Zed Zee,Acme,zed@acme.example,,,,{owner}\n"
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, org, content: bytes, name: str = "leads.csv"):
    return client.post(
        reverse("sales:lead-import", kwargs={"org_slug": org.slug}),
        {"file": SimpleUploadedFile(name, content)},
    )


def _map_url(org) -> str:
    return reverse("sales:lead-import-map", kwargs={"org_slug": org.slug})


def _mapping(response) -> dict:
    form = response.context["form"]
    return {f"col_{i}": form[f"col_{i}"].value() for i in range(len(form.headers))}


def test_it_guesses_the_columns_from_their_names():
    assert guess_mapping(["Name", "Company", "E-mail", "Lead source", "Owner", "Notes", "Fax"]) == {
        "Name": "full_name",
        "Company": "company",
        "E-mail": "email",
        "Lead source": "source",
        "Owner": "owner",
        "Notes": "notes",
        "Fax": "",
    }


def test_an_admin_imports_a_file_with_rules_applied_and_problems_explained(
    media, org_a, admin_a, alice, bob, client_for
):
    AssignmentRuleFactory(organization=org_a, assignees=[bob.pk])
    LeadScoreRuleFactory(organization=org_a, label="Software", points=20)
    LeadFactory(organization=org_a, last_name="Friend", email="old@hooli.example")
    client = client_for(admin_a)

    uploaded = _upload(client, org_a, CSV.format(owner=alice.email).encode())
    assert uploaded.status_code == 302
    page = client.get(uploaded["Location"])
    assert page.status_code == 200
    preview = page.context["preview"]
    assert [row.error != "" for row in preview] == [False, False, True, True, False, False, False]
    assert "The lead needs a last name." in preview[2].error
    assert "not a known source" in preview[3].error

    token = page.context["upload"].token
    response = client.post(
        _map_url(org_a),
        {
            "t": token,
            **_mapping(page),
            "source": "import",
            "campaign_name": "Trade fair",
            "skip_existing": "on",
            "run": "1",
        },
    )

    outcome = response.context["outcome"]
    assert response.status_code == 200
    assert (outcome.created, outcome.duplicates, outcome.rejected) == (3, 2, 2)
    assert [number for number, _reason in outcome.rejected_rows] == [4, 5]
    with tenant_context(org_a):
        leads = {lead.last_name: lead for lead in Lead.objects.exclude(last_name="Friend")}
    assert set(leads) == {"Doe", "Roe", "Zee"}
    jane = leads["Doe"]
    assert (jane.first_name, jane.email, jane.phone_normalized) == (
        "Jane",
        "jane@globex.example",
        "5550100",
    )
    assert (jane.source, jane.campaign_name, jane.owner, jane.score) == (
        "event",
        "Trade fair",
        bob,
        20,
    )
    assert (leads["Roe"].source, leads["Roe"].score) == ("import", 0)
    assert leads["Zee"].owner == alice  # the file's owner column wins over the rules
    assert not default_storage.exists(page.context["upload"].path)


def test_it_imports_an_excel_workbook(media, org_a, admin_a, client_for):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["First name", "Last name", "Employees", "Country"])
    sheet.append(["Jane", "Doe", 250, "de"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = client_for(admin_a)

    page = client.get(_upload(client, org_a, buffer.getvalue(), "leads.xlsx")["Location"])
    client.post(
        _map_url(org_a),
        {"t": page.context["upload"].token, **_mapping(page), "source": "event", "run": "1"},
    )

    with tenant_context(org_a):
        lead = Lead.objects.get()
    assert (lead.full_name, lead.employees, lead.country, lead.source) == (
        "Jane Doe",
        250,
        "DE",
        "event",
    )


def test_a_number_of_employees_that_is_no_plain_number_is_a_bad_row(
    media, org_a, admin_a, client_for
):
    client = client_for(admin_a)
    content = "First name,Last name,Employees\nJane,Doe,12\nSam,Superscript,\u00b2\n"

    page = client.get(_upload(client, org_a, content.encode())["Location"])
    response = client.post(
        _map_url(org_a),
        {"t": page.context["upload"].token, **_mapping(page), "source": "event", "run": "1"},
    )

    assert response.status_code in (200, 302)
    with tenant_context(org_a):
        assert list(Lead.objects.values_list("last_name", "employees")) == [("Doe", 12)]


def test_a_mapping_without_a_name_column_is_refused(media, org_a, admin_a, client_for):
    client = client_for(admin_a)
    page = client.get(_upload(client, org_a, b"Email\na@x.example\n")["Location"])

    response = client.post(
        _map_url(org_a),
        {"t": page.context["upload"].token, "col_0": "email", "source": "import", "run": "1"},
    )

    assert response.status_code == 400
    assert "last name or full name" in response.content.decode()
    with tenant_context(org_a):
        assert not Lead.objects.exists()


def test_a_file_that_cannot_be_read_is_explained(media, org_a, admin_a, client_for):
    response = _upload(client_for(admin_a), org_a, b"\xd0\xcf\x11\xe0old excel", "leads.xls")

    assert response.status_code == 400
    assert "are not supported" in response.content.decode()


def test_a_missing_or_forged_upload_token_sends_back_to_the_upload(
    media, org_a, admin_a, client_for
):
    client = client_for(admin_a)

    for token in ("", "forged"):
        response = client.get(_map_url(org_a), {"t": token}, follow=True)
        assert response.redirect_chain[-1][0] == reverse(
            "sales:lead-import", kwargs={"org_slug": org_a.slug}
        )
        assert "Upload the file again" in response.content.decode()


def test_another_organizations_upload_cannot_be_used(media, org_a, org_b):
    upload = lead_import_upload(org=org_b, upload=SimpleUploadedFile("x.csv", b"Last name\nDoe\n"))

    with pytest.raises(Exception, match="Upload the file again"):
        lead_import_load(org=org_a, token=upload.token)
    assert lead_import_load(org=org_b, token=upload.token).headers == ["Last name"]
