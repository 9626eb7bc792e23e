"""Reads of the leads area: the list, one lead with its interactions, the likely duplicates of
a lead about to be converted, the rules and web forms admins tune, the home panel and search.

Every function reads through the tenant-scoped managers; the `*_get` functions raise Http404 for
"not in this organization" and "does not exist" alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from crm_site.pagination import KeysetPage, SortKey, keyset_page
from crm_site.search import text_search_indexes_usable
from customers.matching import normalize_email, normalize_name, normalize_phone
from customers.models import Contact, Customer
from customers.selectors import customer_base
from sales.forms.leads import SORTS, LeadFilter, lead_search_condition
from sales.models import (
    AssignmentRule,
    Lead,
    LeadInteraction,
    LeadScoreRule,
    WebForm,
)
from sales.services.lead_assignment import SALES_ROLES
from sales.services.leads import OPEN_STATUSES
from tenancy.models import Organization, User

LIST_COLUMNS = (
    "id",
    "organization_id",
    "first_name",
    "last_name",
    "company",
    "title",
    "email",
    "phone",
    "status",
    "source",
    "rating",
    "score",
    "owner_id",
    "campaign_name",
    "created_at",
)
DUPLICATE_LIMIT = 10
# Characters the customers' name_key leaves out (customers.models.name_key_expression).
_NAME_KEY_DROPPED = str.maketrans("", "", " ,.-'&/()")


def lead_filterset(*, org: Organization, user: User, params) -> LeadFilter:
    return LeadFilter(params, queryset=Lead.objects.all(), org=org, user=user)


@dataclass
class LeadListResult:
    filterset: LeadFilter
    page: KeysetPage
    sort: str


def lead_list_page(
    *, org: Organization, user: User, params, base_url: str, per_page: int = 50
) -> LeadListResult:
    """One keyset page of the filtered, sorted lead list, its capped count and the filters."""
    filterset = lead_filterset(org=org, user=user, params=params)
    queryset = filterset.qs if filterset.is_valid() else Lead.objects.none()
    sort = filterset.sort_key
    field_name, descending, _label = SORTS[sort]
    page = keyset_page(
        queryset.only(
            *LIST_COLUMNS, "owner__id", "owner__full_name", "owner__email"
        ).select_related("owner"),
        key=SortKey(field_name, descending=descending),
        params=params,
        base_url=base_url,
        per_page=per_page,
        hx_target="#lead-results",
    )
    return LeadListResult(filterset=filterset, page=page, sort=sort)


def lead_get(*, org: Organization, pk: int) -> Lead:
    """A lead of `org`, or 404."""
    return get_object_or_404(Lead.objects.select_related("owner", "web_form"), pk=pk)


def lead_interaction_list(*, lead: Lead, limit: int = 50) -> list[LeadInteraction]:
    return list(
        LeadInteraction.objects.filter(lead=lead)
        .select_related("user")
        .order_by("-occurred_at", "-id")[:limit]
    )


def lead_list_open_for_owner(*, org: Organization, user: User, limit: int = 8) -> list[Lead]:
    """The member's open leads, newest first (the home panel)."""
    return list(
        Lead.objects.filter(owner=user, status__in=OPEN_STATUSES)
        .only("id", "organization_id", "first_name", "last_name", "company", "status", "score")
        .order_by("-created_at", "-id")[:limit]
    )


# --- Conversion ---------------------------------------------------------------------------


@dataclass
class DuplicateCandidate:
    """An existing customer the lead may be, why, and its contacts that match the lead."""

    customer: Customer
    reasons: list[str] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    @property
    def strong(self) -> bool:
        """Matched on email or phone, not only on a similar name."""
        return any(reason != _("Similar company name") for reason in self.reasons)


def _name_key(text: str) -> str:
    return text.lower().translate(_NAME_KEY_DROPPED)


