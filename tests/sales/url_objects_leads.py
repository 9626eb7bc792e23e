"""URL registry entries of the leads area (see tests/url_objects.py)."""

from sales.models import LeadStatus
from tenancy.models import Organization
from tests.sales.factories_leads import (
    AssignmentRuleFactory,
    LeadFactory,
    LeadInteractionFactory,
    LeadScoreRuleFactory,
    WebFormFactory,
)
from tests.url_objects import url_objects


@url_objects(
    "sales:lead-detail",
    "sales:lead-edit",
    "sales:lead-status",
    "sales:lead-interaction-create",
)
def _a_lead(org: Organization) -> dict:
    lead = LeadFactory(organization=org, industry="Software", notes="Met at the fair")
    LeadInteractionFactory(lead=lead)
    return {"pk": lead.pk}


@url_objects("sales:lead-convert")
def _a_qualified_lead(org: Organization) -> dict:
    lead = LeadFactory(organization=org, status=LeadStatus.QUALIFIED)
    LeadInteractionFactory(lead=lead)
    return {"pk": lead.pk}


@url_objects("sales:assignment-rule-edit", "sales:assignment-rule-delete")
def _an_assignment_rule(org: Organization) -> dict:
    return {"pk": AssignmentRuleFactory(organization=org).pk}


@url_objects("sales:score-rule-edit", "sales:score-rule-delete")
def _a_score_rule(org: Organization) -> dict:
    return {"pk": LeadScoreRuleFactory(organization=org).pk}


@url_objects("sales:web-form-edit", "sales:web-form-delete")
def _a_web_form(org: Organization) -> dict:
    return {"pk": WebFormFactory(organization=org).pk}
