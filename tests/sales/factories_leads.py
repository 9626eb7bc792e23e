"""Factories of the leads area: leads and their interactions, web forms, assignment and score
rules. Each creates its row inside its organization's tenant context (TenantFactory)."""

import factory

from sales.models import (
    AssignmentRule,
    Lead,
    LeadInteraction,
    LeadScoreRule,
    LeadStatus,
    WebForm,
)
from tests.factories import OrganizationFactory, TenantFactory


class LeadFactory(TenantFactory):
    class Meta:
        model = Lead

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"Lena{n}")
    last_name = factory.Sequence(lambda n: f"Lead{n}")
    company = factory.Sequence(lambda n: f"Prospect {n} Ltd")
    email = factory.Sequence(lambda n: f"lead{n}@prospect.example")
    status = LeadStatus.NEW


class LeadInteractionFactory(TenantFactory):
    class Meta:
        model = LeadInteraction

    lead = factory.SubFactory(LeadFactory)
    organization = factory.SelfAttribute("lead.organization")
    channel = "email"
    direction = "inbound"
    subject = factory.Sequence(lambda n: f"Lead touch {n}")


class WebFormFactory(TenantFactory):
    class Meta:
        model = WebForm

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Contact form {n}")
    fields = factory.LazyFunction(lambda: ["first_name", "last_name", "email", "company", "notes"])
    campaign_name = "Spring launch"
    thank_you_message = "Thanks, we will call you."


class AssignmentRuleFactory(TenantFactory):
    class Meta:
        model = AssignmentRule

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    assignees = factory.LazyFunction(list)


class LeadScoreRuleFactory(TenantFactory):
    class Meta:
        model = LeadScoreRule

    organization = factory.SubFactory(OrganizationFactory)
    kind = LeadScoreRule.Kind.FIT
    label = factory.Sequence(lambda n: f"Reason {n}")
    field = "industry"
    operator = LeadScoreRule.Operator.EQUALS
    value = "Software"
    points = 10
