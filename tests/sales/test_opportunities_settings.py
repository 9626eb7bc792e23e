"""Pipelines and stages (managers and admins), competitors and partners."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sales.models import Competitor, Opportunity, Partner, Pipeline, Stage
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    CompetitorFactory,
    OpportunityCompetitorFactory,
    OpportunityFactory,
    PartnerFactory,
    default_pipeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenant_reads_as_org_a")]
JSON = {"Accept": "application/json"}


def _url(org, name, **kwargs):
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- Pipelines and stages -----------------------------------------------------------------------


def test_the_pipelines_page_creates_the_default_one_and_lists_stages(org_a, alice, client_for):
    response = client_for(alice).get(_url(org_a, "pipeline-list"))

    assert response.status_code == 200
    assert "Negotiation" in response.content.decode()
    assert Pipeline.unscoped.filter(organization=org_a).count() == 1


@pytest.mark.parametrize("role", ["sales", "support", "marketing"])
def test_only_managers_and_admins_configure_pipelines(role, org_a, member_of, stages_a, client_for):
    client = client_for(member_of(org_a, role))

    assert client.get(_url(org_a, "pipeline-list")).status_code == 403
    assert (
        client.post(
            _url(org_a, "stage-create", pk=stages_a[0].pipeline_id), {"name": "X"}
        ).status_code
        == 403
    )


def test_a_manager_creates_a_pipeline(org_a, alice, stages_a, client_for):
    response = client_for(alice).post(_url(org_a, "pipeline-create"), {"name": "Renewals"})

    pipeline = Pipeline.unscoped.get(name="Renewals")
    assert response["Location"] == _url(org_a, "pipeline-edit", pk=pipeline.pk)
    assert Stage.unscoped.filter(pipeline=pipeline).count() == 7


def test_a_manager_adds_renames_and_reorders_stages(org_a, alice, stages_a, client_for):
    client = client_for(alice)
    pipeline = stages_a[0].pipeline

    client.post(_url(org_a, "stage-create", pk=pipeline.pk), {"name": "Demo", "probability": "50"})
    demo = Stage.unscoped.get(name="Demo")
    client.post(_url(org_a, "stage-edit", pk=demo.pk), {"name": "Live demo", "probability": "55"})
    client.post(_url(org_a, "stage-shift", pk=demo.pk), {"direction": "up"})

    names = list(
        Stage.unscoped.filter(pipeline=pipeline).order_by("position").values_list("name", flat=True)
    )
    assert names[3:6] == ["Proposal", "Live demo", "Negotiation"]
    order = ",".join(
        str(pk)
        for pk in reversed(
            Stage.unscoped.filter(pipeline=pipeline)
            .order_by("position")
            .values_list("pk", flat=True)
        )
    )
    response = client.post(
        _url(org_a, "stage-reorder", pk=pipeline.pk), {"order": order}, headers=JSON
    )
    assert response.json() == {"ok": True}
    assert (
        Stage.unscoped.filter(pipeline=pipeline).order_by("position").first().name == "Closed lost"
    )


@pytest.mark.parametrize("order", ["", "1,2", "a,b", "99999"])
def test_a_bad_stage_order_is_refused(order, org_a, alice, stages_a, client_for):
    response = client_for(alice).post(
        _url(org_a, "stage-reorder", pk=stages_a[0].pipeline_id), {"order": order}, headers=JSON
    )

    assert response.status_code == 400


def test_a_stage_with_opportunities_is_not_deleted(org_a, alice, stages_a, client_for):
    OpportunityFactory(stage=stages_a[2])

    response = client_for(alice).post(_url(org_a, "stage-delete", pk=stages_a[2].pk), follow=True)

    assert Stage.unscoped.filter(pk=stages_a[2].pk).exists()
    assert "move them first" in response.content.decode()


def test_bad_stage_input_is_a_400(org_a, alice, stages_a, client_for):
    pipeline = stages_a[0].pipeline
    client = client_for(alice)

    both = client.post(
        _url(org_a, "stage-create", pk=pipeline.pk),
        {"name": "Odd", "probability": "10", "is_won": "on", "is_lost": "on"},
    )
    over = client.post(
        _url(org_a, "stage-edit", pk=stages_a[0].pk), {"name": "P", "probability": "150"}
    )
    flags = None
    OpportunityFactory(stage=stages_a[1])
    flags = client.post(
        _url(org_a, "stage-edit", pk=stages_a[1].pk),
        {"name": "Q", "probability": "20", "is_won": "on"},
    )

    assert (both.status_code, over.status_code, flags.status_code) == (400, 400, 400)
    stages_a[1].refresh_from_db()
    assert not stages_a[1].is_won


def test_the_pipeline_page_costs_the_same_queries_whatever_the_data(
    org_a, org_b, alice, member_of, client_for
):
    pipeline_b, _stages_b = default_pipeline(org_b)
    manager_b = member_of(org_b, "manager")
    pipeline_a, stages = default_pipeline(org_a)
    for n in range(30):
        OpportunityFactory(stage=stages[n % 7])

    assert _queries(
        client_for(manager_b), _url(org_b, "pipeline-edit", pk=pipeline_b.pk)
    ) == _queries(client_for(alice), _url(org_a, "pipeline-edit", pk=pipeline_a.pk))
    assert _queries(client_for(manager_b), _url(org_b, "pipeline-list")) == _queries(
        client_for(alice), _url(org_a, "pipeline-list")
    )


# --- Competitors ------------------------------------------------------------------------------


def test_a_rep_records_a_competitor_with_strengths_and_weaknesses(org_a, bob, client_for):
    response = client_for(bob).post(
        _url(org_a, "competitor-create"),
        {"name": "Initrode", "strengths": "Price", "weaknesses": "Support"},
    )

    competitor = Competitor.unscoped.get(name="Initrode")
    assert response["Location"] == _url(org_a, "competitor-detail", pk=competitor.pk)
    assert (competitor.strengths, competitor.weaknesses) == ("Price", "Support")


def test_competitor_names_are_unique_whatever_the_case(org_a, bob, client_for):
    CompetitorFactory(organization=org_a, name="Initrode")

    response = client_for(bob).post(_url(org_a, "competitor-create"), {"name": "INITRODE"})

    assert response.status_code == 400


def test_the_competitor_list_counts_wins_and_losses_against_each(org_a, bob, stages_a, client_for):
    rival = CompetitorFactory(organization=org_a)
    for outcome in ("won", "won", "lost", "open"):
        OpportunityCompetitorFactory(
            opportunity=OpportunityFactory(stage=stages_a[0]), competitor=rival, outcome=outcome
        )

    response = client_for(bob).get(_url(org_a, "competitor-list"))

    listed = response.context["competitors"][0]
    assert (listed.met, listed.won, listed.lost) == (4, 2, 1)


def test_the_competitor_page_lists_the_deals_against_them(org_a, bob, stages_a, client_for):
    row = OpportunityCompetitorFactory(
        opportunity=OpportunityFactory(stage=stages_a[0], name="Head to head")
    )

    response = client_for(bob).get(_url(org_a, "competitor-detail", pk=row.competitor_id))

    assert "Head to head" in response.content.decode()


def test_only_managers_delete_competitors(org_a, alice, bob, client_for):
    rival = CompetitorFactory(organization=org_a)
    url = _url(org_a, "competitor-delete", pk=rival.pk)

    assert client_for(bob).post(url).status_code == 403
    assert client_for(alice).post(url).status_code == 302
    assert not Competitor.unscoped.filter(pk=rival.pk).exists()


# --- Partners ---------------------------------------------------------------------------------


def test_a_rep_adds_a_partner(org_a, bob, client_for):
    response = client_for(bob).post(
        _url(org_a, "partner-create"),
        {"name": "Channel Co", "kind": "referrer", "commission_percent": "12.5"},
    )

    partner = Partner.unscoped.get(name="Channel Co")
    assert response.status_code == 302
    assert partner.kind == "referrer"


@pytest.mark.parametrize(
    "data", [{"name": ""}, {"name": "X", "kind": "spy"}, {"name": "X", "commission_percent": "250"}]
)
def test_bad_partner_input_is_a_400(data, org_a, bob, client_for):
    response = client_for(bob).post(_url(org_a, "partner-create"), {"kind": "reseller", **data})

    assert response.status_code == 400


def test_the_partner_page_lists_the_opportunities_they_registered(org_a, bob, stages_a, client_for):
    partner = PartnerFactory(organization=org_a)
    OpportunityFactory(stage=stages_a[0], partner=partner, name="Via partner")
    OpportunityFactory(
        stage=stages_a[5], partner=partner, name="Won via partner", closed_at="2026-01-01T00:00Z"
    )
    OpportunityFactory(stage=stages_a[0], name="Direct deal")

    response = client_for(bob).get(_url(org_a, "partner-detail", pk=partner.pk))

    html = response.content.decode()
    assert "Via partner" in html and "Won via partner" in html and "Direct deal" not in html
    assert (response.context["totals"]["registered"], response.context["totals"]["won"]) == (2, 1)


def test_deleting_a_partner_keeps_its_opportunities(org_a, alice, stages_a, client_for):
    partner = PartnerFactory(organization=org_a)
    opportunity = OpportunityFactory(stage=stages_a[0], partner=partner)

    client_for(alice).post(_url(org_a, "partner-delete", pk=partner.pk))

    opportunity.refresh_from_db()
    assert opportunity.partner is None
    assert Opportunity.unscoped.filter(pk=opportunity.pk).exists()


def test_the_partner_and_competitor_pages_cost_the_same_queries_whatever_the_data(
    org_a, org_b, bob, member_of, client_for
):
    _pipeline, _stages_b = default_pipeline(org_b)
    rep_b = member_of(org_b, "sales")
    partner_b = PartnerFactory(organization=org_b)
    CompetitorFactory(organization=org_b)
    _pipeline, stages = default_pipeline(org_a)
    partner = PartnerFactory(organization=org_a)
    for n in range(25):
        opportunity = OpportunityFactory(stage=stages[n % 5], partner=partner)
        OpportunityCompetitorFactory(opportunity=opportunity)
        PartnerFactory(organization=org_a)

    for name, kwargs_b, kwargs_a in (
        ("partner-detail", {"pk": partner_b.pk}, {"pk": partner.pk}),
        ("partner-list", {}, {}),
        ("competitor-list", {}, {}),
    ):
        small = _queries(client_for(rep_b), _url(org_b, name, **kwargs_b))
        large = _queries(client_for(bob), _url(org_a, name, **kwargs_a))
        assert small == large, name


def test_making_a_pipeline_the_default_takes_the_flag_from_the_other(
    org_a, alice, stages_a, client_for
):
    old = stages_a[0].pipeline
    client = client_for(alice)
    client.post(_url(org_a, "pipeline-create"), {"name": "Renewals"})
    new = Pipeline.unscoped.get(name="Renewals")

    client.post(_url(org_a, "pipeline-edit", pk=new.pk), {"name": "Renewals", "is_default": "on"})

    old.refresh_from_db()
    new.refresh_from_db()
    assert new.is_default and not old.is_default
