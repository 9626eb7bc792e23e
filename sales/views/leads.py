"""Lead pages: the list, entry and edits, the lead page (score, workflow, interactions), and
the conversion into a customer."""

from copy import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site.object_urls import object_url
from sales.forms.leads import NEW_CUSTOMER, LeadConvertForm, LeadForm, LeadInteractionForm
from sales.models import LeadRating, LeadSource, LeadStatus
from sales.selectors import leads as selectors
from sales.services import lead_conversion
from sales.services import leads as services
from tenancy.permissions import Capability, require_capability


def _lead_form(request, instance=None) -> LeadForm:
    members = selectors.member_choices(org=request.organization)
    return LeadForm(request.POST or None, instance=instance, members=members)


def _list_labels(request, leads) -> None:
    """What each row of the list shows, worked out once per request instead of per row: the
    lead's URL (`detail_url`, one reverse()) and the labels of its status, source and rating
    (`get_*_display` translates every label of the field at each call)."""
    detail = object_url("sales:lead-detail", org_slug=request.organization.slug)
    status, source, rating = (
        {value: str(label) for value, label in choices.choices}
        for choices in (LeadStatus, LeadSource, LeadRating)
    )
    for lead in leads:
        lead.detail_url = detail(lead.pk)
        lead.status_label = status.get(lead.status, lead.status)
        lead.source_label = source.get(lead.source, lead.source)
        lead.rating_label = rating.get(lead.rating, lead.rating)


@require_capability(Capability.WORK_SALES)
def lead_list(request, org_slug: str):
    result = selectors.lead_list_page(
        org=request.organization,
        user=request.user,
        params=request.GET,
        base_url=reverse("sales:lead-list", kwargs={"org_slug": org_slug}),
    )
    _list_labels(request, result.page.items)
    context = {"result": result, "page": result.page, "filterset": result.filterset}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/leads/partials/lead_list_results.html", context)
    return render(request, "sales/leads/lead_list.html", context)


@require_capability(Capability.WORK_SALES)
def lead_create(request, org_slug: str):
    form = _lead_form(request)
    if request.method == "POST" and form.is_valid():
        lead = services.lead_create(
            org=request.organization, by=request.user, data=form.cleaned_data
        )
        messages.success(request, _("%(name)s was added.") % {"name": lead.full_name})
        return redirect("sales:lead-detail", org_slug=org_slug, pk=lead.pk)
    status = 400 if form.errors else 200
    return render(request, "sales/leads/lead_form.html", {"form": form}, status=status)


@require_capability(Capability.WORK_SALES)
def lead_edit(request, org_slug: str, pk: int):
    lead = selectors.lead_get(org=request.organization, pk=pk)
    form = _lead_form(request, instance=copy(lead))  # the service compares with the original
    if request.method == "POST" and form.is_valid():
        services.lead_update(lead=lead, by=request.user, data=form.cleaned_data)
        messages.success(request, _("Changes saved."))
        return redirect("sales:lead-detail", org_slug=org_slug, pk=lead.pk)
    context = {"form": form, "lead": lead}
    return render(
        request, "sales/leads/lead_form.html", context, status=400 if form.errors else 200
    )


def _detail_context(lead, interaction_form=None) -> dict:
    return {
        "lead": lead,
        "interactions": selectors.lead_interaction_list(lead=lead),
        "interaction_form": interaction_form or LeadInteractionForm(),
        "next_statuses": [LeadStatus(s) for s in services.allowed_statuses(lead)],
        "conversion_refusal": lead_conversion.conversion_refusal(lead),
    }


@require_capability(Capability.WORK_SALES)
def lead_detail(request, org_slug: str, pk: int):
    lead = selectors.lead_get(org=request.organization, pk=pk)
    return render(request, "sales/leads/lead_detail.html", _detail_context(lead))


@require_POST
@require_capability(Capability.WORK_SALES)
def lead_status(request, org_slug: str, pk: int):
    lead = selectors.lead_get(org=request.organization, pk=pk)
    try:
        services.lead_set_status(lead=lead, status=request.POST.get("status", ""), by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request, _("Marked as %(status)s.") % {"status": lead.get_status_display().lower()}
        )
    return redirect("sales:lead-detail", org_slug=org_slug, pk=lead.pk)


@require_POST
@require_capability(Capability.WORK_SALES)
def lead_interaction_create(request, org_slug: str, pk: int):
    lead = selectors.lead_get(org=request.organization, pk=pk)
    form = LeadInteractionForm(request.POST)
    logged = False
    if form.is_valid():
        try:
            services.lead_interaction_log(lead=lead, by=request.user, data=form.cleaned_data)
            logged = True
        except ValidationError as error:
            form.add_error(None, error)
    if logged and not request.htmx:
        messages.success(request, _("Interaction logged."))
        return redirect("sales:lead-detail", org_slug=org_slug, pk=lead.pk)
    context = _detail_context(lead, None if logged else form)
    if request.htmx:  # the activity column, and the score card out of band
        status = 200 if logged else 422
        return render(request, "sales/leads/partials/lead_activity.html", context, status=status)
    return render(request, "sales/leads/lead_detail.html", context, status=400)


@require_capability(Capability.WORK_SALES)
def lead_convert(request, org_slug: str, pk: int):
    lead = selectors.lead_get(org=request.organization, pk=pk)
    refusal = lead_conversion.conversion_refusal(lead)
    if refusal and request.method == "POST":
        messages.error(request, refusal)
        return redirect("sales:lead-detail", org_slug=org_slug, pk=lead.pk)
    candidates = (
        [] if refusal else selectors.lead_duplicate_candidates(org=request.organization, lead=lead)
    )
    form = LeadConvertForm(
        request.POST or None, candidates=candidates, initial=_convert_initial(lead, candidates)
    )
    if request.method == "POST" and form.is_valid():
        customer, contact = form.chosen()
        try:
            customer = lead_conversion.lead_convert(
                lead=lead,
                by=request.user,
                customer=customer,
                contact=contact,
                opportunity=form.opportunity(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s was converted.") % {"name": lead.full_name})
            return redirect(customer.get_absolute_url())
    context = {"lead": lead, "form": form, "candidates": candidates, "refusal": refusal}
    return render(
        request, "sales/leads/lead_convert.html", context, status=400 if form.errors else 200
    )


def _convert_initial(lead, candidates) -> dict:
    strong = next((c for c in candidates if c.strong), None)
    return {
        "target": f"customer:{strong.customer.pk}" if strong else NEW_CUSTOMER,
        "opportunity_name": lead.company or lead.full_name,
        "close_date": lead_conversion.default_close_date(),
    }
