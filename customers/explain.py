"""Plain-language explanations of the analytics attributes shown on the customer page."""

from django.utils.translation import gettext_lazy as _

from customers.models import RfmSegment, ValueQuadrant

SEGMENT_EXPLANATIONS = {
    RfmSegment.CHAMPIONS: _(
        "Bought recently, buys often and spends the most. Reward them; they promote you."
    ),
    RfmSegment.LOYAL: _("Buys regularly and responds to offers. Upsell and ask for reviews."),
    RfmSegment.POTENTIAL_LOYALISTS: _(
        "Recent customers with several purchases. A membership or loyalty offer can keep them."
    ),
    RfmSegment.NEW: _("Bought for the first time very recently. Help them get started."),
    RfmSegment.PROMISING: _("Recent buyers who have not bought much yet. Build the relationship."),
    RfmSegment.NEED_ATTENTION: _(
        "Above-average recency and frequency, but slipping. A limited-time offer can help."
    ),
    RfmSegment.ABOUT_TO_SLEEP: _(
        "Below average on recency and frequency. Reconnect before they are lost."
    ),
    RfmSegment.AT_RISK: _("Used to buy often, but not for a long time. Reach out personally."),
    RfmSegment.CANT_LOSE: _(
        "Once among the best customers, now gone quiet. Win them back before a competitor does."
    ),
    RfmSegment.HIBERNATING: _(
        "Last bought long ago and rarely. Offer something relevant, or let them rest."
    ),
    RfmSegment.LOST: _("Lowest recency and frequency. Only worth a low-cost reactivation attempt."),
}

QUADRANT_EXPLANATIONS = {
    ValueQuadrant.BEST: _("Orders often and spends more per order than the median customer."),
    ValueQuadrant.SPENDERS: _("Spends more per order than the median, but orders less often."),
    ValueQuadrant.FREQUENT: _("Orders often, but spends less per order than the median."),
    ValueQuadrant.UNCERTAIN: _("Orders less often and spends less per order than the median."),
}


def churn_band_label(probability: float | None) -> str:
    if probability is None:
        return ""
    if probability >= 0.6:
        return str(_("High risk: likely not to buy again within the horizon."))
    if probability >= 0.3:
        return str(_("Medium risk: keep in touch."))
    return str(_("Low risk: likely to buy again."))


CHURN_REASONS = {
    "long_since_last_order": _("No order for %(value)d days"),
    "few_orders": _("Only %(value)d orders so far"),
    "low_order_value": _("Low average order value (%(value).0f)"),
    "short_relationship": _("A customer for only %(value)d days"),
    "no_recent_orders": _("%(value)d orders in the last 90 days"),
}


def churn_reason_text(reason) -> str:
    """A stored reason ({"code": ..., "value": ...}) as a sentence."""
    if not isinstance(reason, dict) or reason.get("code") not in CHURN_REASONS:
        return ""
    try:
        return str(CHURN_REASONS[reason["code"]]) % {"value": float(reason.get("value") or 0)}
    except (TypeError, ValueError):
        return ""
