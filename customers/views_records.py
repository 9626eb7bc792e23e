"""Keeping the records straight: duplicates and merges, change history, privacy requests."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers import merge as merging
from customers import privacy, selectors
from customers.forms_records import ErasureForm, MergeForm
from customers.history import custom_field_labels, history_page
from tenancy.permissions import Capability, require_capability

DUPLICATES_PER_PAGE = 50
DUPLICATES_PER_REASON_ON_ALL = 20


def _org_url(request, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": request.organization.slug, **kwargs})


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


# --- Duplicates and merges --------------------------------------------------------------------


def _more_urls(request, page: merging.DuplicatePage) -> dict[str, str]:
    """The address of the next page of each detector that has one."""
    base = _org_url(request, "customers:duplicate-list")
    return {
        kind: f"{base}?{urlencode({'reason': kind, 'after': cursor})}"
        for kind, cursor in page.next_cursors.items()
    }


@require_capability(Capability.MERGE_CUSTOMERS)
def duplicate_list(request, org_slug: str):
    org = request.organization
    reason = request.GET.get("reason", "")
    reason = reason if reason in {k.value for k in merging.MatchKind} else ""
    customer = None
    if customer_pk := _int(request.GET.get("customer")):
        customer = selectors.customer_get(org=org, pk=customer_pk)
        page = merging.DuplicatePage(pairs=merging.duplicates_of(customer), next_cursors={})
    else:
        page = merging.duplicate_page(
            reason=reason,
            cursor=request.GET.get("after", "") if reason else "",
            per_page=DUPLICATES_PER_PAGE if reason else DUPLICATES_PER_REASON_ON_ALL,
        )
    more = _more_urls(request, page)
    context = {
        "page": page,
        "reason": reason,
        "reasons": merging.MATCH_LABELS,
        "customer": customer,
        "appending": bool(request.GET.get("after")),
        "more_url": more.get(reason, "") if reason else "",
        "more_links": [] if reason else [(merging.MATCH_LABELS[k], u) for k, u in more.items()],
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/partials/duplicate_results.html", context)
    return render(request, "customers/duplicates.html", context)


@require_POST
@require_capability(Capability.MERGE_CUSTOMERS)
def duplicate_dismiss(request, org_slug: str):
    org = request.organization
    back = _back(request, _org_url(request, "customers:duplicate-list"))
    a_pk, b_pk = _int(request.POST.get("a")), _int(request.POST.get("b"))
    if a_pk is None or b_pk is None or a_pk == b_pk:
        messages.error(request, _("Pick two different customers."))
        return redirect(back)
    a = selectors.customer_get(org=org, pk=a_pk)
    b = selectors.customer_get(org=org, pk=b_pk)
    merging.duplicate_dismiss(a=a, b=b, by=request.user)
    if request.htmx:
        return HttpResponse("")  # the pair's card is swapped out
    messages.success(request, _("Marked as not duplicates: they will not be suggested again."))
    return redirect(back)


@require_capability(Capability.MERGE_CUSTOMERS)
def customer_merge(request, org_slug: str):
    org = request.organization
    params = request.POST if request.method == "POST" else request.GET
    a_pk, b_pk = _int(params.get("a")), _int(params.get("b"))
    duplicates_url = _org_url(request, "customers:duplicate-list")
    if a_pk is None or b_pk is None or a_pk == b_pk:
        messages.error(request, _("Pick two different customers to compare."))
        return redirect(duplicates_url)
    a = selectors.customer_get_any(org=org, pk=a_pk)
    b = selectors.customer_get_any(org=org, pk=b_pk)
    if problem := merging.merge_problem(a, b):
        messages.error(request, problem)
        return redirect(duplicates_url)
    rows = merging.merge_rows(a=a, b=b, custom_labels=custom_field_labels())
    form = MergeForm(request.POST or None, a=a, b=b, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            result = merging.customers_merge(**form.merge_arguments(), by=request.user)
        except merging.MergeError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Merged customer #%(merged)s into %(name)s. You can undo this from here.")
                % {"merged": result.merged_id, "name": result.survivor.name},
            )
            return redirect(result.survivor.get_absolute_url())
    counts = merging.related_counts(a, b)
    context = {"form": form, "a": a, "b": b, "a_counts": counts[a.pk], "b_counts": counts[b.pk]}
    return render(request, "customers/merge.html", context, status=400 if form.errors else 200)


@require_POST
@require_capability(Capability.MERGE_CUSTOMERS)
def merge_undo(request, org_slug: str, pk: int):
    merge = selectors.merge_get(org=request.organization, pk=pk)
    try:
        kept = merging.merge_undo(merge=merge, by=request.user)
    except merging.MergeError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_org_url(request, "customers:customer-history", pk=merge.survivor_id))
    messages.success(request, _("The merge was undone: both customers are back."))
    if kept:
        messages.info(
            request,
            _("Fields changed since the merge kept their new values: %(fields)s.")
            % {"fields": ", ".join(kept)},
        )
    return redirect(merge.survivor.get_absolute_url())


# --- History ----------------------------------------------------------------------------------


def _history(request, *, entity: str, record, url: str, extra: dict):
    page = history_page(entity=entity, entity_id=record.pk, params=request.GET, base_url=url)
    context = {"page": page, "history": page.items, "entity": entity, **extra}
    if request.htmx and request.htmx.target == "history-results":
        return render(request, "customers/partials/history_results.html", context)
    return render(request, "customers/history_page.html", context)


@require_capability(Capability.VIEW_CUSTOMERS)
def customer_history(request, org_slug: str, pk: int):
    # Merged-away records keep their history: reachable from the survivor's merge events.
    customer = selectors.customer_get_any(org=request.organization, pk=pk)
    url = _org_url(request, "customers:customer-history", pk=customer.pk)
    merges = merging.merges_of(customer) if not request.GET.get("after") else []
    extra = {"customer": customer, "merges": merges}
    return _history(request, entity="customer", record=customer, url=url, extra=extra)


@require_capability(Capability.VIEW_CUSTOMERS)
def contact_history(request, org_slug: str, pk: int):
    contact = selectors.contact_get(org=request.organization, pk=pk)
    url = _org_url(request, "customers:contact-history", pk=contact.pk)
    extra = {"contact": contact, "customer": contact.customer}
    return _history(request, entity="contact", record=contact, url=url, extra=extra)


# --- Privacy ----------------------------------------------------------------------------------


@require_POST
@require_capability(Capability.MANAGE_PRIVACY)
def privacy_export(request, org_slug: str, pk: int):
    customer = selectors.customer_get(org=request.organization, pk=pk)
    as_zip = request.POST.get("format") == "zip"
    content = privacy.personal_data_export(customer=customer, as_zip=as_zip, by=request.user)
    extension, content_type = ("zip", "application/zip") if as_zip else ("json", "application/json")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="customer-{customer.pk}-personal-data.{extension}"'
    )
    response["Cache-Control"] = "no-store"
    return response


@require_capability(Capability.MANAGE_PRIVACY)
def privacy_erase(request, org_slug: str, pk: int):
    customer = selectors.customer_get(org=request.organization, pk=pk)
    form = ErasureForm(request.POST or None, customer=customer)
    if customer.erased_at is None and request.method == "POST" and form.is_valid():
        try:
            privacy.customer_erase(customer=customer, by=request.user)
        except privacy.ErasureError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The customer's personal data was erased."))
            return redirect(customer.get_absolute_url())
    context = {"customer": customer, "form": form, "summary": privacy.erasure_summary(customer)}
    return render(
        request, "customers/privacy_erase.html", context, status=400 if form.errors else 200
    )
