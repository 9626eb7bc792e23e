"""Contacts at a customer: add, read, edit, remove, each recorded in the history."""

import pytest
from django.urls import reverse

from customers.models import Contact, FieldChange
from tenancy.context import tenant_context
from tests.factories import ContactFactory, CustomerFactory, InteractionFactory


@pytest.fixture
def customer(org_a):
    return CustomerFactory(organization=org_a, name="Acme Foods")


@pytest.fixture
def contact(customer):
    return ContactFactory(
        customer=customer,
        first_name="Jane",
        last_name="Doe",
        title="Head of Purchasing",
        hobbies="Sailing",
        email="jane@acme.example",
    )


def _url(name: str, obj) -> str:
    return reverse(f"customers:{name}", args=[obj.organization.slug, obj.pk])


def test_adding_a_contact_saves_it_and_returns_to_the_customer(customer, org_a, bob, client_for):
    response = client_for(bob).post(
        _url("contact-create", customer),
        {
            "first_name": "Omar",
            "last_name": "Haddad",
            "email": "Omar@Acme.Example",
            "phone": "+1 555 777 8888",
            "decision_role": "influencer",
            "is_primary": "on",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    with tenant_context(org_a):
        contact = Contact.objects.get()
        assert (contact.customer, contact.email, contact.phone_normalized, contact.is_primary) == (
            customer,
            "omar@acme.example",
            "15557778888",
            True,
        )
        assert FieldChange.objects.filter(entity="contact", entity_id=contact.pk).exists()


def test_adding_a_contact_needs_a_first_name(customer, org_a, bob, client_for):
    response = client_for(bob).post(_url("contact-create", customer), {"last_name": "Only"})

    assert response.status_code == 400
    assert "Please correct the highlighted fields." in response.content.decode()
    with tenant_context(org_a):
        assert not Contact.objects.exists()


def test_the_contact_page_shows_background_interactions_and_history(
    contact, customer, org_a, bob, client_for
):
    InteractionFactory(customer=customer, contact=contact, subject="Lunch meeting", user=bob)
    InteractionFactory(customer=customer, subject="Not with her")

    response = client_for(bob).get(_url("contact-detail", contact))

    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Jane Doe", "Head of Purchasing", "Sailing", "jane@acme.example", "Acme Foods"):
        assert text in html, text
    assert "Lunch meeting" in html
    assert "Not with her" not in html


def test_editing_a_contact_records_the_change(contact, org_a, bob, client_for):
    response = client_for(bob).post(
        _url("contact-edit", contact),
        {"first_name": "Jane", "last_name": "Doe", "title": "CEO", "email": "jane@acme.example"},
    )

    assert response.status_code == 302
    assert response["Location"] == contact.get_absolute_url()
    with tenant_context(org_a):
        contact.refresh_from_db()
        assert contact.title == "CEO"
        change = FieldChange.objects.get(entity="contact", field="title")
        assert (change.old_value, change.new_value, change.changed_by) == (
            "Head of Purchasing",
            "CEO",
            bob,
        )


def test_the_edit_form_shows_the_current_values(contact, bob, client_for):
    html = client_for(bob).get(_url("contact-edit", contact)).content.decode()

    assert 'value="Head of Purchasing"' in html
    assert "Edit Jane Doe" in html


def test_removing_a_contact_keeps_its_interactions_on_the_customer(
    contact, customer, org_a, bob, client_for
):
    interaction = InteractionFactory(customer=customer, contact=contact)

    response = client_for(bob).post(_url("contact-delete", contact))

    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    with tenant_context(org_a):
        assert not Contact.objects.exists()
        interaction.refresh_from_db()
        assert interaction.contact is None
        assert FieldChange.objects.get(entity="customer").new_value == "Removed contact Jane Doe"


def test_removing_a_contact_needs_a_post(contact, org_a, bob, client_for):
    assert client_for(bob).get(_url("contact-delete", contact)).status_code == 405
    with tenant_context(org_a):
        assert Contact.objects.exists()


def test_a_contact_of_a_merged_away_customer_answers_404(org_a, bob, client_for):
    survivor = CustomerFactory(organization=org_a)
    contact = ContactFactory(customer=CustomerFactory(organization=org_a, merged_into=survivor))

    assert client_for(bob).get(_url("contact-detail", contact)).status_code == 404
