"""The opportunity services: stage moves and their history, pipelines and stages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sales.models import (
    ForecastCategory,
    Opportunity,
    OpportunityCompetitor,
    Pipeline,
    Stage,
    StageChange,
)
from sales.services import opportunities as services
from tests.factories import ContactFactory, CustomerFactory
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    OpportunityCompetitorFactory,
    OpportunityFactory,
    PipelineFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db


def _won(stages):
    return next(s for s in stages if s.is_won)


def _lost(stages):
    return next(s for s in stages if s.is_lost)


# --- Default pipeline ---------------------------------------------------------------------------


def test_every_organization_gets_a_default_pipeline_with_the_standard_stages(in_org_a):
    pipeline = services.pipeline_ensure_default(in_org_a)

    stages = list(pipeline.stages.order_by("position"))
    assert pipeline.is_default
    assert [s.probability for s in stages] == [10, 20, 40, 60, 80, 100, 0]
    assert [(s.is_won, s.is_lost) for s in stages][-2:] == [(True, False), (False, True)]


def test_ensuring_the_default_pipeline_twice_makes_one(in_org_a):
    first = services.pipeline_ensure_default(in_org_a)
    second = services.pipeline_ensure_default(in_org_a)

    assert first == second
    assert Pipeline.objects.count() == 1
    assert Stage.objects.count() == 7


# --- Creating ----------------------------------------------------------------------------------


def test_creating_an_opportunity_starts_its_history_and_takes_the_stage_probability(
    in_org_a, stages_a, alice
):
    customer = CustomerFactory(organization=in_org_a)

    opportunity = services.opportunity_create(
        org=in_org_a,
        by=alice,
        stage=stages_a[1],
        data={
            "name": "Big deal",
            "customer": customer,
            "amount": Decimal("5000"),
            "close_date": timezone.localdate(),
            "probability": None,
        },
    )

    assert opportunity.probability == 20
    assert opportunity.pipeline == stages_a[1].pipeline
    change = StageChange.objects.get(opportunity=opportunity)
    assert (change.from_stage, change.to_stage, change.changed_by) == (None, stages_a[1], alice)


def test_an_opportunitys_contact_must_work_for_its_customer(in_org_a, stages_a, alice):
    customer = CustomerFactory(organization=in_org_a)
    stranger = ContactFactory(customer=CustomerFactory(organization=in_org_a))

    with pytest.raises(ValidationError):
        services.opportunity_create(
            org=in_org_a,
            by=alice,
            stage=stages_a[0],
            data={
                "name": "X",
                "customer": customer,
                "contact": stranger,
                "close_date": timezone.localdate(),
            },
        )


def test_new_opportunities_go_to_the_end_of_their_column(in_org_a, stages_a, alice):
    customer = CustomerFactory(organization=in_org_a)
    data = {"name": "A", "customer": customer, "close_date": timezone.localdate()}

    first = services.opportunity_create(org=in_org_a, by=alice, stage=stages_a[0], data=data)
    second = services.opportunity_create(org=in_org_a, by=alice, stage=stages_a[0], data=data)

    assert second.position > first.position


# --- Moving ------------------------------------------------------------------------------------


def test_a_move_records_the_stage_change_and_resets_the_stage_clock(in_org_a, stages_a, bob):
    opportunity = OpportunityFactory(stage=stages_a[0])
    opportunity.stage_entered_at = timezone.now() - timedelta(days=9)
    opportunity.save(update_fields=["stage_entered_at"])

    services.opportunity_move_stage(opportunity=opportunity, stage=stages_a[3], by=bob)

    opportunity.refresh_from_db()
    change = StageChange.objects.get(opportunity=opportunity)
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        stages_a[0],
        stages_a[3],
        bob,
    )
    assert opportunity.stage == stages_a[3]
    assert opportunity.probability == 60
    assert timezone.now() - opportunity.stage_entered_at < timedelta(minutes=1)
    assert opportunity.closed_at is None


def test_winning_sets_closed_at_and_the_closed_category_and_beats_open_competitors(
    in_org_a, stages_a, bob
):
    opportunity = OpportunityFactory(stage=stages_a[4])
    row = OpportunityCompetitorFactory(opportunity=opportunity)

    services.opportunity_move_stage(opportunity=opportunity, stage=_won(stages_a), by=bob)

    opportunity.refresh_from_db()
    row.refresh_from_db()
    assert opportunity.closed_at is not None
    assert opportunity.probability == 100
    assert opportunity.forecast_category == ForecastCategory.CLOSED
    assert row.outcome == OpportunityCompetitor.Outcome.WON


def test_losing_needs_a_reason(in_org_a, stages_a, bob):
    opportunity = OpportunityFactory(stage=stages_a[2])

    with pytest.raises(ValidationError) as error:
        services.opportunity_move_stage(opportunity=opportunity, stage=_lost(stages_a), by=bob)

    assert "lost_reason" in error.value.error_dict
    opportunity.refresh_from_db()
    assert opportunity.stage == stages_a[2]
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_losing_with_a_reason_closes_the_opportunity(in_org_a, stages_a, bob):
    opportunity = OpportunityFactory(stage=stages_a[2])

    services.opportunity_move_stage(
        opportunity=opportunity, stage=_lost(stages_a), by=bob, lost_reason="  Price  "
    )

    opportunity.refresh_from_db()
    assert opportunity.lost_reason == "Price"
    assert opportunity.closed_at is not None
    assert opportunity.probability == 0
    assert opportunity.forecast_category == ForecastCategory.OMITTED


def test_reopening_clears_the_close_and_the_reason(in_org_a, stages_a, bob):
    opportunity = OpportunityFactory(stage=stages_a[2])
    services.opportunity_move_stage(
        opportunity=opportunity, stage=_lost(stages_a), by=bob, lost_reason="Timing"
    )

    services.opportunity_move_stage(opportunity=opportunity, stage=stages_a[1], by=bob)

    opportunity.refresh_from_db()
    assert (opportunity.closed_at, opportunity.lost_reason) == (None, "")
    assert opportunity.forecast_category == ForecastCategory.PIPELINE
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_moving_to_another_pipelines_stage_is_refused(in_org_a, stages_a, bob):
    opportunity = OpportunityFactory(stage=stages_a[0])
    elsewhere = StageFactory(pipeline=PipelineFactory(organization=in_org_a, is_default=False))

    with pytest.raises(ValidationError):
        services.opportunity_move_stage(opportunity=opportunity, stage=elsewhere, by=bob)

    opportunity.refresh_from_db()
    assert opportunity.stage == stages_a[0]


def test_a_position_puts_the_card_there_and_shifts_the_ones_after_it(in_org_a, stages_a, bob):
    column = [OpportunityFactory(stage=stages_a[1], position=n) for n in range(3)]
    moving = OpportunityFactory(stage=stages_a[0])

    services.opportunity_move_stage(opportunity=moving, stage=stages_a[1], by=bob, position=1)

    order = list(
        Opportunity.objects.filter(stage=stages_a[1])
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    assert order == [column[0].pk, moving.pk, column[1].pk, column[2].pk]


def test_reordering_within_a_column_writes_no_history(in_org_a, stages_a, bob):
    first, second = (OpportunityFactory(stage=stages_a[1], position=n) for n in range(2))

    services.opportunity_move_stage(opportunity=second, stage=stages_a[1], by=bob, position=0)

    order = list(Opportunity.objects.filter(stage=stages_a[1]).order_by("position", "id"))
    assert order == [second, first]
    assert not StageChange.objects.exists()


def test_without_a_position_a_moved_card_goes_to_the_end(in_org_a, stages_a, bob):
    others = [OpportunityFactory(stage=stages_a[1], position=n) for n in range(2)]
    moving = OpportunityFactory(stage=stages_a[0])

    services.opportunity_move_stage(opportunity=moving, stage=stages_a[1], by=bob)

    last = Opportunity.objects.filter(stage=stages_a[1]).order_by("position", "id").last()
    assert last == moving
    assert moving.position > others[-1].position


# --- Pipelines and stages ------------------------------------------------------------------------


def test_a_new_open_stage_goes_before_the_won_and_lost_stages(in_org_a, stages_a):
    pipeline = stages_a[0].pipeline

    stage = services.stage_create(pipeline=pipeline, name="Demo", probability=50)

    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names.index("Demo") == 5
    assert stage.position == 5
    assert names[-2:] == ["Closed won", "Closed lost"]


def test_a_stage_cannot_be_won_and_lost(in_org_a, stages_a):
    with pytest.raises(ValidationError):
        services.stage_create(
            pipeline=stages_a[0].pipeline, name="Odd", probability=50, is_won=True, is_lost=True
        )


def test_stages_are_reordered_as_listed(in_org_a, stages_a):
    pipeline = stages_a[0].pipeline
    wanted = [s.pk for s in reversed(stages_a)]

    services.stage_reorder(pipeline=pipeline, stage_ids=wanted)

    assert list(pipeline.stages.order_by("position").values_list("pk", flat=True)) == wanted


def test_a_reorder_must_name_every_stage_once(in_org_a, stages_a):
    with pytest.raises(ValidationError):
        services.stage_reorder(pipeline=stages_a[0].pipeline, stage_ids=[stages_a[0].pk])


def test_a_stage_moves_up_and_down(in_org_a, stages_a):
    services.stage_shift(stage=stages_a[1], offset=-1)

    names = list(stages_a[0].pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names[:2] == ["Qualification", "Prospecting"]


def test_deleting_a_stage_with_opportunities_is_refused(in_org_a, stages_a):
    OpportunityFactory(stage=stages_a[2])

    with pytest.raises(ValidationError):
        services.stage_delete(stage=stages_a[2])

    assert Stage.objects.filter(pk=stages_a[2].pk).exists()


def test_an_empty_stage_is_deleted_and_the_rest_renumbered(in_org_a, stages_a):
    services.stage_delete(stage=stages_a[2])

    positions = list(
        stages_a[0].pipeline.stages.order_by("position").values_list("position", flat=True)
    )
    assert positions == list(range(6))


def test_won_and_lost_flags_change_only_on_an_empty_stage(in_org_a, stages_a):
    OpportunityFactory(stage=stages_a[2])

    with pytest.raises(ValidationError):
        services.stage_update(
            stage=stages_a[2], name="X", probability=40, is_won=True, is_lost=False
        )

    services.stage_update(
        stage=stages_a[2], name="Discovery", probability=35, is_won=False, is_lost=False
    )
    stages_a[2].refresh_from_db()
    assert (stages_a[2].name, stages_a[2].probability) == ("Discovery", 35)


def test_a_new_default_pipeline_takes_the_flag_from_the_old_one(in_org_a, stages_a):
    old = stages_a[0].pipeline

    new = services.pipeline_create(org=in_org_a, name="Renewals", is_default=True)

    old.refresh_from_db()
    assert new.is_default and not old.is_default
    assert new.stages.count() == 7


def test_a_pipeline_with_opportunities_or_the_last_one_is_not_deleted(in_org_a, stages_a):
    pipeline = stages_a[0].pipeline
    with pytest.raises(ValidationError):
        services.pipeline_delete(pipeline=pipeline)  # the only one

    other = services.pipeline_create(org=in_org_a, name="Other")
    OpportunityFactory(stage=other.stages.first())
    with pytest.raises(ValidationError):
        services.pipeline_delete(pipeline=other)


def test_deleting_the_default_pipeline_passes_the_flag_on(in_org_a, stages_a):
    other = services.pipeline_create(org=in_org_a, name="Other")

    services.pipeline_delete(pipeline=stages_a[0].pipeline)

    other.refresh_from_db()
    assert other.is_default
