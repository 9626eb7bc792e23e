"""Competitors and partners, and who an opportunity is up against."""

from copy import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sales.forms.opportunities import (
    CompetitorForm,
    OpportunityCompetitorForm,
    OutcomeForm,
    PartnerForm,
)
from sales.selectors import opportunities as selectors
from sales.services import opportunities as services
from tenancy.permissions import Capability, require_capability


def _url(request, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def _first_error(form) -> str:
    errors = [*form.non_field_errors(), *[e for errs in form.errors.values() for e in errs]]
    return str(errors[0]) if errors else _("Please check the form.")


# --- Competitors ------------------------------------------------------------------------------


@require_capability(Capability.WORK_SALES)
def competitor_list(request, org_slug: str):
    competitors = selectors.competitor_list(org=request.organization)
    return render(
        request, "sales/opportunities/competitors/list.html", {"competitors": competitors}
    )


@require_capability(Capability.WORK_SALES)
def competitor_detail(request, org_slug: str, pk: int):
    competitor = selectors.competitor_get(org=request.organization, pk=pk)
    encounters = selectors.competitor_encounters(competitor=competitor)
    context = {"competitor": competitor, "encounters": encounters}
    return render(request, "sales/opportunities/competitors/detail.html", context)


def _competitor_form(request, competitor=None):
    form = CompetitorForm(request.POST or None, instance=copy(competitor))
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in CompetitorForm.Meta.fields}
        try:
            saved = services.competitor_save(
                org=request.organization, data=data, competitor=competitor
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": saved.name})
            return redirect(_url(request, "competitor-detail", pk=saved.pk))
    context = {"form": form, "competitor": competitor}
    status = 400 if form.errors else 200
    return render(request, "sales/opportunities/competitors/form.html", context, status=status)


@require_capability(Capability.WORK_SALES)
def competitor_create(request, org_slug: str):
    return _competitor_form(request)


@require_capability(Capability.WORK_SALES)
def competitor_edit(request, org_slug: str, pk: int):
    return _competitor_form(request, selectors.competitor_get(org=request.organization, pk=pk))


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def competitor_delete(request, org_slug: str, pk: int):
    competitor = selectors.competitor_get(org=request.organization, pk=pk)
    services.competitor_delete(competitor=competitor)
    messages.success(request, _("%(name)s was deleted.") % {"name": competitor.name})
    return redirect(_url(request, "competitor-list"))


# --- On an opportunity ------------------------------------------------------------------------


@require_POST
@require_capability(Capability.WORK_SALES)
def opportunity_competitor_add(request, org_slug: str, pk: int):
    opportunity = selectors.opportunity_get(org=request.organization, pk=pk)
    form = OpportunityCompetitorForm(request.POST)
    if form.is_valid():
        services.opportunity_competitor_add(opportunity=opportunity, **form.cleaned_data)
        messages.success(request, _("Competitor added."))
    else:
        messages.error(request, _first_error(form))
    return redirect(opportunity.get_absolute_url() + "#competitors")


@require_POST
@require_capability(Capability.WORK_SALES)
def opportunity_competitor_edit(request, org_slug: str, pk: int):
    row = selectors.opportunity_competitor_get(org=request.organization, pk=pk)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        services.opportunity_competitor_update(row=row, **form.cleaned_data)
        messages.success(request, _("Outcome saved."))
    else:
        messages.error(request, _first_error(form))
    return redirect(row.opportunity.get_absolute_url() + "#competitors")


@require_POST
@require_capability(Capability.WORK_SALES)
def opportunity_competitor_remove(request, org_slug: str, pk: int):
    row = selectors.opportunity_competitor_get(org=request.organization, pk=pk)
    services.opportunity_competitor_remove(row=row)
    messages.success(request, _("Competitor removed."))
    return redirect(row.opportunity.get_absolute_url() + "#competitors")


# --- Partners ---------------------------------------------------------------------------------


@require_capability(Capability.WORK_SALES)
def partner_list(request, org_slug: str):
    partners = selectors.partner_list(org=request.organization)
    return render(request, "sales/opportunities/partners/list.html", {"partners": partners})


@require_capability(Capability.WORK_SALES)
def partner_detail(request, org_slug: str, pk: int):
    partner = selectors.partner_get(org=request.organization, pk=pk)
    result = selectors.opportunity_list_page(
        org=request.organization,
        filters={"partner": partner},
        params=request.GET,
        base_url=_url(request, "partner-detail", pk=partner.pk),
        hx_target="#opportunity-results",
    )
    context = {
        "partner": partner,
        "totals": selectors.partner_totals(partner=partner),
        "page": result.page,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunities/partials/list_results.html", context)
    return render(request, "sales/opportunities/partners/detail.html", context)


def _partner_form(request, partner=None):
    form = PartnerForm(request.POST or None, instance=copy(partner))
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in PartnerForm.Meta.fields}
        try:
            saved = services.partner_save(org=request.organization, data=data, partner=partner)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": saved.name})
            return redirect(_url(request, "partner-detail", pk=saved.pk))
    context = {"form": form, "partner": partner}
    status = 400 if form.errors else 200
    return render(request, "sales/opportunities/partners/form.html", context, status=status)


@require_capability(Capability.WORK_SALES)
def partner_create(request, org_slug: str):
    return _partner_form(request)


@require_capability(Capability.WORK_SALES)
def partner_edit(request, org_slug: str, pk: int):
    return _partner_form(request, selectors.partner_get(org=request.organization, pk=pk))


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def partner_delete(request, org_slug: str, pk: int):
    partner = selectors.partner_get(org=request.organization, pk=pk)
    services.partner_delete(partner=partner)
    messages.success(request, _("%(name)s was deleted.") % {"name": partner.name})
    return redirect(_url(request, "partner-list"))
