"""The customer 360 page: profile, contacts, analytics, and the timeline with its paging."""

import base64
import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_site.pagination import encode_cursor
from customers import services
from customers.explain import QUADRANT_EXPLANATIONS, SEGMENT_EXPLANATIONS
from customers.models import CustomerTag, RfmSegment, ValueQuadrant
from tenancy.context import tenant_context
from tests.customers.conftest import HTMX
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    CustomFieldDefinitionFactory,
    InteractionFactory,
    TagFactory,
)


def _url(customer) -> str:
    return reverse("customers:customer-detail", args=[customer.organization.slug, customer.pk])


@pytest.fixture
def viewer(client_for, bob):
    return client_for(bob)


@pytest.fixture
def customer(org_a, alice):
    return CustomerFactory(
        organization=org_a,
        name="Acme Foods",
        email="orders@acme.example",
        phone="+1 555 010 2000",
        industry="Food & Beverage",
        city="Lyon",
        country="FR",
        owner=alice,
        custom={"loyalty": "L-100", "retired": "old value"},
    )


# --- Profile, contacts, analytics -------------------------------------------------------------


def test_it_shows_the_profile(customer, org_a, viewer):
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty", label="Loyalty number")
    vip = TagFactory(organization=org_a, name="VIP")
    with tenant_context(org_a):
        CustomerTag.objects.create(organization=org_a, customer=customer, tag=vip)

    response = viewer.get(_url(customer))

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Acme Foods",
        "orders@acme.example",
        "+1 555 010 2000",
        "Food &amp; Beverage",
        "Lyon",
        "Owner: Alice Manager",
        "VIP",
        "Loyalty number",
        "L-100",
    ):
        assert text in html, text
    # A value without a definition (deleted field) stays hidden.
    assert "old value" not in html


def test_it_lists_the_contacts_primary_first(customer, viewer):
    ContactFactory(customer=customer, first_name="Zoe", last_name="Adams", title="CFO")
    ContactFactory(customer=customer, first_name="Jane", last_name="Young", is_primary=True)

    response = viewer.get(_url(customer))

    contacts = [c.full_name for c in response.context["contacts"]]
    assert contacts == ["Jane Young", "Zoe Adams"]
    assert "CFO" in response.content.decode()


def test_it_says_when_there_are_no_contacts(customer, viewer):
    assert "No contacts yet." in viewer.get(_url(customer)).content.decode()


def test_an_unscored_customer_shows_the_not_scored_state(customer, viewer):
    html = viewer.get(_url(customer)).content.decode()

    assert "Not scored yet." in html
    assert str(SEGMENT_EXPLANATIONS[RfmSegment.CHAMPIONS]) not in html


def test_a_scored_customer_shows_the_segment_explained(org_a, viewer):
    customer = CustomerFactory(
        organization=org_a,
        scores=dict(
            scored_at=timezone.now(),
            rfm_segment=RfmSegment.CHAMPIONS,
            rfm_r=5,
            rfm_f=4,
            rfm_m=5,
            rfm_frequency=12,
            rfm_recency_days=9,
            clv=Decimal("12345.00"),
            churn_probability=0.72,
            churn_reason_1="long_since_last_order",
            churn_reason_1_value=90,
            value_quadrant=ValueQuadrant.BEST,
            cluster=3,
            cluster_name="Bulk buyers",
        ),
    )

    html = viewer.get(_url(customer)).content.decode()

    assert "Not scored yet." not in html
    assert "Champions" in html
    assert str(SEGMENT_EXPLANATIONS[RfmSegment.CHAMPIONS]) in html
    assert str(QUADRANT_EXPLANATIONS[ValueQuadrant.BEST]) in html
    assert "Recency 5/5 · Frequency 4/5 · Monetary 5/5" in html
    assert "12 orders, last 9 days ago" in html
    assert "12,345 USD" in html
    assert "72%" in html
    assert "High risk" in html
    assert "No order for 90 days" in html
    assert "Bulk buyers" in html


def test_it_shows_the_change_history(org_a, alice, viewer):
    with tenant_context(org_a):
        customer = services.customer_create(
            org=org_a, by=alice, data={"name": "Historic", "kind": "company"}
        )
        services.customer_update(customer=customer, by=alice, data={"name": "Renamed"})

    response = viewer.get(_url(customer))

    history = response.context["history"]
    assert [(h.field, h.old_value, h.new_value) for h in history if h.field == "name"] == [
        ("name", "Historic", "Renamed"),
        ("name", "", "Historic"),
    ]
    assert "Renamed" in response.content.decode()


def test_an_old_link_to_a_merged_away_customer_leads_to_the_survivor(org_a, viewer):
    survivor = CustomerFactory(organization=org_a)
    duplicate = CustomerFactory(organization=org_a, merged_into=survivor)
    twice = CustomerFactory(organization=org_a, merged_into=duplicate)

    response = viewer.get(_url(twice))

    assert response.status_code == 302
    assert response["Location"] == _url(survivor)


# --- The timeline -----------------------------------------------------------------------------


def _titles(response) -> list[str]:
    return [entry.title for entry in response.context["entries"]]


def test_the_timeline_shows_interactions_newest_first(customer, bob, viewer):
    now = timezone.now()
    for days, subject in [(3, "Third"), (1, "First"), (10, "Oldest"), (2, "Second")]:
        InteractionFactory(
            customer=customer, subject=subject, occurred_at=now - timedelta(days=days), user=bob
        )
    InteractionFactory(customer=CustomerFactory(organization=customer.organization))

    response = viewer.get(_url(customer))

    assert _titles(response) == ["First", "Second", "Third", "Oldest"]
    entry = response.context["entries"][0]
    assert (entry.kind, entry.actor, entry.badge) == ("interaction", "Bob Sales", "Phone")


