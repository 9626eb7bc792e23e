from django.urls import path

from customers import views, views_data, views_records

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("filters/", views.customer_filter_panel, name="customer-filter-panel"),
    path("new/", views.customer_create, name="customer-create"),
    path("bulk/", views.customer_bulk, name="customer-bulk"),
    path("<int:pk>/", views.customer_detail, name="customer-detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:pk>/interactions/new/", views.interaction_create, name="interaction-create"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact-delete"),
    path("fields/", views.custom_field_list, name="custom-field-list"),
    path("fields/<int:pk>/", views.custom_field_edit, name="custom-field-edit"),
    path("fields/<int:pk>/delete/", views.custom_field_delete, name="custom-field-delete"),
    # Duplicates, merges, history, privacy (views_records)
    path("duplicates/", views_records.duplicate_list, name="duplicate-list"),
    path("duplicates/dismiss/", views_records.duplicate_dismiss, name="duplicate-dismiss"),
    path("merge/", views_records.customer_merge, name="customer-merge"),
    path("merges/<int:pk>/undo/", views_records.merge_undo, name="merge-undo"),
    path("<int:pk>/history/", views_records.customer_history, name="customer-history"),
    path("contacts/<int:pk>/history/", views_records.contact_history, name="contact-history"),
    path("<int:pk>/privacy/export/", views_records.privacy_export, name="privacy-export"),
    path("<int:pk>/privacy/erase/", views_records.privacy_erase, name="privacy-erase"),
    # Imports and exports (views_data)
    path("imports/", views_data.import_list, name="import-list"),
    path("imports/new/", views_data.import_upload, name="import-upload"),
    path("imports/<int:pk>/", views_data.import_detail, name="import-detail"),
    path("imports/<int:pk>/map/", views_data.import_map, name="import-map"),
    path("imports/<int:pk>/run/", views_data.import_run, name="import-run"),
    path("imports/<int:pk>/progress/", views_data.import_progress, name="import-progress"),
    path("imports/<int:pk>/report/", views_data.import_report, name="import-report"),
    path("imports/<int:pk>/undo/", views_data.import_undo, name="import-undo"),
    path("export.csv", views_data.customer_export_csv, name="customer-export-csv"),
    path("export.xlsx", views_data.customer_export_xlsx, name="customer-export-xlsx"),
    path("exports/", views_data.export_list, name="export-list"),
    path("exports/<str:token>/", views_data.export_detail, name="export-detail"),
    path("exports/<str:token>/progress/", views_data.export_progress, name="export-progress"),
    path("exports/<str:token>/download/", views_data.export_download, name="export-download"),
]
