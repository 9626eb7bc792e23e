"""Writes about pipelines and stages, opportunities, competitors and partners.

Every function is keyword-only and runs in one transaction (the request's, or its own). Stage
moves go through `opportunity_move_stage`, which keeps the StageChange history that velocity and
conversion analytics read.
"""

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Customer
from sales.models import (
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityCompetitor,
    Partner,
    Pipeline,
    Stage,
    StageChange,
)
from tenancy.models import Organization, User

# (name, win probability, won, lost): the stages every organization starts with.
DEFAULT_STAGES = (
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Needs analysis", 40, False, False),
    ("Proposal", 60, False, False),
    ("Negotiation", 80, False, False),
    ("Closed won", 100, True, False),
    ("Closed lost", 0, False, True),
)


def _default_stage_names() -> dict[str, str]:
    # Literal calls so that makemessages finds the names; stored in the creator's language.
    return {
        "Prospecting": _("Prospecting"),
        "Qualification": _("Qualification"),
        "Needs analysis": _("Needs analysis"),
        "Proposal": _("Proposal"),
        "Negotiation": _("Negotiation"),
        "Closed won": _("Closed won"),
        "Closed lost": _("Closed lost"),
    }


# --- Pipelines and stages ---------------------------------------------------------------------


def _create_default_stages(*, pipeline: Pipeline) -> list[Stage]:
    names = _default_stage_names()
    return Stage.objects.bulk_create(
        [
            Stage(
                organization_id=pipeline.organization_id,
                pipeline=pipeline,
                name=names[name],
                position=index,
                probability=probability,
                is_won=won,
                is_lost=lost,
            )
            for index, (name, probability, won, lost) in enumerate(DEFAULT_STAGES)
        ]
    )


@transaction.atomic
def pipeline_ensure_default(org: Organization) -> Pipeline:
    """The organization's default pipeline, created with the standard stages if it has none.

    Takes a lock on the organization row, so two first visits at once make one pipeline.
    """
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    pipeline = Pipeline.objects.order_by("-is_default", "id").first()
    if pipeline is None:
        pipeline = Pipeline.objects.create(organization=org, name=_("Sales"), is_default=True)
        _create_default_stages(pipeline=pipeline)
    elif not pipeline.is_default:
        pipeline.is_default = True
        pipeline.save(update_fields=["is_default"])
    return pipeline


@transaction.atomic
def pipeline_create(*, org: Organization, name: str, is_default: bool = False) -> Pipeline:
    """A new pipeline with the standard stages, to rename and reorder."""
    first = not Pipeline.objects.exists()
    pipeline = Pipeline.objects.create(organization=org, name=name, is_default=is_default or first)
    if pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).update(is_default=False)
    _create_default_stages(pipeline=pipeline)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, name: str, is_default: bool) -> Pipeline:
    """Rename; making a pipeline the default takes the flag from the others. The default
    cannot be unset directly: another pipeline has to become the default."""
    pipeline.name = name
    if is_default and not pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = True
    pipeline.save(update_fields=["name", "is_default"])
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete an empty pipeline that is not the only one. Raises ValidationError otherwise."""
    if Opportunity.objects.filter(pipeline=pipeline).exists():
        raise ValidationError(_("This pipeline has opportunities; move them first."))
    if not Pipeline.objects.exclude(pk=pipeline.pk).exists():
        raise ValidationError(_("An organization needs at least one pipeline."))
    was_default = pipeline.is_default
    pipeline.delete()  # its stages go with it (CASCADE)
    if was_default:
        successor = Pipeline.objects.order_by("id").first()
        successor.is_default = True
        successor.save(update_fields=["is_default"])


def _check_stage_flags(*, probability: int, is_won: bool, is_lost: bool) -> None:
    if is_won and is_lost:
        raise ValidationError(_("A stage cannot be both won and lost."))
    if not 0 <= probability <= 100:
        raise ValidationError(_("The win probability is a percentage from 0 to 100."))


@transaction.atomic
def stage_create(
    *, pipeline: Pipeline, name: str, probability: int, is_won: bool = False, is_lost: bool = False
) -> Stage:
    """A stage at the end of the pipeline's open stages (before its won and lost stages)."""
    _check_stage_flags(probability=probability, is_won=is_won, is_lost=is_lost)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    if is_won or is_lost:
        index = len(stages)
    else:
        index = next((i for i, s in enumerate(stages) if s.is_closed), len(stages))
    stage = Stage(
        organization_id=pipeline.organization_id,
        pipeline=pipeline,
        name=name,
        probability=probability,
        is_won=is_won,
        is_lost=is_lost,
    )
    stages.insert(index, stage)
    stage.position = index
    stage.save()
    _renumber(stages)
    return stage


