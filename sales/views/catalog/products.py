"""Products and price books: the catalog list, product and price book forms, the price grid of
a book, and the price book of one customer."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sales.forms.catalog import CustomerPriceBookForm, PriceBookForm, PriceGridForm, ProductForm
from sales.models import Product
from sales.selectors import catalog as selectors
from sales.services.catalog import products as services
from sales.services.catalog.pricing import price_book_resolution
from sales.views.catalog import error_text, int_param, org_url
from tenancy.permissions import Capability, require_capability


@require_capability(Capability.WORK_SALES)
def product_list(request, org_slug: str):
    org = request.organization
    result = selectors.product_list_page(
        org=org, params=request.GET, base_url=org_url(request, "product-list")
    )
    context = {"form": result.form, "page": result.page}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/products/partials/product_results.html", context)
    context["categories"] = selectors.product_categories(org=org)
    return render(request, "sales/catalog/products/product_list.html", context)


@require_capability(Capability.CONFIGURE_SALES)
def product_create(request, org_slug: str):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        product = services.product_create(org=request.organization, data=form.cleaned_data)
        messages.success(request, _("%(name)s was added.") % {"name": product.name})
        return redirect(org_url(request, "product-list"))
    return render(
        request,
        "sales/catalog/products/product_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.CONFIGURE_SALES)
def product_edit(request, org_slug: str, pk: int):
    product = selectors.product_get(org=request.organization, pk=pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        services.product_update(product=product, data=form.cleaned_data)
        messages.success(request, _("Changes saved."))
        return redirect(org_url(request, "product-list"))
    return render(
        request,
        "sales/catalog/products/product_form.html",
        {"form": form, "product": product},
        status=400 if form.errors else 200,
    )


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def product_delete(request, org_slug: str, pk: int):
    product = selectors.product_get(org=request.organization, pk=pk)
    try:
        services.product_delete(product=product)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(org_url(request, "product-edit", pk=product.pk))
    messages.success(request, _("%(name)s was deleted.") % {"name": product.name})
    return redirect(org_url(request, "product-list"))


# --- Price books ----------------------------------------------------------------------------


@require_capability(Capability.CONFIGURE_SALES)
def price_book_list(request, org_slug: str):
    books = selectors.price_book_list(org=request.organization)
    return render(request, "sales/catalog/price_books/price_book_list.html", {"books": books})


@require_capability(Capability.CONFIGURE_SALES)
def price_book_create(request, org_slug: str):
    form = PriceBookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        book = services.price_book_create(org=request.organization, data=form.cleaned_data)
        messages.success(request, _("Price book created. Now set its prices."))
        return redirect(org_url(request, "pricebook-detail", pk=book.pk))
    return render(
        request,
        "sales/catalog/price_books/price_book_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@require_capability(Capability.CONFIGURE_SALES)
def price_book_edit(request, org_slug: str, pk: int):
    book = selectors.price_book_get(org=request.organization, pk=pk)
    form = PriceBookForm(request.POST or None, instance=book)
    if request.method == "POST" and form.is_valid():
        services.price_book_update(price_book=book, data=form.cleaned_data)
        messages.success(request, _("Changes saved."))
        return redirect(org_url(request, "pricebook-detail", pk=book.pk))
    return render(
        request,
        "sales/catalog/price_books/price_book_form.html",
        {"form": form, "book": book},
        status=400 if form.errors else 200,
    )


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def price_book_delete(request, org_slug: str, pk: int):
    book = selectors.price_book_get(org=request.organization, pk=pk)
    services.price_book_delete(price_book=book)
    messages.success(request, _("The price book %(name)s was deleted.") % {"name": book.name})
    return redirect(org_url(request, "pricebook-list"))


@require_capability(Capability.CONFIGURE_SALES)
def price_book_detail(request, org_slug: str, pk: int):
    """The book's price grid: one page of products, a price field each (blank: list price)."""
    org = request.organization
    book = selectors.price_book_get(org=org, pk=pk)
    if request.method == "POST":
        ids = [
            int_param(key.removeprefix("price_"))
            for key in request.POST
            if key.startswith("price_")
        ]
        products = list(Product.objects.filter(pk__in=[i for i in ids if i]))
        form = PriceGridForm(request.POST, products=products)
        if form.is_valid():
            services.price_book_set_prices(price_book=book, prices=form.prices())
            messages.success(request, _("Prices saved."))
            return redirect(request.get_full_path())
        messages.error(request, _("Some prices are not valid amounts; nothing was saved."))
    base_url = org_url(request, "pricebook-detail", pk=book.pk)
    result = selectors.price_book_grid_page(
        org=org, price_book=book, params=request.GET, base_url=base_url
    )
    grid = PriceGridForm(
        request.POST if request.method == "POST" else None,
        products=result.page.items,
        initial={f"price_{p.pk}": p.book_price for p in result.page.items},
    )
    context = {"book": book, "form": result.form, "page": result.page, "grid": grid}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/catalog/price_books/partials/price_grid.html", context)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "sales/catalog/price_books/price_book_detail.html", context, status=status
    )


@require_capability(Capability.CONFIGURE_SALES)
def customer_price_book(request, org_slug: str, pk: int):
    """Which price book a customer gets, and why; assign one explicitly or go automatic."""
    customer = selectors.customer_get(org=request.organization, pk=pk)
    current = selectors.customer_price_book_get(customer=customer)
    form = CustomerPriceBookForm(
        request.POST or None, initial={"price_book": current.price_book if current else None}
    )
    if request.method == "POST" and form.is_valid():
        services.customer_price_book_set(
            customer=customer, price_book=form.cleaned_data["price_book"]
        )
        messages.success(request, _("Price book saved."))
        return redirect("customers:customer-detail", org_slug=org_slug, pk=customer.pk)
    context = {
        "customer": customer,
        "form": form,
        "resolution": price_book_resolution(customer=customer),
    }
    return render(
        request,
        "sales/catalog/price_books/customer_price_book.html",
        context,
        status=400 if form.errors else 200,
    )
