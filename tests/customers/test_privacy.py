"""Privacy tools: export everything held about a person; erase it, keeping the row."""

import csv
import io
import json
import zipfile
from datetime import date

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import merge as merging
from customers import privacy, services
from customers.models import (
    ChangeAction,
    ConsentEvent,
    Contact,
    Customer,
    CustomerMerge,
    CustomerTag,
    FieldChange,
    ImportBatch,
    ImportRowChange,
    Interaction,
)
from tenancy.context import tenant_context
from tenancy.models import TenantModel
from tenancy.permissions import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    CustomFieldDefinitionFactory,
    InteractionFactory,
    TagFactory,
)

# Strings that identify the person: none may survive an erasure anywhere in the organization.
PERSONAL = (
    "Grace Hopper",
    "Grace B. Hopper",
    "grace@navy.example",
    "+1 555 0199",
    "15550199",
    "Arlington",
    "COBOL",
    "GH-1906",
    "Vassar",
    "Dinner with Grace",
    "Asked about compilers",
    "Amazing Grace",
)


def _export_url(customer) -> str:
    return reverse("customers:privacy-export", args=[customer.organization.slug, customer.pk])


def _erase_url(customer) -> str:
    return reverse("customers:privacy-erase", args=[customer.organization.slug, customer.pk])


@pytest.fixture
def grace(org_a, admin_a, alice):
    """A person with everything a CRM keeps: profile, contact, interactions, consent, tags,
    custom values, history, a merged-away duplicate and an import that touched her."""
    CustomFieldDefinitionFactory(organization=org_a, key="member_no", label="Member number")
    navy = TagFactory(organization=org_a, name="Navy")
    with tenant_context(org_a):
        customer = services.customer_create(
            org=org_a,
            by=alice,
            data={
                "kind": "individual",
                "name": "Grace Hopper",
                "email": "grace@navy.example",
                "phone": "+1 555 0199",
                "city": "Arlington",
                "country": "US",
                "birth_date": date(1906, 12, 9),
                "interests": "COBOL",
                "lifecycle_stage": "active",
                "payment_terms": "net30",
                "custom": {"member_no": "GH-1906"},
                "consent_email": "granted",
            },
            tags=[navy],
        )
        contact = services.contact_create(
            customer=customer,
            by=alice,
            data={"first_name": "Grace", "last_name": "Hopper", "education": "Vassar"},
        )
        services.contact_update(contact=contact, by=alice, data={"hobbies": "Amazing Grace"})
        InteractionFactory(
            customer=customer,
            contact=contact,
            subject="Dinner with Grace",
            body="Asked about compilers",
        )
        duplicate = CustomerFactory(
            organization=org_a, name="Grace B. Hopper", email="grace@navy.example"
        )
        merging.customers_merge(survivor=customer, merged=duplicate, choices={}, by=alice)
        batch = ImportBatch.objects.create(file_name="people.csv")
        ImportRowChange.objects.create(
            batch=batch,
            entity="customer",
            entity_id=customer.pk,
            created=False,
            previous={"name": "Grace Hopper", "city": "Arlington"},
        )
        customer.refresh_from_db()
    return {"customer": customer, "contact": contact, "duplicate": duplicate, "tag": navy}


@pytest.fixture
def stranger(org_b, mallory):
    """Someone in org B with the same email: must never show up in org A's tools."""
    customer = CustomerFactory(organization=org_b, name="Beta Stranger", email="grace@navy.example")
    ContactFactory(customer=customer, first_name="Betty", last_name="Beta")
    InteractionFactory(customer=customer, subject="Beta secret meeting")
    return customer


