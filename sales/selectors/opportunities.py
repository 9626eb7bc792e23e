"""Reads of the opportunities area: the board, the list, one opportunity with its history,
pipelines and stages, competitors and partners, and the customer picker.

Every function reads through the tenant-scoped managers; the `*_get` functions raise Http404 for
"not in this organization" and "does not exist" alike.
"""

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm_site.pagination import KeysetPage, SortKey, keyset_page
from crm_site.text_lookups import IContains
from customers.models import LIVE_CUSTOMER, Contact, Customer
from sales.forms.opportunities import DEFAULT_SORT, SORTS, OpenStatus
from sales.models import (
    Competitor,
    Opportunity,
    OpportunityCompetitor,
    Partner,
    Pipeline,
    Stage,
    StageChange,
)
from tenancy.models import Organization, User

CARDS_PER_COLUMN = 20
# Won and lost columns show what closed lately: the rest is history, in the list.
CLOSED_COLUMN_DAYS = 30
AUTOCOMPLETE_LIMIT = 20
CONTACT_OPTIONS_LIMIT = 100

CARD_COLUMNS = (
    "id",
    "organization_id",
    "name",
    "stage_id",
    "pipeline_id",
    "amount",
    "probability",
    "close_date",
    "position",
    "next_step",
    "closed_at",
    "customer__id",
    "customer__organization_id",
    "customer__name",
    "owner__id",
    "owner__full_name",
    "owner__email",
)

MONEY = DecimalField(max_digits=20, decimal_places=2)


def member_choices(*, org: Organization) -> QuerySet[User]:
    return User.objects.filter(memberships__organization=org).order_by("full_name")


# --- Pipelines and stages ---------------------------------------------------------------------


def pipeline_list(*, org: Organization) -> list[Pipeline]:
    return list(Pipeline.objects.order_by("-is_default", "name", "id"))


def pipeline_get(*, org: Organization, pk: int) -> Pipeline:
    return get_object_or_404(Pipeline.objects.all(), pk=pk)


def pipeline_pick(*, pipelines: list[Pipeline], wanted: str | None) -> Pipeline | None:
    """The pipeline named by a `?pipeline=` value among the organization's, else the default."""
    by_id = {str(p.pk): p for p in pipelines}
    if wanted and wanted in by_id:
        return by_id[wanted]
    return pipelines[0] if pipelines else None


def stage_list(*, pipeline: Pipeline) -> list[Stage]:
    return list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))


def stage_get(*, org: Organization, pk: int) -> Stage:
    return get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)


def stage_find(*, org: Organization, pk: int) -> Stage | None:
    return Stage.objects.select_related("pipeline").filter(pk=pk).first()


def pipelines_with_stages(*, org: Organization) -> list[Pipeline]:
    """Every pipeline with `stage_rows` (its stages, each with `opportunity_count`). Three
    queries."""
    pipelines = pipeline_list(org=org)
    counts = dict(Opportunity.objects.order_by().values_list("stage_id").annotate(n=Count("id")))
    by_pipeline: dict[int, list[Stage]] = {p.pk: [] for p in pipelines}
    for stage in Stage.objects.order_by("position", "id"):
        stage.opportunity_count = counts.get(stage.pk, 0)
        by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    for pipeline in pipelines:
        pipeline.stage_rows = by_pipeline.get(pipeline.pk, [])
    return pipelines


