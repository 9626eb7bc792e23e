"""Adding and editing customers through the form, custom fields included."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ConsentEvent, Customer, CustomerTag, FieldChange
from tenancy.context import tenant_context
from tests.factories import CustomerFactory, CustomFieldDefinitionFactory, TagFactory

BASE = {
    "kind": "company",
    "lifecycle_stage": "prospect",
    "consent_email": "unknown",
    "consent_sms": "unknown",
    "consent_phone": "unknown",
}


def _create_url(org) -> str:
    return reverse("customers:customer-create", args=[org.slug])


def _edit_url(customer) -> str:
    return reverse("customers:customer-edit", args=[customer.organization.slug, customer.pk])


def _customers(org) -> list[Customer]:
    with tenant_context(org):
        return list(Customer.objects.order_by("pk"))


# --- Creating ---------------------------------------------------------------------------------


def test_the_new_customer_form_suggests_the_user_as_owner(org_a, bob, client_for):
    response = client_for(bob).get(_create_url(org_a))

    assert response.status_code == 200
    assert response.context["form"]["owner"].value() == bob.pk


def test_adding_a_customer_saves_it_with_its_tags_and_consent(org_a, bob, client_for):
    vip = TagFactory(organization=org_a, name="VIP")

    response = client_for(bob).post(
        _create_url(org_a),
        {
            **BASE,
            "name": "Acme Foods",
            "email": "Orders@Acme.Example",
            "phone": "+1 555 010 2000",
            "owner": bob.pk,
            "country": " fr ",
            "tags": [vip.pk],
            "consent_email": "granted",
        },
    )

    [customer] = _customers(org_a)
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    assert (customer.name, customer.email, customer.country, customer.owner) == (
        "Acme Foods",
        "orders@acme.example",
        "FR",
        bob,
    )
    assert customer.phone_normalized == "15550102000"
    assert customer.created_by == bob
    with tenant_context(org_a):
        assert list(customer.tags.all()) == [vip]
        event = ConsentEvent.objects.get()
        assert (event.channel, event.state, event.recorded_by) == ("email", "granted", bob)


def test_an_invalid_customer_is_refused_with_the_form_again(org_a, bob, client_for):
    response = client_for(bob).post(
        _create_url(org_a), {**BASE, "name": "", "email": "not-an-email"}
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"name", "email"}
    assert "Please correct the highlighted fields." in response.content.decode()
    assert _customers(org_a) == []


def test_another_organizations_member_cannot_be_made_owner(org_a, bob, mallory, client_for):
    response = client_for(bob).post(_create_url(org_a), {**BASE, "name": "X", "owner": mallory.pk})

    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    assert _customers(org_a) == []


def test_another_organizations_tag_cannot_be_attached(org_a, org_b, bob, client_for):
    foreign = TagFactory(organization=org_b, name="Spy")

    response = client_for(bob).post(_create_url(org_a), {**BASE, "name": "X", "tags": [foreign.pk]})

    assert response.status_code == 400
    assert "tags" in response.context["form"].errors


# --- Editing ----------------------------------------------------------------------------------


def test_editing_a_customer_records_old_and_new_values_and_the_stage_date(
    org_a, alice, bob, client_for
):
    long_ago = timezone.now() - timedelta(days=90)
    customer = CustomerFactory(
        organization=org_a,
        name="Old Name",
        owner=alice,
        lifecycle_stage="prospect",
        stage_changed_at=long_ago,
    )

    response = client_for(bob).post(
        _edit_url(customer),
        {**BASE, "name": "New Name", "owner": bob.pk, "lifecycle_stage": "active"},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        customer.refresh_from_db()
        changes = {
            c.field: (c.old_value, c.new_value, c.changed_by)
            for c in FieldChange.objects.filter(entity_id=customer.pk)
        }
    assert customer.name == "New Name"
    assert customer.stage_changed_at > timezone.now() - timedelta(minutes=1)
    assert changes["name"] == ("Old Name", "New Name", bob)
    assert changes["owner"] == ("Alice Manager", "Bob Sales", bob)
    assert changes["lifecycle_stage"] == ("Prospect", "Active", bob)


def test_editing_tags_and_consent_through_the_form(org_a, alice, client_for):
    vip, hot = (
        TagFactory(organization=org_a, name="VIP"),
        TagFactory(organization=org_a, name="Hot"),
    )
    customer = CustomerFactory(organization=org_a, name="Tagged", tags=[vip])

    client_for(alice).post(
        _edit_url(customer),
        {**BASE, "name": "Tagged", "tags": [hot.pk], "consent_sms": "withdrawn"},
    )

    with tenant_context(org_a):
        assert list(CustomerTag.objects.values_list("tag__name", flat=True)) == ["Hot"]
        assert FieldChange.objects.get(field="tags").old_value == "VIP"
        assert ConsentEvent.objects.get().state == "withdrawn"


def test_an_invalid_edit_keeps_the_stored_customer(org_a, alice, client_for):
    customer = CustomerFactory(organization=org_a, name="Keep Me")

    response = client_for(alice).post(_edit_url(customer), {**BASE, "name": ""})

    assert response.status_code == 400
    assert "Edit Keep Me" in response.content.decode()
    assert [c.name for c in _customers(org_a)] == ["Keep Me"]


def test_the_edit_form_shows_the_current_values(org_a, alice, client_for):
    vip = TagFactory(organization=org_a, name="VIP")
    customer = CustomerFactory(
        organization=org_a, name="Shown", consent_email="granted", tags=[vip]
    )

    form = client_for(alice).get(_edit_url(customer)).context["form"]

    assert form["name"].value() == "Shown"
    assert form["consent_email"].value() == "granted"
    assert list(form["tags"].value()) == [vip.pk]


# --- Custom fields in the form ----------------------------------------------------------------


@pytest.fixture
def custom_fields(org_a):
    specs = [
        ("loyalty", "Loyalty number", "text", []),
        ("seats", "Seats", "number", []),
        ("renewal", "Renewal date", "date", []),
        ("tier", "Contract tier", "choice", ["Bronze", "Silver", "Gold"]),
        ("partner", "Partner", "boolean", []),
    ]
    return {
        key: CustomFieldDefinitionFactory(
            organization=org_a, key=key, label=label, field_type=kind, choices=choices, position=n
        )
        for n, (key, label, kind, choices) in enumerate(specs)
    }


def test_the_custom_fields_appear_in_the_customer_form(custom_fields, org_a, alice, client_for):
    response = client_for(alice).get(_create_url(org_a))

    html = response.content.decode()
    assert "Custom fields" in html
    for key, definition in custom_fields.items():
        assert f'name="cf_{key}"' in html
        assert definition.label in html
    assert 'name="cf_renewal" type="date"' in html or 'type="date" name="cf_renewal"' in html
    for option in ("Bronze", "Silver", "Gold"):
        assert f'<option value="{option}"' in html


@pytest.mark.parametrize(
    ("posted", "stored"),
    [
        (
            {
                "cf_loyalty": "L-100",
                "cf_seats": "12.50",
                "cf_renewal": "2026-03-01",
                "cf_tier": "Gold",
                "cf_partner": "on",
            },
            {
                "loyalty": "L-100",
                "seats": 12.5,
                "renewal": "2026-03-01",
                "tier": "Gold",
                "partner": True,
            },
        ),
        ({"cf_seats": "3"}, {"seats": 3, "partner": False}),
        ({"cf_seats": "3.000"}, {"seats": 3, "partner": False}),
        ({}, {"partner": False}),
    ],
    ids=["every-type", "integer", "integer-with-decimals", "nothing"],
)
def test_custom_values_are_saved_with_json_types(
    custom_fields, org_a, alice, client_for, posted, stored
):
    response = client_for(alice).post(_create_url(org_a), {**BASE, "name": "Custom", **posted})

    assert response.status_code == 302
    [customer] = _customers(org_a)
    assert customer.custom == stored
    # 12.5 == 12.5 but also 1 == True: compare the JSON types too.
    assert {k: type(v) for k, v in customer.custom.items()} == {
        k: type(v) for k, v in stored.items()
    }


@pytest.mark.parametrize(
    "posted",
    [{"cf_seats": "many"}, {"cf_renewal": "soon"}, {"cf_tier": "Platinum"}],
    ids=["number", "date", "choice"],
)
def test_an_invalid_custom_value_is_refused(custom_fields, org_a, alice, client_for, posted):
    response = client_for(alice).post(_create_url(org_a), {**BASE, "name": "Bad", **posted})

    assert response.status_code == 400
    assert next(iter(posted)) in response.context["form"].errors
    assert _customers(org_a) == []


def test_a_required_custom_field_must_be_filled(org_a, alice, client_for):
    CustomFieldDefinitionFactory(
        organization=org_a, key="vat", label="VAT number", field_type="text", required=True
    )

    missing = client_for(alice).post(_create_url(org_a), {**BASE, "name": "No VAT"})
    given = client_for(alice).post(
        _create_url(org_a), {**BASE, "name": "With VAT", "cf_vat": "FR123"}
    )

    assert missing.status_code == 400
    assert missing.context["form"].errors["cf_vat"] == ["This field is required."]
    assert given.status_code == 302
    assert [(c.name, c.custom) for c in _customers(org_a)] == [("With VAT", {"vat": "FR123"})]


def test_the_edit_form_shows_stored_custom_values(custom_fields, org_a, alice, client_for):
    customer = CustomerFactory(
        organization=org_a,
        custom={"loyalty": "L-7", "seats": 4, "renewal": "2026-05-01", "tier": "Silver"},
    )

    form = client_for(alice).get(_edit_url(customer)).context["form"]

    assert form["cf_loyalty"].value() == "L-7"
    assert form["cf_seats"].value() == 4
    assert str(form["cf_renewal"].value()) == "2026-05-01"
    assert form["cf_tier"].value() == "Silver"


def test_editing_clears_emptied_custom_values_and_keeps_hidden_ones(
    custom_fields, org_a, alice, client_for
):
    customer = CustomerFactory(
        organization=org_a,
        name="Kept",
        custom={"loyalty": "L-7", "seats": 4, "deleted_field": "still here"},
    )

    client_for(alice).post(_edit_url(customer), {**BASE, "name": "Kept", "cf_seats": "5"})

    [customer] = _customers(org_a)
    assert customer.custom == {"seats": 5, "partner": False, "deleted_field": "still here"}
