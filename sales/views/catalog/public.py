"""The page of a sent quote that its customer opens from the email: no sign-in, a signed link.

The link carries the organization and quote ids signed with the site's secret key, so it cannot
be guessed or changed; a draft (never sent) is not shown.
"""

from django.core import signing
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from sales.models import Quote, QuoteLine, QuoteStatus
from tenancy.context import tenant_context
from tenancy.models import Organization

SALT = "sales.quote-public"


def quote_public_token(quote: Quote) -> str:
    return signing.dumps({"o": quote.organization_id, "q": quote.pk}, salt=SALT, compress=True)


def quote_public_url(request, quote: Quote) -> str:
    return request.build_absolute_uri(reverse("quote-public", args=[quote_public_token(quote)]))


def quote_public(request, token: str):
    try:
        data = signing.loads(token, salt=SALT)
        org_id, quote_id = int(data["o"]), int(data["q"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404 from None
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        raise Http404
    with tenant_context(org):
        quote = (
            Quote.objects.select_related("customer", "contact", "organization")
            .exclude(status=QuoteStatus.DRAFT)
            .filter(pk=quote_id)
            .first()
        )
        if quote is None:
            raise Http404
        newer = Quote.objects.filter(number=quote.number, version__gt=quote.version).exists()
        lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
        context = {
            "quote": quote,
            "lines": lines,
            "quote_org": org,
            "public": True,
            "superseded": newer,
        }
        response = render(request, "sales/catalog/quotes/quote_print.html", context)
        response["X-Robots-Tag"] = "noindex"
        return response