def stages_with_counts(*, pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages, each with `opportunity_count`. Two queries."""
    counts = dict(
        Opportunity.objects.filter(pipeline=pipeline)
        .order_by()
        .values_list("stage_id")
        .annotate(n=Count("id"))
    )
    stages = stage_list(pipeline=pipeline)
    for stage in stages:
        stage.opportunity_count = counts.get(stage.pk, 0)
    return stages


# --- Filters ----------------------------------------------------------------------------------


def month_range(first_day: date) -> tuple[date, date]:
    return first_day, first_day.replace(day=monthrange(first_day.year, first_day.month)[1])


def apply_filters(queryset: QuerySet[Opportunity], filters: dict) -> QuerySet[Opportunity]:
    """The board's and the list's filters (see OpportunityFilterForm.values)."""
    if owner := filters.get("owner"):
        queryset = queryset.filter(owner=owner)
    if month := filters.get("close_month"):
        first, last = month_range(month)
        queryset = queryset.filter(close_date__gte=first, close_date__lte=last)
    if (low := filters.get("amount_min")) is not None:
        queryset = queryset.filter(amount__gte=low)
    if (high := filters.get("amount_max")) is not None:
        queryset = queryset.filter(amount__lte=high)
    if pipeline := filters.get("pipeline"):
        queryset = queryset.filter(pipeline=pipeline)
    if stage := filters.get("stage"):
        queryset = queryset.filter(stage=stage)
    if partner := filters.get("partner"):
        queryset = queryset.filter(partner=partner)
    status = filters.get("status") or OpenStatus.ALL
    if status == OpenStatus.OPEN:
        queryset = queryset.filter(closed_at__isnull=True)
    elif status == OpenStatus.WON:
        queryset = queryset.filter(stage__is_won=True)
    elif status == OpenStatus.LOST:
        queryset = queryset.filter(stage__is_lost=True)
    if q := (filters.get("q") or "").strip():
        queryset = queryset.filter(IContains(F("name"), q))
    return queryset


# --- The board --------------------------------------------------------------------------------


def card_cursor(cards: list[Opportunity]) -> str:
    """Where a column's next cards start: "<position>.<id>" of the last card shown."""
    return f"{cards[-1].position}.{cards[-1].pk}" if cards else ""


def parse_card_cursor(value: str | None) -> tuple[int, int] | None:
    """(position, id) from a `card_cursor` value; None for a missing or malformed one."""
    position, _dot, pk = (value or "").partition(".")
    if not all(part.isascii() and part.isdigit() and len(part) < 19 for part in (position, pk)):
        return None
    return int(position), int(pk)


@dataclass
class Column:
    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)

    @property
    def cursor(self) -> str:
        return card_cursor(self.cards)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]

    @property
    def open_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.stage.is_closed]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.open_columns)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.open_columns), Decimal("0"))

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.open_columns), Decimal("0"))


def _board_queryset(*, stages: list[Stage], filters: dict) -> QuerySet[Opportunity]:
    since = timezone.now() - timedelta(days=CLOSED_COLUMN_DAYS)
    open_ids = [s.pk for s in stages if not s.is_closed]
    closed_ids = [s.pk for s in stages if s.is_closed]
    # The stage ids carry the pipeline: the (organization, pipeline, stage, ...) index serves it.
    pipeline_id = stages[0].pipeline_id if stages else None
    queryset = Opportunity.objects.filter(pipeline_id=pipeline_id).filter(
        Q(stage_id__in=open_ids) | Q(stage_id__in=closed_ids, closed_at__gte=since)
    )
    return apply_filters(queryset, filters)


def column_totals(queryset: QuerySet[Opportunity]) -> dict[int, dict]:
    """Count, amount and weighted amount per stage, in one grouped query."""
    rows = (
        queryset.order_by()
        .values("stage_id")
        .annotate(
            count=Count("id"),
            total=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=MONEY),
            weighted_x100=Coalesce(
                Sum(F("amount") * F("probability"), output_field=MONEY),
                Value(Decimal("0")),
                output_field=MONEY,
            ),
        )
    )
    return {
        row["stage_id"]: {
            "count": row["count"],
            "amount": Decimal(row["total"]),
            "weighted": (Decimal(row["weighted_x100"]) / 100).quantize(Decimal("0.01")),
        }
        for row in rows
    }


def _first_cards(*, stages: list[Stage], filters: dict, per_column: int) -> QuerySet[Opportunity]:
    """The first `per_column` cards of each column, by position, with customer and owner.

    On PostgreSQL each column is its own LIMIT over the board index (organization, pipeline,
    stage, position, id), the columns glued with UNION ALL: about 20 index entries read per
    column, whatever the pipeline holds. Customer and owner are joined for the kept rows only.
    SQLite cannot LIMIT the parts of a UNION: there one window function ranks the cards."""
    if not stages:
        return Opportunity.objects.none()
    if connection.features.supports_slicing_ordering_in_compound:
        firsts = [
            _board_queryset(stages=[stage], filters=filters)
            .order_by("position", "id")
            .values("id")[:per_column]
            for stage in stages
        ]
        kept = firsts[0].union(*firsts[1:], all=True)
    else:
        kept = (
            _board_queryset(stages=stages, filters=filters)
            .order_by()
            .annotate(
                column_rank=Window(
                    RowNumber(),
                    partition_by=[F("stage_id")],
                    order_by=[F("position").asc(), F("id").asc()],
                )
            )
            .filter(column_rank__lte=per_column)
            .values("id")
        )
    return (
        Opportunity.objects.filter(pk__in=kept)
        .select_related("customer", "owner")
        .only(*CARD_COLUMNS)
        .order_by("stage_id", "position", "id")
    )