def test_interactions_at_the_same_moment_are_ordered_by_id(customer, viewer):
    moment = timezone.now() - timedelta(hours=1)
    ids = [InteractionFactory(customer=customer, occurred_at=moment).pk for _ in range(3)]

    response = viewer.get(_url(customer))

    assert [e.pk for e in response.context["entries"]] == sorted(ids, reverse=True)


def test_the_timeline_names_the_contact(customer, viewer):
    contact = ContactFactory(customer=customer, first_name="Jane", last_name="Doe")
    InteractionFactory(customer=customer, contact=contact, direction="inbound")

    html = viewer.get(_url(customer)).content.decode()

    assert "Inbound · Jane Doe" in html


def test_the_kind_filter_keeps_the_chosen_sources(customer, viewer):
    InteractionFactory(customer=customer, subject="A call")

    chosen = viewer.get(_url(customer) + "?kind=interaction")
    other = viewer.get(_url(customer) + "?kind=order")

    assert _titles(chosen) == ["A call"]
    assert 'value="interaction" id="kind-interaction" autocomplete="off" checked' in (
        chosen.content.decode()
    )
    assert _titles(other) == []
    assert "Nothing on the timeline yet" in other.content.decode()


def test_the_kind_filter_through_htmx_returns_the_timeline_only(customer, viewer):
    InteractionFactory(customer=customer, subject="A call")

    response = viewer.get(
        _url(customer) + "?kind=interaction", headers={**HTMX, "HX-Target": "timeline"}
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "A call" in html
    assert "Log an interaction" not in html


@pytest.fixture
def long_history(customer):
    """30 interactions, five of them at the same moment straddling the page boundary."""
    now = timezone.now()
    interactions = [
        InteractionFactory(
            customer=customer, subject=f"Touch {n:02d}", occurred_at=now - timedelta(hours=n)
        )
        for n in range(22)
    ]
    tie = now - timedelta(hours=30)
    interactions += [
        InteractionFactory(customer=customer, subject=f"Tie {n}", occurred_at=tie) for n in range(5)
    ]
    interactions += [
        InteractionFactory(
            customer=customer, subject=f"Old {n}", occurred_at=now - timedelta(days=30 + n)
        )
        for n in range(3)
    ]
    return sorted(interactions, key=lambda i: (i.occurred_at, i.pk), reverse=True)


def _show_older_token(html: str) -> str:
    marker = 'hx-get="'
    start = html.index(marker, html.index('id="timeline-more"')) + len(marker)
    url = html[start : html.index('"', start)].replace("&amp;", "&")
    return parse_qs(urlsplit(url).query)["before"][0]


def test_show_older_pages_through_the_whole_timeline(long_history, customer, viewer):
    first = viewer.get(_url(customer))
    token = _show_older_token(first.content.decode())
    older = viewer.get(
        _url(customer) + f"?before={token}", headers={**HTMX, "HX-Target": "timeline-more"}
    )

    assert len(first.context["entries"]) == 25
    assert first.context["next_token"] == token
    assert "<html" not in older.content.decode()
    assert older.context["next_token"] == ""
    assert "Show older" not in older.content.decode()
    seen = [e.pk for e in first.context["entries"]] + [e.pk for e in older.context["entries"]]
    assert seen == [i.pk for i in long_history]


def test_show_older_keeps_the_kind_filter(long_history, customer, viewer):
    first = viewer.get(_url(customer) + "?kind=interaction")

    html = first.content.decode()
    assert "?kind=interaction&amp;before=" in html


def test_show_older_works_without_javascript(long_history, customer, viewer):
    first = viewer.get(_url(customer))

    older = viewer.get(_url(customer) + f"?before={first.context['next_token']}")

    assert "<html" in older.content.decode()
    assert [e.pk for e in older.context["entries"]] == [i.pk for i in long_history[25:]]


def _token(raw) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


WHEN = {"dt": "2026-01-01T00:00:00+00:00"}
GARBAGE_BEFORE = {
    "text": "garbage",
    "percent": "%%%",
    "two-parts": _token([WHEN, 5]),
    "numbers": _token([1, 2, 3]),
    "text-date": _token(["yesterday", "interaction", 5]),
    "bad-date": _token([{"dt": "not a date"}, "interaction", 5]),
    "null-kind": _token([WHEN, None, 5]),
    "list-kind": _token([WHEN, ["interaction"], 5]),
    "text-id": _token([WHEN, "interaction", "5"]),
    "null-id": _token([WHEN, "interaction", None]),
    "bool-id": _token([WHEN, "interaction", True]),
}


@pytest.mark.parametrize("token", list(GARBAGE_BEFORE.values()), ids=list(GARBAGE_BEFORE))
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_garbage_before_cursor_starts_from_the_top(long_history, customer, viewer, token, htmx):
    headers = {**HTMX, "HX-Target": "timeline-more"} if htmx else {}

    response = viewer.get(_url(customer) + f"?before={token}", headers=headers)

    assert response.status_code == 200
    assert [e.pk for e in response.context["entries"]] == [i.pk for i in long_history[:25]]


def test_a_cursor_of_another_kind_is_a_valid_position(long_history, customer, viewer):
    # Kinds sort alphabetically within one moment; an unknown kind still orders consistently.
    token = encode_cursor([long_history[0].occurred_at, "zzz", 0])

    response = viewer.get(_url(customer) + f"?before={token}")

    assert response.status_code == 200
    assert [e.pk for e in response.context["entries"]] == [i.pk for i in long_history[:25]]
