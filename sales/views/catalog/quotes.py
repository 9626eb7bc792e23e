"""Quotes: the list, creating one for a customer (or an opportunity), the builder with its htmx
line editing, sending, deciding, new versions and the printable page."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sales.forms.catalog import (
    QuoteAcceptForm,
    QuoteForm,
    QuoteLineAddForm,
    QuoteLineForm,
    QuoteSendForm,
)
from sales.models import Quote, QuoteStatus
from sales.selectors import catalog as selectors
from sales.services.catalog import quotes as services
from sales.services.catalog import totals
from sales.services.catalog.pricing import price_book_resolution
from sales.views.catalog import error_text, int_param, org_url
from sales.views.catalog.public import quote_public_url
from tenancy.permissions import Capability, require_capability


@require_capability(Capability.WORK_SALES)
def quote_list(request, org_slug: str):
    result = selectors.quote_list_page(
        org=request.organization,
        user=request.user,
        params=request.GET,
        base_url=org_url(request, "quote-list"),
    )
    context = {"form": result.form, "page": result.page}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/quotes/partials/quote_results.html", context)
    return render(request, "sales/catalog/quotes/quote_list.html", context)


def _quote_for(request):
    """(customer, opportunity) named by ?opportunity= or ?customer=, or (None, None)."""
    org = request.organization
    opportunity_id = int_param(request.GET.get("opportunity"))
    if opportunity_id:
        opportunity = selectors.opportunity_get(org=org, pk=opportunity_id)
        return opportunity.customer, opportunity
    customer_id = int_param(request.GET.get("customer"))
    if customer_id:
        return selectors.customer_get(org=org, pk=customer_id), None
    return None, None


def customer_picker(request, *, title: str, template: str = "sales/catalog/customer_picker.html"):
    q = request.GET.get("q", "")[:100]
    customers = selectors.customer_search(org=request.organization, q=q)
    context = {"customers": customers, "q": q, "title": title, "picker_url": request.path}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/partials/customer_picker_results.html", context)
    return render(request, template, context)


@require_capability(Capability.WORK_SALES)
def quote_create(request, org_slug: str):
    customer, opportunity = _quote_for(request)
    if customer is None:
        return customer_picker(request, title=_("New quote"))
    resolution = price_book_resolution(customer=customer)
    contacts = customer.contacts.order_by("-is_primary", "last_name")
    initial = {
        "price_book": resolution.price_book,
        "valid_until": timezone.localdate() + timedelta(days=services.DEFAULT_VALIDITY_DAYS),
        "contact": opportunity.contact if opportunity and opportunity.contact else contacts.first(),
    }
    form = QuoteForm(request.POST or None, customer=customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            quote = services.quote_create(
                customer=customer,
                opportunity=opportunity,
                by=request.user,
                resolve_price_book=False,
                **data,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Quote %(number)s created. Add its lines.") % {"number": quote.number}
            )
            return redirect(org_url(request, "quote-detail", pk=quote.pk))
    context = {
        "form": form,
        "customer": customer,
        "opportunity": opportunity,
        "resolution": resolution,
    }
    return render(
        request, "sales/catalog/quotes/quote_form.html", context, status=400 if form.errors else 200
    )


def _builder_context(quote: Quote, *, org, forms: dict | None = None, error: str = "") -> dict:
    """What the builder fragment shows: the lines (each with its form when editable), the form
    to add one, the header form and the totals."""
    forms = forms or {}
    editable = services.quote_is_editable(quote)
    rows = []
    for line in selectors.quote_lines(quote=quote):
        form = forms.get(line.pk) or QuoteLineForm(
            initial={
                "description": line.description,
                "quantity": line.quantity.normalize(),
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent.normalize(),
            },
            auto_id=f"line{line.pk}_%s",
        )
        rows.append({"line": line, "form": form, "amounts": totals.line_amounts(line)})
    return {
        "quote": quote,
        "rows": rows,
        "editable": editable,
        "cost_total": totals.quote_cost_total([row["line"] for row in rows]),
        "add_form": forms.get("add")
        or QuoteLineAddForm(products=selectors.product_choices(org=org), auto_id="add_%s"),
        "header_form": forms.get("header")
        or QuoteForm(instance=quote, customer=quote.customer, auto_id="quote_%s"),
        "builder_error": error,
    }


def _builder_response(request, quote: Quote, *, forms: dict | None = None, error: str = ""):
    """The builder fragment for htmx (422 when something was wrong), else back to the page."""
    failed = bool(error) or any(form.errors for form in (forms or {}).values())
    if request.htmx:
        context = _builder_context(quote, org=request.organization, forms=forms, error=error)
        return render(
            request,
            "sales/catalog/quotes/partials/builder.html",
            context,
            status=422 if failed else 200,
        )
    if failed:
        problems = [error] if error else []
        for form in (forms or {}).values():
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                problems += [f"{label}: {text}" if label else text for text in errors]
        messages.error(request, " ".join(problems))
    return redirect(org_url(request, "quote-detail", pk=quote.pk))


@require_capability(Capability.WORK_SALES)
def quote_detail(request, org_slug: str, pk: int):
    org = request.organization
    quote = selectors.quote_get(org=org, pk=pk)
    context = _builder_context(quote, org=org)
    context.update(
        versions=selectors.quote_versions(quote=quote),
        order=selectors.quote_order(quote=quote) if quote.status == QuoteStatus.ACCEPTED else None,
        past_validity=services.quote_is_past_validity(quote),
        superseded=quote.is_superseded,
        accept_form=QuoteAcceptForm(),
        can_send=quote.status in (QuoteStatus.DRAFT,) and not quote.is_superseded,
        can_decide=quote.status == QuoteStatus.SENT and not quote.is_superseded,
    )
    return render(request, "sales/catalog/quotes/quote_detail.html", context)


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_edit(request, org_slug: str, pk: int):
    quote = selectors.quote_get(org=request.organization, pk=pk)
    form = QuoteForm(request.POST, instance=None, customer=quote.customer, auto_id="quote_%s")
    if not form.is_valid():
        return _builder_response(request, quote, forms={"header": form})
    try:
        services.quote_update(quote=quote, data=form.cleaned_data)
    except ValidationError as error:
        return _builder_response(request, quote, error=error_text(error))
    return _builder_response(request, quote)


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_line_add(request, org_slug: str, pk: int):
    org = request.organization
    quote = selectors.quote_get(org=org, pk=pk)
    form = QuoteLineAddForm(
        request.POST, products=selectors.product_choices(org=org), auto_id="add_%s"
    )
    if not form.is_valid():
        return _builder_response(request, quote, forms={"add": form})
    try:
        services.quote_line_add(quote=quote, **form.cleaned_data)
    except ValidationError as error:
        return _builder_response(request, quote, error=error_text(error))
    return _builder_response(request, quote)


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_line_update(request, org_slug: str, pk: int):
    line = selectors.quote_line_get(org=request.organization, pk=pk)
    quote = selectors.quote_get(org=request.organization, pk=line.quote_id)
    form = QuoteLineForm(request.POST, auto_id=f"line{line.pk}_%s")
    if not form.is_valid():
        return _builder_response(request, quote, forms={line.pk: form})
    try:
        services.quote_line_update(line=line, data=form.cleaned_data)
    except ValidationError as error:
        return _builder_response(request, quote, error=error_text(error))
    quote.refresh_from_db(fields=["subtotal", "discount_total", "tax_total", "total"])
    return _builder_response(request, quote)


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_line_delete(request, org_slug: str, pk: int):
    line = selectors.quote_line_get(org=request.organization, pk=pk)
    quote = selectors.quote_get(org=request.organization, pk=line.quote_id)
    try:
        services.quote_line_remove(line=line)
    except ValidationError as error:
        return _builder_response(request, quote, error=error_text(error))
    quote.refresh_from_db(fields=["subtotal", "discount_total", "tax_total", "total"])
    return _builder_response(request, quote)


@require_capability(Capability.WORK_SALES)
def quote_send(request, org_slug: str, pk: int):
    quote = selectors.quote_get(org=request.organization, pk=pk)
    form = QuoteSendForm(request.POST or None, initial={"to": services.quote_recipient(quote)})
    if request.method == "POST" and form.is_valid():
        try:
            services.quote_send(
                quote=quote,
                by=request.user,
                to=form.cleaned_data["to"],
                message=form.cleaned_data["message"],
                public_url=quote_public_url(request, quote),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Quote sent to %(email)s.") % {"email": form.cleaned_data["to"]}
            )
            return redirect(org_url(request, "quote-detail", pk=quote.pk))
    context = {"quote": quote, "form": form}
    return render(
        request, "sales/catalog/quotes/quote_send.html", context, status=400 if form.errors else 200
    )


def _decide(request, pk: int, action, done: str):
    quote = selectors.quote_get(org=request.organization, pk=pk)
    try:
        result = action(quote)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(org_url(request, "quote-detail", pk=quote.pk)), None
    messages.success(request, done)
    return redirect(org_url(request, "quote-detail", pk=quote.pk)), result


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_mark_sent(request, org_slug: str, pk: int):
    return _decide(
        request,
        pk,
        lambda quote: services.quote_mark_sent(quote=quote, by=request.user),
        _("The quote is marked as sent."),
    )[0]


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_reject(request, org_slug: str, pk: int):
    return _decide(
        request,
        pk,
        lambda quote: services.quote_reject(quote=quote, by=request.user),
        _("The quote is marked as rejected."),
    )[0]


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_accept(request, org_slug: str, pk: int):
    form = QuoteAcceptForm(request.POST)
    won = form.is_valid() and form.cleaned_data["mark_opportunity_won"]
    response, order = _decide(
        request,
        pk,
        lambda quote: services.quote_accept(quote=quote, by=request.user, mark_opportunity_won=won),
        _("The quote was accepted and became an order."),
    )
    return redirect(org_url(request, "order-detail", pk=order.pk)) if order else response


@require_POST
@require_capability(Capability.WORK_SALES)
def quote_new_version(request, org_slug: str, pk: int):
    quote = selectors.quote_get(org=request.organization, pk=pk)
    try:
        copy = services.quote_new_version(quote=quote, by=request.user)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(org_url(request, "quote-detail", pk=quote.pk))
    messages.success(request, _("Version %(version)s is a new draft.") % {"version": copy.version})
    return redirect(org_url(request, "quote-detail", pk=copy.pk))


@require_GET
@require_capability(Capability.WORK_SALES)
def quote_print(request, org_slug: str, pk: int):
    quote = selectors.quote_get(org=request.organization, pk=pk)
    context = {
        "quote": quote,
        "lines": selectors.quote_lines(quote=quote),
        "quote_org": request.organization,
        "superseded": quote.is_superseded,
    }
    return render(request, "sales/catalog/quotes/quote_print.html", context)
