"""Template helpers of the customer list, where every row would otherwise pay for an include
and a translated choice label (50 rows: about a hundred includes and lookups a page)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from customers.models import LifecycleStage

register = template.Library()

BADGE_CLASSES = {
    LifecycleStage.ACTIVE: "badge-soft-success",
    LifecycleStage.AT_RISK: "badge-soft-warning",
    LifecycleStage.CHURNED: "badge-soft-danger",
}


@register.simple_tag(takes_context=True)
def stage_badge(context, stage: str) -> SafeString:
    """The lifecycle stage as a badge, the same as customers/partials/stage_badge.html; the
    labels are translated once per render, not once per row."""
    labels = context.render_context.get("customers:stage-labels")
    if labels is None:
        labels = {value: str(label) for value, label in LifecycleStage.choices}
        context.render_context["customers:stage-labels"] = labels
    return format_html(
        '<span class="badge rounded-pill {}">{}</span>',
        BADGE_CLASSES.get(stage, "badge-soft-info"),
        labels.get(stage, stage),
    )
