"""customers.services: the writes, their field history, consent records and bulk actions."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from customers import selectors, services
from customers.models import (
    ChangeAction,
    ConsentEvent,
    Contact,
    Customer,
    CustomerTag,
    FieldChange,
    Interaction,
    LifecycleStage,
    Tag,
)
from tenancy.context import tenant_context
from tests.factories import ContactFactory, CustomerFactory, TagFactory


def _changes(customer_or_contact, entity: str = "customer") -> dict[str, tuple[str, str]]:
    rows = FieldChange.objects.filter(entity=entity, entity_id=customer_or_contact.pk)
    return {row.field: (row.old_value, row.new_value) for row in rows}


def _create(org, by, **data) -> Customer:
    data = {"kind": "company", "lifecycle_stage": LifecycleStage.PROSPECT, **data}
    return services.customer_create(org=org, by=by, data=data, tags=data.pop("tags", ()))


# --- Creating and updating customers ----------------------------------------------------------


def test_customer_create_records_every_filled_field_with_its_display_value(in_org_a, alice, bob):
    customer = _create(
        in_org_a,
        alice,
        name="Acme Foods",
        email=" Sales@Acme.Example ",
        phone="+1 (555) 010-2000",
        owner=bob,
        lifecycle_stage=LifecycleStage.ACTIVE,
        company_size="10-49",
        custom={"tier": "Gold", "seats": 12},
    )

    changes = _changes(customer)
    assert changes["name"] == ("", "Acme Foods")
    assert changes["email"] == ("", "sales@acme.example")
    assert changes["kind"] == ("", "Company")
    assert changes["lifecycle_stage"] == ("", "Active")
    assert changes["owner"] == ("", "Bob Sales")
    assert changes["company_size"] == ("", "10–49 employees")
    assert changes["custom.tier"] == ("", "Gold")
    assert changes["custom.seats"] == ("", "12")
    assert "city" not in changes  # empty fields are not history
    assert set(
        FieldChange.objects.filter(entity_id=customer.pk).values_list("action", flat=True)
    ) == {ChangeAction.CREATE}
    assert set(FieldChange.objects.values_list("changed_by", flat=True)) == {alice.pk}
    assert customer.phone_normalized == "15550102000"
    assert customer.created_by == alice


def test_customer_create_records_its_tags_in_the_history(in_org_a, alice):
    vip, reseller = (
        TagFactory(organization=in_org_a, name="VIP"),
        TagFactory(organization=in_org_a, name="Reseller"),
    )

    customer = _create(in_org_a, alice, name="Tagged", tags=[vip, reseller])

    assert set(customer.tags.all()) == {vip, reseller}
    assert _changes(customer)["tags"] == ("", "Reseller, VIP")


def test_customer_create_refuses_an_invalid_record(in_org_a, alice):
    with pytest.raises(ValidationError):
        _create(in_org_a, alice, name="", email="not-an-email")

    assert Customer.objects.count() == 0
    assert FieldChange.objects.count() == 0


def test_customer_update_records_old_and_new_display_values_of_changed_fields_only(
    in_org_a, alice, bob
):
    customer = CustomerFactory(
        organization=in_org_a, name="Old Name", city="Lyon", owner=alice, credit_rating="B"
    )

    services.customer_update(
        customer=customer,
        by=bob,
        data={"name": "New Name", "city": "Lyon", "owner": bob, "credit_rating": "A"},
    )

    changes = FieldChange.objects.get(field="name")
    assert (changes.action, changes.old_value, changes.new_value) == (
        ChangeAction.UPDATE,
        "Old Name",
        "New Name",
    )
    assert changes.changed_by == bob
    recorded = _changes(customer)
    assert recorded["owner"] == ("Alice Manager", "Bob Sales")
    assert recorded["credit_rating"] == ("B: good", "A: excellent")
    assert "city" not in recorded
    # One save, one batch: the history groups the fields changed together.
    assert FieldChange.objects.values("batch").distinct().count() == 1


def test_customer_update_records_custom_field_changes_key_by_key(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a, custom={"tier": "Silver", "seats": 5})

    services.customer_update(
        customer=customer,
        by=alice,
        data={"custom": {"tier": "Gold", "seats": 5, "renewal": "2026-03-01"}},
    )

    assert _changes(customer) == {
        "custom.tier": ("Silver", "Gold"),
        "custom.renewal": ("", "2026-03-01"),
    }


def test_customer_update_records_a_cleared_custom_value(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a, custom={"tier": "Silver", "region": "North"})

    services.customer_update(customer=customer, by=alice, data={"custom": {"tier": "Silver"}})

    assert _changes(customer) == {"custom.region": ("North", "")}


def test_customer_update_records_tag_changes(in_org_a, alice):
    vip, hot, cold = (TagFactory(organization=in_org_a, name=n) for n in ("VIP", "Hot", "Cold"))
    customer = CustomerFactory(organization=in_org_a, tags=[vip, cold])

    services.customer_update(customer=customer, by=alice, data={}, tags=[vip, hot])

    assert set(customer.tags.all()) == {vip, hot}
    assert _changes(customer) == {"tags": ("Cold, VIP", "Hot, VIP")}


def test_customer_update_without_tags_leaves_them_alone(in_org_a, alice):
    vip = TagFactory(organization=in_org_a, name="VIP")
    customer = CustomerFactory(organization=in_org_a, tags=[vip])

    services.customer_update(customer=customer, by=alice, data={"name": "Renamed"})

    assert list(customer.tags.all()) == [vip]
    assert "tags" not in _changes(customer)


def test_a_stage_change_sets_stage_changed_at(in_org_a, alice):
    long_ago = timezone.now() - timedelta(days=90)
    customer = CustomerFactory(
        organization=in_org_a, lifecycle_stage=LifecycleStage.PROSPECT, stage_changed_at=long_ago
    )

    services.customer_update(
        customer=customer, by=alice, data={"lifecycle_stage": LifecycleStage.ACTIVE}
    )

    customer.refresh_from_db()
    assert customer.stage_changed_at > timezone.now() - timedelta(minutes=1)
    assert _changes(customer)["lifecycle_stage"] == ("Prospect", "Active")


def test_an_update_that_keeps_the_stage_keeps_stage_changed_at(in_org_a, alice):
    long_ago = timezone.now() - timedelta(days=90)
    customer = CustomerFactory(
        organization=in_org_a, lifecycle_stage=LifecycleStage.ACTIVE, stage_changed_at=long_ago
    )

    services.customer_update(
        customer=customer,
        by=alice,
        data={"lifecycle_stage": LifecycleStage.ACTIVE, "name": "Other"},
    )

    customer.refresh_from_db()
    assert customer.stage_changed_at == long_ago


def test_an_update_that_changes_nothing_still_leaves_one_history_line(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a, name="Same")

    services.customer_update(customer=customer, by=alice, data={"name": "Same"})

    row = FieldChange.objects.get()
    assert (row.action, row.field, row.changed_by) == (ChangeAction.UPDATE, "", alice)


# --- Consent ----------------------------------------------------------------------------------


def test_consent_given_at_creation_is_recorded_with_its_source(in_org_a, alice):
    customer = _create(
        in_org_a, alice, name="Consenting", consent_email="granted", consent_sms="unknown"
    )

    event = ConsentEvent.objects.get()
    assert (event.customer, event.channel, event.state, event.source, event.recorded_by) == (
        customer,
        "email",
        "granted",
        "Entered by staff",
        alice,
    )
    customer.refresh_from_db()
    assert customer.consent_email == "granted"
    assert customer.consent_email_source == "Entered by staff"
    assert customer.consent_email_at == event.recorded_at
    assert customer.consent_sms == "unknown"


def test_a_consent_change_on_update_creates_a_consent_event(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a, consent_sms="granted")

    services.customer_update(
        customer=customer,
        by=alice,
        data={"consent_sms": "withdrawn", "consent_email": "unknown", "consent_phone": "unknown"},
    )

    event = ConsentEvent.objects.get()
    assert (event.channel, event.state, event.source, event.recorded_by) == (
        "sms",
        "withdrawn",
        "Changed by staff",
        alice,
    )
    customer.refresh_from_db()
    assert customer.consent_sms == "withdrawn"
    assert _changes(customer)["consent_sms"] == ("Granted", "Withdrawn")


def test_an_unchanged_consent_creates_no_consent_event(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a, consent_email="granted")

    services.customer_update(customer=customer, by=alice, data={"consent_email": "granted"})

    assert ConsentEvent.objects.count() == 0


def test_customer_set_consent_refuses_an_unknown_channel(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a)

    with pytest.raises(ValidationError):
        services.customer_set_consent(
            customer=customer, channel="pigeon", state="granted", source="x", by=alice
        )

    assert ConsentEvent.objects.count() == 0


# --- Contacts ---------------------------------------------------------------------------------


def test_contact_create_normalizes_and_records_history(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a)

    contact = services.contact_create(
        customer=customer,
        by=alice,
        data={
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "Jane@Example.COM",
            "phone": "+44 20 7946 0000",
            "decision_role": "decision_maker",
        },
    )

    assert contact.customer == customer
    assert contact.email == "jane@example.com"
    assert contact.phone_normalized == "442079460000"
    changes = _changes(contact, entity="contact")
    assert changes["first_name"] == ("", "Jane")
    assert changes["decision_role"] == ("", "Decision maker")
    assert changes["customer"] == ("", customer.name)


def test_contact_update_records_old_and_new_values(in_org_a, alice):
    contact = ContactFactory(customer=CustomerFactory(organization=in_org_a), title="CFO")

    services.contact_update(contact=contact, by=alice, data={"title": "CEO", "is_primary": True})

    assert _changes(contact, entity="contact") == {
        "title": ("CFO", "CEO"),
        "is_primary": ("no", "yes"),
    }


def test_contact_delete_removes_it_and_notes_it_on_the_customer(in_org_a, alice):
    customer = CustomerFactory(organization=in_org_a)
    contact = ContactFactory(customer=customer, first_name="Jane", last_name="Doe")

    services.contact_delete(contact=contact, by=alice)

    assert not Contact.objects.filter(pk=contact.pk).exists()
    line = FieldChange.objects.get(entity="customer", entity_id=customer.pk)
    assert line.new_value == "Removed contact Jane Doe"
    assert line.changed_by == alice


# --- Interactions -----------------------------------------------------------------------------


def test_interaction_log_records_the_touch_by_the_user(in_org_a, bob):
    customer = CustomerFactory(organization=in_org_a)
    contact = ContactFactory(customer=customer)

    interaction = services.interaction_log(
        customer=customer,
        by=bob,
        data={"channel": "email", "subject": "Sent the quote", "contact": contact},
    )

    interaction.refresh_from_db()
    assert (interaction.customer, interaction.contact, interaction.user) == (
        customer,
        contact,
        bob,
    )
    assert interaction.subject == "Sent the quote"


def test_interaction_log_refuses_a_contact_of_another_customer(in_org_a, bob):
    customer = CustomerFactory(organization=in_org_a)
    stranger = ContactFactory(customer=CustomerFactory(organization=in_org_a))

    with pytest.raises(ValidationError):
        services.interaction_log(
            customer=customer,
            by=bob,
            data={"channel": "phone", "subject": "Call", "contact": stranger},
        )

    assert Interaction.objects.count() == 0


# --- Tags -------------------------------------------------------------------------------------


def test_tag_get_or_create_finds_a_tag_whatever_its_case(in_org_a):
    vip = TagFactory(organization=in_org_a, name="VIP")

    assert services.tag_get_or_create(org=in_org_a, name="  vip ") == vip
    assert Tag.objects.count() == 1


def test_tag_get_or_create_creates_a_missing_tag_trimmed(in_org_a):
    tag = services.tag_get_or_create(org=in_org_a, name="  Trade show ")

    assert tag.name == "Trade show"
    assert tag.organization == in_org_a


def test_tag_get_or_create_ignores_another_organizations_tag(in_org_a, org_b):
    TagFactory(organization=org_b, name="VIP")

    tag = services.tag_get_or_create(org=in_org_a, name="VIP")

    assert tag.organization == in_org_a


def test_tag_get_or_create_refuses_an_empty_name(in_org_a):
    with pytest.raises(ValidationError):
        services.tag_get_or_create(org=in_org_a, name="   ")


# --- Bulk actions -----------------------------------------------------------------------------


@pytest.fixture
def crowd(in_org_a, org_b, bob):
    """Three active and two prospect customers in A; three active customers in B."""
    a = {
        name: CustomerFactory(organization=in_org_a, name=name, lifecycle_stage=stage)
        for name, stage in [
            ("A1", LifecycleStage.ACTIVE),
            ("A2", LifecycleStage.ACTIVE),
            ("A3", LifecycleStage.ACTIVE),
            ("P1", LifecycleStage.PROSPECT),
            ("P2", LifecycleStage.PROSPECT),
        ]
    }
    b = [
        CustomerFactory(organization=org_b, name=f"B{n}", lifecycle_stage=LifecycleStage.ACTIVE)
        for n in range(3)
    ]
    return a, b


def _active_filter(org, user):
    return selectors.customer_list(org=org, user=user, params=QueryDict("lifecycle_stage=active"))


def _b_state(org_b):
    with tenant_context(org_b):
        return list(
            Customer.objects.order_by("pk").values(
                "owner_id", "lifecycle_stage", "updated_at", "stage_changed_at"
            )
        ), list(CustomerTag.objects.values_list("customer_id", "tag_id"))


def test_assign_owner_on_a_selection_changes_only_the_selection(crowd, in_org_a, alice, bob):
    a, _b = crowd
    selection = Customer.objects.filter(pk__in=[a["A1"].pk, a["P1"].pk])

    count = services.customers_assign_owner(customers=selection, owner=bob, by=alice)

    assert count == 2
    owned = set(Customer.objects.filter(owner=bob).values_list("name", flat=True))
    assert owned == {"A1", "P1"}
    history = FieldChange.objects.filter(field="owner")
    assert {(h.entity_id, h.new_value, h.changed_by_id) for h in history} == {
        (a["A1"].pk, "Bob Sales", alice.pk),
        (a["P1"].pk, "Bob Sales", alice.pk),
    }


def test_assign_owner_on_the_filtered_set_never_touches_other_customers_or_organizations(
    crowd, in_org_a, org_b, alice, bob
):
    b_before = _b_state(org_b)

    count = services.customers_assign_owner(
        customers=_active_filter(in_org_a, alice), owner=bob, by=alice
    )

    assert count == 3
    assert set(Customer.objects.filter(owner=bob).values_list("name", flat=True)) == {
        "A1",
        "A2",
        "A3",
    }
    assert Customer.objects.get(name="P1").owner is None
    assert _b_state(org_b) == b_before


def test_assign_owner_can_clear_the_owner(crowd, in_org_a, alice, bob):
    a, _b = crowd
    Customer.objects.update(owner=bob)

    services.customers_assign_owner(
        customers=Customer.objects.filter(pk=a["A1"].pk), owner=None, by=alice
    )

    assert Customer.objects.get(pk=a["A1"].pk).owner is None
    assert FieldChange.objects.get(field="owner").new_value == ""


def test_change_stage_on_a_selection_skips_customers_already_there(crowd, in_org_a, alice):
    a, _b = crowd
    selection = Customer.objects.filter(pk__in=[a["A1"].pk, a["P1"].pk])

    count = services.customers_change_stage(
        customers=selection, stage=LifecycleStage.ACTIVE, by=alice
    )

    assert count == 1
    p1 = Customer.objects.get(pk=a["P1"].pk)
    assert p1.lifecycle_stage == LifecycleStage.ACTIVE
    assert p1.stage_changed_at > timezone.now() - timedelta(minutes=1)
    history = FieldChange.objects.get(field="lifecycle_stage")
    assert (history.entity_id, history.new_value) == (a["P1"].pk, "Active")


def test_change_stage_on_the_filtered_set_never_touches_other_customers_or_organizations(
    crowd, in_org_a, org_b, alice
):
    b_before = _b_state(org_b)

    count = services.customers_change_stage(
        customers=_active_filter(in_org_a, alice), stage=LifecycleStage.AT_RISK, by=alice
    )

    assert count == 3
    stages = dict(Customer.objects.values_list("name", "lifecycle_stage"))
    assert stages == {
        "A1": "at_risk",
        "A2": "at_risk",
        "A3": "at_risk",
        "P1": "prospect",
        "P2": "prospect",
    }
    assert _b_state(org_b) == b_before


def test_change_stage_refuses_an_unknown_stage(crowd, in_org_a, alice):
    with pytest.raises(ValidationError):
        services.customers_change_stage(customers=Customer.objects.all(), stage="zombie", by=alice)

    assert FieldChange.objects.count() == 0


def test_add_tag_on_a_selection_tags_each_customer_once(crowd, in_org_a, alice):
    a, _b = crowd
    hot = TagFactory(organization=in_org_a, name="Hot")
    CustomerTag.objects.create(organization=in_org_a, customer=a["A1"], tag=hot)
    selection = Customer.objects.filter(pk__in=[a["A1"].pk, a["A2"].pk])

    count = services.customers_add_tag(customers=selection, tag=hot, by=alice)

    assert count == 1
    assert set(hot.customers.values_list("name", flat=True)) == {"A1", "A2"}
    history = FieldChange.objects.get(field="tags")
    assert (history.entity_id, history.new_value) == (a["A2"].pk, "+ Hot")


def test_add_tag_on_the_filtered_set_never_touches_other_customers_or_organizations(
    crowd, in_org_a, org_b, alice
):
    hot = TagFactory(organization=in_org_a, name="Hot")
    b_before = _b_state(org_b)

    count = services.customers_add_tag(customers=_active_filter(in_org_a, alice), tag=hot, by=alice)

    assert count == 3
    assert set(hot.customers.values_list("name", flat=True)) == {"A1", "A2", "A3"}
    assert _b_state(org_b) == b_before


def test_remove_tag_on_the_filtered_set_removes_it_only_there(crowd, in_org_a, org_b, alice):
    a, b = crowd
    hot = TagFactory(organization=in_org_a, name="Hot")
    for customer in (a["A1"], a["P1"]):
        CustomerTag.objects.create(organization=in_org_a, customer=customer, tag=hot)
    b_hot = TagFactory(organization=org_b, name="Hot")
    with tenant_context(org_b):
        CustomerTag.objects.create(organization=org_b, customer=b[0], tag=b_hot)
    b_before = _b_state(org_b)

    count = services.customers_remove_tag(
        customers=_active_filter(in_org_a, alice), tag=hot, by=alice
    )

    assert count == 1
    assert list(hot.customers.values_list("name", flat=True)) == ["P1"]
    history = FieldChange.objects.get(field="tags")
    assert (history.entity_id, history.new_value) == (a["A1"].pk, "− Hot")
    assert _b_state(org_b) == b_before


def test_a_filtered_set_with_invalid_filters_selects_nobody(crowd, in_org_a, alice, bob):
    customers = selectors.customer_list(
        org=in_org_a, user=alice, params=QueryDict("created_after=yesterday")
    )

    assert services.customers_assign_owner(customers=customers, owner=bob, by=alice) == 0
    assert not Customer.objects.filter(owner=bob).exists()
