"""The global search, under /o/<org_slug>/search/ (crm_site.urls.org_patterns)."""

from django.urls import path

from crm_site.search_views import search

urlpatterns = [path("", search, name="search")]
