"""The lead pages: list, entry, edit, the lead page with its workflow and interactions, the
home panel and the global search. Role refusals and other tenants' 404s come from the generic
walks (tests/tenancy); here each role that may use a page is checked to get what it should."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sales.models import Lead, LeadInteraction, LeadStatus
from tenancy.context import tenant_context
from tenancy.models import Notification
from tenancy.permissions import Role
from tests.sales.conftest_leads import HTMX
from tests.sales.factories_leads import (
    AssignmentRuleFactory,
    LeadFactory,
    LeadInteractionFactory,
    LeadScoreRuleFactory,
)


def _url(org, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _names(response) -> list[str]:
    return [lead.last_name for lead in response.context["page"].items]


# --- List ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.SALES])
def test_sales_roles_see_the_lead_list(role, org_a, member_of, client_for):
    LeadFactory(organization=org_a, first_name="Jane", last_name="Doe")

    response = client_for(member_of(org_a, role)).get(_url(org_a, "lead-list"))

    assert response.status_code == 200
    assert "Jane Doe" in response.content.decode()


def test_the_list_hides_other_organizations_leads(org_a, org_b, bob, client_for):
    LeadFactory(organization=org_a, last_name="Ours")
    LeadFactory(organization=org_b, last_name="Theirs", company="Beta Prospect")

    html = client_for(bob).get(_url(org_a, "lead-list")).content.decode()

    assert "Ours" in html
    assert "Theirs" not in html and "Beta Prospect" not in html


def test_the_list_filters_by_status_owner_source_rating_and_score(org_a, alice, bob, client_for):
    LeadFactory(organization=org_a, last_name="A", status="new", owner=bob, source="event")
    LeadFactory(organization=org_a, last_name="B", status="qualified", rating="hot", score=70)
    LeadFactory(organization=org_a, last_name="C", status="contacted", owner=alice, score=30)
    client = client_for(bob)
    url = _url(org_a, "lead-list")

    assert _names(client.get(url, {"status": ["new", "qualified"], "sort": "created"})) == [
        "A",
        "B",
    ]
    assert _names(client.get(url, {"mine": "true"})) == ["A"]
    assert _names(client.get(url, {"owner": alice.pk})) == ["C"]
    assert _names(client.get(url, {"source": "event"})) == ["A"]
    assert _names(client.get(url, {"rating": "hot"})) == ["B"]
    assert _names(client.get(url, {"score_min": 20, "score_max": 50})) == ["C"]
    assert _names(client.get(url, {"sort": "-score"})) == ["B", "C", "A"]


def test_the_list_searches_names_companies_emails_and_phones(org_a, bob, client_for):
    LeadFactory(organization=org_a, first_name="Jane", last_name="Doe", company="Globex")
    LeadFactory(organization=org_a, last_name="Roe", email="ann@initech.example")
    LeadFactory(
        organization=org_a, last_name="Poe", phone="+1 555 010 7788", phone_normalized="15550107788"
    )
    client = client_for(bob)
    url = _url(org_a, "lead-list")

    assert _names(client.get(url, {"q": "jane d"})) == ["Doe"]
    assert _names(client.get(url, {"q": "glob"})) == ["Doe"]
    assert _names(client.get(url, {"q": "INITECH"})) == ["Roe"]
    assert _names(client.get(url, {"q": "010-7788"})) == ["Poe"]


def test_bad_filters_are_reported_not_a_crash(org_a, bob, client_for):
    response = client_for(bob).get(
        _url(org_a, "lead-list"), {"score_min": "lots", "status": "bogus", "after": "%%%"}
    )

    assert response.status_code == 200
    assert "Some filters are not valid" in response.content.decode()


def test_htmx_gets_only_the_results(org_a, bob, client_for):
    LeadFactory(organization=org_a, last_name="Doe")

    response = client_for(bob).get(_url(org_a, "lead-list"), headers=HTMX)

    html = response.content.decode()
    assert "<html" not in html
    assert 'data-testid="lead-table"' in html


def test_the_list_pages_through_many_leads(org_a, bob, client_for):
    now = timezone.now()
    with tenant_context(org_a):
        Lead.objects.bulk_create(
            [
                Lead(
                    organization=org_a, last_name=f"L{n:03d}", created_at=now - timedelta(minutes=n)
                )
                for n in range(60)
            ]
        )
    client = client_for(bob)

    first = client.get(_url(org_a, "lead-list"))
    second = client.get(first.context["page"].next_url)

    assert len(first.context["page"].items) == 50
    assert [lead.last_name for lead in second.context["page"].items][:2] == ["L050", "L051"]
    assert len(second.context["page"].items) == 10


# Session, user, organization, [set tenant], savepoint, membership, the page of leads with
# their owners, the capped count, the organization switcher, the unread notifications, the
# filter form's owners, release, the session's savepoint and release, [reset tenant].
LIST_QUERIES = {"sqlite": 14, "postgresql": 16}


def _populate(org, owners, count: int) -> None:
    now = timezone.now()
    with tenant_context(org):
        Lead.objects.bulk_create(
            [
                Lead(
                    organization=org,
                    last_name=f"Lead {n}",
                    company=f"Company {n}",
                    owner=owners[n % len(owners)],
                    score=n,
                    created_at=now - timedelta(minutes=n),
                )
                for n in range(count)
            ]
        )


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_costs_the_same_queries_for_5_or_50_leads(
    count, org_a, alice, bob, client_for, django_assert_num_queries
):
    _populate(org_a, [alice, bob], count)
    client = client_for(bob)
    url = _url(org_a, "lead-list")

    with django_assert_num_queries(LIST_QUERIES[connection.vendor]):
        response = client.get(url, {"sort": "-score", "q": "Lead"})

    assert len(response.context["page"].items) == count


# --- Create and edit ----------------------------------------------------------------------


def test_a_sales_rep_adds_a_lead_that_the_rules_assign_and_score(org_a, alice, bob, client_for):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk])
    LeadScoreRuleFactory(organization=org_a, label="Software buyer", points=20)

    response = client_for(bob).post(
        _url(org_a, "lead-create"),
        {
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "JANE@x.example",
            "industry": "Software",
        },
    )

    with tenant_context(org_a):
        lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url(org_a, "lead-detail", pk=lead.pk)
    assert (lead.owner, lead.score, lead.email) == (alice, 20, "jane@x.example")
    with tenant_context(org_a):
        assert Notification.objects.get().user == alice


def test_the_form_can_pick_the_owner(org_a, alice, bob, client_for):
    AssignmentRuleFactory(organization=org_a, assignees=[alice.pk])

    client_for(bob).post(_url(org_a, "lead-create"), {"last_name": "Doe", "owner": bob.pk})

    with tenant_context(org_a):
        assert Lead.objects.get().owner == bob


def test_the_form_refuses_an_owner_from_another_organization(org_a, bob, mallory, client_for):
    response = client_for(bob).post(
        _url(org_a, "lead-create"), {"last_name": "Doe", "owner": mallory.pk}
    )

    assert response.status_code == 400
    with tenant_context(org_a):
        assert not Lead.objects.exists()


def test_the_form_explains_what_is_wrong(org_a, bob, client_for):
    response = client_for(bob).post(
        _url(org_a, "lead-create"), {"last_name": "", "email": "nope", "country": "D1"}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Please correct the highlighted fields." in html
    assert "Use the two-letter country code" in html


def test_an_edit_saves_and_rescores(org_a, bob, client_for):
    LeadScoreRuleFactory(organization=org_a, label="Software buyer", points=20)
    lead = LeadFactory(organization=org_a, last_name="Doe")

    page = client_for(bob).get(_url(org_a, "lead-edit", pk=lead.pk))
    response = client_for(bob).post(
        _url(org_a, "lead-edit", pk=lead.pk), {"last_name": "Doe-Smith", "industry": "Software"}
    )

    assert page.status_code == 200
    assert response.status_code == 302
    with tenant_context(org_a):
        lead.refresh_from_db()
    assert (lead.last_name, lead.score) == ("Doe-Smith", 20)


# --- The lead page ------------------------------------------------------------------------


def test_the_lead_page_shows_the_score_with_its_reasons(org_a, bob, client_for):
    lead = LeadFactory(
        organization=org_a,
        score=35,
        score_reasons=[
            {"label": "Works in software", "points": 20, "kind": "fit"},
            {"label": "Replied twice", "points": 15, "kind": "engagement"},
        ],
    )

    html = client_for(bob).get(_url(org_a, "lead-detail", pk=lead.pk)).content.decode()

    assert "Works in software" in html and "+20" in html
    assert "Replied twice" in html and "+15" in html


def test_the_lead_page_offers_only_the_allowed_moves(org_a, bob, client_for):
    lead = LeadFactory(organization=org_a, status=LeadStatus.CONTACTED)

    html = client_for(bob).get(_url(org_a, "lead-detail", pk=lead.pk)).content.decode()

    assert 'data-testid="status-qualified"' in html
    assert 'data-testid="status-unqualified"' in html
    assert 'data-testid="status-new"' not in html
    assert 'data-testid="convert-lead"' not in html


def test_a_status_button_moves_the_lead(org_a, bob, client_for):
    lead = LeadFactory(organization=org_a)

    response = client_for(bob).post(_url(org_a, "lead-status", pk=lead.pk), {"status": "qualified"})
    page = client_for(bob).get(_url(org_a, "lead-detail", pk=lead.pk)).content.decode()

    assert response.status_code == 302
    with tenant_context(org_a):
        lead.refresh_from_db()
    assert lead.status == "qualified"
    assert 'data-testid="convert-lead"' in page


def test_a_refused_move_says_why(org_a, bob, client_for):
    lead = LeadFactory(organization=org_a, status=LeadStatus.CONVERTED)

    response = client_for(bob).post(
        _url(org_a, "lead-status", pk=lead.pk), {"status": "new"}, follow=True
    )

    assert "cannot be marked" in response.content.decode()
    with tenant_context(org_a):
        lead.refresh_from_db()
    assert lead.status == "converted"


def test_logging_an_interaction_with_htmx_updates_the_list_and_the_score(org_a, bob, client_for):
    LeadScoreRuleFactory(
        organization=org_a,
        kind="engagement",
        label="Talked",
        field="interactions_phone",
        operator="present",
        points=7,
    )
    lead = LeadFactory(organization=org_a)

    response = client_for(bob).post(
        _url(org_a, "lead-interaction-create", pk=lead.pk),
        {
            "channel": "phone",
            "direction": "outbound",
            "subject": "Intro call",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Intro call" in html
    assert 'hx-swap-oob="true"' in html and "Talked" in html
    with tenant_context(org_a):
        assert LeadInteraction.objects.get().user == bob
        lead.refresh_from_db()
    assert lead.score == 7


def test_logging_an_interaction_without_javascript_redirects(org_a, bob, client_for):
    lead = LeadFactory(organization=org_a)

    response = client_for(bob).post(
        _url(org_a, "lead-interaction-create", pk=lead.pk),
        {
            "channel": "email",
            "direction": "inbound",
            "subject": "Question",
            "occurred_at": "2026-01-05T10:00",
        },
    )

    assert response.status_code == 302


def test_a_bad_interaction_is_explained(org_a, bob, client_for):
    lead = LeadFactory(organization=org_a)
    url = _url(org_a, "lead-interaction-create", pk=lead.pk)
    data = {"channel": "fax", "subject": "", "occurred_at": "2999-01-01T10:00"}

    assert client_for(bob).post(url, data, headers=HTMX).status_code == 422
    response = client_for(bob).post(url, data)
    assert response.status_code == 400
    assert "An interaction cannot be in the future." in response.content.decode()
    with tenant_context(org_a):
        assert not LeadInteraction.objects.exists()


# Session, user, organization, [set tenant], savepoint, membership, the lead with its owner
# and web form, its interactions with their users, the organization switcher, the unread
# notifications, release, the session's savepoint and release, [reset tenant].
DETAIL_QUERIES = {"sqlite": 13, "postgresql": 15}


@pytest.mark.parametrize("count", [1, 10])
def test_the_lead_page_costs_the_same_queries_for_1_or_10_interactions(
    count, org_a, bob, client_for, django_assert_num_queries
):
    lead = LeadFactory(organization=org_a, owner=bob)
    for _ in range(count):
        LeadInteractionFactory(lead=lead, user=bob)
    client = client_for(bob)

    with django_assert_num_queries(DETAIL_QUERIES[connection.vendor]):
        response = client.get(_url(org_a, "lead-detail", pk=lead.pk))

    assert len(response.context["interactions"]) == count


# --- Home panel and search ----------------------------------------------------------------


def test_the_home_page_lists_my_open_leads(org_a, bob, alice, client_for):
    LeadFactory(organization=org_a, last_name="Mine", owner=bob)
    LeadFactory(organization=org_a, last_name="Closed", owner=bob, status="converted")
    LeadFactory(organization=org_a, last_name="Theirs", owner=alice)

    html = client_for(bob).get(reverse("tenancy:home", args=[org_a.slug])).content.decode()

    assert "My open leads" in html
    assert "Mine" in html
    assert "Closed" not in html and "Theirs" not in html


def test_roles_outside_sales_have_no_lead_panel(org_a, carol, client_for):
    html = client_for(carol).get(reverse("tenancy:home", args=[org_a.slug])).content.decode()

    assert "My open leads" not in html
    assert 'data-testid="nav-leads"' not in html


def test_the_global_search_finds_leads_for_sales_roles_only(org_a, org_b, bob, carol, client_for):
    LeadFactory(organization=org_a, first_name="Jane", last_name="Zebulon", company="Acme")
    LeadFactory(organization=org_b, first_name="Other", last_name="Zebulon")
    url = reverse("search", args=[org_a.slug])

    html = client_for(bob).get(url, {"q": "Zebulon"}).content.decode()
    hidden = client_for(carol).get(url, {"q": "Zebulon"}).content.decode()

    assert "Jane Zebulon" in html
    assert "Other Zebulon" not in html
    assert "Jane Zebulon" not in hidden
