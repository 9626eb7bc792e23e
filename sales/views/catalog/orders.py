"""Orders: the list, one order with its lines and margin, entering one by hand, cancelling or
returning it, a customer's order history, and importing order history from a file."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers.import_files import ImportFileError
from sales.forms.catalog import OrderForm, OrderImportForm, OrderStatusForm
from sales.models import OrderChannel, OrderStatus
from sales.selectors import catalog as selectors
from sales.services.catalog import order_import
from sales.services.catalog import orders as services
from sales.views.catalog import error_text, int_param, org_url
from sales.views.catalog.quotes import customer_picker
from tenancy.permissions import Capability, require_capability

REPORT_TTL = 60 * 60  # how long the rejected rows of an import can be downloaded (seconds)


@require_capability(Capability.VIEW_CUSTOMERS)
def order_list(request, org_slug: str):
    org = request.organization
    result = selectors.order_list_page(
        org=org, params=request.GET, base_url=org_url(request, "order-list")
    )
    customer_id = int_param(request.GET.get("customer"))
    context = {
        "form": result.form,
        "page": result.page,
        "customer": selectors.customer_find(org=org, pk=customer_id) if customer_id else None,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/orders/partials/order_results.html", context)
    return render(request, "sales/catalog/orders/order_list.html", context)


@require_capability(Capability.VIEW_CUSTOMERS)
def order_detail(request, org_slug: str, pk: int):
    order = selectors.order_get(org=request.organization, pk=pk)
    context = {
        "order": order,
        "lines": selectors.order_lines(order=order),
        "margin": selectors.order_margin(order),
        "status_form": OrderStatusForm(),
        "can_change_status": order.status == OrderStatus.COMPLETED,
    }
    return render(request, "sales/catalog/orders/order_detail.html", context)


@require_capability(Capability.WORK_SALES)
def order_create(request, org_slug: str):
    customer_id = int_param(request.GET.get("customer"))
    if customer_id is None:
        return customer_picker(request, title=_("New order"))
    customer = selectors.customer_get(org=request.organization, pk=customer_id)
    form = OrderForm(
        request.POST or None,
        initial={"ordered_on": timezone.localdate(), "channel": OrderChannel.SALES},
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(
                customer=customer, by=request.user, data=form.service_data()
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Order %(number)s was added.") % {"number": order.number})
            return redirect(org_url(request, "order-detail", pk=order.pk))
    return render(
        request,
        "sales/catalog/orders/order_form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_POST
@require_capability(Capability.WORK_SALES)
def order_status(request, org_slug: str, pk: int):
    order = selectors.order_get(org=request.organization, pk=pk)
    form = OrderStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose cancelled or returned."))
        return redirect(org_url(request, "order-detail", pk=order.pk))
    try:
        services.order_change_status(
            order=order, status=form.cleaned_data["status"], by=request.user
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            _("The order is now %(status)s.") % {"status": order.get_status_display().lower()},
        )
    return redirect(org_url(request, "order-detail", pk=order.pk))


@require_capability(Capability.VIEW_CUSTOMERS)
def customer_orders(request, org_slug: str, pk: int):
    org = request.organization
    customer = selectors.customer_get(org=org, pk=pk)
    page = selectors.customer_order_page(
        org=org,
        customer=customer,
        params=request.GET,
        base_url=org_url(request, "customer-orders", pk=customer.pk),
    )
    context = {"customer": customer, "page": page}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/orders/partials/customer_order_results.html", context)
    return render(request, "sales/catalog/orders/customer_orders.html", context)


# --- Import ---------------------------------------------------------------------------------


def _report_key(request, token: str) -> str:
    return f"sales:order-import-report:{request.organization.pk}:{token}"


@require_capability(Capability.IMPORT_DATA)
def order_import_view(request, org_slug: str):
    form = OrderImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = order_import.ImportOptions(
            unknown_customers=data["unknown_customers"],
            all_or_nothing=data["mode"] == "all_or_nothing",
            day_first=data["day_first"],
            default_channel=data["default_channel"],
        )
        upload = data["file"]
        try:
            result = order_import.order_import(
                org=request.organization,
                stream=upload.file,
                file_name=upload.name,
                options=options,
                by=request.user,
                max_rows=settings.IMPORT_MAX_ROWS,
            )
        except ImportFileError as error:
            form.add_error("file", error)
        else:
            token = uuid.uuid4().hex
            if result.rejected:
                cache.set(
                    _report_key(request, token),
                    order_import.rejected_report_csv(result),
                    REPORT_TTL,
                )
            context = {"result": result, "token": token, "file_name": upload.name}
            return render(request, "sales/catalog/orders/import_result.html", context)
    context = {
        "form": form,
        "columns": order_import.ORDER_COLUMNS,
        "required": order_import.REQUIRED,
    }
    return render(
        request,
        "sales/catalog/orders/import_form.html",
        context,
        status=400 if form.errors else 200,
    )


@require_GET
@require_capability(Capability.IMPORT_DATA)
def order_import_report(request, org_slug: str, token: str):
    report = cache.get(_report_key(request, token))
    if report is None:
        raise Http404
    response = HttpResponse("\ufeff" + report, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rejected-orders.csv"'
    return response
