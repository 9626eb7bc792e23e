"""Roles on the customer pages, beyond the generic matrix (tests/tenancy/test_role_matrix.py):
a marketer reads and logs but never edits; support edits."""

import pytest
from django.urls import reverse

from customers.models import Contact, Customer, FieldChange, Interaction
from tenancy.context import tenant_context
from tests.factories import ContactFactory, CustomerFactory

BASE = {
    "kind": "company",
    "lifecycle_stage": "prospect",
    "consent_email": "unknown",
    "consent_sms": "unknown",
    "consent_phone": "unknown",
}


@pytest.fixture
def customer(org_a):
    return CustomerFactory(organization=org_a, name="Acme Foods")


def _url(name: str, org, *args) -> str:
    return reverse(f"customers:{name}", args=[org.slug, *args])


def _state(org) -> tuple:
    with tenant_context(org):
        return (
            list(Customer.objects.order_by("pk").values()),
            list(Contact.objects.order_by("pk").values()),
            FieldChange.objects.count(),
        )


def test_a_marketer_can_view_the_list_and_the_customer(customer, org_a, marketer, client_for):
    client = client_for(marketer)

    listing = client.get(_url("customer-list", org_a))
    detail = client.get(customer.get_absolute_url())

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert "Acme Foods" in listing.content.decode()


def test_a_marketer_sees_no_edit_controls(customer, org_a, marketer, client_for):
    client = client_for(marketer)

    listing = client.get(_url("customer-list", org_a)).content.decode()
    detail = client.get(customer.get_absolute_url()).content.decode()

    assert 'data-testid="new-customer"' not in listing
    assert 'data-testid="bulk-form"' not in listing
    assert _url("customer-edit", org_a, customer.pk) not in detail
    assert _url("contact-create", org_a, customer.pk) not in detail
    assert 'data-testid="interaction-form"' in detail  # but may log


def test_a_marketer_cannot_edit_customers(customer, org_a, marketer, client_for):
    client = client_for(marketer)
    contact = ContactFactory(customer=customer)
    before = _state(org_a)

    attempts = [
        client.get(_url("customer-edit", org_a, customer.pk)),
        client.post(_url("customer-edit", org_a, customer.pk), {**BASE, "name": "Hacked"}),
        client.get(_url("customer-create", org_a)),
        client.post(_url("customer-create", org_a), {**BASE, "name": "New"}),
        client.post(
            _url("customer-bulk", org_a),
            {"action": "change_stage", "stage": "churned", "scope": "all"},
        ),
        client.post(_url("contact-create", org_a, customer.pk), {"first_name": "X"}),
        client.post(_url("contact-edit", org_a, contact.pk), {"first_name": "X"}),
        client.post(_url("contact-delete", org_a, contact.pk)),
    ]

    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert _state(org_a) == before


def test_a_marketer_can_log_an_interaction(customer, org_a, marketer, client_for):
    response = client_for(marketer).post(
        _url("interaction-create", org_a, customer.pk),
        {
            "channel": "campaign",
            "direction": "outbound",
            "subject": "Spring newsletter",
            "occurred_at": "2026-01-05T10:00",
        },
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        interaction = Interaction.objects.get()
    assert (interaction.subject, interaction.user) == ("Spring newsletter", marketer)


def test_support_can_edit_a_customer(customer, org_a, carol, client_for):
    response = client_for(carol).post(
        _url("customer-edit", org_a, customer.pk), {**BASE, "name": "Acme Foods Ltd"}
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        assert Customer.objects.get().name == "Acme Foods Ltd"
        assert FieldChange.objects.get(field="name").changed_by == carol


def test_support_can_add_a_contact(customer, org_a, carol, client_for):
    response = client_for(carol).post(
        _url("contact-create", org_a, customer.pk), {"first_name": "Jane"}
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        assert Contact.objects.get().first_name == "Jane"


def test_a_sales_rep_can_run_bulk_actions(customer, org_a, bob, client_for):
    response = client_for(bob).post(
        _url("customer-bulk", org_a),
        {"action": "change_stage", "stage": "active", "scope": "selected", "ids": customer.pk},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        assert Customer.objects.get().lifecycle_stage == "active"


def test_a_non_member_gets_404_for_a_customer(customer, org_a, mallory, client_for):
    assert client_for(mallory).get(customer.get_absolute_url()).status_code == 404


def test_another_organizations_customer_answers_404_in_ones_own_organization(
    org_a, org_b, alice, client_for
):
    foreign = CustomerFactory(organization=org_b)
    client = client_for(alice)

    assert client.get(_url("customer-detail", org_a, foreign.pk)).status_code == 404
    assert client.get(_url("customer-edit", org_a, foreign.pk)).status_code == 404
    response = client.post(
        _url("interaction-create", org_a, foreign.pk),
        {"channel": "phone", "subject": "x", "occurred_at": "2026-01-05T10:00"},
    )
    assert response.status_code == 404
    with tenant_context(org_b):
        assert not Interaction.objects.exists()
