"""The sales URLs, one module per area under sales/routes/."""

from sales.routes import activities, catalog, leads, opportunities

app_name = "sales"

urlpatterns = [
    *leads.urlpatterns,
    *opportunities.urlpatterns,
    *catalog.urlpatterns,
    *activities.urlpatterns,
]
