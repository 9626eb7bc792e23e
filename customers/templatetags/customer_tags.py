from django import template

from customers.explain import (
    QUADRANT_EXPLANATIONS,
    SEGMENT_EXPLANATIONS,
    churn_band_label,
    churn_reason_text,
)

register = template.Library()


@register.filter
def segment_explanation(segment: str) -> str:
    return SEGMENT_EXPLANATIONS.get(segment, "")


@register.filter
def quadrant_explanation(quadrant: str) -> str:
    return QUADRANT_EXPLANATIONS.get(quadrant, "")


@register.filter
def churn_explanation(probability) -> str:
    return churn_band_label(probability)


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.0f}%"


@register.filter
def churn_reason(reason) -> str:
    return churn_reason_text(reason)
