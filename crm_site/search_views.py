"""The global search page, and the fragments htmx swaps into the top bar and into the page."""

from django.shortcuts import render

from crm_site.search import HITS_PER_KIND, global_search, normalize_query
from tenancy.permissions import Capability, require_capability

DROPDOWN_HITS_PER_KIND = 5


@require_capability(Capability.VIEW_CUSTOMERS)
def search(request, org_slug: str):
    """GET ?q=: results grouped by kind. The top bar's box asks for the dropdown fragment, the
    page's own box for the results fragment; without JavaScript both submit to the full page."""
    query = normalize_query(request.GET.get("q"))
    target = request.htmx.target if request.htmx and not request.htmx.boosted else None
    limit = DROPDOWN_HITS_PER_KIND if target == "global-search-results" else HITS_PER_KIND
    results = global_search(
        org=request.organization, role=request.membership.role, query=query, limit=limit
    )
    context = {"results": results, "search_query": query}
    if target == "global-search-results":
        return render(request, "search/partials/dropdown.html", context)
    if target == "search-results":
        return render(request, "search/partials/results.html", context)
    return render(request, "search/results.html", context)
