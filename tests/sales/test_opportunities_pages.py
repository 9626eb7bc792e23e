"""The opportunity list, detail, create and edit pages, and the form's pickers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sales.models import Opportunity, OpportunityCompetitor, StageChange
from tests.factories import ContactFactory, CustomerFactory
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    CompetitorFactory,
    OpportunityCompetitorFactory,
    OpportunityFactory,
    PartnerFactory,
    default_pipeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenant_reads_as_org_a")]
HTMX = {"HX-Request": "true"}


def _url(org, name, **kwargs):
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- List -------------------------------------------------------------------------------------


def test_the_list_shows_opportunities_closing_soonest_first(org_a, bob, stages_a, client_for):
    today = timezone.localdate()
    later = OpportunityFactory(stage=stages_a[0], close_date=today + timedelta(days=40))
    sooner = OpportunityFactory(stage=stages_a[0], close_date=today + timedelta(days=2))

    response = client_for(bob).get(_url(org_a, "opportunity-list"))

    assert response.context["page"].items == [sooner, later]


def test_the_list_has_the_boards_filters_and_more(org_a, alice, bob, stages_a, client_for):
    month = timezone.localdate().replace(day=1)
    partner = PartnerFactory(organization=org_a)
    kept = OpportunityFactory(
        stage=stages_a[2],
        owner=bob,
        amount=Decimal("700"),
        close_date=month,
        partner=partner,
        name="Kept renewal",
    )
    OpportunityFactory(stage=stages_a[2], owner=alice, amount=Decimal("700"), close_date=month)
    OpportunityFactory(stage=stages_a[2], owner=bob, amount=Decimal("70"), close_date=month)
    query = (
        f"?owner={bob.pk}&close_month={month:%Y-%m}&amount_min=100&amount_max=1000"
        f"&stage={stages_a[2].pk}&partner={partner.pk}&status=open&q=renew"
    )

    response = client_for(bob).get(_url(org_a, "opportunity-list") + query)

    assert response.context["page"].items == [kept]


@pytest.mark.parametrize(("status", "expected"), [("open", 1), ("won", 1), ("lost", 1), ("all", 3)])
def test_the_list_filters_by_status(status, expected, org_a, bob, stages_a, client_for):
    OpportunityFactory(stage=stages_a[0])
    OpportunityFactory(stage=stages_a[5], closed_at=timezone.now())
    OpportunityFactory(stage=stages_a[6], closed_at=timezone.now())

    response = client_for(bob).get(_url(org_a, "opportunity-list") + f"?status={status}")

    assert len(response.context["page"].items) == expected


def test_the_list_pages_with_a_cursor(org_a, bob, stages_a, client_for):
    for n in range(55):
        OpportunityFactory(stage=stages_a[0], close_date=timezone.localdate() + timedelta(days=n))
    client = client_for(bob)

    first = client.get(_url(org_a, "opportunity-list"))
    second = client.get(first.context["page"].next_url)

    assert len(first.context["page"].items) == 50
    assert len(second.context["page"].items) == 5
    assert not set(first.context["page"].items) & set(second.context["page"].items)


def test_an_htmx_list_request_renders_only_the_results(org_a, bob, stages_a, client_for):
    response = client_for(bob).get(_url(org_a, "opportunity-list"), headers=HTMX)

    assert "<html" not in response.content.decode()


@pytest.mark.parametrize(
    "query", ["?after=garbage", "?sort=bogus", "?stage=abc&owner=-1", "?close_month=x"]
)
def test_bad_list_parameters_do_not_fail(query, org_a, bob, stages_a, client_for):
    OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).get(_url(org_a, "opportunity-list") + query)

    assert response.status_code == 200


def test_the_list_costs_the_same_queries_for_few_or_many(org_a, org_b, bob, member_of, client_for):
    _pipeline, stages_b = default_pipeline(org_b)
    rep_b = member_of(org_b, "sales")
    for _ in range(3):
        OpportunityFactory(stage=stages_b[0], owner=rep_b)
    _pipeline, stages = default_pipeline(org_a)
    for n in range(60):
        OpportunityFactory(stage=stages[n % 5], owner=bob)

    small = _queries(client_for(rep_b), _url(org_b, "opportunity-list"))
    large = _queries(client_for(bob), _url(org_a, "opportunity-list"))

    assert small == large


# --- Detail -----------------------------------------------------------------------------------


def test_the_detail_page_shows_the_deal_its_history_and_competitors(
    org_a, bob, stages_a, client_for
):
    from sales.services.opportunities import opportunity_move_stage
    from tenancy.context import tenant_context

    opportunity = OpportunityFactory(stage=stages_a[0], next_step="Send the proposal")
    row = OpportunityCompetitorFactory(opportunity=opportunity, notes="Cheaper by 10%")
    with tenant_context(org_a):
        opportunity_move_stage(opportunity=opportunity, stage=stages_a[2], by=bob)

    response = client_for(bob).get(opportunity.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "Send the proposal" in html
    assert row.competitor.name in html and "Cheaper by 10%" in html
    assert "Prospecting → <strong>Needs analysis</strong>" in html
    assert len(response.context["history"]) == 1


def test_the_detail_page_costs_the_same_queries_with_a_long_history(
    org_a, org_b, bob, member_of, client_for
):
    from sales.services.opportunities import opportunity_move_stage
    from tenancy.context import tenant_context

    _pipeline, stages_b = default_pipeline(org_b)
    rep_b = member_of(org_b, "sales")
    small = OpportunityFactory(stage=stages_b[0])
    _pipeline, stages = default_pipeline(org_a)
    large = OpportunityFactory(stage=stages[0])
    for _ in range(4):
        OpportunityCompetitorFactory(opportunity=large)
    with tenant_context(org_a):
        for n in range(12):
            opportunity_move_stage(opportunity=large, stage=stages[(n + 1) % 5], by=bob)

    assert _queries(client_for(rep_b), small.get_absolute_url()) == _queries(
        client_for(bob), large.get_absolute_url()
    )


# --- Create and edit --------------------------------------------------------------------------


def test_a_rep_creates_an_opportunity(org_a, bob, stages_a, client_for):
    customer = CustomerFactory(organization=org_a, name="Globex")
    contact = ContactFactory(customer=customer)
    partner = PartnerFactory(organization=org_a)
    data = {
        "name": "Globex rollout",
        "customer": customer.pk,
        "contact": contact.pk,
        "stage": stages_a[1].pk,
        "amount": "12000",
        "close_date": "2030-03-31",
        "probability": "",
        "forecast_category": "commit",
        "owner": bob.pk,
        "partner": partner.pk,
        "source_campaign": "Spring webinar",
        "next_step": "Demo",
    }

    response = client_for(bob).post(_url(org_a, "opportunity-create"), data)

    opportunity = Opportunity.unscoped.get(name="Globex rollout")
    assert response.status_code == 302
    assert (opportunity.customer, opportunity.contact, opportunity.partner) == (
        customer,
        contact,
        partner,
    )
    assert opportunity.probability == 20 and opportunity.forecast_category == "commit"
    assert StageChange.unscoped.filter(opportunity=opportunity, from_stage=None).count() == 1


def test_the_form_never_lists_every_customer(org_a, bob, stages_a, client_for):
    for n in range(30):
        CustomerFactory(organization=org_a, name=f"Listed {n}")

    response = client_for(bob).get(_url(org_a, "opportunity-create"))

    html = response.content.decode()
    assert "Listed 1" not in html
    assert "data-customer-select" in html


def test_the_form_preselects_the_customer_it_came_from(org_a, bob, stages_a, client_for):
    customer = CustomerFactory(organization=org_a, name="Initech")

    response = client_for(bob).get(_url(org_a, "opportunity-create") + f"?customer={customer.pk}")

    assert f'<option value="{customer.pk}" selected>Initech</option>' in response.content.decode()


def test_the_list_filters_show_what_was_chosen(org_a, bob, stages_a, client_for):
    query = f"?stage={stages_a[2].pk}&owner={bob.pk}&status=won&close_month=2026-03&amount_min=5"

    html = client_for(bob).get(_url(org_a, "opportunity-list") + query).content.decode()

    assert f'<option value="{stages_a[2].pk}" selected>' in html
    assert f'<option value="{bob.pk}" selected>Bob Sales</option>' in html
    assert '<option value="won" selected>Won</option>' in html
    assert 'name="close_month" id="id_close_month" value="2026-03"' in html
    assert 'name="amount_min" id="id_amount_min" value="5"' in html


def test_a_bad_list_filter_is_marked_on_its_field(org_a, bob, stages_a, client_for):
    html = client_for(bob).get(_url(org_a, "opportunity-list") + "?close_month=2026-13").content
    html = html.decode()

    assert (
        'id="id_close_month" value="2026-13" placeholder="YYYY-MM" class="form-control is-invalid"'
        in html
    )
    assert "Enter a month as YYYY-MM." in html


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "9" * 30, "-4", "x"])
def test_a_malformed_customer_in_the_address_is_ignored(value, org_a, bob, stages_a, client_for):
    client = client_for(bob)

    form = client.get(_url(org_a, "opportunity-create"), {"customer": value})
    contacts = client.get(_url(org_a, "opportunity-contact-options"), {"customer": value})

    assert (form.status_code, contacts.status_code) == (200, 200)


def test_the_form_refuses_another_organizations_customer(org_a, org_b, bob, stages_a, client_for):
    foreign = CustomerFactory(organization=org_b)

    response = client_for(bob).post(
        _url(org_a, "opportunity-create"),
        {
            "name": "X",
            "customer": foreign.pk,
            "stage": stages_a[0].pk,
            "amount": "1",
            "close_date": "2030-01-01",
            "forecast_category": "pipeline",
        },
    )

    assert response.status_code == 400
    assert not Opportunity.unscoped.exists()


def test_creating_in_a_lost_stage_needs_a_reason(org_a, bob, stages_a, client_for):
    customer = CustomerFactory(organization=org_a)

    response = client_for(bob).post(
        _url(org_a, "opportunity-create"),
        {
            "name": "X",
            "customer": customer.pk,
            "stage": stages_a[6].pk,
            "amount": "1",
            "close_date": "2030-01-01",
            "forecast_category": "pipeline",
        },
    )

    assert response.status_code == 400
    assert "Say why the opportunity was lost." in response.content.decode()


@pytest.mark.parametrize(
    "field", [{"amount": "-5"}, {"probability": "140"}, {"close_date": "soon"}, {"name": ""}]
)
def test_bad_input_is_a_400_not_a_500(field, org_a, bob, stages_a, client_for):
    customer = CustomerFactory(organization=org_a)
    data = {
        "name": "X",
        "customer": customer.pk,
        "stage": stages_a[0].pk,
        "amount": "1",
        "close_date": "2030-01-01",
        "forecast_category": "pipeline",
        **field,
    }

    response = client_for(bob).post(_url(org_a, "opportunity-create"), data)

    assert response.status_code == 400


def test_editing_the_stage_goes_through_the_move_and_keeps_history(
    org_a, bob, stages_a, client_for
):
    opportunity = OpportunityFactory(stage=stages_a[0], owner=bob)
    data = {
        "name": "Renamed",
        "customer": opportunity.customer_id,
        "stage": stages_a[3].pk,
        "amount": "5000",
        "close_date": "2030-06-30",
        "probability": "",
        "forecast_category": "best_case",
        "owner": bob.pk,
    }

    response = client_for(bob).post(_url(org_a, "opportunity-edit", pk=opportunity.pk), data)

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.stage, opportunity.probability) == (
        "Renamed",
        stages_a[3],
        60,
    )
    assert StageChange.unscoped.filter(opportunity=opportunity, to_stage=stages_a[3]).exists()


def test_the_edit_form_offers_only_the_opportunitys_pipeline(org_a, bob, stages_a, client_for):
    from tests.sales.factories_opportunities import PipelineFactory, StageFactory

    other = StageFactory(
        pipeline=PipelineFactory(organization=org_a, is_default=False), name="Elsewhere"
    )
    opportunity = OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).get(_url(org_a, "opportunity-edit", pk=opportunity.pk))

    assert "Elsewhere" not in response.content.decode()
    response = client_for(bob).post(
        _url(org_a, "opportunity-edit", pk=opportunity.pk),
        {
            "name": "X",
            "customer": opportunity.customer_id,
            "stage": other.pk,
            "amount": "1",
            "close_date": "2030-01-01",
            "forecast_category": "pipeline",
        },
    )
    assert response.status_code == 400


def test_only_managers_and_admins_delete(org_a, alice, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    url = _url(org_a, "opportunity-delete", pk=opportunity.pk)

    assert client_for(bob).post(url).status_code == 403
    assert client_for(alice).post(url).status_code == 302
    assert not Opportunity.unscoped.filter(pk=opportunity.pk).exists()


# --- Pickers ------------------------------------------------------------------------------------


def test_the_customer_search_answers_at_most_20_matches_starting_ones_first(org_a, bob, client_for):
    CustomerFactory(organization=org_a, name="Big Acme")
    for n in range(25):
        CustomerFactory(organization=org_a, name=f"Acme {n:02d}")
    CustomerFactory(organization=org_a, name="Unrelated")

    response = client_for(bob).get(_url(org_a, "opportunity-customer-options") + "?q=acme")

    names = [c.name for c in response.context["customers"]]
    assert len(names) == 20
    assert names[0] == "Acme 00" and "Big Acme" not in names
    assert "Unrelated" not in response.content.decode()


def test_the_customer_search_finds_inside_names_too(org_a, bob, client_for):
    CustomerFactory(organization=org_a, name="Big Acme")

    response = client_for(bob).get(_url(org_a, "opportunity-customer-options") + "?q=acme")

    assert [c.name for c in response.context["customers"]] == ["Big Acme"]


def test_the_customer_search_hides_other_organizations(org_a, org_b, bob, client_for):
    CustomerFactory(organization=org_b, name="Acme Beta")

    response = client_for(bob).get(_url(org_a, "opportunity-customer-options") + "?q=acme")

    assert "Acme Beta" not in response.content.decode()
    assert "No customer matches" in response.content.decode()


def test_the_contact_options_are_the_customers_contacts(org_a, org_b, bob, client_for):
    customer = CustomerFactory(organization=org_a)
    ContactFactory(customer=customer, first_name="Pat", last_name="Lee")
    foreign = ContactFactory(customer=CustomerFactory(organization=org_b), first_name="Spy")
    url = _url(org_a, "opportunity-contact-options")

    mine = client_for(bob).get(url + f"?customer={customer.pk}").content.decode()
    theirs = client_for(bob).get(url + f"?customer={foreign.customer_id}").content.decode()
    junk = client_for(bob).get(url + "?customer=99999999999999999999999")

    assert "Pat Lee" in mine
    assert "Spy" not in theirs
    assert junk.status_code == 200


# --- Competitors on an opportunity --------------------------------------------------------------


def test_a_rep_records_a_competitor_and_its_outcome(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    competitor = CompetitorFactory(organization=org_a)
    client = client_for(bob)

    client.post(
        _url(org_a, "opportunity-competitor-add", pk=opportunity.pk),
        {"competitor": competitor.pk, "notes": "Incumbent"},
    )
    row = OpportunityCompetitor.unscoped.get(opportunity=opportunity)
    client.post(_url(org_a, "opportunity-competitor-edit", pk=row.pk), {"outcome": "lost"})

    row.refresh_from_db()
    assert (row.outcome, row.notes) == ("lost", "")
    client.post(_url(org_a, "opportunity-competitor-remove", pk=row.pk))
    assert not OpportunityCompetitor.unscoped.filter(pk=row.pk).exists()


def test_another_organizations_competitor_cannot_be_added(org_a, org_b, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    foreign = CompetitorFactory(organization=org_b)

    response = client_for(bob).post(
        _url(org_a, "opportunity-competitor-add", pk=opportunity.pk), {"competitor": foreign.pk}
    )

    assert response.status_code == 302
    assert not OpportunityCompetitor.unscoped.exists()