@transaction.atomic
def stage_update(
    *, stage: Stage, name: str, probability: int, is_won: bool, is_lost: bool
) -> Stage:
    """Rename, change the default probability; won and lost only while the stage is empty
    (the opportunities in it were closed, or not, by the old meaning)."""
    _check_stage_flags(probability=probability, is_won=is_won, is_lost=is_lost)
    flags_changed = (is_won, is_lost) != (stage.is_won, stage.is_lost)
    if flags_changed and Opportunity.objects.filter(stage=stage).exists():
        raise ValidationError(
            _("Opportunities are in this stage: move them before changing won or lost.")
        )
    stage.name, stage.probability, stage.is_won, stage.is_lost = (
        name,
        probability,
        is_won,
        is_lost,
    )
    stage.save(update_fields=["name", "probability", "is_won", "is_lost"])
    return stage


def _renumber(stages: Sequence[Stage]) -> None:
    changed = []
    for index, stage in enumerate(stages):
        if stage.position != index:
            stage.position = index
            changed.append(stage)
    if changed:
        Stage.objects.bulk_update(changed, ["position"])


@transaction.atomic
def stage_reorder(*, pipeline: Pipeline, stage_ids: Sequence[int]) -> list[Stage]:
    """Put the pipeline's stages in the order of `stage_ids`, which must name each exactly once."""
    stages = {s.pk: s for s in Stage.objects.select_for_update().filter(pipeline=pipeline)}
    if sorted(stage_ids) != sorted(stages) or len(set(stage_ids)) != len(stage_ids):
        raise ValidationError(_("The new order must list every stage of the pipeline once."))
    ordered = [stages[pk] for pk in stage_ids]
    _renumber(ordered)
    return ordered


@transaction.atomic
def stage_shift(*, stage: Stage, offset: int) -> None:
    """Move a stage up (offset -1) or down (+1) one place; nothing at either end."""
    stages = list(
        Stage.objects.select_for_update()
        .filter(pipeline_id=stage.pipeline_id)
        .order_by("position", "id")
    )
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    target = index + offset
    if 0 <= target < len(stages):
        stages[index], stages[target] = stages[target], stages[index]
        _renumber(stages)


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    """Delete a stage nobody is in. Raises ValidationError for a stage with opportunities or
    the pipeline's last stage. Its history rows keep their dates and lose the stage."""
    if Opportunity.objects.filter(stage=stage).exists():
        raise ValidationError(_("Opportunities are in this stage; move them first."))
    if not Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk).exists():
        raise ValidationError(_("A pipeline needs at least one stage."))
    pipeline_id = stage.pipeline_id
    stage.delete()
    _renumber(list(Stage.objects.filter(pipeline_id=pipeline_id).order_by("position", "id")))


# --- Opportunities ----------------------------------------------------------------------------

OPPORTUNITY_FIELDS = (
    "name",
    "customer",
    "contact",
    "amount",
    "close_date",
    "probability",
    "forecast_category",
    "next_step",
    "owner",
    "source_campaign",
    "partner",
)


