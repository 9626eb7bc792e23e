"""Converting a qualified lead: the customer (new or matched), its contact, an optional
opportunity, interactions and attribution carried over, the lead marked converted."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import Contact, Customer, Interaction
from sales.models import Lead, LeadStatus, Opportunity, StageChange
from sales.selectors.leads import lead_duplicate_candidates
from sales.services.lead_conversion import lead_convert
from tenancy.context import tenant_context
from tests.factories import ContactFactory, CustomerFactory
from tests.sales.conftest_leads import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_leads import LeadFactory, LeadInteractionFactory


def _qualified(org, **fields) -> Lead:
    defaults = {
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "Globex Corporation",
        "title": "CTO",
        "email": "jane@globex.example",
        "phone": "+1 555 010 2000",
        "industry": "Software",
        "source": "web_form",
        "campaign_name": "Spring launch",
        "status": LeadStatus.QUALIFIED,
    }
    return LeadFactory(organization=org, **{**defaults, **fields})


# --- The service --------------------------------------------------------------------------


@pytest.mark.usefixtures("in_org_a")
def test_it_converts_a_qualified_lead_into_a_new_company_and_contact(org_a, bob):
    lead = _qualified(org_a, owner=bob, notes="Wants a demo")
    LeadInteractionFactory(lead=lead, subject="Asked for pricing", user=bob)
    LeadInteractionFactory(
        lead=lead, subject="Demo booked", channel="meeting", direction="outbound"
    )

    customer = lead_convert(lead=lead, by=bob)

    customer.refresh_from_db()
    assert (customer.name, customer.kind, customer.owner) == ("Globex Corporation", "company", bob)
    assert (customer.source, customer.acquisition_channel) == ("web", "Spring launch")
    assert customer.industry == "Software"
    contact = Contact.objects.get(customer=customer)
    assert (contact.full_name, contact.title, contact.email, contact.is_primary) == (
        "Jane Doe",
        "CTO",
        "jane@globex.example",
        True,
    )
    copied = Interaction.objects.filter(customer=customer).order_by("subject")
    assert [(i.subject, i.contact_id) for i in copied] == [
        ("Asked for pricing", contact.pk),
        ("Demo booked", contact.pk),
    ]
    assert copied[0].user == bob
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert (lead.converted_customer, lead.converted_contact) == (customer, contact)
    assert lead.converted_at is not None and lead.converted_opportunity is None
    assert not Opportunity.objects.exists()


@pytest.mark.usefixtures("in_org_a")
def test_a_lead_without_a_company_becomes_an_individual(org_a):
    lead = _qualified(org_a, company="")

    customer = lead_convert(lead=lead, by=None)

    assert (customer.kind, customer.name, customer.email) == (
        "individual",
        "Jane Doe",
        "jane@globex.example",
    )
    assert not Contact.objects.exists()


@pytest.mark.usefixtures("in_org_a")
def test_it_can_open_an_opportunity_with_the_campaign_as_its_source(org_a, bob):
    lead = _qualified(org_a, owner=bob)

    customer = lead_convert(
        lead=lead,
        by=bob,
        opportunity={
            "name": "Globex rollout",
            "amount": Decimal("12000"),
            "close_date": date(2027, 3, 1),
        },
    )

    opportunity = Opportunity.objects.get()
    assert (opportunity.name, opportunity.customer, opportunity.amount) == (
        "Globex rollout",
        customer,
        Decimal("12000.00"),
    )
    assert opportunity.source_campaign == "Spring launch"
    assert opportunity.lead == lead and opportunity.owner == bob
    assert opportunity.contact == Contact.objects.get()
    assert opportunity.pipeline.is_default
    assert opportunity.stage.position == 0 and not opportunity.stage.is_closed
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1
    lead.refresh_from_db()
    assert lead.converted_opportunity == opportunity


@pytest.mark.usefixtures("in_org_a")
def test_it_attaches_the_lead_to_a_matched_customer_without_overwriting_it(org_a):
    existing = CustomerFactory(
        organization=org_a, name="Globex Corp.", source="referral", acquisition_channel=""
    )
    colleague = ContactFactory(customer=existing, first_name="Hank", is_primary=True)
    lead = _qualified(org_a)
    LeadInteractionFactory(lead=lead)

    customer = lead_convert(lead=lead, by=None, customer=existing)

    assert customer == existing
    customer.refresh_from_db()
    assert (customer.name, customer.source, customer.acquisition_channel) == (
        "Globex Corp.",
        "referral",
        "Spring launch",
    )
    assert Customer.objects.count() == 1
    jane = Contact.objects.exclude(pk=colleague.pk).get()
    assert jane.customer == existing and not jane.is_primary
    assert Interaction.objects.get().customer == existing


@pytest.mark.usefixtures("in_org_a")
def test_it_reuses_the_matched_customers_contact_with_the_same_email(org_a):
    existing = CustomerFactory(organization=org_a, name="Globex")
    jane = ContactFactory(customer=existing, first_name="Jane", email="jane@globex.example")

    lead_convert(lead=_qualified(org_a), by=None, customer=existing)

    assert Contact.objects.get() == jane


@pytest.mark.usefixtures("in_org_a")
def test_picking_a_contact_picks_its_customer(org_a):
    existing = CustomerFactory(organization=org_a, name="Some Other Name")
    jane = ContactFactory(customer=existing, first_name="Janet")
    lead = _qualified(org_a)

    customer = lead_convert(lead=lead, by=None, contact=jane)

    lead.refresh_from_db()
    assert customer == existing
    assert lead.converted_contact == jane
    assert Contact.objects.count() == 1


@pytest.mark.usefixtures("in_org_a")
@pytest.mark.parametrize("status", ["new", "contacted", "unqualified", "converted"])
def test_it_refuses_a_lead_that_is_not_qualified(org_a, status):
    lead = _qualified(org_a, status=status)

    with pytest.raises(ValidationError) as error:
        lead_convert(lead=lead, by=None)

    assert ("already converted" if status == "converted" else "Only a qualified lead") in str(
        error.value
    )
    assert not Customer.objects.exists()


@pytest.mark.usefixtures("in_org_a")
def test_it_converts_a_lead_only_once_even_from_a_stale_copy(org_a):
    lead = _qualified(org_a)
    stale = Lead.objects.get(pk=lead.pk)
    lead_convert(lead=lead, by=None)

    with pytest.raises(ValidationError):
        lead_convert(lead=stale, by=None)

    assert Customer.objects.count() == 1


# --- Likely duplicates --------------------------------------------------------------------


@pytest.mark.usefixtures("in_org_a")
def test_it_finds_customers_and_contacts_the_lead_probably_is(org_a, org_b):
    by_email = CustomerFactory(organization=org_a, name="Jane D.", email="jane@globex.example")
    by_phone = CustomerFactory(
        organization=org_a, name="Phone Match", phone_normalized="15550102000"
    )
    by_name = CustomerFactory(organization=org_a, name="GLOBEX Inc.")
    with_contact = CustomerFactory(organization=org_a, name="Holding")
    contact = ContactFactory(customer=with_contact, email="jane@globex.example")
    CustomerFactory(organization=org_a, name="Unrelated")
    CustomerFactory(organization=org_a, name="Merged Globex", merged_into=by_name)
    CustomerFactory(organization=org_b, name="Globex", email="jane@globex.example")
    lead = _qualified(org_a)

    candidates = lead_duplicate_candidates(org=org_a, lead=lead)

    found = {c.customer.pk: c for c in candidates}
    assert set(found) == {by_email.pk, by_phone.pk, by_name.pk, with_contact.pk}
    assert found[by_email.pk].reasons == ["Same email"]
    assert found[by_phone.pk].reasons == ["Same phone"]
    assert found[by_name.pk].reasons == ["Similar company name"]
    assert found[with_contact.pk].contacts == [contact]
    assert not candidates[-1].strong  # a name-only match comes last


# --- The page -----------------------------------------------------------------------------


def _url(org, lead) -> str:
    return reverse("sales:lead-convert", kwargs={"org_slug": org.slug, "pk": lead.pk})


def test_the_page_warns_about_likely_duplicates_and_preselects_the_best(org_a, bob, client_for):
    existing = CustomerFactory(organization=org_a, name="Globex", email="jane@globex.example")
    lead = _qualified(org_a)

    response = client_for(bob).get(_url(org_a, lead))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="duplicate-warning"' in html
    assert f'value="customer:{existing.pk}" checked' in html


def test_the_page_converts_into_a_new_customer_with_an_opportunity(org_a, bob, client_for):
    lead = _qualified(org_a)

    response = client_for(bob).post(
        _url(org_a, lead),
        {
            "target": "new",
            "create_opportunity": "on",
            "opportunity_name": "Pilot",
            "amount": "5000",
            "close_date": "2027-01-31",
        },
    )

    with tenant_context(org_a):
        customer = Customer.objects.get()
        opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "customers:customer-detail", kwargs={"org_slug": org_a.slug, "pk": customer.pk}
    )
    assert (opportunity.name, opportunity.amount) == ("Pilot", Decimal("5000.00"))


def test_the_page_converts_into_the_picked_customer(org_a, bob, client_for):
    existing = CustomerFactory(organization=org_a, name="Globex", email="jane@globex.example")
    lead = _qualified(org_a)

    client_for(bob).post(_url(org_a, lead), {"target": f"customer:{existing.pk}"})

    with tenant_context(org_a):
        lead.refresh_from_db()
        assert Customer.objects.count() == 1
        assert not Opportunity.objects.exists()
    assert lead.converted_customer_id == existing.pk


def test_the_page_refuses_a_customer_that_was_not_offered(org_a, org_b, bob, client_for):
    other = CustomerFactory(organization=org_b, name="Globex", email="jane@globex.example")
    unrelated = CustomerFactory(organization=org_a, name="Unrelated")
    lead = _qualified(org_a)

    for target in (f"customer:{other.pk}", f"customer:{unrelated.pk}", "contact:999999", "x"):
        response = client_for(bob).post(_url(org_a, lead), {"target": target})
        assert response.status_code == 400

    with tenant_context(org_a):
        lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_the_page_explains_why_a_lead_cannot_be_converted(org_a, bob, client_for):
    lead = _qualified(org_a, status=LeadStatus.CONTACTED)

    page = client_for(bob).get(_url(org_a, lead))
    posted = client_for(bob).post(_url(org_a, lead), {"target": "new"}, follow=True)

    assert "Only a qualified lead can be converted" in page.content.decode()
    assert 'data-testid="convert-form"' not in page.content.decode()
    assert "Only a qualified lead can be converted" in posted.content.decode()
    with tenant_context(org_a):
        assert not Customer.objects.exists()


def test_the_converted_customer_shows_where_it_came_from(org_a, bob, client_for):
    lead = _qualified(org_a)
    with tenant_context(org_a):
        customer = lead_convert(lead=lead, by=bob)

    html = client_for(bob).get(customer.get_absolute_url()).content.decode()

    assert "Converted from lead Jane Doe" in html
