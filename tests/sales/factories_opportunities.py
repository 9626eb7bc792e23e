"""Factories of the opportunities tests: pipelines with stages, opportunities with their history,
competitors and partners."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from tenancy.context import tenant_context
from tests.factories import CustomerFactory, OrganizationFactory, TenantFactory


class PipelineFactory(TenantFactory):
    class Meta:
        model = "sales.Pipeline"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Pipeline {n}")
    is_default = True


class StageFactory(TenantFactory):
    class Meta:
        model = "sales.Stage"

    pipeline = factory.SubFactory(PipelineFactory)
    organization = factory.SelfAttribute("pipeline.organization")
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)
    probability = 20


class OpportunityFactory(TenantFactory):
    class Meta:
        model = "sales.Opportunity"

    stage = factory.SubFactory(StageFactory)
    organization = factory.SelfAttribute("stage.organization")
    pipeline = factory.SelfAttribute("stage.pipeline")
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..organization")
    )
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("1000.00")
    probability = factory.SelfAttribute("stage.probability")
    close_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=20))
    position = factory.Sequence(lambda n: n)


class CompetitorFactory(TenantFactory):
    class Meta:
        model = "sales.Competitor"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rival {n}")
    strengths = "Cheap"
    weaknesses = "Slow support"


class PartnerFactory(TenantFactory):
    class Meta:
        model = "sales.Partner"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")


class OpportunityCompetitorFactory(TenantFactory):
    class Meta:
        model = "sales.OpportunityCompetitor"

    opportunity = factory.SubFactory(OpportunityFactory)
    organization = factory.SelfAttribute("opportunity.organization")
    competitor = factory.SubFactory(
        CompetitorFactory, organization=factory.SelfAttribute("..organization")
    )


def default_pipeline(org):
    """The organization's default pipeline with the standard stages (the service's)."""
    from sales.services.opportunities import pipeline_ensure_default

    with tenant_context(org):
        pipeline = pipeline_ensure_default(org)
        stages = list(pipeline.stages.order_by("position"))
    return pipeline, stages