def _check_relations(*, customer: Customer, contact: Contact | None) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("This contact works for another customer.")})


def _closing_fields(opportunity: Opportunity, stage: Stage, now) -> None:
    """What reaching `stage` means for the close date fields and the forecast category."""
    if stage.is_closed:
        opportunity.closed_at = now
        opportunity.forecast_category = (
            ForecastCategory.CLOSED if stage.is_won else ForecastCategory.OMITTED
        )
    else:
        if opportunity.closed_at is not None:
            opportunity.forecast_category = ForecastCategory.PIPELINE
        opportunity.closed_at = None
        opportunity.lost_reason = ""


def _next_position(stage: Stage) -> int:
    last = Opportunity.objects.filter(stage=stage).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def opportunity_create(
    *,
    org: Organization,
    by: User | None,
    stage: Stage,
    data: dict[str, Any],
    lost_reason: str = "",
) -> Opportunity:
    """A new opportunity in `stage` (and so in its pipeline), at the end of its column.

    `data` holds OPPORTUNITY_FIELDS; a missing or None probability takes the stage's. Writes the
    first StageChange (from nowhere), so the history starts with the creation.
    """
    now = timezone.now()
    opportunity = Opportunity(organization=org, pipeline_id=stage.pipeline_id, stage=stage)
    for name in OPPORTUNITY_FIELDS:
        if name in data:
            setattr(opportunity, name, data[name])
    if data.get("probability") is None:
        opportunity.probability = stage.probability
    if stage.is_lost and not lost_reason.strip():
        raise ValidationError({"lost_reason": _("Say why the opportunity was lost.")})
    _check_relations(customer=opportunity.customer, contact=opportunity.contact)
    opportunity.created_at = opportunity.stage_entered_at = now
    _closing_fields(opportunity, stage, now)
    opportunity.lost_reason = lost_reason.strip() if stage.is_lost else ""
    opportunity.position = _next_position(stage)
    opportunity.save()
    StageChange.objects.create(
        organization=org, opportunity=opportunity, to_stage=stage, changed_by=by, changed_at=now
    )
    return opportunity


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, by: User | None, data: dict[str, Any]
) -> Opportunity:
    """Change the fields of OPPORTUNITY_FIELDS in `data` (the stage moves with
    opportunity_move_stage). A None probability takes the stage's."""
    for name in OPPORTUNITY_FIELDS:
        if name in data:
            setattr(opportunity, name, data[name])
    if data.get("probability", opportunity.probability) is None:
        opportunity.probability = opportunity.stage.probability
    _check_relations(customer=opportunity.customer, contact=opportunity.contact)
    opportunity.save(update_fields=[*[f for f in OPPORTUNITY_FIELDS if f in data], "updated_at"])
    return opportunity


