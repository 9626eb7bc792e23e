"""Template helpers of the customer list, where every row would otherwise pay for an include
and a translated choice label (50 rows: about a hundred includes and lookups a page)."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import floatformat
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext

from customers.models import CustomerKind, LifecycleStage, RfmSegment

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


@register.simple_tag(takes_context=True)
def customer_rows(context, customers, list_url: str) -> SafeString:
    """The customer list's table rows, built here rather than by a template loop.

    Fifty rows through the template engine cost about 45 ms a page at a million customers
    (some three thousand variable lookups, a related manager and two queryset clones a row for
    the tags); built here, a few ms. The markup is that of the row the template used to hold:
    change both together with customers/partials/customer_list_results.html. The tags come
    from the selector's prefetch into `tag_list` (customers.selectors.customer_list_page).
    """
    can_edit = bool(context.get("can") and context["can"].edit_customers)
    currency = context["org"].currency
    segments = {value: str(label) for value, label in RfmSegment.choices}
    kinds = {value: str(label) for value, label in CustomerKind.choices}
    not_scored = format_html('<span class="text-body-tertiary">{}</span>', gettext("Not scored"))
    rows = []
    for c in customers:
        check = (
            format_html(
                '<td class="col-check d-none d-md-table-cell"><input type="checkbox" '
                'class="form-check-input" name="select" value="{}" aria-label="{}"></td>',
                c.pk,
                gettext("Select %(name)s") % {"name": c.name},
            )
            if can_edit
            else ""
        )
        contact = c.email or c.phone or kinds.get(c.kind, c.kind)
        if c.city:
            contact = f"{contact} · {c.city}"
        tags = format_html_join(
            "",
            '<span class="badge rounded-pill badge-soft-secondary me-1">{}</span>',
            ((tag.name,) for tag in getattr(c, "tag_list", ())),
        )
        badge = stage_badge(context, c.lifecycle_stage)
        s = _scores(c)
        segment = segments.get(s.rfm_segment, s.rfm_segment) if s and s.rfm_segment else not_scored
        clv = f"{intcomma(floatformat(s.clv, 0))} {currency}" if s and s.clv is not None else "—"
        churn = (
            f"{round(s.churn_probability * 100)}%" if s and s.churn_probability is not None else "—"
        )
        created = template_localtime(c.created_at)
        rows.append(
            format_html(
                "<tr>{check}"
                '<td class="min-w-0"><a class="fw-medium text-decoration-none" href="{url}">'
                "{name}</a> "
                '<span class="d-md-none ms-1">{badge}</span>'
                '<div class="small text-body-secondary text-truncate">{contact}</div>{tags}</td>'
                '<td class="d-none d-md-table-cell">{badge}</td>'
                '<td class="d-none d-lg-table-cell small">{owner}</td>'
                '<td class="d-none d-md-table-cell small">{segment}</td>'
                '<td class="text-end d-none d-sm-table-cell small">{clv}</td>'
                '<td class="text-end d-none d-lg-table-cell small">{churn}</td>'
                '<td class="d-none d-xl-table-cell small text-body-secondary">'
                '<time datetime="{iso}">{date}</time></td></tr>\n',
                check=check,
                url=f"{list_url}{c.pk}/",
                name=c.name,
                badge=badge,
                contact=contact,
                tags=tags,
                owner=c.owner or "—",
                segment=segment,
                clv=clv,
                churn=churn,
                iso=created.isoformat(),
                date=date_format(created, "SHORT_DATE_FORMAT"),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every part went through format_html


def _scores(customer):
    """The customer's scores, or None when it has not been scored (no CustomerScore row)."""
    try:
        return customer.scores
    except ObjectDoesNotExist:
        return None
