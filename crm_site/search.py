"""Global search: one box that finds customers, contacts and, as apps arrive, leads,
opportunities and tickets.

Each app registers a provider in its AppConfig.ready(), the way customers/timeline.py collects
timeline sources:

    @register_provider("customer", _("Customers"), order=10, see_all=customer_list_url)
    def customers(org, query, limit) -> list[SearchHit]: ...

A provider returns at most `limit` hits of its kind, best first, from the organization in
context only. `global_search` asks every provider the member's role may use for `limit + 1`
hits (the extra one tells whether there are more) and returns them grouped by kind, in the
providers' order. Every provider costs a fixed number of queries, whatever the data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import connections

from tenancy.permissions import Capability, role_can

if TYPE_CHECKING:
    from tenancy.models import Organization

MAX_QUERY_LENGTH = 200
HITS_PER_KIND = 8


@dataclass(frozen=True)
class SearchHit:
    kind: str  # the provider's key, e.g. "customer"
    label: str  # the kind as a reader names one hit, e.g. "Customer"
    url: str
    title: str
    subtitle: str = ""
    score: float = 0.0
    extra: dict = field(default_factory=dict)


Fetch = Callable[["Organization", str, int], list[SearchHit]]


@dataclass(frozen=True)
class SearchProvider:
    kind: str
    label: str  # the group's heading, e.g. "Customers"
    fetch: Fetch
    order: int = 100
    capability: Capability = Capability.VIEW_CUSTOMERS
    # (org, query) -> URL of the kind's own list filtered by the query, for "see all".
    see_all: Callable[[Organization, str], str] | None = None


_providers: dict[str, SearchProvider] = {}


def register_provider(
    kind: str,
    label,
    *,
    order: int = 100,
    capability: Capability = Capability.VIEW_CUSTOMERS,
    see_all: Callable[[Organization, str], str] | None = None,
) -> Callable[[Fetch], Fetch]:
    def decorator(fetch: Fetch) -> Fetch:
        _providers[kind] = SearchProvider(
            kind=kind,
            label=label,
            fetch=fetch,
            order=order,
            capability=capability,
            see_all=see_all,
        )
        return fetch

    return decorator


def search_providers(role: str | None = None) -> list[SearchProvider]:
    """The registered providers in display order; with a role, only those it may use."""
    providers = sorted(_providers.values(), key=lambda p: (p.order, p.kind))
    if role is None:
        return providers
    return [p for p in providers if role_can(role, p.capability)]


# The functions of the text conditions that search providers ask PostgreSQL to answer from
# their indexes: LIKE, ILIKE, lower(), ||, to_tsvector(), @@ and pg_trgm's <%.
INDEXED_TEXT_FUNCTIONS = [
    "textlike(text,text)",
    "texticlike(text,text)",
    "lower(text)",
    "textcat(text,text)",
    "to_tsvector(regconfig,text)",
    "ts_match_vq(tsvector,tsquery)",
    "word_similarity_op(text,text)",
]
_indexes_usable: dict[str, bool] = {}


def text_search_indexes_usable(using: str = "default") -> bool:
    """Whether trigram, full-text and lower() indexes can serve searches under row-level
    security, i.e. whether a superuser marked INDEXED_TEXT_FUNCTIONS LEAKPROOF.

    For a table with row-level security, PostgreSQL evaluates the policy before any condition
    that could leak what it sees (in an error, say), so such a condition cannot be an index
    condition: it is a filter over every row of the tenant. Out of the box only comparisons like
    = < >= are leakproof. Checked once per process and database.
    """
    if using not in _indexes_usable:
        connection = connections[using]
        usable = False
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT bool_and(COALESCE(p.proleakproof, false)) FROM unnest(%s::text[]) f "
                    "LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f)",
                    [INDEXED_TEXT_FUNCTIONS],
                )
                usable = bool(cursor.fetchone()[0])
        _indexes_usable[using] = usable
    return _indexes_usable[using]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def normalize_query(raw: str | None) -> str:
    """The query as providers get it: NFC, no control characters (PostgreSQL refuses NUL in
    text), single spaces, at most MAX_QUERY_LENGTH characters."""
    text = unicodedata.normalize("NFC", raw or "")
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()[:MAX_QUERY_LENGTH].strip()


@dataclass
class SearchGroup:
    kind: str
    label: str
    hits: list[SearchHit]
    has_more: bool = False
    see_all_url: str = ""


@dataclass
class SearchResults:
    query: str
    groups: list[SearchGroup]

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)


def global_search(
    *, org: Organization, role: str | None, query: str, limit: int = HITS_PER_KIND
) -> SearchResults:
    """Every provider's best `limit` hits for `query`, grouped by kind; empty groups left out."""
    query = normalize_query(query)
    if not query:
        return SearchResults(query="", groups=[])
    groups = []
    for provider in search_providers(role):
        hits = provider.fetch(org, query, limit + 1)
        if not hits:
            continue
        has_more = len(hits) > limit
        groups.append(
            SearchGroup(
                kind=provider.kind,
                label=str(provider.label),
                hits=hits[:limit],
                has_more=has_more,
                see_all_url=provider.see_all(org, query) if provider.see_all else "",
            )
        )
    return SearchResults(query=query, groups=groups)
