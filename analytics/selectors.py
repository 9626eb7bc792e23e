"""Reads about analytics runs."""

from django.shortcuts import get_object_or_404

from analytics.models import AnalyticsRun
from tenancy.models import Organization


def run_list(*, org: Organization, limit: int = 30) -> list[AnalyticsRun]:
    return list(AnalyticsRun.objects.select_related("requested_by").order_by("-as_of")[:limit])


def run_get(*, org: Organization, pk: int) -> AnalyticsRun:
    return get_object_or_404(AnalyticsRun.objects.all(), pk=pk)
