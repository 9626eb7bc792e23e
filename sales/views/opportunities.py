"""Opportunities: the kanban board and its moves, the list, the detail page, create and edit,
and the customer and contact pickers of the form."""

from copy import copy
from datetime import timedelta

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm_site.object_urls import object_url
from sales.forms.opportunities import MoveForm, OpportunityFilterForm, OpportunityForm
from sales.models import Opportunity, OpportunityCompetitor, Stage
from sales.selectors import opportunities as selectors
from sales.services import opportunities as services
from tenancy.permissions import Capability, require_capability


def _org_url(request, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def _pipelines(request):
    pipelines = selectors.pipeline_list(org=request.organization)
    return pipelines or [services.pipeline_ensure_default(request.organization)]


def _filter_form(request, data, *, board: bool) -> OpportunityFilterForm:
    members = selectors.member_choices(org=request.organization)
    return OpportunityFilterForm(data or None, members=members, board=board)


def _board_query(request) -> str:
    """The board's filters as a query string, for the links of its columns."""
    fields = OpportunityFilterForm.BOARD_FIELDS
    return urlencode({name: request.GET[name] for name in fields if request.GET.get(name)})


def _card_links(request, cards) -> None:
    """Each card's page and move URLs (`detail_url`, `move_url`), reversed once per request."""
    org_slug = request.organization.slug
    detail = object_url("sales:opportunity-detail", org_slug=org_slug)
    move = object_url("sales:opportunity-move", org_slug=org_slug)
    for card in cards:
        card.detail_url, card.move_url = detail(card.pk), move(card.pk)


@require_capability(Capability.WORK_SALES)
def opportunity_board(request, org_slug: str):
    pipelines = _pipelines(request)
    pipeline = selectors.pipeline_pick(pipelines=pipelines, wanted=request.GET.get("pipeline"))
    form = _filter_form(request, request.GET, board=True)
    board = selectors.board(pipeline=pipeline, filters=form.values)
    _card_links(request, [card for column in board.columns for card in column.cards])
    context = {
        "board": board,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "form": form,
        "board_query": _board_query(request),
        "today": timezone.localdate(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunities/partials/board_columns.html", context)
    return render(request, "sales/opportunities/board.html", context)


@require_GET
@require_capability(Capability.WORK_SALES)
def opportunity_board_column(request, org_slug: str, pk: int):
    """The next cards of one column of the board ("Show more"), after `?after=` (a card
    cursor), with the board's filters. Without htmx: the list of that stage."""
    stage = selectors.stage_get(org=request.organization, pk=pk)
    query = _board_query(request)
    if not request.htmx:
        status = "" if stage.is_closed else "&status=open"
        list_url = _org_url(request, "opportunity-list")
        return redirect(f"{list_url}?stage={stage.pk}{status}{'&' + query if query else ''}")
    form = _filter_form(request, request.GET, board=True)
    page = selectors.column_cards(
        stage=stage,
        filters=form.values,
        after=selectors.parse_card_cursor(request.GET.get("after")),
    )
    _card_links(request, page.cards)
    context = {"column": page, "board_query": query, "today": timezone.localdate()}
    return render(request, "sales/opportunities/partials/board_column_cards.html", context)


@require_capability(Capability.WORK_SALES)
def opportunity_list(request, org_slug: str):
    form = _filter_form(request, request.GET, board=False)
    result = selectors.opportunity_list_page(
        org=request.organization,
        filters=form.values,
        params=request.GET,
        base_url=_org_url(request, "opportunity-list"),
    )
    detail = object_url("sales:opportunity-detail", org_slug=org_slug)
    for opportunity in result.page.items:
        opportunity.detail_url = detail(opportunity.pk)
    context = {"form": form, "page": result.page, "sort": result.sort}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunities/partials/list_results.html", context)
    return render(request, "sales/opportunities/list.html", context)


def _stage_choices(request, opportunity: Opportunity | None):
    if opportunity is not None:
        return Stage.objects.filter(pipeline_id=opportunity.pipeline_id).order_by("position")
    _pipelines(request)  # a first opportunity needs a pipeline to go in
    return Stage.objects.select_related("pipeline").order_by(
        "-pipeline__is_default", "pipeline__name", "pipeline_id", "position"
    )


def _form(request, opportunity: Opportunity | None = None, initial=None) -> OpportunityForm:
    return OpportunityForm(
        request.POST or None,
        instance=copy(opportunity) if opportunity else None,
        initial=initial,
        members=selectors.member_choices(org=request.organization),
        stages=_stage_choices(request, opportunity),
        contact_options_url=_org_url(request, "opportunity-contact-options"),
    )


def _create_initial(request) -> dict:
    stage = (
        Stage.objects.filter(pipeline__is_default=True, is_won=False, is_lost=False)
        .order_by("position")
        .first()
    )
    initial = {
        "owner": request.user.pk,
        "stage": stage.pk if stage else None,
        "close_date": timezone.localdate() + timedelta(days=30),
    }
    customer = request.GET.get("customer", "")
    if customer.isascii() and customer.isdigit() and len(customer) < 19:
        initial["customer"] = int(customer)
    return initial


@require_capability(Capability.WORK_SALES)
def opportunity_create(request, org_slug: str):
    initial = _create_initial(request) if request.method == "GET" else None
    form = _form(request, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(
                org=request.organization,
                by=request.user,
                stage=form.cleaned_data["stage"],
                data=form.service_data(),
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": opportunity.name})
            return redirect(opportunity.get_absolute_url())
    status = 400 if form.errors else 200
    return render(request, "sales/opportunities/form.html", {"form": form}, status=status)


@require_capability(Capability.WORK_SALES)
def opportunity_edit(request, org_slug: str, pk: int):
    opportunity = selectors.opportunity_get(org=request.organization, pk=pk)
    form = _form(request, opportunity)
    if request.method == "GET":
        form.initial["stage"] = opportunity.stage_id
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.opportunity_move_stage(
                    opportunity=opportunity,
                    stage=form.cleaned_data["stage"],
                    by=request.user,
                    lost_reason=form.cleaned_data["lost_reason"],
                )
                services.opportunity_update(
                    opportunity=opportunity, by=request.user, data=form.service_data()
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(opportunity.get_absolute_url())
    context = {"form": form, "opportunity": opportunity}
    return render(
        request, "sales/opportunities/form.html", context, status=400 if form.errors else 200
    )


@require_capability(Capability.WORK_SALES)
def opportunity_detail(request, org_slug: str, pk: int):
    opportunity = selectors.opportunity_get(org=request.organization, pk=pk)
    context = {
        "opportunity": opportunity,
        "stages": selectors.stage_list(pipeline=opportunity.pipeline),
        "history": selectors.stage_history(opportunity=opportunity),
        "competitors": selectors.opportunity_competitor_list(opportunity=opportunity),
        "competitor_choices": selectors.competitor_choices(org=request.organization),
        "outcome_choices": OpportunityCompetitor.Outcome.choices,
    }
    return render(request, "sales/opportunities/detail.html", context)


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def opportunity_delete(request, org_slug: str, pk: int):
    opportunity = selectors.opportunity_get(org=request.organization, pk=pk)
    services.opportunity_delete(opportunity=opportunity)
    messages.success(request, _("%(name)s was deleted.") % {"name": opportunity.name})
    return redirect(_org_url(request, "opportunity-board"))


# --- Moving on the board ----------------------------------------------------------------------


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _move_refused(request, opportunity: Opportunity, message: str, *, field: str = ""):
    if _wants_json(request):
        return JsonResponse({"ok": False, "error": message, "field": field}, status=400)
    messages.error(request, message)
    return redirect(opportunity.get_absolute_url())


def _drop_position(stage: Stage, before: int | None, after: int | None) -> int | None:
    """The position a card dropped between two cards takes; None (the column's end) when the
    neighbours are no longer in that column."""
    column = Opportunity.objects.filter(stage=stage)
    if (
        before
        and (value := column.filter(pk=before).values_list("position", flat=True).first())
        is not None
    ):
        return value
    if (
        after
        and (value := column.filter(pk=after).values_list("position", flat=True).first())
        is not None
    ):
        return value + 1
    return None


def _money(value) -> str:
    return intcomma(floatformat(value, 0))


def _totals_json(request, pipeline) -> dict:
    form = _filter_form(request, QueryDict(request.POST.get("filters", "")), board=True)
    board = selectors.board_totals(pipeline=pipeline, filters=form.values)
    return {
        "columns": {
            str(column.stage.pk): {
                "count": column.count,
                "amount": _money(column.amount),
                "weighted": _money(column.weighted),
            }
            for column in board.columns
        },
        "summary": render_to_string(
            "sales/opportunities/partials/board_summary.html", {"board": board}, request=request
        ),
    }


@require_POST
@require_capability(Capability.WORK_SALES)
def opportunity_move(request, org_slug: str, pk: int):
    opportunity = selectors.opportunity_get(org=request.organization, pk=pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _move_refused(request, opportunity, _("Choose a stage to move to."))
    data = form.cleaned_data
    stage = selectors.stage_get(org=request.organization, pk=data["stage"])
    try:
        services.opportunity_move_stage(
            opportunity=opportunity,
            stage=stage,
            by=request.user,
            position=_drop_position(stage, data["before"], data["after"]),
            lost_reason=data["lost_reason"],
        )
    except ValidationError as error:
        field = (
            "lost_reason"
            if hasattr(error, "error_dict") and "lost_reason" in error.error_dict
            else ""
        )
        return _move_refused(request, opportunity, " ".join(error.messages), field=field)
    if _wants_json(request):
        return JsonResponse(
            {
                "ok": True,
                "stage": stage.pk,
                "probability": opportunity.probability,
                **_totals_json(request, opportunity.pipeline),
            }
        )
    messages.success(request, _("Moved to %(stage)s.") % {"stage": stage.name})
    return redirect(opportunity.get_absolute_url())


# --- The form's pickers -----------------------------------------------------------------------


@require_GET
@require_capability(Capability.WORK_SALES)
def customer_options(request, org_slug: str):
    query = request.GET.get("q", "")
    customers = selectors.customer_autocomplete(org=request.organization, query=query)
    context = {"customers": customers, "query": query.strip()}
    return render(request, "sales/opportunities/partials/customer_options.html", context)


@require_GET
@require_capability(Capability.WORK_SALES)
def contact_options(request, org_slug: str):
    value = request.GET.get("customer", "")
    customer_id = int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None
    contacts = selectors.contact_options(org=request.organization, customer_id=customer_id)
    return render(
        request, "sales/opportunities/partials/contact_options.html", {"contacts": contacts}
    )
