"""Catalog URLs: products, price books, quotes, orders (under /o/<org_slug>/sales/)."""

from django.urls import path

from sales.views.catalog import orders, products, quotes

urlpatterns = [
    # Products and price books
    path("products/", products.product_list, name="product-list"),
    path("products/new/", products.product_create, name="product-create"),
    path("products/<int:pk>/edit/", products.product_edit, name="product-edit"),
    path("products/<int:pk>/delete/", products.product_delete, name="product-delete"),
    path("price-books/", products.price_book_list, name="pricebook-list"),
    path("price-books/new/", products.price_book_create, name="pricebook-create"),
    path("price-books/<int:pk>/", products.price_book_detail, name="pricebook-detail"),
    path("price-books/<int:pk>/edit/", products.price_book_edit, name="pricebook-edit"),
    path("price-books/<int:pk>/delete/", products.price_book_delete, name="pricebook-delete"),
    path(
        "customers/<int:pk>/price-book/",
        products.customer_price_book,
        name="customer-pricebook",
    ),
    # Quotes
    path("quotes/", quotes.quote_list, name="quote-list"),
    path("quotes/new/", quotes.quote_create, name="quote-create"),
    path("quotes/<int:pk>/", quotes.quote_detail, name="quote-detail"),
    path("quotes/<int:pk>/edit/", quotes.quote_edit, name="quote-edit"),
    path("quotes/<int:pk>/lines/", quotes.quote_line_add, name="quote-line-add"),
    path("quotes/lines/<int:pk>/", quotes.quote_line_update, name="quote-line-update"),
    path("quotes/lines/<int:pk>/delete/", quotes.quote_line_delete, name="quote-line-delete"),
    path("quotes/<int:pk>/send/", quotes.quote_send, name="quote-send"),
    path("quotes/<int:pk>/mark-sent/", quotes.quote_mark_sent, name="quote-mark-sent"),
    path("quotes/<int:pk>/accept/", quotes.quote_accept, name="quote-accept"),
    path("quotes/<int:pk>/reject/", quotes.quote_reject, name="quote-reject"),
    path("quotes/<int:pk>/new-version/", quotes.quote_new_version, name="quote-new-version"),
    path("quotes/<int:pk>/print/", quotes.quote_print, name="quote-print"),
    # Orders
    path("orders/", orders.order_list, name="order-list"),
    path("orders/new/", orders.order_create, name="order-create"),
    path("orders/import/", orders.order_import_view, name="order-import"),
    path(
        "orders/import/<str:token>/rejected.csv",
        orders.order_import_report,
        name="order-import-report",
    ),
    path("orders/<int:pk>/", orders.order_detail, name="order-detail"),
    path("orders/<int:pk>/status/", orders.order_status, name="order-status"),
    path("customers/<int:pk>/orders/", orders.customer_orders, name="customer-orders"),
]
