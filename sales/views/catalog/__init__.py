"""Views of the catalog area: products and price books (`products`), quotes (`quotes`), orders
and their import (`orders`), and the public page of a sent quote (`public`)."""

from django.core.exceptions import ValidationError
from django.urls import reverse


def org_url(request, name: str, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def int_param(value) -> int | None:
    """A positive id from a query or form value, None for anything else."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)