def lead_duplicate_candidates(*, org: Organization, lead: Lead) -> list[DuplicateCandidate]:
    """Live customers (and contacts) that are probably the lead already: the same email or
    phone, or a company name that starts the same once "Inc", "Ltd"... are left out.

    Two queries whatever the data: customers through the (organization, email), (organization,
    phone_normalized) and (organization, name_key) indexes, contacts through theirs.
    """
    email, phone = normalize_email(lead.email), normalize_phone(lead.phone)
    core = _name_key(normalize_name(lead.company))
    customer_match = Q()
    if email:
        customer_match |= Q(email=email)
    if phone:
        customer_match |= Q(phone_normalized=phone)
    if len(core) >= 3:
        # A range, not LIKE: comparisons can use the index under row-level security.
        customer_match |= Q(name_key__gte=core, name_key__lt=core[:-1] + chr(ord(core[-1]) + 1))
    contact_match = Q()
    if email:
        contact_match |= Q(email=email)
    if phone:
        contact_match |= Q(phone_normalized=phone)

    candidates: dict[int, DuplicateCandidate] = {}
    if customer_match:
        customers = (
            customer_base(org=org)
            .filter(erased_at__isnull=True)
            .filter(customer_match)
            .only("id", "organization_id", "name", "kind", "email", "phone_normalized", "city")
            .order_by("name", "id")[:DUPLICATE_LIMIT]
        )
        for customer in customers:
            reasons = []
            if email and customer.email == email:
                reasons.append(_("Same email"))
            if phone and customer.phone_normalized == phone:
                reasons.append(_("Same phone"))
            if not reasons:
                reasons.append(_("Similar company name"))
            candidates[customer.pk] = DuplicateCandidate(customer=customer, reasons=reasons)
    if contact_match:
        contacts = (
            Contact.objects.filter(
                contact_match,
                erased_at__isnull=True,
                customer__merged_into__isnull=True,
                customer__erased_at__isnull=True,
            )
            .select_related("customer")
            .order_by("last_name", "id")[:DUPLICATE_LIMIT]
        )
        for contact in contacts:
            candidate = candidates.setdefault(
                contact.customer_id, DuplicateCandidate(customer=contact.customer)
            )
            candidate.contacts.append(contact)
            reason = _("A contact has the same email or phone")
            if reason not in candidate.reasons:
                candidate.reasons.append(reason)
    return sorted(
        candidates.values(), key=lambda c: (not c.strong, c.customer.name.lower(), c.customer.pk)
    )


# --- Settings -----------------------------------------------------------------------------


def assignment_rule_list(*, org: Organization) -> list[AssignmentRule]:
    return list(AssignmentRule.objects.order_by("position", "id"))


def assignment_rule_get(*, org: Organization, pk: int) -> AssignmentRule:
    return get_object_or_404(AssignmentRule.objects.all(), pk=pk)


def score_rule_list(*, org: Organization) -> list[LeadScoreRule]:
    return list(LeadScoreRule.objects.order_by("kind", "-points", "id"))


def score_rule_get(*, org: Organization, pk: int) -> LeadScoreRule:
    return get_object_or_404(LeadScoreRule.objects.all(), pk=pk)


def web_form_list(*, org: Organization) -> list[WebForm]:
    return list(WebForm.objects.order_by("-is_active", "name", "id"))


def web_form_get(*, org: Organization, pk: int) -> WebForm:
    return get_object_or_404(WebForm.objects.all(), pk=pk)


def web_form_get_by_token(*, org: Organization, token: str) -> WebForm | None:
    """The organization's form with this token (the public endpoint), or None."""
    if not token or len(token) > 64:
        return None
    return WebForm.objects.filter(token=token).first()


def member_choices(*, org: Organization) -> QuerySet[User]:
    return User.objects.filter(memberships__organization=org).order_by("full_name", "email")


def sales_member_choices(*, org: Organization) -> QuerySet[User]:
    """Members who can work leads: the people assignment rules may pick."""
    return User.objects.filter(
        memberships__organization=org, memberships__role__in=SALES_ROLES
    ).order_by("full_name", "email")


# --- Global search ------------------------------------------------------------------------


def _prefix_range(column: str, prefix: str) -> Q:
    """`column` starts with `prefix`, as a range the (organization, column) btree answers
    under row-level security (LIKE is not leakproof; comparisons are)."""
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": after})


def lead_search(*, org: Organization, query: str, limit: int) -> list[Lead]:
    """The `limit` leads that best match `query`: exact email first, then names and companies
    that start with it, then (where the trigram indexes can serve it) any that contain it."""
    text = query.strip()
    if not text:
        return []
    lower = text.lower()
    if connection.vendor != "postgresql" or text_search_indexes_usable():
        condition = lead_search_condition(text)
    else:
        variants = list(dict.fromkeys([text, lower, lower[:1].upper() + lower[1:], text.title()]))
        condition = _prefix_range("email", lower)
        for variant in variants:
            for column in ("last_name", "first_name", "company"):
                condition |= _prefix_range(column, variant)
    score = Case(
        When(email=lower, then=Value(3)),
        When(
            Q(last_name__istartswith=text)
            | Q(first_name__istartswith=text)
            | Q(company__istartswith=text),
            then=Value(2),
        ),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(
        Lead.objects.filter(condition)
        .only(*LIST_COLUMNS)
        .annotate(search_score=score)
        .order_by("-search_score", "-created_at", "-id")[:limit]
    )