@transaction.atomic
def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    stage: Stage,
    by: User | None,
    position: int | None = None,
    lost_reason: str = "",
) -> Opportunity:
    """Move an opportunity to `stage` of its own pipeline, at kanban `position` in that column.

    `position` is the sort value to take: the cards of the column at or after it shift down one.
    None puts the card at the end of the column (or leaves it where it is in the same stage).
    A stage change writes a StageChange, resets stage_entered_at, takes the stage's default
    probability, sets closed_at and the forecast category for won and lost stages (clears them
    when reopened), and on a win marks the competitors still open as beaten. A lost stage needs
    `lost_reason`. Raises ValidationError (another pipeline, no reason).
    """
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError(_("That stage belongs to another pipeline."))
    lost_reason = lost_reason.strip()
    changes_stage = stage.pk != opportunity.stage_id
    if changes_stage and stage.is_lost and not lost_reason:
        raise ValidationError({"lost_reason": _("Say why the opportunity was lost.")})
    fields = {"position", "updated_at"}
    if position is not None:
        position = max(int(position), 0)
        Opportunity.objects.filter(stage=stage, position__gte=position).exclude(
            pk=opportunity.pk
        ).update(position=F("position") + 1)
        opportunity.position = position
    elif changes_stage:
        opportunity.position = _next_position(stage)
    if changes_stage:
        now = timezone.now()
        previous = opportunity.stage
        opportunity.stage = stage
        opportunity.stage_entered_at = now
        opportunity.probability = stage.probability
        _closing_fields(opportunity, stage, now)
        if stage.is_lost:
            opportunity.lost_reason = lost_reason
        fields |= {
            "stage",
            "stage_entered_at",
            "probability",
            "closed_at",
            "forecast_category",
            "lost_reason",
        }
        StageChange.objects.create(
            organization_id=opportunity.organization_id,
            opportunity=opportunity,
            from_stage=previous,
            to_stage=stage,
            changed_by=by,
            changed_at=now,
        )
        if stage.is_won:
            OpportunityCompetitor.objects.filter(
                opportunity=opportunity, outcome=OpportunityCompetitor.Outcome.OPEN
            ).update(outcome=OpportunityCompetitor.Outcome.WON)
    elif stage.is_lost and lost_reason:
        opportunity.lost_reason = lost_reason
        fields.add("lost_reason")
    opportunity.save(update_fields=sorted(fields))
    return opportunity


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity) -> None:
    """Delete an opportunity with its history and competitor records (quotes, orders and tasks
    that point at it keep their rows: their links are cleared or cascade as the models say)."""
    opportunity.delete()


# --- Competitors on an opportunity ------------------------------------------------------------


@transaction.atomic
def opportunity_competitor_add(
    *,
    opportunity: Opportunity,
    competitor: Competitor,
    outcome: str = OpportunityCompetitor.Outcome.OPEN,
    notes: str = "",
) -> OpportunityCompetitor:
    """Record that we are up against `competitor`; adding one twice updates the first record."""
    row, _created = OpportunityCompetitor.objects.update_or_create(
        opportunity=opportunity,
        competitor=competitor,
        defaults={"outcome": outcome, "notes": notes},
        create_defaults={
            "organization_id": opportunity.organization_id,
            "outcome": outcome,
            "notes": notes,
        },
    )
    return row


@transaction.atomic
def opportunity_competitor_update(
    *, row: OpportunityCompetitor, outcome: str, notes: str
) -> OpportunityCompetitor:
    row.outcome, row.notes = outcome, notes
    row.save(update_fields=["outcome", "notes"])
    return row


@transaction.atomic
def opportunity_competitor_remove(*, row: OpportunityCompetitor) -> None:
    row.delete()


# --- Competitors and partners -----------------------------------------------------------------


def _unique_name(model, *, name: str, exclude_pk: int | None = None) -> None:
    clash = model.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": _("Another record already has this name.")})


@transaction.atomic
def competitor_save(
    *, org: Organization, data: dict[str, Any], competitor: Competitor | None = None
) -> Competitor:
    """Create (competitor None) or update a competitor from cleaned form data."""
    _unique_name(Competitor, name=data["name"], exclude_pk=competitor.pk if competitor else None)
    competitor = competitor or Competitor(organization=org)
    for name, value in data.items():
        setattr(competitor, name, value)
    competitor.save()
    return competitor


@transaction.atomic
def competitor_delete(*, competitor: Competitor) -> None:
    """Delete a competitor and the records of the opportunities it was up against."""
    competitor.delete()


@transaction.atomic
def partner_save(
    *, org: Organization, data: dict[str, Any], partner: Partner | None = None
) -> Partner:
    """Create (partner None) or update a partner from cleaned form data."""
    _unique_name(Partner, name=data["name"], exclude_pk=partner.pk if partner else None)
    partner = partner or Partner(organization=org)
    for name, value in data.items():
        setattr(partner, name, value)
    partner.save()
    return partner


@transaction.atomic
def partner_delete(*, partner: Partner) -> None:
    """Delete a partner; its opportunities stay, without a partner."""
    partner.delete()
