"""Imports (upload, map, preview, run, progress, result, report, undo) and exports."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_site.pagination import capped_count
from customers import export_jobs, exports, import_selectors, imports, selectors, tasks
from customers.forms_data import ImportMapForm, ImportUploadForm
from customers.import_fields import check_mapping
from customers.models import ImportRowChange, ImportStatus
from tenancy.permissions import Capability, require_capability


def _detail(request, batch):
    return redirect("customers:import-detail", org_slug=request.organization.slug, pk=batch.pk)


@require_GET
@require_capability(Capability.IMPORT_DATA)
def import_list(request, org_slug: str):
    batches = import_selectors.import_batch_list(org=request.organization)
    return render(request, "customers/imports/import_list.html", {"batches": batches})


@require_capability(Capability.IMPORT_DATA)
def import_upload(request, org_slug: str):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = imports.import_batch_create(
                org=request.organization,
                by=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("customers:import-map", org_slug=org_slug, pk=batch.pk)
    return render(
        request,
        "customers/imports/import_upload.html",
        {"form": form, "step": 1},
        status=400 if form.errors else 200,
    )


def _map_form(request, batch) -> ImportMapForm:
    targets = import_selectors.batch_targets(batch)
    return ImportMapForm(
        request.POST if request.method == "POST" else None,
        kind=batch.kind,
        headers=batch.mapping.get("headers", []),
        targets=targets,
        mapping=import_selectors.import_mapping_initial(batch=batch, targets=targets),
        on_match=batch.on_match,
        skip_bad_rows=batch.skip_bad_rows,
    )


def _map_page(request, batch, form: ImportMapForm, status: int = 200):
    """Step 2: the mapping form and the preview of its first rows (the preview alone for
    htmx, which swaps it in whenever a select changes)."""
    if form.is_bound:
        problems, ready = [], form.is_valid()
    else:
        problems = check_mapping(kind=batch.kind, mapping=form.mapping(), targets=form.targets)
        ready = not problems
    preview = None
    if ready:
        preview = imports.import_preview(
            batch=batch,
            mapping=form.mapping(),
            on_match=form.cleaned_data["on_match"] if form.is_bound else batch.on_match,
        )
    context = {
        "batch": batch,
        "form": form,
        "columns": zip(form.columns(), import_selectors.import_examples(batch=batch), strict=True),
        "preview": preview,
        "problems": problems,
        "step": 2,
    }
    if request.htmx:  # htmx swaps only 2xx answers: the fragment shows the errors itself
        return render(request, "customers/partials/import_preview.html", context)
    return render(request, "customers/imports/import_map.html", context, status=status)


@require_capability(Capability.IMPORT_DATA)
def import_map(request, org_slug: str, pk: int):
    batch = selectors.import_batch_get(org=request.organization, pk=pk)
    if batch.status not in imports.MAPPABLE:
        return _detail(request, batch)
    form = _map_form(request, batch)
    if request.method == "POST" and form.is_valid() and not request.htmx:
        try:
            imports.import_batch_map(batch=batch, **form.service_data())
        except ValidationError as error:
            form.add_error(None, error)
    return _map_page(request, batch, form, status=400 if form.errors else 200)


@require_POST
@require_capability(Capability.IMPORT_DATA)
def import_run(request, org_slug: str, pk: int):
    batch = selectors.import_batch_get(org=request.organization, pk=pk)
    if batch.status not in imports.MAPPABLE:
        return _detail(request, batch)
    form = _map_form(request, batch)
    if form.is_valid():
        try:
            imports.import_batch_map(batch=batch, **form.service_data())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if imports.import_batch_queue(batch=batch):
                org_id, batch_id = request.organization.pk, batch.pk
                # After the commit, so that a worker finds the batch queued.
                transaction.on_commit(lambda: tasks.import_run_task.delay(org_id, batch_id))
            return _detail(request, batch)
    return _map_page(request, batch, form, status=400)


def _status_context(batch) -> dict:
    finished = batch.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.UNDONE)
    progress = import_selectors.import_progress(batch=batch)
    context = {
        "batch": batch,
        "progress": progress,
        "running": batch.status == ImportStatus.RUNNING or progress.undoing,
        "step": 4 if finished else 3,
        "errors": batch.error.splitlines()[1:] if batch.status == ImportStatus.FAILED else [],
        "summary": batch.error.splitlines()[0] if batch.error else "",
    }
    if batch.status == ImportStatus.DONE and batch.kind == "contacts":
        context["companies_created"] = ImportRowChange.objects.filter(
            batch=batch, entity="customer", created=True
        ).count()
    return context


@require_GET
@require_capability(Capability.IMPORT_DATA)
def import_detail(request, org_slug: str, pk: int):
    batch = import_selectors.import_batch_status_get(org=request.organization, pk=pk)
    if batch.status in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        return redirect("customers:import-map", org_slug=org_slug, pk=batch.pk)
    return render(request, "customers/imports/import_detail.html", _status_context(batch))


@require_GET
@require_capability(Capability.IMPORT_DATA)
def import_progress(request, org_slug: str, pk: int):
    """The progress fragment htmx polls every second; once finished it renders the result,
    without the polling trigger."""
    batch = import_selectors.import_batch_status_get(org=request.organization, pk=pk)
    return render(request, "customers/partials/import_status.html", _status_context(batch))


@require_GET
@require_capability(Capability.IMPORT_DATA)
def import_report(request, org_slug: str, pk: int):
    batch = selectors.import_batch_get(org=request.organization, pk=pk)
    report = batch.rejected_report or ",".join([_("Row"), _("Outcome"), _("Reason")]) + "\r\n"
    response = HttpResponse("\ufeff" + report, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.csv"'
    return response


@require_POST
@require_capability(Capability.IMPORT_DATA)
def import_undo(request, org_slug: str, pk: int):
    """Queue the undo (a task: a large one outlasts a web request); the page shows it."""
    batch = selectors.import_batch_get(org=request.organization, pk=pk)
    if imports.import_undo_queue(batch=batch):
        org_id, batch_id, user_id = request.organization.pk, batch.pk, request.user.pk
        transaction.on_commit(lambda: tasks.import_undo_task.delay(org_id, batch_id, user_id))
    elif batch.status != ImportStatus.DONE:
        messages.error(request, _("Only a finished import can be undone."))
    return _detail(request, batch)


# --- Exports ------------------------------------------------------------------------------


def _export(request, *, fmt: str):
    """GET: a small list is sent at once; a larger one gets a page offering to prepare the file
    in the background. POST: queue that job and go to its page. The list's filters travel in
    the query string either way."""
    org = request.organization
    queryset = selectors.customer_list(org=org, user=request.user, params=request.GET)
    list_url = reverse("customers:customer-list", kwargs={"org_slug": org.slug})
    list_url += f"?{request.GET.urlencode()}" if request.GET else ""
    sparse = selectors.customer_list_searches_text(request.GET)
    limit = settings.EXPORT_XLSX_MAX_ROWS
    if fmt == "xlsx" and capped_count(queryset, cap=limit, sparse=sparse) > limit:
        messages.error(
            request,
            _(
                "Excel exports are limited to %(limit)s customers and this list has more. "
                "Narrow the filters, or export CSV, which has no limit."
            )
            % {"limit": f"{limit:,}"},
        )
        return redirect(list_url)
    if request.method == "POST":
        return _export_start(request, fmt=fmt, back=list_url)
    immediate = settings.EXPORT_IMMEDIATE_MAX_ROWS
    if capped_count(queryset, cap=immediate, sparse=sparse) > immediate:
        context = {"fmt": fmt, "total": queryset.count(), "list_url": list_url}
        return render(request, "customers/exports/export_confirm.html", context)
    custom_fields = selectors.custom_field_list(org=org)
    filename = f"customers-{org.slug}-{timezone.localdate():%Y-%m-%d}"
    respond = exports.csv_response if fmt == "csv" else exports.xlsx_response
    return respond(org=org, queryset=queryset, custom_fields=custom_fields, filename=filename)


def _export_start(request, *, fmt: str, back: str):
    org = request.organization
    try:
        job, created = export_jobs.export_job_start(
            org=org, by=request.user, query=request.GET.urlencode(), fmt=fmt
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect(back)
    if created:
        org_id, token = org.pk, job.token
        transaction.on_commit(lambda: tasks.customer_export_task.delay(org_id, token))
    else:
        messages.info(request, _("This export is being prepared already."))
    return redirect("customers:export-detail", org_slug=org.slug, token=job.token)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.EXPORT_DATA)
def customer_export_csv(request, org_slug: str):
    """The filtered customer list (the list's own GET filters) as CSV: streamed when small,
    else prepared as a file by a worker."""
    return _export(request, fmt="csv")


@require_http_methods(["GET", "POST"])
@require_capability(Capability.EXPORT_DATA)
def customer_export_xlsx(request, org_slug: str):
    """The filtered customer list as an Excel workbook (up to EXPORT_XLSX_MAX_ROWS)."""
    return _export(request, fmt="xlsx")


@require_GET
@require_capability(Capability.EXPORT_DATA)
def export_list(request, org_slug: str):
    jobs = export_jobs.export_job_list(org=request.organization)
    context = {"jobs": jobs, "file_hours": settings.EXPORT_FILE_HOURS}
    return render(request, "customers/exports/export_list.html", context)


@require_GET
@require_capability(Capability.EXPORT_DATA)
def export_detail(request, org_slug: str, token: str):
    job = export_jobs.export_job_get(org=request.organization, token=token)
    return render(request, "customers/exports/export_detail.html", {"job": job})


@require_GET
@require_capability(Capability.EXPORT_DATA)
def export_progress(request, org_slug: str, token: str):
    """The fragment htmx polls every second while the job runs; the finished fragment has no
    trigger, so the polling stops by itself."""
    job = export_jobs.export_job_get(org=request.organization, token=token)
    return render(request, "customers/partials/export_status.html", {"job": job})


@require_GET
@require_capability(Capability.EXPORT_DATA)
def export_download(request, org_slug: str, token: str):
    job = export_jobs.export_job_get(org=request.organization, token=token)
    if job.status != export_jobs.ExportStatus.DONE:
        return redirect("customers:export-detail", org_slug=org_slug, token=token)
    return export_jobs.export_response(
        job, accept_encoding=request.headers.get("Accept-Encoding", "")
    )