# --- Export -----------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_person(org_a, admin_a, client_for, grace, stranger):
    response = client_for(admin_a).post(_export_url(grace["customer"]), {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    data = json.loads(text)
    customer = data["customer"]
    assert (customer["name"], customer["email"], customer["birth_date"]) == (
        "Grace Hopper",
        "grace@navy.example",
        "1906-12-09",
    )
    assert customer["tags"] == ["Navy"]
    assert customer["custom_fields"] == [
        {"key": "member_no", "label": "Member number", "value": "GH-1906"}
    ]
    assert [c["education"] for c in data["contacts"]] == ["Vassar"]
    assert [i["body"] for i in data["interactions"]] == ["Asked about compilers"]
    assert {(e["channel"], e["state"]) for e in data["consent_events"]} == {("email", "granted")}
    assert [r["name"] for r in data["merged_records"]] == ["Grace B. Hopper"]
    assert len(data["merges"]) == 1
    history = {(h["entity"], h["field"], h["new_value"]) for h in data["history"]}
    assert ("customer", "interests", "COBOL") in history
    assert ("contact", "hobbies", "Amazing Grace") in history
    assert [marker for marker in ("Beta", "Betty", "org-b") if marker in text] == []


def test_the_zip_export_has_the_json_and_a_csv_per_kind(org_a, admin_a, client_for, grace):
    response = client_for(admin_a).post(_export_url(grace["customer"]), {"format": "zip"})

    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {
        "personal-data.json",
        "customer.csv",
        "contacts.csv",
        "interactions.csv",
        "consent_events.csv",
        "history.csv",
        "merges.csv",
    } <= names
    rows = list(csv.DictReader(io.StringIO(archive.read("customer.csv").decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Grace Hopper", "Grace B. Hopper"]
    assert json.loads(rows[0]["tags"]) == ["Navy"]


def test_an_export_is_recorded_without_its_content(org_a, admin_a, client_for, grace):
    client_for(admin_a).post(_export_url(grace["customer"]))

    with tenant_context(org_a):
        event = FieldChange.objects.get(action=ChangeAction.EXPORT)
    assert (event.entity_id, event.changed_by_id, event.field) == (
        grace["customer"].pk,
        admin_a.pk,
        "",
    )
    assert "Grace" not in event.new_value


def test_the_export_query_count_does_not_grow_with_the_records(org_a, admin_a, client_for, grace):
    client = client_for(admin_a)
    url = _export_url(grace["customer"])
    client.post(url)
    with CaptureQueriesContext(connection) as few:
        client.post(url)
    for _ in range(10):
        ContactFactory(customer=grace["customer"])
        InteractionFactory(customer=grace["customer"])
    with CaptureQueriesContext(connection) as many:
        client.post(url)

    assert len(many) == len(few)


# --- Erasure ----------------------------------------------------------------------------------


def _everything_in(org) -> str:
    """Every tenant-owned row of the organization, as text."""
    with tenant_context(org):
        return repr(
            [
                list(model.unscoped.filter(organization=org).values())
                for model in apps.get_models()
                if issubclass(model, TenantModel)
            ]
        )


def test_erasure_leaves_no_personal_data_anywhere(org_a, admin_a, grace):
    assert [m for m in PERSONAL if m in _everything_in(org_a)] != []

    with tenant_context(org_a):
        privacy.customer_erase(customer=grace["customer"], by=admin_a)

    assert [m for m in PERSONAL if m in _everything_in(org_a)] == []


def test_erasure_keeps_the_rows_and_what_accounting_needs(org_a, admin_a, grace):
    customer, contact, duplicate = grace["customer"], grace["contact"], grace["duplicate"]

    with tenant_context(org_a):
        privacy.customer_erase(customer=customer, by=admin_a)
        customer.refresh_from_db()
        duplicate.refresh_from_db()
        contact.refresh_from_db()
        interaction = Interaction.objects.get(customer=customer)
        consent = list(
            ConsentEvent.objects.filter(customer=customer, source="erasure").values_list(
                "channel", "state"
            )
        )
        tags = CustomerTag.objects.filter(customer=customer).count()
        events = list(
            FieldChange.objects.filter(entity="customer", entity_id=customer.pk, action="erase")
        )
        merge = CustomerMerge.objects.get()
        import_row = ImportRowChange.objects.get()

    assert customer.name == f"Erased customer #{customer.pk}"
    assert (customer.email, customer.phone, customer.birth_date, customer.city) == (
        "",
        "",
        None,
        "",
    )
    assert (customer.country, customer.payment_terms, customer.lifecycle_stage) == (
        "US",
        "net30",
        "active",
    )
    assert customer.custom == {}
    assert customer.erased_at is not None
    assert (customer.consent_email, customer.consent_sms, customer.consent_phone) == (
        "withdrawn",
        "withdrawn",
        "withdrawn",
    )
    assert sorted(consent) == [("email", "withdrawn"), ("phone", "withdrawn"), ("sms", "withdrawn")]
    assert tags == 0
    assert duplicate.erased_at is not None and duplicate.name == f"Erased customer #{duplicate.pk}"
    assert (contact.first_name, contact.last_name, contact.education) == ("Erased contact", "", "")
    assert contact.erased_at is not None
    assert (interaction.subject, interaction.body, interaction.channel) == ("Erased", "", "phone")
    assert [(e.field, e.old_value, e.new_value, e.changed_by_id) for e in events] == [
        ("", "", "", admin_a.pk)
    ]
    assert merge.survivor_before == {}
    assert import_row.previous == {}


def test_an_erased_customer_can_be_neither_merged_nor_unmerged(org_a, admin_a, alice, grace):
    customer = grace["customer"]
    other = CustomerFactory(organization=org_a, name="Other")

    with tenant_context(org_a):
        privacy.customer_erase(customer=customer, by=admin_a)
        merge = CustomerMerge.objects.get()
        with pytest.raises(merging.MergeError, match="erased"):
            merging.merge_undo(merge=merge, by=alice)
        with pytest.raises(merging.MergeError, match="erased"):
            merging.customers_merge(survivor=other, merged=customer, choices={}, by=alice)
        with pytest.raises(privacy.ErasureError):
            privacy.customer_erase(customer=customer, by=admin_a)
        assert merging.duplicate_page().pairs == []


def test_erasing_does_not_touch_other_customers(org_a, org_b, admin_a, grace, stranger):
    bystander = CustomerFactory(organization=org_a, name="Ada Lovelace", email="ada@example.com")
    before_b = _everything_in(org_b)

    with tenant_context(org_a):
        privacy.customer_erase(customer=grace["customer"], by=admin_a)
        bystander.refresh_from_db()

    assert (bystander.name, bystander.email, bystander.erased_at) == (
        "Ada Lovelace",
        "ada@example.com",
        None,
    )
    assert _everything_in(org_b) == before_b


# --- The erasure page -------------------------------------------------------------------------


def test_the_erasure_page_says_what_goes_and_what_stays(org_a, admin_a, client_for, grace):
    response = client_for(admin_a).get(_erase_url(grace["customer"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="erase-form"' in html
    assert "data-confirm=" in html
    assert "1 contact: name, details and background" in html
    assert "1 record merged into this customer" in html


def test_erasing_needs_the_name_typed_in(org_a, admin_a, client_for, grace):
    client = client_for(admin_a)
    customer = grace["customer"]

    wrong = client.post(_erase_url(customer), {"confirm_name": "Grace"})
    assert wrong.status_code == 400
    assert "That is not the customer&#x27;s name." in wrong.content.decode()
    with tenant_context(org_a):
        assert Customer.objects.get(pk=customer.pk).erased_at is None

    right = client.post(_erase_url(customer), {"confirm_name": "  grace   HOPPER "}, follow=True)
    assert "personal data was erased" in right.content.decode()
    with tenant_context(org_a):
        assert Customer.objects.get(pk=customer.pk).erased_at is not None
    again = client.get(_erase_url(customer)).content.decode()
    assert 'data-testid="erase-form"' not in again


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING])
def test_only_admins_may_export_or_erase(role, org_a, member_of, client_for, grace):
    client = client_for(member_of(org_a, role))
    customer = grace["customer"]

    assert client.post(_export_url(customer)).status_code == 403
    assert client.get(_erase_url(customer)).status_code == 403
    response = client.post(_erase_url(customer), {"confirm_name": "Grace Hopper"})
    assert response.status_code == 403
    with tenant_context(org_a):
        assert Customer.objects.get(pk=customer.pk).erased_at is None
    assert "privacy-menu" not in client.get(customer.get_absolute_url()).content.decode()


def test_the_privacy_menu_is_on_the_record_for_admins(org_a, admin_a, client_for, grace):
    html = client_for(admin_a).get(grace["customer"].get_absolute_url()).content.decode()

    assert _export_url(grace["customer"]) in html
    assert _erase_url(grace["customer"]) in html


def test_the_export_is_a_post(org_a, admin_a, client_for, grace):
    assert client_for(admin_a).get(_export_url(grace["customer"])).status_code == 405


def test_another_organizations_customer_is_404(org_a, admin_a, client_for, stranger):
    client = client_for(admin_a)
    foreign = [
        reverse("customers:privacy-export", args=[org_a.slug, stranger.pk]),
        reverse("customers:privacy-erase", args=[org_a.slug, stranger.pk]),
    ]

    for url in foreign:
        assert client.post(url, {"confirm_name": "Beta Stranger"}).status_code == 404
    assert client.get(foreign[1]).status_code == 404
    with tenant_context(stranger.organization):
        assert Customer.objects.get(pk=stranger.pk).erased_at is None


def test_other_apps_add_their_own_sections(org_a, admin_a, grace, monkeypatch):
    monkeypatch.setattr(privacy, "EXPORTERS", {})
    monkeypatch.setattr(privacy, "ERASERS", {})
    erased = []
    privacy.privacy_exporter("orders")(lambda *, customer_ids: [{"order": 1, "ids": customer_ids}])
    privacy.privacy_eraser("orders")(lambda *, customer_ids, by: erased.append(customer_ids))

    with tenant_context(org_a):
        data = privacy.personal_data(grace["customer"])
        privacy.customer_erase(customer=grace["customer"], by=admin_a)

    ids = [grace["customer"].pk, grace["duplicate"].pk]
    assert data["orders"] == [{"order": 1, "ids": ids}]
    assert erased == [ids]


def test_erased_contacts_keep_no_name(org_a, admin_a, grace):
    with tenant_context(org_a):
        privacy.customer_erase(customer=grace["customer"], by=admin_a)
        names = set(Contact.objects.values_list("first_name", flat=True))
    assert names == {"Erased contact"}
