"""Sets the organization of each request from its URL, after checking membership."""

import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404

from tenancy.context import tenant_context
from tenancy.models import Membership, Organization

ORG_PATH = re.compile(r"^/o/(?P<slug>[-\w]+)/")


def _workers() -> int | None:
    """The web requests' max_parallel_workers_per_gather (settings.py says why), or None."""
    workers = settings.WEB_PARALLEL_WORKERS_PER_GATHER
    return None if workers < 0 else workers


class TenantMiddleware:
    """Every URL under /o/<slug>/ runs inside one transaction with that organization set.

    A signed-in user who is not a member gets 404 whether or not the organization exists, so
    URLs reveal nothing about other tenants. Other signed-in requests run in a transaction with
    only the user set, so the organization switcher can list the user's memberships.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        match = ORG_PATH.match(request.path_info)
        if match is None:
            if not request.user.is_authenticated:
                return self.get_response(request)
            with tenant_context(None, user_id=request.user.pk, parallel_workers=_workers()):
                request._tenant_transaction = True
                return self.get_response(request)

        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        org = Organization.objects.filter(slug=match["slug"]).first()
        if org is None:
            raise Http404
        with tenant_context(org, user_id=request.user.pk, parallel_workers=_workers()):
            membership = Membership.objects.filter(user_id=request.user.pk).first()
            if membership is None:
                raise Http404
            request._tenant_transaction = True
            membership.organization = org
            membership.user = request.user
            request.organization = org
            request.membership = membership
            if request.session.get("last_org") != org.slug:
                request.session["last_org"] = org.slug
            return self.get_response(request)

    def process_exception(self, request, exception) -> None:
        # Django turns a view's exception into a response before it gets back to __call__, so
        # the transaction opened there would commit whatever the view wrote before failing.
        # Roll it back instead, as ATOMIC_REQUESTS would.
        if getattr(request, "_tenant_transaction", False):
            transaction.set_rollback(True)
