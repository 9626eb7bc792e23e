"""What the opportunities area adds to other apps: home panels (my pipeline, the quarter's
forecast), the customer 360 timeline, customer merges and global search."""

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Case, F, FloatField, Q, Value, When
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_site.search import SearchHit, register_provider
from crm_site.text_lookups import IContains
from customers.merge import register_related
from customers.timeline import Cursor, TimelineEntry, fetch_page, register_source
from sales.models import Opportunity
from tenancy.context import current_org
from tenancy.home import HomePanel, register_home_panel
from tenancy.models import Organization
from tenancy.permissions import Capability, role_can

# --- Home panels ------------------------------------------------------------------------------


@register_home_panel
def my_pipeline(request) -> HomePanel | None:
    if not role_can(request.membership.role, Capability.WORK_SALES):
        return None
    from sales.selectors.forecast import my_pipeline as read

    return HomePanel(
        title=_("My pipeline"),
        template="sales/opportunities/partials/home_my_pipeline.html",
        context=read(org=request.organization, user=request.user),
        order=12,
    )


@register_home_panel
def quarter_forecast(request) -> HomePanel | None:
    role = request.membership.role
    if not (role_can(role, Capability.VIEW_DASHBOARDS) and role_can(role, Capability.WORK_SALES)):
        return None
    from sales.selectors.forecast import quarter_summary

    return HomePanel(
        title=_("Sales forecast"),
        template="sales/opportunities/partials/home_forecast.html",
        context=quarter_summary(org=request.organization),
        order=8,
    )


# --- Customer 360 timeline --------------------------------------------------------------------


def _tone(opportunity: Opportunity) -> str:
    if opportunity.stage.is_won:
        return "success"
    return "danger" if opportunity.stage.is_lost else "primary"


@register_source("opportunity", gettext_lazy("Opportunities"))
def _opportunities(*, customer, before: Cursor | None, limit: int) -> list[TimelineEntry]:
    org = current_org()
    currency = org.currency if org is not None else ""
    rows = fetch_page(
        Opportunity.objects.filter(customer=customer).select_related("stage", "owner"),
        field_name="created_at",
        kind="opportunity",
        before=before,
        limit=limit,
    )
    slug = org.slug if org is not None else ""
    return [
        TimelineEntry(
            when=row.created_at,
            kind="opportunity",
            pk=row.pk,
            title=row.name,
            detail=_("%(amount)s %(currency)s, expected to close on %(date)s")
            % {
                "amount": intcomma(floatformat(row.amount, 0)),
                "currency": currency,
                "date": row.close_date.isoformat(),
            },
            url=reverse("sales:opportunity-detail", kwargs={"org_slug": slug, "pk": row.pk}),
            badge=row.stage.name,
            badge_tone=_tone(row),
            actor=str(row.owner or ""),
        )
        for row in rows
    ]


# --- Customer merges: the merged customer's opportunities go to the survivor -------------------

register_related("opportunities", Opportunity)


# --- Global search ----------------------------------------------------------------------------


def _list_url(org: Organization, query: str) -> str:
    url = reverse("sales:opportunity-list", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode({'q': query, 'status': 'all'})}"


def opportunity_search(*, org: Organization, query: str, limit: int) -> list[Opportunity]:
    """The `limit` opportunities whose name contains the text, those starting with it first.
    One query (a scan of the organization's opportunities on PostgreSQL under RLS, which are
    far fewer than its customers)."""
    return list(
        Opportunity.objects.filter(IContains(F("name"), query))
        .select_related("customer", "stage")
        .only(
            "id",
            "organization_id",
            "name",
            "amount",
            "close_date",
            "customer__id",
            "customer__organization_id",
            "customer__name",
            "stage__id",
            "stage__organization_id",
            "stage__name",
            "stage__is_won",
            "stage__is_lost",
        )
        .annotate(
            search_score=Case(
                When(Q(name__istartswith=query), then=Value(2.0)),
                default=Value(1.0),
                output_field=FloatField(),
            )
        )
        .order_by("-search_score", "name", "id")[:limit]
    )


@register_provider(
    "opportunity",
    gettext_lazy("Opportunities"),
    order=40,
    capability=Capability.WORK_SALES,
    see_all=_list_url,
)
def search_opportunities(org: Organization, query: str, limit: int) -> list[SearchHit]:
    label = str(_("Opportunity"))
    return [
        SearchHit(
            kind="opportunity",
            label=label,
            url=reverse("sales:opportunity-detail", kwargs={"org_slug": org.slug, "pk": o.pk}),
            title=o.name,
            subtitle=" · ".join(
                (
                    o.customer.name,
                    o.stage.name,
                    f"{intcomma(floatformat(o.amount, 0))} {org.currency}",
                )
            ),
            score=float(o.search_score),
        )
        for o in opportunity_search(org=org, query=query, limit=limit)
    ]
