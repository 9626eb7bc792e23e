"""The kanban board: columns, totals, filters, capped columns, constant queries, and the move
endpoint the cards are dropped on."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sales.models import Opportunity, StageChange
from sales.selectors.opportunities import CARDS_PER_COLUMN
from tests.factories import CustomerFactory
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    OpportunityFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenant_reads_as_org_a")]
HTMX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}


def _board(org):
    return reverse("sales:opportunity-board", args=[org.slug])


def _move(org, opportunity):
    return reverse("sales:opportunity-move", args=[org.slug, opportunity.pk])


def _populate(org, stages, owners, *, count: int) -> None:
    customers = [CustomerFactory(organization=org) for _ in range(3)]
    open_stages = [s for s in stages if not s.is_closed]
    from tenancy.context import tenant_context

    with tenant_context(org):
        Opportunity.objects.bulk_create(
            [
                Opportunity(
                    organization=org,
                    name=f"Deal {n}",
                    customer=customers[n % 3],
                    pipeline=open_stages[0].pipeline,
                    stage=open_stages[n % len(open_stages)],
                    owner=owners[n % len(owners)],
                    amount=Decimal(1000 + n),
                    probability=open_stages[n % len(open_stages)].probability,
                    close_date=timezone.localdate(),
                    position=n,
                )
                for n in range(count)
            ]
        )


def test_the_board_shows_a_column_per_stage_with_its_totals(org_a, bob, stages_a, client_for):
    OpportunityFactory(stage=stages_a[1], amount=Decimal("1000"), probability=20, name="Alpha deal")
    OpportunityFactory(stage=stages_a[1], amount=Decimal("3000"), probability=50, name="Beta deal")

    response = client_for(bob).get(_board(org_a))

    assert response.status_code == 200
    board = response.context["board"]
    column = board.columns[1]
    assert [c.stage for c in board.columns] == stages_a
    assert (column.count, column.amount, column.weighted) == (
        2,
        Decimal("4000"),
        Decimal("1700.00"),
    )
    html = response.content.decode()
    assert "Alpha deal" in html and "Beta deal" in html


def test_the_first_visit_creates_the_default_pipeline(org_a, bob, client_for):
    response = client_for(bob).get(_board(org_a))

    assert response.status_code == 200
    assert len(response.context["board"].columns) == 7


def _column(org, stage):
    return reverse("sales:opportunity-board-column", args=[org.slug, stage.pk])


def test_columns_are_capped_with_a_link_to_the_rest(org_a, bob, stages_a, client_for):
    cards = [OpportunityFactory(stage=stages_a[0], position=n) for n in range(CARDS_PER_COLUMN + 3)]

    response = client_for(bob).get(_board(org_a))

    column = response.context["board"].columns[0]
    assert (len(column.cards), column.count, column.more) == (
        CARDS_PER_COLUMN,
        CARDS_PER_COLUMN + 3,
        3,
    )
    last = cards[CARDS_PER_COLUMN - 1]
    html = response.content.decode()
    assert f'hx-get="{_column(org_a, stages_a[0])}?after={last.position}.{last.pk}"' in html
    assert "Show more (3 left)" in html


def test_cards_link_to_their_page_and_their_move(org_a, bob, stages_a, client_for):
    card = OpportunityFactory(stage=stages_a[0])

    html = client_for(bob).get(_board(org_a)).content.decode()

    assert f'href="{card.get_absolute_url()}"' in html
    assert f'data-move-url="{_move(org_a, card)}"' in html


# --- Show more --------------------------------------------------------------------------------


def test_show_more_answers_the_next_cards_of_the_column(org_a, bob, stages_a, client_for):
    cards = [
        OpportunityFactory(stage=stages_a[0], position=n) for n in range(CARDS_PER_COLUMN * 2 + 5)
    ]
    OpportunityFactory(stage=stages_a[1], position=99, name="Other column")
    after = cards[CARDS_PER_COLUMN - 1]

    response = client_for(bob).get(
        _column(org_a, stages_a[0]) + f"?after={after.position}.{after.pk}", headers=HTMX
    )

    assert response.status_code == 200
    page = response.context["column"]
    assert page.cards == cards[CARDS_PER_COLUMN : CARDS_PER_COLUMN * 2]
    assert page.more == 5
    html = response.content.decode()
    assert "<html" not in html and "Other column" not in html
    assert f'href="{cards[CARDS_PER_COLUMN].get_absolute_url()}"' in html
    # The link for the rest replaces the old one (out of band), from the last card shown.
    last = cards[CARDS_PER_COLUMN * 2 - 1]
    assert f'id="more-{stages_a[0].pk}" hx-swap-oob="true"' in html
    assert f"?after={last.position}.{last.pk}" in html and "Show more (5 left)" in html


def test_the_last_page_of_a_column_empties_the_link(org_a, bob, stages_a, client_for):
    cards = [OpportunityFactory(stage=stages_a[0], position=n) for n in range(3)]

    response = client_for(bob).get(
        _column(org_a, stages_a[0]) + f"?after={cards[0].position}.{cards[0].pk}", headers=HTMX
    )

    assert response.context["column"].cards == cards[1:]
    assert response.context["column"].more == 0
    assert "Show more" not in response.content.decode()


def test_show_more_orders_equal_positions_by_id(org_a, bob, stages_a, client_for):
    first, second, third = (OpportunityFactory(stage=stages_a[0], position=4) for _ in range(3))

    response = client_for(bob).get(
        _column(org_a, stages_a[0]) + f"?after=4.{first.pk}", headers=HTMX
    )

    assert response.context["column"].cards == [second, third]


def test_show_more_keeps_the_boards_filters(org_a, alice, bob, stages_a, client_for):
    mine = [OpportunityFactory(stage=stages_a[0], owner=bob, position=n) for n in range(3)]
    OpportunityFactory(stage=stages_a[0], owner=alice, position=10)

    response = client_for(bob).get(
        _column(org_a, stages_a[0]) + f"?after=0.{mine[0].pk}&owner={bob.pk}", headers=HTMX
    )

    assert response.context["column"].cards == mine[1:]
    assert f"owner={bob.pk}" in response.context["board_query"]


def test_show_more_in_a_closed_column_keeps_to_recent_closes(org_a, bob, stages_a, client_for):
    won = next(s for s in stages_a if s.is_won)
    first = OpportunityFactory(stage=won, closed_at=timezone.now(), position=1)
    recent = OpportunityFactory(stage=won, closed_at=timezone.now(), position=2)
    OpportunityFactory(
        stage=won, closed_at=timezone.now() - timezone.timedelta(days=90), position=3
    )

    response = client_for(bob).get(_column(org_a, won) + f"?after=1.{first.pk}", headers=HTMX)

    assert response.context["column"].cards == [recent]


@pytest.mark.parametrize("after", ["", "abc", "3", "1.", ".5", "-1.2", "\u00b2.3", "9" * 40 + ".1"])
def test_a_missing_or_malformed_cursor_starts_the_column_over(
    after, org_a, bob, stages_a, client_for
):
    cards = [OpportunityFactory(stage=stages_a[0], position=n) for n in range(2)]

    response = client_for(bob).get(_column(org_a, stages_a[0]), {"after": after}, headers=HTMX)

    assert response.status_code == 200
    assert response.context["column"].cards == cards


def test_without_htmx_show_more_opens_the_list_of_that_stage(org_a, bob, stages_a, client_for):
    response = client_for(bob).get(
        _column(org_a, stages_a[2]) + f"?after=1.2&owner={bob.pk}&amount_min=5"
    )

    assert response.status_code == 302
    assert response["Location"] == (
        reverse("sales:opportunity-list", args=[org_a.slug])
        + f"?stage={stages_a[2].pk}&status=open&owner={bob.pk}&amount_min=5"
    )


def test_show_more_for_another_organizations_stage_is_a_404(
    org_a, org_b, bob, stages_a, client_for
):
    _pipeline, stages_b = default_pipeline(org_b)

    response = client_for(bob).get(_column(org_a, stages_b[0]), headers=HTMX)

    assert response.status_code == 404


@pytest.mark.parametrize(("role", "status"), [("support", 403), ("marketing", 403), ("sales", 200)])
def test_only_sales_roles_see_more_cards(role, status, org_a, member_of, stages_a, client_for):
    OpportunityFactory(stage=stages_a[0])

    response = client_for(member_of(org_a, role)).get(_column(org_a, stages_a[0]), headers=HTMX)

    assert response.status_code == status


def test_show_more_costs_the_same_queries_for_10_or_200_opportunities(
    org_a, org_b, alice, bob, member_of, client_for
):
    _pipeline, stages_b = default_pipeline(org_b)
    owner_b = member_of(org_b, "sales")
    _populate(org_b, stages_b, [owner_b], count=10)
    _pipeline, stages_a = default_pipeline(org_a)
    _populate(org_a, stages_a, [alice, bob], count=200)

    small = _count_board_queries(
        client_for(owner_b), _column(org_b, stages_b[0]) + f"?after=0.1&owner={owner_b.pk}", HTMX
    )
    large = _count_board_queries(
        client_for(bob), _column(org_a, stages_a[0]) + f"?after=0.1&owner={bob.pk}", HTMX
    )

    assert small == large
    # session, user, organization, membership, the stage, the owner filter's validation, the
    # count left, the cards, savepoints; PostgreSQL adds the two set_config statements.
    assert large <= 11 + (2 if connection.vendor == "postgresql" else 0)


def test_cards_are_in_position_order(org_a, bob, stages_a, client_for):
    later = OpportunityFactory(stage=stages_a[0], position=5)
    sooner = OpportunityFactory(stage=stages_a[0], position=1)

    response = client_for(bob).get(_board(org_a))

    assert response.context["board"].columns[0].cards == [sooner, later]


def test_the_board_filters_by_owner_month_and_amount(org_a, alice, bob, stages_a, client_for):
    month = timezone.localdate().replace(day=1)
    OpportunityFactory(stage=stages_a[0], owner=bob, amount=Decimal("500"), close_date=month)
    kept = OpportunityFactory(
        stage=stages_a[0], owner=bob, amount=Decimal("5000"), close_date=month
    )
    OpportunityFactory(stage=stages_a[0], owner=alice, amount=Decimal("5000"), close_date=month)
    query = f"?owner={bob.pk}&close_month={month:%Y-%m}&amount_min=1000&amount_max=9000"

    response = client_for(bob).get(_board(org_a) + query)

    column = response.context["board"].columns[0]
    assert column.cards == [kept]
    assert column.count == 1


def test_bad_filters_are_reported_and_ignored(org_a, bob, stages_a, client_for):
    OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).get(_board(org_a) + "?close_month=2026-13&amount_min=lots&owner=x")

    assert response.status_code == 200
    assert response.context["board"].columns[0].count == 1
    assert "not valid" in response.content.decode()


def test_another_organizations_pipeline_id_falls_back_to_ones_own(
    org_a, org_b, bob, stages_a, client_for
):
    _pipeline_b, _ = default_pipeline(org_b)

    response = client_for(bob).get(_board(org_a) + f"?pipeline={_pipeline_b.pk}")

    assert response.context["pipeline"] == stages_a[0].pipeline


def test_an_htmx_request_swaps_only_the_columns(org_a, bob, stages_a, client_for):
    response = client_for(bob).get(_board(org_a), headers=HTMX)

    html = response.content.decode()
    assert "data-board" in html and "<html" not in html


def test_closed_columns_show_recent_closes_only(org_a, bob, stages_a, client_for):
    won = next(s for s in stages_a if s.is_won)
    recent = OpportunityFactory(stage=won, closed_at=timezone.now())
    OpportunityFactory(stage=won, closed_at=timezone.now() - timezone.timedelta(days=90))

    response = client_for(bob).get(_board(org_a))

    assert response.context["board"].columns[5].cards == [recent]


def _count_board_queries(client, url, headers=None) -> int:
    client.get(url)  # the first visit records the organization in the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers or {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_board_costs_the_same_queries_for_10_or_200_opportunities(
    headers, org_a, org_b, alice, bob, member_of, client_for
):
    _pipeline, stages_b = default_pipeline(org_b)
    owner_b = member_of(org_b, "sales")
    _populate(org_b, stages_b, [owner_b], count=10)
    _pipeline, stages_a = default_pipeline(org_a)
    _populate(org_a, stages_a, [alice, bob], count=200)
    query = f"?owner={bob.pk}&amount_min=1"

    small = _count_board_queries(
        client_for(owner_b), _board(org_b) + query.replace(str(bob.pk), str(owner_b.pk)), headers
    )
    large = _count_board_queries(client_for(bob), _board(org_a) + query, headers)

    assert small == large
    # session, user, organization, membership, pipelines, the owner filter (validation, count
    # and rows), stages, column totals, cards, the switcher, the bell, savepoints; PostgreSQL
    # adds the two set_config statements.
    assert large <= 15 + (2 if connection.vendor == "postgresql" else 0)


# --- Moving -----------------------------------------------------------------------------------


def test_a_drop_moves_the_card_and_answers_the_new_totals(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0], amount=Decimal("2000"))
    neighbour = OpportunityFactory(stage=stages_a[2], position=3)

    response = client_for(bob).post(
        _move(org_a, opportunity), {"stage": stages_a[2].pk, "before": neighbour.pk}, headers=JSON
    )

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["columns"][str(stages_a[2].pk)]["count"] == 2
    assert body["columns"][str(stages_a[0].pk)]["count"] == 0
    assert body["probability"] == 40
    assert "2 open opportunities worth 3,000 USD" in body["summary"]
    opportunity.refresh_from_db()
    neighbour.refresh_from_db()
    assert opportunity.stage == stages_a[2]
    assert opportunity.position == 3 and neighbour.position == 4
    assert StageChange.unscoped.filter(opportunity=opportunity, changed_by=bob).exists()


def test_a_drop_after_the_last_card_goes_after_it(org_a, bob, stages_a, client_for):
    last = OpportunityFactory(stage=stages_a[2], position=7)
    opportunity = OpportunityFactory(stage=stages_a[0])

    client_for(bob).post(
        _move(org_a, opportunity), {"stage": stages_a[2].pk, "after": last.pk}, headers=JSON
    )

    opportunity.refresh_from_db()
    assert opportunity.position == 8


def test_the_totals_after_a_move_keep_the_boards_filters(org_a, alice, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0], owner=bob)
    OpportunityFactory(stage=stages_a[2], owner=alice)

    response = client_for(bob).post(
        _move(org_a, opportunity),
        {"stage": stages_a[2].pk, "filters": f"owner={bob.pk}"},
        headers=JSON,
    )

    assert response.json()["columns"][str(stages_a[2].pk)]["count"] == 1


def test_a_drop_on_a_lost_stage_without_a_reason_is_refused_with_400(
    org_a, bob, stages_a, client_for
):
    opportunity = OpportunityFactory(stage=stages_a[0])
    lost = next(s for s in stages_a if s.is_lost)

    response = client_for(bob).post(_move(org_a, opportunity), {"stage": lost.pk}, headers=JSON)

    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": "Say why the opportunity was lost.",
        "field": "lost_reason",
    }
    opportunity.refresh_from_db()
    assert opportunity.stage == stages_a[0]


def test_a_drop_on_a_lost_stage_with_a_reason_closes_it(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    lost = next(s for s in stages_a if s.is_lost)

    response = client_for(bob).post(
        _move(org_a, opportunity), {"stage": lost.pk, "lost_reason": "No budget"}, headers=JSON
    )

    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.lost_reason) == (lost, "No budget")


@pytest.mark.parametrize("stage", ["", "abc", "-3"])
def test_a_move_without_a_valid_stage_is_a_400(stage, org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).post(_move(org_a, opportunity), {"stage": stage}, headers=JSON)

    assert response.status_code == 400
    assert response.json()["ok"] is False


def test_a_move_to_a_stage_that_does_not_exist_is_a_404(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).post(_move(org_a, opportunity), {"stage": 999999}, headers=JSON)

    assert response.status_code == 404


def test_a_move_to_another_organizations_stage_is_a_404(org_a, org_b, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    _pipeline, stages_b = default_pipeline(org_b)

    response = client_for(bob).post(
        _move(org_a, opportunity), {"stage": stages_b[1].pk}, headers=JSON
    )

    assert response.status_code == 404
    opportunity.refresh_from_db()
    assert opportunity.stage == stages_a[0]


def test_a_move_to_another_pipelines_stage_is_a_400(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    other = StageFactory(pipeline=PipelineFactory(organization=org_a, is_default=False))

    response = client_for(bob).post(_move(org_a, opportunity), {"stage": other.pk}, headers=JSON)

    assert response.status_code == 400


def test_stale_neighbours_put_the_card_at_the_end(org_a, bob, stages_a, client_for):
    elsewhere = OpportunityFactory(stage=stages_a[4])
    last = OpportunityFactory(stage=stages_a[2], position=4)
    opportunity = OpportunityFactory(stage=stages_a[0])

    client_for(bob).post(
        _move(org_a, opportunity), {"stage": stages_a[2].pk, "before": elsewhere.pk}, headers=JSON
    )

    opportunity.refresh_from_db()
    assert opportunity.position == last.position + 1


def test_without_javascript_a_move_redirects_to_the_opportunity(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])

    response = client_for(bob).post(_move(org_a, opportunity), {"stage": stages_a[3].pk})

    assert response.status_code == 302
    assert response["Location"] == opportunity.get_absolute_url()


def test_without_javascript_a_refused_move_says_why(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])
    lost = next(s for s in stages_a if s.is_lost)
    client = client_for(bob)

    response = client.post(_move(org_a, opportunity), {"stage": lost.pk}, follow=True)

    assert "Say why the opportunity was lost." in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("support", 403), ("marketing", 403), ("sales", 200)])
def test_only_sales_roles_move_cards(role, status, org_a, member_of, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0])

    response = client_for(member_of(org_a, role)).post(
        _move(org_a, opportunity), {"stage": stages_a[1].pk}, headers=JSON
    )

    assert response.status_code == status


def test_the_board_page_loads_sortable_and_its_script_but_no_inline_code(
    org_a, bob, stages_a, client_for
):
    response = client_for(bob).get(_board(org_a))

    html = response.content.decode()
    assert "vendor/sortablejs/Sortable.min.js" in html
    assert "js/opportunities.js" in html
    assert "<script>" not in html
    assert json.loads(json.dumps(response.context["board"].columns[0].count)) == 0
