"""Pipelines and their stages, configured per organization (managers and admins)."""

from copy import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sales.forms.opportunities import PipelineForm, StageForm, StageOrderForm
from sales.selectors import opportunities as selectors
from sales.services import opportunities as services
from tenancy.permissions import Capability, require_capability


def _pipeline_url(request, pipeline) -> str:
    return reverse(
        "sales:pipeline-edit", kwargs={"org_slug": request.organization.slug, "pk": pipeline.pk}
    )


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_capability(Capability.CONFIGURE_SALES)
def pipeline_list(request, org_slug: str):
    if not selectors.pipeline_list(org=request.organization):
        services.pipeline_ensure_default(request.organization)
    pipelines = selectors.pipelines_with_stages(org=request.organization)
    return render(request, "sales/opportunities/pipelines/list.html", {"pipelines": pipelines})


@require_capability(Capability.CONFIGURE_SALES)
def pipeline_create(request, org_slug: str):
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pipeline = services.pipeline_create(
            org=request.organization,
            name=form.cleaned_data["name"],
            is_default=form.cleaned_data["is_default"],
        )
        messages.success(request, _("Pipeline %(name)s was created.") % {"name": pipeline.name})
        return redirect(_pipeline_url(request, pipeline))
    status = 400 if form.errors else 200
    return render(request, "sales/opportunities/pipelines/form.html", {"form": form}, status=status)


@require_capability(Capability.CONFIGURE_SALES)
def pipeline_edit(request, org_slug: str, pk: int):
    pipeline = selectors.pipeline_get(org=request.organization, pk=pk)
    form = PipelineForm(request.POST or None, instance=copy(pipeline))
    if request.method == "POST" and form.is_valid():
        services.pipeline_update(
            pipeline=pipeline,
            name=form.cleaned_data["name"],
            is_default=form.cleaned_data["is_default"],
        )
        messages.success(request, _("Changes saved."))
        return redirect(_pipeline_url(request, pipeline))
    context = {
        "pipeline": pipeline,
        "form": form,
        "stages": selectors.stages_with_counts(pipeline=pipeline),
        "stage_form": StageForm(),
    }
    status = 400 if form.errors else 200
    return render(request, "sales/opportunities/pipelines/edit.html", context, status=status)


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def pipeline_delete(request, org_slug: str, pk: int):
    pipeline = selectors.pipeline_get(org=request.organization, pk=pk)
    try:
        services.pipeline_delete(pipeline=pipeline)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(_pipeline_url(request, pipeline))
    messages.success(request, _("Pipeline %(name)s was deleted.") % {"name": pipeline.name})
    return redirect("sales:pipeline-list", org_slug=org_slug)


def _stage_page(request, form, *, pipeline, stage=None, status=200):
    context = {"form": form, "pipeline": pipeline, "stage": stage}
    return render(request, "sales/opportunities/pipelines/stage_form.html", context, status=status)


@require_capability(Capability.CONFIGURE_SALES)
def stage_create(request, org_slug: str, pk: int):
    pipeline = selectors.pipeline_get(org=request.organization, pk=pk)
    form = StageForm(request.POST or None, initial={"probability": 50})
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_create(pipeline=pipeline, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Stage added."))
            return redirect(_pipeline_url(request, pipeline))
    return _stage_page(request, form, pipeline=pipeline, status=400 if form.errors else 200)


@require_capability(Capability.CONFIGURE_SALES)
def stage_edit(request, org_slug: str, pk: int):
    stage = selectors.stage_get(org=request.organization, pk=pk)
    # The form gets a copy: validating writes the posted values into its instance, and the
    # service must see the stage as it was.
    form = StageForm(request.POST or None, instance=copy(stage))
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_update(stage=stage, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(_pipeline_url(request, stage.pipeline))
    status = 400 if form.errors else 200
    return _stage_page(request, form, pipeline=stage.pipeline, stage=stage, status=status)


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def stage_shift(request, org_slug: str, pk: int):
    stage = selectors.stage_get(org=request.organization, pk=pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        messages.error(request, _("Move the stage up or down."))
    else:
        services.stage_shift(stage=stage, offset=offset)
    return redirect(_pipeline_url(request, stage.pipeline))


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def stage_reorder(request, org_slug: str, pk: int):
    """The stage order after a drag on the pipeline page (JSON), or a posted form."""
    pipeline = selectors.pipeline_get(org=request.organization, pk=pk)
    form = StageOrderForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The order is not a list of stages."))
        services.stage_reorder(pipeline=pipeline, stage_ids=form.cleaned_data["order"])
    except ValidationError as error:
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"ok": False, "error": _error_text(error)}, status=400)
        messages.error(request, _error_text(error))
        return redirect(_pipeline_url(request, pipeline))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"ok": True})
    messages.success(request, _("Stage order saved."))
    return redirect(_pipeline_url(request, pipeline))


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def stage_delete(request, org_slug: str, pk: int):
    stage = selectors.stage_get(org=request.organization, pk=pk)
    try:
        services.stage_delete(stage=stage)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Stage %(name)s was deleted.") % {"name": stage.name})
    return redirect(_pipeline_url(request, stage.pipeline))
