"""Change history: human field names, merge/erase/undo events, the full history pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers import merge as merging
from customers import services
from customers.history import field_label
from customers.models import ChangeAction, FieldChange
from tenancy.context import tenant_context
from tenancy.permissions import Role
from tests.customers.conftest import HTMX
from tests.factories import ContactFactory, CustomerFactory, CustomFieldDefinitionFactory


def _history_url(customer) -> str:
    return reverse("customers:customer-history", args=[customer.organization.slug, customer.pk])


def _changes(org, customer, count: int, by=None) -> None:
    """`count` history lines, one a minute, newest last."""
    start = timezone.now() - timedelta(days=1)
    with tenant_context(org):
        FieldChange.objects.bulk_create(
            [
                FieldChange(
                    organization=org,
                    entity="customer",
                    entity_id=customer.pk,
                    action=ChangeAction.UPDATE,
                    field="city",
                    old_value=f"City {n - 1}",
                    new_value=f"City {n}",
                    changed_by=by,
                    changed_at=start + timedelta(minutes=n),
                )
                for n in range(count)
            ]
        )


# --- Field names ------------------------------------------------------------------------------


@translation.override("en")
def test_field_names_read_as_people_say_them():
    loyalty = {"loyalty_number": "Loyalty number"}

    assert field_label("customer", "lifecycle_stage", {}) == "Lifecycle stage"
    assert field_label("customer", "consent_email", {}) == "Email consent"
    assert field_label("customer", "custom.loyalty_number", loyalty) == "Loyalty number"
    assert field_label("customer", "custom.deleted_field", loyalty) == "deleted_field"
    assert field_label("customer", "tags", {}) == "Tags"
    assert field_label("contact", "career_history", {}) == "Career history"
    assert field_label("customer", "no_such_field", {}) == "no_such_field"


def test_the_record_shows_human_field_names_and_custom_labels(org_a, alice, client_for):
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty_number", label="Loyalty number")
    with tenant_context(org_a):
        customer = services.customer_create(
            org=org_a,
            by=alice,
            data={"name": "Acme", "kind": "company", "lifecycle_stage": "prospect"},
        )
        services.customer_update(
            customer=customer,
            by=alice,
            data={"lifecycle_stage": "active", "custom": {"loyalty_number": "L-77"}},
        )

    html = client_for(alice).get(customer.get_absolute_url()).content.decode()

    assert "Lifecycle stage" in html
    assert "Loyalty number" in html
    assert "lifecycle_stage" not in html
    assert "custom.loyalty_number" not in html
    assert 'data-testid="full-history"' in html


def test_merge_erase_and_undo_events_stand_out(org_a, alice, admin_a, client_for):
    kept = CustomerFactory(organization=org_a, name="Kept")
    gone = CustomerFactory(organization=org_a, name="Gone")
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=kept, merged=gone, choices={}, by=alice)
        merging.merge_undo(merge=merge, by=alice)

    html = client_for(alice).get(kept.get_absolute_url()).content.decode()

    assert "badge-soft-info" in html and ">Merged<" in html
    assert "badge-soft-warning" in html and ">Undid<" in html
    assert f"Customer #{gone.pk} was merged into this one." in html


# --- The full history pages -------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_the_full_history(role, org_a, admin_a, member_of, client_for):
    customer = CustomerFactory(organization=org_a)
    contact = ContactFactory(customer=customer)
    _changes(org_a, customer, 3)
    user = admin_a if role == Role.ADMIN else member_of(org_a, role)
    client = client_for(user)

    assert client.get(_history_url(customer)).status_code == 200
    contact_url = reverse("customers:contact-history", args=[org_a.slug, contact.pk])
    assert client.get(contact_url).status_code == 200


def test_the_full_history_pages_a_keyset_at_a_time(org_a, alice, client_for):
    customer = CustomerFactory(organization=org_a)
    _changes(org_a, customer, 120, by=alice)
    client = client_for(alice)

    first = client.get(_history_url(customer))
    page = first.context["page"]
    second = client.get(page.next_url, headers={**HTMX, "HX-Target": "history-results"})
    third = client.get(second.context["page"].next_url)

    seen = [c.pk for r in (first, second, third) for c in r.context["page"].items]
    assert len(seen) == len(set(seen)) == 120
    assert [c.new_value for c in page.items[:2]] == ["City 119", "City 118"]
    assert "<html" not in second.content.decode()
    assert not third.context["page"].has_next
    assert "120 results" in first.content.decode()


def test_the_contact_history_shows_only_that_contact(org_a, alice, client_for):
    customer = CustomerFactory(organization=org_a)
    contact = ContactFactory(customer=customer, first_name="Ann")
    with tenant_context(org_a):
        services.contact_update(contact=contact, by=alice, data={"career_history": "Ten years"})
    _changes(org_a, customer, 2)

    response = client_for(alice).get(
        reverse("customers:contact-history", args=[org_a.slug, contact.pk])
    )

    html = response.content.decode()
    assert "Career history" in html and "Ten years" in html
    assert "City 1" not in html


def test_a_merged_away_record_keeps_its_history(org_a, alice, client_for):
    kept = CustomerFactory(organization=org_a, name="Kept")
    gone = CustomerFactory(organization=org_a, name="Gone")
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=kept, merged=gone, choices={}, by=alice)
    client = client_for(alice)

    merged_page = client.get(_history_url(gone)).content.decode()
    survivor_page = client.get(_history_url(kept)).content.decode()

    assert f"This record was merged into customer #{kept.pk}" in merged_page
    assert f"Merged into customer #{kept.pk}." in merged_page
    assert 'data-testid="merges"' in survivor_page
    assert reverse("customers:merge-undo", args=[org_a.slug, merge.pk]) in survivor_page


def test_the_undo_button_is_only_for_those_who_may_merge(org_a, alice, bob, client_for):
    kept = CustomerFactory(organization=org_a, name="Kept")
    gone = CustomerFactory(organization=org_a, name="Gone")
    with tenant_context(org_a):
        merge = merging.customers_merge(survivor=kept, merged=gone, choices={}, by=alice)
    undo = reverse("customers:merge-undo", args=[org_a.slug, merge.pk])

    assert undo not in client_for(bob).get(_history_url(kept)).content.decode()
    assert undo not in client_for(bob).get(kept.get_absolute_url()).content.decode()
    assert undo in client_for(alice).get(kept.get_absolute_url()).content.decode()


def test_another_organizations_history_is_404(org_a, org_b, alice, client_for):
    customer = CustomerFactory(organization=org_b)
    contact = ContactFactory(customer=customer)
    _changes(org_b, customer, 2)
    client = client_for(alice)

    for name, pk in (("customer-history", customer.pk), ("contact-history", contact.pk)):
        assert client.get(reverse(f"customers:{name}", args=[org_a.slug, pk])).status_code == 404


def test_the_history_page_costs_the_same_for_10_or_60_lines(
    org_a, alice, bob, member_of, client_for
):
    CustomFieldDefinitionFactory(organization=org_a, key="tier", label="Tier")
    customer = CustomerFactory(organization=org_a)
    client = client_for(alice)
    users = [alice, bob, member_of(org_a, Role.SUPPORT)]

    def lines(count: int) -> int:
        for user in users:
            _changes(org_a, customer, count // len(users), by=user)
        with tenant_context(org_a):
            FieldChange.objects.create(
                entity="customer", entity_id=customer.pk, action="update", field="custom.tier"
            )
        client.get(_history_url(customer))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_history_url(customer)).status_code == 200
        return len(queries)

    assert lines(9) == lines(51)
