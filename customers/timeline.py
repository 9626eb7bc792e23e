"""The customer 360 timeline: one newest-first stream merged from every app's records.

Each app registers a source: a function `(customer, before, limit) -> list[TimelineEntry]`
returning at most `limit` entries strictly older than the cursor `before` (a (when, kind, id)
tuple, or None for the first page), newest first. The timeline asks every selected source for
`limit + 1` entries and merges them, so one page costs one query per source whatever the data.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from heapq import merge

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

Cursor = tuple[datetime, str, int]


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str  # the source key, e.g. "interaction", "order"
    pk: int
    title: str
    detail: str = ""
    url: str = ""
    badge: str = ""
    badge_tone: str = "secondary"
    actor: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cursor(self) -> Cursor:
        return (self.when, self.kind, self.pk)


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    label: str
    fetch: Callable[..., list[TimelineEntry]]


_sources: dict[str, TimelineSource] = {}


def register_source(kind: str, label) -> Callable:
    def decorator(fetch: Callable[..., list[TimelineEntry]]) -> Callable:
        _sources[kind] = TimelineSource(kind=kind, label=label, fetch=fetch)
        return fetch

    return decorator


def timeline_sources() -> list[TimelineSource]:
    return list(_sources.values())


def before_filter(field_name: str, kind: str, before: Cursor | None) -> Q:
    """Rows strictly older than the cursor in (when, kind, id) order, for one source's queryset."""
    if before is None:
        return Q()
    when, cursor_kind, pk = before
    older = Q(**{f"{field_name}__lt": when})
    if kind < cursor_kind:
        return older | Q(**{field_name: when})
    if kind == cursor_kind:
        return older | Q(**{field_name: when, "pk__lt": pk})
    return older


def fetch_page(
    queryset: QuerySet, *, field_name: str, kind: str, before: Cursor | None, limit: int
) -> QuerySet:
    return queryset.filter(before_filter(field_name, kind, before)).order_by(
        f"-{field_name}", "-pk"
    )[:limit]


def customer_timeline(
    *, customer, kinds: list[str] | None = None, before: Cursor | None = None, limit: int = 25
) -> tuple[list[TimelineEntry], Cursor | None]:
    """One page of the merged timeline and the cursor of the next page (None at the end)."""
    sources = [s for s in _sources.values() if not kinds or s.kind in kinds]
    streams = [
        source.fetch(customer=customer, before=before, limit=limit + 1) for source in sources
    ]
    merged = list(merge(*streams, key=lambda e: e.cursor, reverse=True))
    page = merged[:limit]
    next_cursor = page[-1].cursor if len(merged) > limit else None
    return page, next_cursor


# --- This app's sources -------------------------------------------------------------------


@register_source("interaction", _("Interactions"))
def _interactions(*, customer, before: Cursor | None, limit: int) -> list[TimelineEntry]:
    from customers.models import Interaction

    rows = fetch_page(
        Interaction.objects.filter(customer=customer).select_related("user", "contact"),
        field_name="occurred_at",
        kind="interaction",
        before=before,
        limit=limit,
    )
    return [
        TimelineEntry(
            when=row.occurred_at,
            kind="interaction",
            pk=row.pk,
            title=row.subject,
            detail=row.body,
            badge=str(row.get_channel_display()),
            badge_tone="info" if row.direction == "inbound" else "primary",
            actor=str(row.user or ""),
            extra={
                "direction": row.get_direction_display(),
                "contact": row.contact.full_name if row.contact else "",
            },
        )
        for row in rows
    ]