def board(*, pipeline: Pipeline, filters: dict, per_column: int = CARDS_PER_COLUMN) -> Board:
    """The kanban board of `pipeline`: one query for the stages, one for the column totals and
    one for the cards (the first `per_column` of each column, by position), whatever the data.
    `column_cards` gives the rest of a column, a page at a time."""
    stages = stage_list(pipeline=pipeline)
    queryset = _board_queryset(stages=stages, filters=filters)
    totals = column_totals(queryset)
    columns = {s.pk: Column(stage=s, **totals.get(s.pk, {})) for s in stages}
    for card in _first_cards(stages=stages, filters=filters, per_column=per_column):
        columns[card.stage_id].cards.append(card)
    return Board(pipeline=pipeline, columns=list(columns.values()))


@dataclass
class ColumnPage:
    """The next cards of one column after a (position, id) cursor, and how many follow them."""

    stage: Stage
    cards: list[Opportunity]
    more: int

    @property
    def cursor(self) -> str:
        return card_cursor(self.cards)


def column_cards(
    *,
    stage: Stage,
    filters: dict,
    after: tuple[int, int] | None,
    per_page: int = CARDS_PER_COLUMN,
) -> ColumnPage:
    """The column of `stage` on the board (same filters, same closed-column window), the
    `per_page` cards that follow the card at `after` = (position, id) in position order, and
    how many are left after them. Two queries: a count and the cards."""
    queryset = _board_queryset(stages=[stage], filters=filters)
    if after is not None:
        position, pk = after
        queryset = queryset.filter(Q(position__gt=position) | Q(position=position, id__gt=pk))
    left = queryset.order_by().count()
    cards = list(
        queryset.select_related("customer", "owner")
        .only(*CARD_COLUMNS)
        .order_by("position", "id")[:per_page]
    )
    more = max(left - len(cards), 0)
    return ColumnPage(stage=stage, cards=cards, more=more)


def board_totals(*, pipeline: Pipeline, filters: dict) -> Board:
    """The board without its cards (the column totals, after a move). Two queries."""
    stages = stage_list(pipeline=pipeline)
    totals = column_totals(_board_queryset(stages=stages, filters=filters))
    return Board(
        pipeline=pipeline, columns=[Column(stage=s, **totals.get(s.pk, {})) for s in stages]
    )


# --- The list ---------------------------------------------------------------------------------

LIST_COLUMNS = (*CARD_COLUMNS, "forecast_category", "created_at", "stage__id", "stage__name")


@dataclass
class OpportunityListResult:
    page: KeysetPage
    sort: str


def opportunity_list_page(
    *,
    org: Organization,
    filters: dict,
    params,
    base_url: str,
    per_page: int = 50,
    hx_target: str = "#opportunity-results",
) -> OpportunityListResult:
    """One keyset page of the filtered opportunities, with the stage, customer and owner."""
    sort = filters.get("sort") if filters.get("sort") in SORTS else DEFAULT_SORT
    field_name, descending, _label = SORTS[sort]
    queryset = (
        apply_filters(Opportunity.objects.all(), filters)
        .select_related("customer", "owner", "stage")
        .only(*LIST_COLUMNS, "stage__is_won", "stage__is_lost", "stage__organization_id")
    )
    page = keyset_page(
        queryset,
        key=SortKey(field_name, descending=descending),
        params=params,
        base_url=base_url,
        per_page=per_page,
        hx_target=hx_target,
    )
    return OpportunityListResult(page=page, sort=sort)


# --- One opportunity --------------------------------------------------------------------------


def opportunity_get(*, org: Organization, pk: int) -> Opportunity:
    return get_object_or_404(
        Opportunity.objects.select_related(
            "customer", "contact", "owner", "stage", "pipeline", "partner"
        ),
        pk=pk,
    )


def stage_history(*, opportunity: Opportunity) -> list[StageChange]:
    """The opportunity's stage changes, newest first, each with `days` it stayed in the stage it
    entered (to the next change, or to now for the current one)."""
    changes = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("-changed_at", "-id")
    )
    until = timezone.now()
    for index, change in enumerate(changes):
        change.days = max((until - change.changed_at).days, 0)
        change.is_current = index == 0
        until = change.changed_at
    return changes


