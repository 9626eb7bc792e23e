"""Factories for activities tests: tasks and notifications, and the few sales rows they point at
(pipeline, stage, opportunity, lead) kept minimal here so these tests stand on their own."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from tests.factories import CustomerFactory, OrganizationFactory, TenantFactory, UserFactory


class PipelineFactory(TenantFactory):
    class Meta:
        model = "sales.Pipeline"

    organization = factory.SubFactory(OrganizationFactory)
    name = "Sales"
    is_default = True


class StageFactory(TenantFactory):
    class Meta:
        model = "sales.Stage"

    organization = factory.SubFactory(OrganizationFactory)
    pipeline = factory.SubFactory(
        PipelineFactory, organization=factory.SelfAttribute("..organization")
    )
    name = "Proposal"
    probability = 60


class OpportunityFactory(TenantFactory):
    class Meta:
        model = "sales.Opportunity"

    organization = factory.SubFactory(OrganizationFactory)
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..organization")
    )
    stage = factory.SubFactory(StageFactory, organization=factory.SelfAttribute("..organization"))
    pipeline = factory.SelfAttribute("stage.pipeline")
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("10000")
    probability = 60
    close_date = factory.LazyFunction(lambda: date.today() + timedelta(days=10))


class LeadFactory(TenantFactory):
    class Meta:
        model = "sales.Lead"

    organization = factory.SubFactory(OrganizationFactory)
    first_name = "Lena"
    last_name = factory.Sequence(lambda n: f"Lead{n}")
    company = "Lead Co"


class TaskFactory(TenantFactory):
    class Meta:
        model = "sales.Task"

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


class NotificationFactory(TenantFactory):
    class Meta:
        model = "tenancy.Notification"

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Notification {n}")
