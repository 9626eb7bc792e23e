"""Lead settings: assignment rules, score rules and their transparent matching, recalculating
scores; and converted leads following their customer through a merge."""

import pytest
from django.urls import reverse

from customers.merge import customers_merge, merge_undo
from sales.models import AssignmentRule, Lead, LeadScoreRule
from sales.services.lead_scoring import Scorer, rule_matches
from tenancy.context import tenant_context
from tests.factories import CustomerFactory
from tests.sales.conftest_leads import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_leads import (
    AssignmentRuleFactory,
    LeadFactory,
    LeadScoreRuleFactory,
)


def _url(org, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


# --- Assignment rules ---------------------------------------------------------------------


def test_a_manager_adds_a_round_robin_rule_among_sales_people(org_a, alice, bob, carol, client_for):
    client = client_for(alice)

    page = client.get(_url(org_a, "assignment-rule-list"))
    response = client.post(
        _url(org_a, "assignment-rule-list"),
        {
            "name": "Events",
            "position": 1,
            "match_source": "event",
            "assignees": [alice.pk, bob.pk],
            "is_active": "on",
        },
    )

    choices = dict(page.context["form"].fields["assignees"].choices)
    assert set(choices) == {alice.pk, bob.pk}  # carol (support) cannot take leads
    assert response.status_code == 302
    with tenant_context(org_a):
        rule = AssignmentRule.objects.get()
    assert (rule.name, rule.match_source, rule.assignees) == ("Events", "event", [alice.pk, bob.pk])
    html = client.get(_url(org_a, "assignment-rule-list")).content.decode()
    assert "Alice Manager, Bob Sales" in html and "Source is Event" in html


def test_a_rule_cannot_name_someone_outside_sales(org_a, alice, carol, mallory, client_for):
    for person in (carol, mallory):
        response = client_for(alice).post(
            _url(org_a, "assignment-rule-list"),
            {"name": "X", "position": 0, "assignees": [person.pk]},
        )
        assert response.status_code == 400
    with tenant_context(org_a):
        assert not AssignmentRule.objects.exists()


def test_a_rule_is_edited_and_deleted(org_a, alice, bob, client_for):
    rule = AssignmentRuleFactory(organization=org_a, assignees=[alice.pk])
    client = client_for(alice)

    client.post(
        _url(org_a, "assignment-rule-edit", pk=rule.pk),
        {"name": "Renamed", "position": 2, "match_region": " CN ", "assignees": [bob.pk]},
    )
    with tenant_context(org_a):
        rule.refresh_from_db()
    assert (rule.name, rule.match_region, rule.assignees, rule.is_active) == (
        "Renamed",
        "CN",
        [bob.pk],
        False,
    )

    client.post(_url(org_a, "assignment-rule-delete", pk=rule.pk))
    with tenant_context(org_a):
        assert not AssignmentRule.objects.exists()


# --- Score rules --------------------------------------------------------------------------


def test_a_manager_adds_fit_and_engagement_rules(org_a, alice, client_for):
    client = client_for(alice)

    client.post(
        _url(org_a, "score-rule-list"),
        {
            "label": "Software",
            "field": "industry",
            "operator": "equals",
            "value": "Software",
            "points": 20,
            "is_active": "on",
        },
    )
    client.post(
        _url(org_a, "score-rule-list"),
        {
            "label": "Replied",
            "field": "interactions_inbound",
            "operator": "gte",
            "value": "1",
            "points": 10,
            "is_active": "on",
        },
    )

    with tenant_context(org_a):
        kinds = dict(LeadScoreRule.objects.values_list("label", "kind"))
    assert kinds == {"Software": "fit", "Replied": "engagement"}
    html = client.get(_url(org_a, "score-rule-list")).content.decode()
    assert "Inbound interactions" in html and "+10" in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"field": "employees", "operator": "gte", "value": "many"}, "value"),
        ({"field": "industry", "operator": "equals", "value": ""}, "value"),
        ({"field": "interactions", "operator": "contains", "value": "x"}, "operator"),
        ({"field": "password", "operator": "present", "value": ""}, "field"),
        ({"field": "industry", "operator": "equals", "value": "x", "points": 5000}, "points"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(org_a, alice, client_for, data, field):
    response = client_for(alice).post(
        _url(org_a, "score-rule-list"), {"label": "X", "points": 5, **data}
    )

    assert response.status_code == 400
    assert response.context["form"].errors[field]


def test_a_score_rule_is_edited_and_deleted(org_a, alice, client_for):
    rule = LeadScoreRuleFactory(organization=org_a)
    client = client_for(alice)

    client.post(
        _url(org_a, "score-rule-edit", pk=rule.pk),
        {
            "label": "Big company",
            "field": "employees",
            "operator": "gte",
            "value": "500",
            "points": 30,
        },
    )
    with tenant_context(org_a):
        rule.refresh_from_db()
    assert (rule.label, rule.field, rule.points, rule.is_active) == (
        "Big company",
        "employees",
        30,
        False,
    )

    client.post(_url(org_a, "score-rule-delete", pk=rule.pk))
    with tenant_context(org_a):
        assert not LeadScoreRule.objects.exists()


def test_recalculating_applies_tuned_rules_to_existing_leads(org_a, alice, client_for):
    lead = LeadFactory(organization=org_a, industry="Software")
    LeadScoreRuleFactory(organization=org_a, label="Software", points=20)

    response = client_for(alice).post(_url(org_a, "score-recalculate"), follow=True)

    assert "1 lead changed" in response.content.decode()
    with tenant_context(org_a):
        lead.refresh_from_db()
    assert (lead.score, lead.score_reasons[0]["label"]) == (20, "Software")


def test_with_a_worker_recalculating_is_queued_after_the_request(
    org_a, alice, client_for, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr("sales.views.lead_rules.leads_rescore_all_task.delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(_url(org_a, "score-recalculate"), follow=True)

    assert queued == [org_a.pk]
    assert "being recalculated" in response.content.decode()


def _rule(**fields) -> LeadScoreRule:
    return LeadScoreRule(**{"kind": "fit", "label": "x", "points": 1, **fields})


@pytest.mark.parametrize(
    ("rule", "lead", "counts", "expected"),
    [
        (
            _rule(field="industry", operator="equals", value="software"),
            {"industry": "Software"},
            {},
            True,
        ),
        (
            _rule(field="industry", operator="equals", value="soft"),
            {"industry": "Software"},
            {},
            False,
        ),
        (
            _rule(field="title", operator="contains", value="chief"),
            {"title": "Chief Buyer"},
            {},
            True,
        ),
        (_rule(field="employees", operator="gte", value="100"), {"employees": 100}, {}, True),
        (_rule(field="employees", operator="gte", value="100"), {"employees": None}, {}, False),
        (_rule(field="employees", operator="equals", value="50"), {"employees": 50}, {}, True),
        (_rule(field="phone", operator="present"), {"phone": "555"}, {}, True),
        (_rule(field="phone", operator="present"), {"phone": ""}, {}, False),
        (
            _rule(field="source", operator="equals", value="Referral"),
            {"source": "referral"},
            {},
            True,
        ),
        (_rule(field="rating", operator="equals", value="hot"), {"rating": "hot"}, {}, True),
        (_rule(field="password", operator="present"), {}, {}, False),
        (
            _rule(kind="engagement", field="interactions_meeting", operator="gte", value="2"),
            {},
            {"interactions_meeting": 2},
            True,
        ),
        (_rule(kind="engagement", field="interactions", operator="present"), {}, {}, False),
        (
            _rule(kind="engagement", field="industry", operator="present"),
            {"industry": "x"},
            {},
            False,
        ),
    ],
)
def test_rules_match_transparently(rule, lead, counts, expected):
    assert rule_matches(rule, Lead(last_name="Doe", **lead), counts) is expected


def test_the_score_is_the_sum_of_the_rules_met_with_reasons_biggest_first():
    scorer = Scorer(
        rules=[
            _rule(pk=1, label="Small", field="industry", operator="present", points=5),
            _rule(pk=2, label="Big", field="industry", operator="present", points=30),
            _rule(
                pk=3,
                label="Engaged",
                kind="engagement",
                field="interactions",
                operator="present",
                points=50,
            ),
            _rule(
                pk=4,
                label="Penalty",
                field="email",
                operator="contains",
                value="@gmail",
                points=-10,
            ),
        ]
    )

    score, reasons = scorer.score(Lead(industry="Retail", email="a@gmail.com"), {"interactions": 1})

    assert score == 75
    assert [r["label"] for r in reasons] == ["Big", "Small", "Penalty", "Engaged"]


# --- Merges -------------------------------------------------------------------------------


@pytest.mark.usefixtures("in_org_a")
def test_a_converted_lead_follows_its_customer_through_a_merge_and_its_undo(org_a):
    survivor = CustomerFactory(organization=org_a, name="Survivor")
    merged = CustomerFactory(organization=org_a, name="Merged")
    lead = LeadFactory(organization=org_a, status="converted", converted_customer=merged)

    merge = customers_merge(survivor=survivor, merged=merged, choices={}, by=None)
    lead.refresh_from_db()
    assert lead.converted_customer == survivor

    merge_undo(merge=merge, by=None)
    lead.refresh_from_db()
    assert lead.converted_customer == merged
