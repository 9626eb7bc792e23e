"""URL registry entries of the opportunities area (see tests/url_objects.py)."""

from tenancy.models import Organization
from tests.sales.factories_opportunities import (
    CompetitorFactory,
    OpportunityCompetitorFactory,
    OpportunityFactory,
    PartnerFactory,
    StageFactory,
    default_pipeline,
)
from tests.url_objects import url_objects


@url_objects(
    "sales:opportunity-detail",
    "sales:opportunity-edit",
    "sales:opportunity-move",
    "sales:opportunity-delete",
    "sales:opportunity-competitor-add",
)
def _an_opportunity(org: Organization) -> dict:
    _pipeline, stages = default_pipeline(org)
    opportunity = OpportunityFactory(stage=stages[1])
    OpportunityCompetitorFactory(opportunity=opportunity)
    return {"pk": opportunity.pk}


@url_objects("sales:opportunity-competitor-edit", "sales:opportunity-competitor-remove")
def _an_opportunity_competitor(org: Organization) -> dict:
    _pipeline, stages = default_pipeline(org)
    return {"pk": OpportunityCompetitorFactory(opportunity=OpportunityFactory(stage=stages[0])).pk}


@url_objects(
    "sales:pipeline-edit",
    "sales:pipeline-delete",
    "sales:stage-create",
    "sales:stage-reorder",
)
def _a_pipeline(org: Organization) -> dict:
    pipeline, _stages = default_pipeline(org)
    return {"pk": pipeline.pk}


@url_objects(
    "sales:stage-edit", "sales:stage-shift", "sales:stage-delete", "sales:opportunity-board-column"
)
def _a_stage(org: Organization) -> dict:
    pipeline, _stages = default_pipeline(org)
    return {"pk": StageFactory(pipeline=pipeline, position=20).pk}


@url_objects("sales:competitor-detail", "sales:competitor-edit", "sales:competitor-delete")
def _a_competitor(org: Organization) -> dict:
    return {"pk": CompetitorFactory(organization=org).pk}


@url_objects("sales:partner-detail", "sales:partner-edit", "sales:partner-delete")
def _a_partner(org: Organization) -> dict:
    partner = PartnerFactory(organization=org)
    _pipeline, stages = default_pipeline(org)
    OpportunityFactory(stage=stages[0], partner=partner)
    return {"pk": partner.pk}