def opportunity_competitor_list(*, opportunity: Opportunity) -> list[OpportunityCompetitor]:
    return list(
        OpportunityCompetitor.objects.filter(opportunity=opportunity)
        .select_related("competitor")
        .order_by("competitor__name")
    )


def opportunity_competitor_get(*, org: Organization, pk: int) -> OpportunityCompetitor:
    return get_object_or_404(
        OpportunityCompetitor.objects.select_related("opportunity", "competitor"), pk=pk
    )


# --- Customer picker --------------------------------------------------------------------------


def customer_autocomplete(*, org: Organization, query: str, limit: int = AUTOCOMPLETE_LIMIT):
    """At most `limit` live customers whose name starts with, then contains, the text."""
    query = (query or "").strip()[:100]
    if not query:
        return []
    live = Customer.objects.filter(LIVE_CUSTOMER).only("id", "organization_id", "name", "city")
    found = list(live.filter(name__istartswith=query).order_by("name", "id")[:limit])
    if len(found) < limit:
        seen = [c.pk for c in found]
        found += list(
            live.filter(IContains(F("name"), query))
            .exclude(pk__in=seen)
            .order_by("name", "id")[: limit - len(found)]
        )
    return found


def contact_options(*, org: Organization, customer_id: int | None) -> list[Contact]:
    if not customer_id:
        return []
    return list(
        Contact.objects.filter(customer_id=customer_id)
        .only("id", "organization_id", "first_name", "last_name", "customer_id")
        .order_by("last_name", "first_name")[:CONTACT_OPTIONS_LIMIT]
    )


# --- Competitors and partners -----------------------------------------------------------------


def competitor_list(*, org: Organization) -> list[Competitor]:
    """Every competitor with how often we met them and the outcomes (`met`, `won`, `lost`)."""
    outcome = OpportunityCompetitor.Outcome
    counts = {
        row["competitor_id"]: row
        for row in OpportunityCompetitor.objects.order_by()
        .values("competitor_id")
        .annotate(
            met=Count("id"),
            won=Count("id", filter=Q(outcome=outcome.WON)),
            lost=Count("id", filter=Q(outcome=outcome.LOST)),
        )
    }
    competitors = list(Competitor.objects.order_by("name"))
    for competitor in competitors:
        row = counts.get(competitor.pk, {})
        competitor.met, competitor.won, competitor.lost = (
            row.get("met", 0),
            row.get("won", 0),
            row.get("lost", 0),
        )
    return competitors


def competitor_choices(*, org: Organization) -> list[Competitor]:
    return list(Competitor.objects.only("id", "organization_id", "name").order_by("name"))


def competitor_get(*, org: Organization, pk: int) -> Competitor:
    return get_object_or_404(Competitor.objects.all(), pk=pk)


def competitor_encounters(
    *, competitor: Competitor, limit: int = 50
) -> list[OpportunityCompetitor]:
    return list(
        OpportunityCompetitor.objects.filter(competitor=competitor)
        .select_related("opportunity", "opportunity__stage", "opportunity__customer")
        .order_by("-opportunity__created_at", "-id")[:limit]
    )


def partner_list(*, org: Organization) -> list[Partner]:
    """Every partner with `registered` (opportunities) and `won_amount`."""
    rows = {
        row["partner_id"]: row
        for row in Opportunity.objects.filter(partner__isnull=False)
        .order_by()
        .values("partner_id")
        .annotate(
            registered=Count("id"),
            won_amount=Coalesce(
                Sum("amount", filter=Q(stage__is_won=True)),
                Value(Decimal("0")),
                output_field=MONEY,
            ),
        )
    }
    partners = list(Partner.objects.order_by("name"))
    for partner in partners:
        row = rows.get(partner.pk, {})
        partner.registered = row.get("registered", 0)
        partner.won_amount = row.get("won_amount", Decimal("0"))
    return partners


def partner_get(*, org: Organization, pk: int) -> Partner:
    return get_object_or_404(Partner.objects.all(), pk=pk)


def partner_totals(*, partner: Partner) -> dict:
    return Opportunity.objects.filter(partner=partner).aggregate(
        registered=Count("id"),
        open=Count("id", filter=Q(closed_at__isnull=True)),
        won=Count("id", filter=Q(stage__is_won=True)),
        won_amount=Coalesce(
            Sum("amount", filter=Q(stage__is_won=True)), Value(Decimal("0")), output_field=MONEY
        ),
    )
