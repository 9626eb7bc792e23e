"""What leads add to other apps: the "My open leads" home panel, leads in the global search,
the conversion on the customer timeline, and converted leads following their customer through
a merge."""

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_site.search import SearchHit, register_provider
from customers.merge import register_related
from customers.timeline import TimelineEntry, fetch_page, register_source
from sales.models import Lead
from tenancy.home import HomePanel, register_home_panel
from tenancy.models import Organization
from tenancy.permissions import Capability, role_can

HOME_LEADS_SHOWN = 8

register_related("sales_converted_leads", Lead, field="converted_customer")


@register_home_panel
def my_open_leads(request) -> HomePanel | None:
    if not role_can(request.membership.role, Capability.WORK_SALES):
        return None
    from sales.selectors.leads import lead_list_open_for_owner

    leads = lead_list_open_for_owner(
        org=request.organization, user=request.user, limit=HOME_LEADS_SHOWN
    )
    return HomePanel(
        title=_("My open leads"),
        template="sales/leads/partials/home_my_leads.html",
        context={"leads": leads},
        order=12,
    )


def _leads_url(org: Organization, query: str) -> str:
    url = reverse("sales:lead-list", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode({'q': query})}"


@register_provider(
    "lead",
    gettext_lazy("Leads"),
    order=30,
    capability=Capability.WORK_SALES,
    see_all=_leads_url,
)
def search_leads(org: Organization, query: str, limit: int) -> list[SearchHit]:
    from sales.selectors.leads import lead_search

    label = str(_("Lead"))
    return [
        SearchHit(
            kind="lead",
            label=label,
            url=reverse("sales:lead-detail", kwargs={"org_slug": org.slug, "pk": lead.pk}),
            title=lead.full_name,
            subtitle=" · ".join(
                part for part in (lead.company, lead.email, lead.get_status_display()) if part
            ),
            score=float(lead.search_score),
        )
        for lead in lead_search(org=org, query=query, limit=limit)
    ]


@register_source("lead", gettext_lazy("Leads"))
def _converted_leads(*, customer, before, limit: int) -> list[TimelineEntry]:
    """The lead(s) this customer was converted from, at the moment of conversion. No link:
    every role sees the timeline, only sales roles the lead."""
    rows = fetch_page(
        Lead.objects.filter(converted_customer=customer, converted_at__isnull=False).select_related(
            "owner"
        ),
        field_name="converted_at",
        kind="lead",
        before=before,
        limit=limit,
    )
    return [
        TimelineEntry(
            when=lead.converted_at,
            kind="lead",
            pk=lead.pk,
            title=_("Converted from lead %(name)s") % {"name": lead.full_name},
            detail=" · ".join(
                part
                for part in (
                    lead.get_source_display() if lead.source else "",
                    lead.campaign_name,
                )
                if part
            ),
            badge=str(_("Lead")),
            badge_tone="success",
            actor=str(lead.owner or ""),
        )
        for lead in rows
    ]
