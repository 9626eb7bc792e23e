"""URL registry entries of activities (tasks) and of the notifications it brought to tenancy."""

from tenancy.models import Organization
from tenancy.permissions import Role
from tests.factories import CustomerFactory, MembershipFactory
from tests.sales.factories_activities import (
    LeadFactory,
    NotificationFactory,
    OpportunityFactory,
    TaskFactory,
)
from tests.url_objects import url_objects


@url_objects("sales:task-detail", "sales:task-edit", "sales:task-delete", "sales:task-toggle")
def _a_task(org: Organization) -> dict:
    # About a customer, a deal and a lead, assigned to a member: every part of the page renders.
    assignee = MembershipFactory(organization=org, role=Role.SALES).user
    customer = CustomerFactory(organization=org)
    task = TaskFactory(
        organization=org,
        assignee=assignee,
        customer=customer,
        opportunity=OpportunityFactory(organization=org, customer=customer),
        lead=LeadFactory(organization=org),
        description="Bring the contract.",
    )
    return {"pk": task.pk}


@url_objects("tenancy:notification-read")
def _a_notification(org: Organization) -> dict:
    user = MembershipFactory(organization=org, role=Role.SALES).user
    return {"pk": NotificationFactory(organization=org, user=user, link="/").pk}
