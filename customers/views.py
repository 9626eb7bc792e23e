from copy import copy
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site.pagination import decode_cursor, encode_cursor
from customers import selectors, services
from customers.forms import (
    BulkActionForm,
    ContactForm,
    CustomerForm,
    CustomFieldForm,
    InteractionForm,
)
from customers.timeline import customer_timeline, timeline_sources
from tenancy.permissions import Capability, require_capability


def _org_url(request, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": request.organization.slug, **kwargs})


@require_capability(Capability.VIEW_CUSTOMERS)
def customer_list(request, org_slug: str):
    result = selectors.customer_list_page(
        org=request.organization,
        user=request.user,
        params=request.GET,
        base_url=_org_url(request, "customers:customer-list"),
    )
    context = {
        "result": result,
        "page": result.page,
        "filterset": result.filterset,
        "bulk_form": BulkActionForm(members=selectors.member_choices(org=request.organization)),
        # Open and rendered with the page when one of its filters is in use (or wrong);
        # otherwise fetched when opened: its fields cost 10 ms of a 60 ms page.
        "panel_open": bool(result.filterset.form.errors)
        or selectors.customer_list_uses_panel(request.GET),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/partials/customer_list_results.html", context)
    return render(request, "customers/customer_list.html", context)


@require_capability(Capability.VIEW_CUSTOMERS)
def customer_filter_panel(request, org_slug: str):
    """The list's filter panel, with the values of the list's query string, fetched by htmx
    when the user opens it; anyone else is sent to the list itself."""
    if not request.htmx:
        query = request.GET.urlencode()
        return redirect(
            _org_url(request, "customers:customer-list") + (f"?{query}" if query else "")
        )
    filterset = selectors.customer_filterset(
        org=request.organization, user=request.user, params=request.GET
    )
    filterset.is_valid()  # the same errors as the list shows
    return render(request, "customers/partials/filter_panel.html", {"filterset": filterset})


@require_POST
@require_capability(Capability.EDIT_CUSTOMERS)
def customer_bulk(request, org_slug: str):
    org = request.organization
    form = BulkActionForm(request.POST, members=selectors.member_choices(org=org))
    back = _org_url(request, "customers:customer-list") + "?" + request.POST.get("query", "")
    if not form.is_valid():
        for error in [*form.non_field_errors(), *[e for f in form.errors.values() for e in f]][:1]:
            messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    # The same filters as the list: "all matching" acts on exactly what the user saw.
    from django.http import QueryDict

    customers = selectors.customer_list(
        org=org, user=request.user, params=QueryDict(request.POST.get("query", ""))
    )
    if data["scope"] == "selected":
        customers = customers.filter(pk__in=data["id_list"])
    count = _run_bulk(data, customers=customers, org=org, by=request.user)
    messages.success(request, _("%(count)s customers updated.") % {"count": f"{count:,}"})
    return redirect(back)


def _run_bulk(data: dict, *, customers, org, by) -> int:
    action = data["action"]
    if action == "assign_owner":
        return services.customers_assign_owner(customers=customers, owner=data["owner"], by=by)
    if action == "change_stage":
        return services.customers_change_stage(customers=customers, stage=data["stage"], by=by)
    tag = services.tag_get_or_create(org=org, name=data["tag"])
    if action == "add_tag":
        return services.customers_add_tag(customers=customers, tag=tag, by=by)
    return services.customers_remove_tag(customers=customers, tag=tag, by=by)


def _customer_form(request, instance=None):
    org = request.organization
    return CustomerForm(
        request.POST or None,
        instance=instance,
        org=org,
        custom_fields=selectors.custom_field_list(org=org),
        members=selectors.member_choices(org=org),
    )


@require_capability(Capability.EDIT_CUSTOMERS)
def customer_create(request, org_slug: str):
    form = _customer_form(request)
    if request.method == "GET":
        form.initial["owner"] = request.user.pk
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                org=request.organization,
                by=request.user,
                data=form.service_data(),
                tags=form.cleaned_data["tags"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": customer.name})
            return redirect(customer.get_absolute_url())
    return render(
        request, "customers/customer_form.html", {"form": form}, status=400 if form.errors else 200
    )


@require_capability(Capability.EDIT_CUSTOMERS)
def customer_edit(request, org_slug: str, pk: int):
    customer = selectors.customer_get(org=request.organization, pk=pk)
    if customer.erased_at:
        # Editing would let personal data back into an erased record.
        messages.error(request, _("This customer's personal data was erased; it cannot be edited."))
        return redirect(customer.get_absolute_url())
    # The form gets a copy: validating a ModelForm writes the posted values into its instance,
    # and the service must see the customer as it was to record what changed.
    form = _customer_form(request, instance=copy(customer))
    if request.method == "POST" and form.is_valid():
        services.customer_update(
            customer=customer,
            by=request.user,
            data=form.service_data(),
            tags=form.cleaned_data["tags"],
        )
        messages.success(request, _("Changes saved."))
        return redirect(customer.get_absolute_url())
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.VIEW_CUSTOMERS)
def customer_detail(request, org_slug: str, pk: int):
    org = request.organization
    customer = selectors.customer_get_any(org=org, pk=pk)
    if customer.merged_into_id:  # an old link to a merged-away duplicate: go to the survivor
        survivor_id = selectors.customer_survivor_id(org=org, pk=pk)
        return redirect("customers:customer-detail", org_slug=org.slug, pk=survivor_id)
    kinds = [k for k in request.GET.getlist("kind") if k]
    before = (
        decode_cursor(request.GET.get("before", ""), length=3)
        if request.GET.get("before")
        else None
    )
    if before and not (
        isinstance(before[0], datetime)
        and isinstance(before[1], str)  # compared with each source's kind
        and type(before[2]) is int  # not a bool
    ):
        before = None  # a tampered cursor: start from the top
    entries, next_cursor = customer_timeline(
        customer=customer, kinds=kinds, before=tuple(before) if before else None
    )
    context = {
        "customer": customer,
        "entries": entries,
        "next_token": encode_cursor(list(next_cursor)) if next_cursor else "",
        "kinds": kinds,
        "sources": timeline_sources(),
    }
    if request.htmx and request.htmx.target in ("timeline", "timeline-more"):
        return render(request, "customers/partials/timeline.html", context)
    context.update(
        contacts=selectors.contact_list_for_customer(customer=customer),
        tags=list(customer.tags.all()),
        custom_values=_custom_values(org, customer),
        interaction_form=InteractionForm(customer=customer),
        history=selectors.history_list(org=org, entity="customer", entity_id=customer.pk, limit=30),
    )
    return render(request, "customers/customer_detail.html", context)


def _custom_values(org, customer) -> list[tuple[str, object]]:
    custom = customer.custom or {}
    return [
        (d.label, custom.get(d.key))
        for d in selectors.custom_field_list(org=org)
        if d.key in custom
    ]


@require_POST
@require_capability(Capability.LOG_INTERACTIONS)
def interaction_create(request, org_slug: str, pk: int):
    customer = selectors.customer_get(org=request.organization, pk=pk)
    form = InteractionForm(request.POST, customer=customer)
    if form.is_valid():
        services.interaction_log(customer=customer, by=request.user, data=form.cleaned_data)
        if request.htmx:
            entries, next_cursor = customer_timeline(customer=customer)
            response = render(
                request,
                "customers/partials/interaction_logged.html",
                {
                    "customer": customer,
                    "entries": entries,
                    "kinds": [],
                    "next_token": encode_cursor(list(next_cursor)) if next_cursor else "",
                    "interaction_form": InteractionForm(customer=customer),
                    "sources": timeline_sources(),
                },
            )
            return response
        messages.success(request, _("Interaction logged."))
        return redirect(customer.get_absolute_url())
    if request.htmx:
        return render(
            request,
            "customers/partials/interaction_form.html",
            {"customer": customer, "interaction_form": form},
            status=422,
        )
    return render(
        request,
        "customers/interaction_form_page.html",
        {"customer": customer, "interaction_form": form},
        status=400,
    )


@require_capability(Capability.EDIT_CUSTOMERS)
def contact_create(request, org_slug: str, pk: int):
    customer = selectors.customer_get(org=request.organization, pk=pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = services.contact_create(
            customer=customer, by=request.user, data=form.cleaned_data
        )
        messages.success(request, _("%(name)s was added.") % {"name": contact.full_name})
        return redirect(customer.get_absolute_url())
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.VIEW_CUSTOMERS)
def contact_detail(request, org_slug: str, pk: int):
    contact = selectors.contact_get(org=request.organization, pk=pk)
    history = selectors.history_list(
        org=request.organization, entity="contact", entity_id=contact.pk, limit=30
    )
    interactions = contact.interactions.select_related("user").order_by("-occurred_at")[:20]
    return render(
        request,
        "customers/contact_detail.html",
        {
            "contact": contact,
            "customer": contact.customer,
            "history": history,
            "interactions": interactions,
        },
    )


@require_capability(Capability.EDIT_CUSTOMERS)
def contact_edit(request, org_slug: str, pk: int):
    contact = selectors.contact_get(org=request.organization, pk=pk)
    form = ContactForm(request.POST or None, instance=copy(contact))  # see customer_edit
    if request.method == "POST" and form.is_valid():
        services.contact_update(contact=contact, by=request.user, data=form.cleaned_data)
        messages.success(request, _("Changes saved."))
        return redirect(contact.get_absolute_url())
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": contact.customer, "contact": contact},
        status=400 if form.errors else 200,
    )


@require_POST
@require_capability(Capability.EDIT_CUSTOMERS)
def contact_delete(request, org_slug: str, pk: int):
    contact = selectors.contact_get(org=request.organization, pk=pk)
    customer = contact.customer
    services.contact_delete(contact=contact, by=request.user)
    messages.success(request, _("The contact was removed."))
    return redirect(customer.get_absolute_url())


@require_capability(Capability.MANAGE_SETTINGS)
def custom_field_list(request, org_slug: str):
    org = request.organization
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.custom_field_save(org=org, data=form.service_data())
        messages.success(request, _("Custom field added."))
        return redirect("customers:custom-field-list", org_slug=org.slug)
    fields = selectors.custom_field_list(org=org)
    return render(
        request,
        "customers/custom_field_list.html",
        {"fields": fields, "form": form},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.MANAGE_SETTINGS)
def custom_field_edit(request, org_slug: str, pk: int):
    definition = selectors.custom_field_get(org=request.organization, pk=pk)
    form = CustomFieldForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        services.custom_field_save(
            org=request.organization, data=form.service_data(), definition=definition
        )
        messages.success(request, _("Custom field saved."))
        return redirect("customers:custom-field-list", org_slug=org_slug)
    return render(
        request,
        "customers/custom_field_form.html",
        {"form": form, "definition": definition},
        status=400 if form.errors else 200,
    )


@require_POST
@require_capability(Capability.MANAGE_SETTINGS)
def custom_field_delete(request, org_slug: str, pk: int):
    definition = selectors.custom_field_get(org=request.organization, pk=pk)
    services.custom_field_delete(definition=definition)
    messages.success(request, _("Custom field deleted. Stored values are kept but hidden."))
    return redirect("customers:custom-field-list", org_slug=org_slug)
