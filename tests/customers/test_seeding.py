"""seed_demo's customers step: a believable, deterministic customer base in each demo tenant."""

from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import (
    Contact,
    Customer,
    CustomerTag,
    CustomFieldDefinition,
    Interaction,
    Tag,
)
from tenancy.context import tenant_context
from tenancy.models import Membership, Organization


def _seed(customers: int, seed: int = 42, reset: bool = False) -> str:
    out = StringIO()
    call_command("seed_demo", customers=customers, seed=seed, reset=reset, stdout=out)
    return out.getvalue()


def _counts(slug: str) -> dict[str, int]:
    org = Organization.objects.get(slug=slug)
    with tenant_context(org):
        return {
            "customers": Customer.objects.count(),
            "contacts": Contact.objects.count(),
            "interactions": Interaction.objects.count(),
            "tags": Tag.objects.count(),
            "tag links": CustomerTag.objects.count(),
            "custom fields": CustomFieldDefinition.objects.count(),
        }


def _snapshot(slug: str) -> dict[str, list]:
    """What a person sees of the demo, without database ids or dates relative to now."""
    org = Organization.objects.get(slug=slug)
    with tenant_context(org):
        return {
            "customers": sorted(
                Customer.objects.values_list(
                    "name",
                    "email",
                    "phone",
                    "kind",
                    "lifecycle_stage",
                    "owner__email",
                    "source",
                    "consent_email",
                    "city",
                    "custom",
                ),
                key=repr,
            ),
            "contacts": sorted(
                Contact.objects.values_list(
                    "customer__email", "first_name", "last_name", "title", "is_primary"
                )
            ),
            "interactions": sorted(
                Interaction.objects.values_list(
                    "customer__email", "channel", "direction", "subject", "user__email"
                )
            ),
            "tags": sorted(CustomerTag.objects.values_list("customer__email", "tag__name")),
            "custom fields": list(
                CustomFieldDefinition.objects.order_by("key").values_list(
                    "key", "field_type", "choices"
                )
            ),
        }


@pytest.mark.django_db
def test_seed_demo_creates_customers_and_what_hangs_off_them_in_both_tenants():
    _seed(30)

    acme, globex = _counts("acme"), _counts("globex")
    assert acme["customers"] == 30
    assert acme["tags"] == 6
    assert acme["custom fields"] == 2
    assert acme["contacts"] > 0
    assert acme["interactions"] > 0
    assert acme["tag links"] > 0
    # globex gets a tenth of acme's customers, at least 50, at most as many as acme.
    assert globex["customers"] == 30
    assert globex["contacts"] > 0 and globex["tags"] == 6


@pytest.mark.django_db
def test_seed_demo_gives_globex_fewer_customers_than_acme():
    _seed(80)

    acme, globex = _counts("acme"), _counts("globex")
    assert (acme["customers"], globex["customers"]) == (80, 50)
    assert globex["contacts"] < acme["contacts"]


@pytest.mark.django_db
def test_seeded_customers_are_consistent():
    _seed(30)

    org = Organization.objects.get(slug="acme")
    with tenant_context(org):
        customers = list(Customer.objects.all())
        contacts = list(Contact.objects.select_related("customer"))
        members = set(Membership.objects.values_list("user_id", flat=True))
        interactions = list(Interaction.objects.all())
    assert all(c.phone_normalized and c.phone_normalized.isdigit() for c in customers)
    assert all(c.owner_id is None or c.owner_id in members for c in customers)
    assert {c.kind for c in customers} == {"company", "individual"}
    # Only companies have contacts, and each company has exactly one primary contact.
    assert {c.customer.kind for c in contacts} == {"company"}
    companies_with_contacts = {c.customer_id for c in contacts}
    primaries = [c.customer_id for c in contacts if c.is_primary]
    assert sorted(primaries) == sorted(companies_with_contacts)
    assert all(i.user_id in members for i in interactions)
    created = {c.pk: c.created_at for c in customers}
    assert all(i.occurred_at >= created[i.customer_id] for i in interactions)
    assert {k for c in customers for k in c.custom} <= {"loyalty_number"}


@pytest.mark.django_db
def test_seed_demo_is_deterministic_for_a_seed():
    _seed(30, seed=7)
    first = {slug: _snapshot(slug) for slug in ("acme", "globex")}

    _seed(30, seed=7, reset=True)
    again = {slug: _snapshot(slug) for slug in ("acme", "globex")}

    _seed(30, seed=8, reset=True)
    other = _snapshot("acme")

    assert again == first
    assert other["customers"] != first["acme"]["customers"]


@pytest.mark.django_db
def test_seed_demo_keeps_an_existing_demo_without_reset():
    _seed(30)

    output = _seed(10)

    assert "already there" in output
    assert _counts("acme")["customers"] == 30


@pytest.mark.django_db
def test_seed_demo_reports_what_it_created():
    output = _seed(30)

    acme = _counts("acme")
    assert f"{acme['customers']:,} customers" in output
    assert f"{acme['contacts']:,} contacts" in output
    assert f"{acme['interactions']:,} interactions" in output
