"""Importing leads: upload a file, map its columns (with a preview), import."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from sales.forms.lead_capture import LeadImportMapForm, LeadImportUploadForm
from sales.services import lead_imports as services
from tenancy.permissions import Capability, require_capability


@require_capability(Capability.IMPORT_DATA)
def lead_import(request, org_slug: str):
    form = LeadImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = services.lead_import_upload(
                org=request.organization, upload=form.cleaned_data["file"]
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            url = reverse("sales:lead-import-map", kwargs={"org_slug": org_slug})
            return redirect(f"{url}?{urlencode({'t': upload.token})}")
    context = {"form": form, "max_rows": f"{services.MAX_ROWS:,}"}
    return render(
        request, "sales/leads/imports/upload.html", context, status=400 if form.errors else 200
    )


@require_capability(Capability.IMPORT_DATA)
def lead_import_map(request, org_slug: str):
    org = request.organization
    token = request.POST.get("t") or request.GET.get("t", "")
    try:
        upload = services.lead_import_load(org=org, token=token)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("sales:lead-import", org_slug=org_slug)
    guessed = services.guess_mapping(upload.headers)
    form = LeadImportMapForm(request.POST or None, headers=upload.headers, guessed=guessed)
    valid = request.method == "POST" and form.is_valid()
    mapping = form.mapping() if valid else guessed
    if valid and "run" in request.POST:
        outcome = services.lead_import_run(
            org=org,
            by=request.user,
            upload=upload,
            mapping=mapping,
            source=form.cleaned_data["source"],
            campaign_name=form.cleaned_data["campaign_name"],
            skip_existing=form.cleaned_data["skip_existing"],
        )
        return render(
            request, "sales/leads/imports/result.html", {"outcome": outcome, "upload": upload}
        )
    preview = services.lead_import_preview(org=org, upload=upload, mapping=mapping)
    context = {"form": form, "upload": upload, "preview": preview}
    status = 400 if form.errors else 200
    return render(request, "sales/leads/imports/map.html", context, status=status)
