"""The lead score: transparent rules an admin tunes, each worth some points, shown as reasons.

Fit rules look at the lead's own fields ("industry is Software": +15); engagement rules count
its interactions ("at least 2 inbound touches": +10). A lead's score is the sum of the points of
the rules it meets, and its reasons are those rules' labels. The score is recomputed explicitly
by the services that change what it depends on (create, update, a new interaction), and for
every lead by `leads_rescore_all` after the rules change.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, Direction
from sales.models import Lead, LeadInteraction, LeadScoreRule, LeadStatus
from tenancy.models import Organization

# The lead fields a fit rule may test, with the label the rule form shows.
FIT_FIELDS = {
    "industry": _("Industry"),
    "employees": _("Employees"),
    "title": _("Job title"),
    "company": _("Company"),
    "email": _("Email"),
    "phone": _("Phone"),
    "website": _("Website"),
    "city": _("City"),
    "region": _("Region"),
    "country": _("Country"),
    "source": _("Source"),
    "rating": _("Rating"),
    "campaign_name": _("Campaign"),
}

# What an engagement rule may count: the lead's interactions, all of them, by direction or by
# channel.
ENGAGEMENT_METRICS = frozenset(
    ["interactions"]
    + [f"interactions_{d.value}" for d in Direction]
    + [f"interactions_{c.value}" for c in Channel]
)


def engagement_metric_choices() -> list[tuple[str, str]]:
    """The metrics with their labels, in the current language."""
    return [
        ("interactions", str(_("Interactions"))),
        *[
            (f"interactions_{d.value}", _("%(direction)s interactions") % {"direction": d.label})
            for d in Direction
        ],
        *[
            (f"interactions_{c.value}", _("Interactions by %(channel)s") % {"channel": c.label})
            for c in Channel
        ],
    ]


SCORE_LIMIT = 9999  # the column is a SmallIntegerField; a score this high is plenty
RESCORE_BATCH = 500
SCORED_FIELDS = ("id", "organization_id", "score", "score_reasons", *FIT_FIELDS)

Counts = dict[str, int]


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _choice_words(lead: Lead, field: str) -> set[str]:
    """A choice field's stored code and its label, so a rule may name either."""
    value = getattr(lead, field)
    words = {str(value).lower()}
    if value:
        words.add(str(getattr(lead, f"get_{field}_display")()).lower())
    return words


def rule_matches(rule: LeadScoreRule, lead: Lead, counts: Counts) -> bool:
    """Whether `lead` (with these interaction counts) meets `rule`. Unknown fields never match."""
    if rule.kind == LeadScoreRule.Kind.ENGAGEMENT:
        if rule.field not in ENGAGEMENT_METRICS:
            return False
        value = counts.get(rule.field, 0)
    elif rule.field in FIT_FIELDS:
        value = getattr(lead, rule.field)
    else:
        return False
    wanted = (rule.value or "").strip().lower()
    operator = rule.operator
    if operator == LeadScoreRule.Operator.PRESENT:
        return bool(value)
    if operator == LeadScoreRule.Operator.GTE:
        have, limit = _number(value if value is not None else ""), _number(wanted)
        return have is not None and limit is not None and have >= limit
    if value is None or value == "":
        return False
    if operator == LeadScoreRule.Operator.EQUALS:
        if rule.field in ("source", "rating"):
            return wanted in _choice_words(lead, rule.field)
        number = _number(wanted)
        if isinstance(value, int) and number is not None:
            return value == number
        return str(value).strip().lower() == wanted
    if operator == LeadScoreRule.Operator.CONTAINS:
        return bool(wanted) and wanted in str(value).lower()
    return False


@dataclass
class Scorer:
    """The organization's active rules, loaded once to score one lead or many."""

    rules: list[LeadScoreRule]

    @classmethod
    def load(cls) -> "Scorer":
        return cls(rules=list(LeadScoreRule.objects.filter(is_active=True).order_by("kind", "id")))

    @property
    def counts_interactions(self) -> bool:
        return any(rule.kind == LeadScoreRule.Kind.ENGAGEMENT for rule in self.rules)

    def score(self, lead: Lead, counts: Counts | None = None) -> tuple[int, list[dict]]:
        """(score, reasons): the sum of the points of the rules met, and those rules, biggest
        first within fit then engagement."""
        met = [rule for rule in self.rules if rule_matches(rule, lead, counts or {})]
        total = max(-SCORE_LIMIT, min(SCORE_LIMIT, sum(rule.points for rule in met)))
        met.sort(key=lambda rule: (rule.kind != LeadScoreRule.Kind.FIT, -rule.points, rule.pk))
        reasons = [{"label": rule.label, "points": rule.points, "kind": rule.kind} for rule in met]
        return total, reasons

    def apply(self, lead: Lead, counts: Counts | None = None) -> bool:
        """Set the lead's score and reasons; whether they changed."""
        score, reasons = self.score(lead, counts)
        changed = (score, reasons) != (lead.score, lead.score_reasons)
        lead.score, lead.score_reasons = score, reasons
        return changed


def interaction_counts(lead_ids: Iterable[int]) -> dict[int, Counts]:
    """{lead id: {metric: count}} for the engagement rules, in one query."""
    counts: dict[int, Counts] = defaultdict(lambda: defaultdict(int))
    rows = (
        LeadInteraction.objects.filter(lead_id__in=list(lead_ids))
        .values_list("lead_id", "channel", "direction")
        .annotate(n=Count("id"))
        .order_by()
    )
    for lead_id, channel, direction, n in rows:
        metrics = counts[lead_id]
        metrics["interactions"] += n
        metrics[f"interactions_{direction}"] += n
        metrics[f"interactions_{channel}"] += n
    return counts


def lead_score_refresh(*, lead: Lead, scorer: Scorer | None = None) -> bool:
    """Set one lead's score and reasons from the rules (not saved); whether they changed."""
    scorer = scorer or Scorer.load()
    counts = {}
    if scorer.counts_interactions and lead.pk:
        counts = interaction_counts([lead.pk]).get(lead.pk, {})
    return scorer.apply(lead, counts)


def lead_rescore(*, lead: Lead, scorer: Scorer | None = None) -> Lead:
    """Recompute one lead's score and reasons, and save them if they changed."""
    if lead_score_refresh(lead=lead, scorer=scorer):
        lead.save(update_fields=["score", "score_reasons", "updated_at"])
    return lead


def leads_rescore_all(*, org: Organization, batch_size: int = RESCORE_BATCH) -> int:
    """Recompute every open lead's score after the rules changed, `batch_size` leads at a time
    (one read, one count and one bulk update per batch). Returns how many scores changed."""
    scorer = Scorer.load()
    changed_total = 0
    last_id = 0
    while True:
        batch = list(
            Lead.objects.exclude(status=LeadStatus.CONVERTED)
            .filter(pk__gt=last_id)
            .only(*SCORED_FIELDS)
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return changed_total
        last_id = batch[-1].pk
        counts = interaction_counts(lead.pk for lead in batch) if scorer.counts_interactions else {}
        changed = [lead for lead in batch if scorer.apply(lead, counts.get(lead.pk, {}))]
        if changed:
            with transaction.atomic():
                Lead.objects.bulk_update(changed, ["score", "score_reasons"])
        changed_total += len(changed)
