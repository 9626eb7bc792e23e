"""Writes about leads: creation (assignment rules and score applied, for every way a lead
arrives), edits, the status workflow, interactions, and the rules admins tune.

Each function is one transaction and says what it does: scores are recomputed and owners
notified here, explicitly, never by signals.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.matching import normalize_email, normalize_phone
from sales.models import (
    AssignmentRule,
    Lead,
    LeadInteraction,
    LeadScoreRule,
    LeadStatus,
)
from sales.services.lead_assignment import Assigner
from sales.services.lead_scoring import Scorer, lead_rescore, lead_score_refresh
from tenancy.context import require_org
from tenancy.models import Notification, Organization, User

# The workflow: where a lead may go from each status. Converting is its own step (lead_convert).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    LeadStatus.NEW: (LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED),
    LeadStatus.CONTACTED: (LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED),
    LeadStatus.QUALIFIED: (LeadStatus.CONTACTED, LeadStatus.UNQUALIFIED),
    LeadStatus.UNQUALIFIED: (LeadStatus.CONTACTED, LeadStatus.QUALIFIED),
    LeadStatus.CONVERTED: (),
}
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
CREATE_CHUNK = 1000


def _apply(instance, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(instance, name, value)


def prepare_lead(lead: Lead) -> None:
    """Normalized copies used for matching: lower-case email, phone digits."""
    lead.email = normalize_email(lead.email)
    lead.phone_normalized = normalize_phone(lead.phone)
    lead.country = (lead.country or "").strip().upper()


def _lead_url(org: Organization, lead: Lead) -> str:
    return reverse("sales:lead-detail", kwargs={"org_slug": org.slug, "pk": lead.pk})


def _notify_assigned(org: Organization, leads: list[Lead], by: User | None) -> None:
    """One notification per new owner (not the person who created the leads themselves)."""
    by_owner: dict[int, list[Lead]] = {}
    for lead in leads:
        if lead.owner_id and (by is None or lead.owner_id != by.pk):
            by_owner.setdefault(lead.owner_id, []).append(lead)
    notifications = []
    for owner_id, owned in by_owner.items():
        if len(owned) == 1:
            lead = owned[0]
            title = _("New lead assigned to you: %(name)s") % {"name": lead.full_name}
            body = lead.company
            link = _lead_url(org, lead)
        else:
            title = ngettext(
                "%(count)s new lead assigned to you",
                "%(count)s new leads assigned to you",
                len(owned),
            ) % {"count": len(owned)}
            body = ""
            link = reverse("sales:lead-list", kwargs={"org_slug": org.slug}) + "?mine=on"
        notifications.append(
            Notification(
                organization=org, user_id=owner_id, title=title[:200], body=body, link=link
            )
        )
    Notification.objects.bulk_create(notifications)


@transaction.atomic
def lead_create(*, org: Organization, by: User | None, data: dict[str, Any]) -> Lead:
    """Create a lead from cleaned data (manual entry, a web form submission).

    Without an `owner` in `data`, the assignment rules pick one. The score is computed and a
    new owner other than `by` is notified.
    """
    return leads_create_many(org=org, by=by, rows=[data])[0]


@transaction.atomic
def leads_create_many(
    *, org: Organization, by: User | None, rows: Iterable[dict[str, Any]]
) -> list[Lead]:
    """Create many leads at once (an import): the rules are loaded and locked once, the rows
    written in chunks, and each owner gets one notification for all their new leads."""
    assigner = Assigner()
    scorer = Scorer.load()
    leads = []
    for data in rows:
        lead = Lead(organization=org)
        _apply(lead, data)
        prepare_lead(lead)
        if lead.owner_id is None:
            lead.owner_id = assigner.assign(lead)
        scorer.apply(lead)  # a new lead has no interactions yet
        leads.append(lead)
    for lead in leads:
        lead.full_clean(exclude=["organization", "owner", "web_form"], validate_unique=False)
    for start in range(0, len(leads), CREATE_CHUNK):
        Lead.objects.bulk_create(leads[start : start + CREATE_CHUNK])
    assigner.save()
    _notify_assigned(org, leads, by)
    return leads


@transaction.atomic
def lead_update(*, lead: Lead, by: User | None, data: dict[str, Any]) -> Lead:
    """Change a lead's details; the score follows, and a new owner is notified."""
    old_owner = lead.owner_id
    _apply(lead, data)
    prepare_lead(lead)
    lead_score_refresh(lead=lead)
    lead.save()
    if lead.owner_id != old_owner:
        _notify_assigned(require_org(), [lead], by)
    return lead


def allowed_statuses(lead: Lead) -> tuple[str, ...]:
    return TRANSITIONS.get(lead.status, ())


@transaction.atomic
def lead_set_status(*, lead: Lead, status: str, by: User | None) -> Lead:
    """Move a lead along the workflow; refuses a move the workflow does not allow."""
    if status == LeadStatus.CONVERTED:
        raise ValidationError(_("Use “Convert” to turn a qualified lead into a customer."))
    if status not in allowed_statuses(lead):
        current = LeadStatus(lead.status).label if lead.status in LeadStatus.values else lead.status
        raise ValidationError(
            _("A lead that is %(current)s cannot be marked %(status)s.")
            % {
                "current": str(current).lower(),
                "status": str(LeadStatus(status).label).lower()
                if status in LeadStatus.values
                else status,
            }
        )
    lead.status = status
    lead.save(update_fields=["status", "updated_at"])
    return lead


@transaction.atomic
def lead_interaction_log(*, lead: Lead, by: User | None, data: dict[str, Any]) -> LeadInteraction:
    """Log one touch with a lead; the engagement part of its score follows."""
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(
            _("This lead was converted: log interactions on the customer instead.")
        )
    interaction = LeadInteraction(organization_id=lead.organization_id, lead=lead, user=by)
    _apply(interaction, data)
    interaction.save()
    lead_rescore(lead=lead)
    return interaction


# --- Rules --------------------------------------------------------------------------------


def assignment_rule_save(
    *, org: Organization, data: dict[str, Any], rule: AssignmentRule | None = None
) -> AssignmentRule:
    rule = rule or AssignmentRule(organization=org)
    _apply(rule, data)
    rule.save()
    return rule


def assignment_rule_delete(*, rule: AssignmentRule) -> None:
    rule.delete()


def score_rule_save(
    *, org: Organization, data: dict[str, Any], rule: LeadScoreRule | None = None
) -> LeadScoreRule:
    """Save a scoring rule. Scores are not recomputed here: the admin tunes several rules,
    then recalculates every lead once (leads_rescore_all)."""
    rule = rule or LeadScoreRule(organization=org)
    _apply(rule, data)
    rule.save()
    return rule


def score_rule_delete(*, rule: LeadScoreRule) -> None:
    rule.delete()
