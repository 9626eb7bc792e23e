"""Lead services: creation with assignment and score rules, edits, the status workflow,
interactions, and recalculating every score."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from sales.models import AssignmentRule, Lead, LeadScoreRule, LeadSource, LeadStatus
from sales.services.lead_scoring import leads_rescore_all
from sales.services.leads import (
    lead_create,
    lead_interaction_log,
    lead_set_status,
    lead_update,
    leads_create_many,
)
from tenancy.context import tenant_context
from tenancy.models import Notification
from tenancy.permissions import Role
from tests.sales.conftest_leads import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_leads import (
    AssignmentRuleFactory,
    LeadFactory,
    LeadInteractionFactory,
    LeadScoreRuleFactory,
)

pytestmark = pytest.mark.usefixtures("in_org_a")


def _create(org, **data) -> Lead:
    return lead_create(org=org, by=None, data={"last_name": "Doe", **data})


# --- Creation -----------------------------------------------------------------------------


def test_it_creates_a_lead_with_normalized_email_and_phone(org_a):
    lead = _create(org_a, email=" Jane@Example.COM ", phone="+1 (555) 010-2000", country="us")

    lead.refresh_from_db()
    assert lead.email == "jane@example.com"
    assert lead.phone_normalized == "15550102000"
    assert lead.country == "US"
    assert lead.status == LeadStatus.NEW


def test_it_refuses_invalid_data(org_a):
    with pytest.raises(ValidationError):
        _create(org_a, email="not an email")
    assert Lead.objects.count() == 0


def test_it_keeps_the_owner_it_was_given(org_a, alice, bob):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk])

    lead = _create(org_a, owner=bob)

    assert lead.owner == bob
    assert AssignmentRule.objects.get().next_index == 0


def test_round_robin_shares_leads_fairly_and_remembers_its_place(org_a, alice, bob, admin_a):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk, bob.pk, admin_a.pk])

    owners = [_create(org_a).owner_id for _ in range(9)]

    assert owners[:3] == [alice.pk, bob.pk, admin_a.pk]
    assert Counter(owners) == {alice.pk: 3, bob.pk: 3, admin_a.pk: 3}
    assert AssignmentRule.objects.get().next_index == 9


def test_an_import_continues_the_rotation_where_it_stood(org_a, alice, bob):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk, bob.pk])
    _create(org_a)  # alice

    leads = leads_create_many(
        org=org_a, by=None, rows=[{"last_name": f"Row {n}"} for n in range(5)]
    )

    assert [lead.owner_id for lead in leads] == [bob.pk, alice.pk, bob.pk, alice.pk, bob.pk]
    assert AssignmentRule.objects.get().next_index == 6


def test_the_first_matching_rule_wins_by_source_then_region(org_a, alice, bob, admin_a):
    AssignmentRuleFactory(
        organization=org_a, position=1, match_source=LeadSource.EVENT, assignees=[alice.pk]
    )
    AssignmentRuleFactory(organization=org_a, position=2, match_region="cn", assignees=[bob.pk])
    AssignmentRuleFactory(organization=org_a, position=3, assignees=[admin_a.pk])

    assert _create(org_a, source=LeadSource.EVENT, country="CN").owner == alice
    assert _create(org_a, source=LeadSource.WEBSITE, country="CN").owner == bob
    assert _create(org_a, region="Shanghai", country="").owner == admin_a
    assert _create(org_a, source=LeadSource.WEBSITE, region="CN").owner == bob


def test_inactive_rules_and_people_who_cannot_work_leads_are_skipped(
    org_a, alice, bob, carol, mallory
):
    AssignmentRuleFactory(organization=org_a, position=1, is_active=False, assignees=[alice.pk])
    # Carol is support, Mallory is not a member of org A: only Bob takes leads.
    AssignmentRuleFactory(organization=org_a, position=2, assignees=[carol.pk, mallory.pk, bob.pk])

    assert {_create(org_a).owner_id for _ in range(3)} == {bob.pk}


def test_a_rule_with_nobody_eligible_lets_the_next_rule_assign(org_a, alice, carol):
    AssignmentRuleFactory(organization=org_a, position=1, assignees=[carol.pk])
    AssignmentRuleFactory(organization=org_a, position=2, assignees=[alice.pk])

    assert _create(org_a).owner == alice


def test_without_rules_a_lead_has_no_owner(org_a):
    assert _create(org_a).owner is None


def test_the_new_owner_is_notified_but_not_the_creator(org_a, alice, bob):
    AssignmentRuleFactory(organization=org_a, assignees=[bob.pk])

    lead = lead_create(org=org_a, by=alice, data={"last_name": "Doe", "first_name": "Jane"})
    lead_create(org=org_a, by=bob, data={"last_name": "Self", "owner": bob})

    notification = Notification.objects.get()
    assert notification.user == bob
    assert notification.title == "New lead assigned to you: Jane Doe"
    assert notification.link.endswith(f"/sales/leads/{lead.pk}/")


def test_an_import_notifies_each_owner_once(org_a, alice, bob):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk, bob.pk])

    leads_create_many(org=org_a, by=None, rows=[{"last_name": f"R{n}"} for n in range(4)])

    titles = dict(Notification.objects.values_list("user_id", "title"))
    assert titles == {
        alice.pk: "2 new leads assigned to you",
        bob.pk: "2 new leads assigned to you",
    }


def test_a_new_lead_is_scored_with_its_reasons(org_a):
    LeadScoreRuleFactory(organization=org_a, label="Software", value="software", points=20)
    LeadScoreRuleFactory(
        organization=org_a,
        label="Big",
        field="employees",
        operator="gte",
        value="100",
        points=15,
    )
    LeadScoreRuleFactory(
        organization=org_a,
        label="Gmail",
        field="email",
        operator="contains",
        value="@gmail",
        points=-5,
    )
    LeadScoreRuleFactory(organization=org_a, label="Off", points=99, is_active=False)

    lead = _create(org_a, industry="Software", employees=250, email="x@gmail.com")

    lead.refresh_from_db()
    assert lead.score == 30
    assert [reason["label"] for reason in lead.score_reasons] == ["Software", "Big", "Gmail"]
    assert lead.score_reasons[0] == {"label": "Software", "points": 20, "kind": "fit"}


# --- Edits and workflow -------------------------------------------------------------------


def test_an_edit_rescores_and_notifies_a_new_owner(org_a, alice, bob):
    LeadScoreRuleFactory(organization=org_a, label="Software", points=20)
    lead = LeadFactory(organization=org_a, industry="Retail")

    lead_update(lead=lead, by=alice, data={"industry": "Software", "owner": bob})

    lead.refresh_from_db()
    assert lead.score == 20
    assert Notification.objects.get().user == bob


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("new", "contacted"),
        ("new", "qualified"),
        ("new", "unqualified"),
        ("contacted", "qualified"),
        ("qualified", "unqualified"),
        ("unqualified", "contacted"),
    ],
)
def test_the_workflow_allows_these_moves(org_a, start, to):
    lead = LeadFactory(organization=org_a, status=start)

    lead_set_status(lead=lead, status=to, by=None)

    lead.refresh_from_db()
    assert lead.status == to


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("new", "converted"),
        ("qualified", "converted"),
        ("contacted", "new"),
        ("converted", "contacted"),
        ("new", "new"),
        ("new", "bogus"),
    ],
)
def test_the_workflow_refuses_other_moves(org_a, start, to):
    lead = LeadFactory(organization=org_a, status=start)

    with pytest.raises(ValidationError):
        lead_set_status(lead=lead, status=to, by=None)

    lead.refresh_from_db()
    assert lead.status == start


def test_an_interaction_updates_the_engagement_score(org_a, bob):
    LeadScoreRuleFactory(
        organization=org_a,
        kind=LeadScoreRule.Kind.ENGAGEMENT,
        label="Replied twice",
        field="interactions_inbound",
        operator="gte",
        value="2",
        points=25,
    )
    lead = LeadFactory(organization=org_a)
    data = {"channel": "email", "direction": "inbound", "subject": "Re: pricing"}

    lead_interaction_log(lead=lead, by=bob, data=data)
    lead.refresh_from_db()
    assert lead.score == 0

    interaction = lead_interaction_log(lead=lead, by=bob, data=data)
    lead.refresh_from_db()
    assert lead.score == 25
    assert lead.score_reasons[0]["kind"] == "engagement"
    assert interaction.user == bob


def test_a_converted_lead_takes_no_more_interactions(org_a):
    lead = LeadFactory(organization=org_a, status=LeadStatus.CONVERTED)

    with pytest.raises(ValidationError):
        lead_interaction_log(lead=lead, by=None, data={"channel": "phone", "subject": "Hi"})


# --- Recalculating every score ------------------------------------------------------------


def test_recalculating_rescores_every_open_lead_in_batches(
    org_a, org_b, django_assert_max_num_queries
):
    leads = [LeadFactory(organization=org_a, industry="Software") for _ in range(7)]
    for lead in leads[:3]:
        LeadInteractionFactory(lead=lead)
    converted = LeadFactory(organization=org_a, industry="Software", status="converted")
    other = LeadFactory(organization=org_b, industry="Software")
    LeadScoreRuleFactory(organization=org_a, label="Software", points=10)
    LeadScoreRuleFactory(
        organization=org_a,
        kind="engagement",
        label="Touched",
        field="interactions",
        operator="present",
        points=5,
    )

    # rules, then per batch of 3: leads, counts, savepoint + update + release; then the end.
    with django_assert_max_num_queries(1 + 3 * 5 + 1):
        changed = leads_rescore_all(org=org_a, batch_size=3)

    assert changed == 7
    scores = dict(Lead.objects.values_list("pk", "score"))
    assert [scores[lead.pk] for lead in leads] == [15, 15, 15, 10, 10, 10, 10]
    assert scores[converted.pk] == 0
    with tenant_context(org_b):
        assert Lead.objects.get(pk=other.pk).score == 0
    assert leads_rescore_all(org=org_a, batch_size=3) == 0


def test_a_member_who_is_not_in_sales_gets_no_leads(org_a, member_of):
    marketer = member_of(org_a, Role.MARKETING)
    AssignmentRuleFactory(organization=org_a, assignees=[marketer.pk])

    assert _create(org_a).owner is None
