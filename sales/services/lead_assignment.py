"""Who gets a new lead: assignment rules, applied when a lead is created (by hand, from a web
form or from an import).

The first active rule (in the admin's order) whose conditions the lead meets picks the next of
its assignees in rotation; a rule without conditions catches every lead. A rule's place in the
rotation (`next_index`) is read and advanced under SELECT ... FOR UPDATE, so two leads created
at the same moment never go to the same person by accident, and the rotation stays fair.
Assignees who left the organization or can no longer work sales are skipped.
"""

from sales.models import AssignmentRule, Lead
from tenancy.models import Membership
from tenancy.permissions import PERMISSIONS, Capability

SALES_ROLES = sorted(PERMISSIONS[Capability.WORK_SALES])


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.match_source and rule.match_source != lead.source:
        return False
    if rule.match_region:
        wanted = rule.match_region.strip().lower()
        if wanted not in (lead.region.strip().lower(), lead.country.strip().lower()):
            return False
    return True


def _user_ids(values) -> list[int]:
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


class Assigner:
    """The organization's active rules, loaded once to assign one lead or a whole import.

    `assign` returns the owner's id (or None) and advances the rule's rotation in memory;
    `save` writes the rotations back. Rules are locked the first time they are used.
    """

    def __init__(self) -> None:
        self.rules = list(AssignmentRule.objects.filter(is_active=True).order_by("position", "id"))
        wanted = {pk for rule in self.rules for pk in _user_ids(rule.assignees)}
        self.eligible: set[int] = set()
        if wanted:
            self.eligible = set(
                Membership.objects.filter(user_id__in=wanted, role__in=SALES_ROLES).values_list(
                    "user_id", flat=True
                )
            )
        self._locked: dict[int, AssignmentRule] = {}

    def _lock(self, rule: AssignmentRule) -> AssignmentRule:
        if rule.pk not in self._locked:
            self._locked[rule.pk] = (
                AssignmentRule.objects.select_for_update().only("id", "next_index").get(pk=rule.pk)
            )
        return self._locked[rule.pk]

    def assign(self, lead: Lead) -> int | None:
        for rule in self.rules:
            if not rule_matches(rule, lead):
                continue
            assignees = [pk for pk in _user_ids(rule.assignees) if pk in self.eligible]
            if not assignees:
                continue
            locked = self._lock(rule)
            owner_id = assignees[locked.next_index % len(assignees)]
            locked.next_index += 1
            return owner_id
        return None

    def save(self) -> None:
        for rule in self._locked.values():
            rule.save(update_fields=["next_index"])
