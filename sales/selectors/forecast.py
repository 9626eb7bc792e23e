"""The sales forecast: weighted pipeline by close month, stage and owner, commit and best case,
and what the closed deals and the stage history say (win rate, deal size, cycle length, stage
conversion, days in stage).

Every figure is one grouped SQL query, so the page costs the same at ten opportunities or a
hundred thousand. Definitions:

- weighted amount: amount x probability / 100, over open opportunities;
- commit: won in the period + open in the period with forecast category "commit";
  best case: commit + open with category "best case";
- win rate, average deal size, sales cycle: opportunities closed in the last 12 months (cycle:
  created to won, in days);
- stage conversion: of the opportunities that reached a stage in the last 12 months, the share
  that reached the next one (reaching a later stage counts as passing the skipped ones);
- days in stage: from entering a stage to the next stage change, for stays that ended.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sales.models import ForecastCategory, Opportunity, Pipeline, Stage, StageChange
from tenancy.models import Organization, User

MONEY = DecimalField(max_digits=20, decimal_places=2)
ZERO = Decimal("0")
TRAILING_DAYS = 365
SECONDS_PER_DAY = 86400.0


class Period:
    THIS_QUARTER = "this_quarter"
    NEXT_QUARTER = "next_quarter"
    THIS_YEAR = "this_year"
    NEXT_12_MONTHS = "next_12_months"
    DEFAULT = THIS_QUARTER
    choices = [
        (THIS_QUARTER, _("This quarter")),
        (NEXT_QUARTER, _("Next quarter")),
        (THIS_YEAR, _("This year")),
        (NEXT_12_MONTHS, _("Next 12 months")),
    ]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_range(period: str, today: date) -> tuple[date, date]:
    """First and last day of the period around `today`."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if period == Period.NEXT_QUARTER:
        start = _add_months(quarter_start, 3)
        return start, _add_months(start, 3) - timedelta(days=1)
    if period == Period.THIS_YEAR:
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if period == Period.NEXT_12_MONTHS:
        start = today.replace(day=1)
        return start, _add_months(start, 12) - timedelta(days=1)
    return quarter_start, _add_months(quarter_start, 3) - timedelta(days=1)


def months_between(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = _add_months(month, 1)
    return months


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime expression, on PostgreSQL and SQLite."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        )


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _weighted(value) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(Decimal("0.01"))


def _days(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / SECONDS_PER_DAY, 1)


@dataclass
class OwnerRow:
    owner_id: int | None
    name: str
    count: int
    amount: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    won: Decimal


@dataclass
class StageRow:
    stage: Stage
    reached: int = 0
    conversion: float | None = None  # share of `reached` that reached the next stage, 0..1
    average_days: float | None = None


@dataclass
class Forecast:
    pipeline: Pipeline
    start: date
    end: date
    months: list[date]
    open_stages: list[Stage]
    grid: dict[tuple[date, int], Decimal]  # (month, stage id) -> weighted
    month_totals: list[Decimal]
    owners: list[OwnerRow]
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline_amount: Decimal = ZERO
    weighted: Decimal = ZERO
    closed_won: int = 0
    closed_lost: int = 0
    average_deal: Decimal | None = None
    average_cycle_days: float | None = None
    stages: list[StageRow] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        closed = self.closed_won + self.closed_lost
        return self.closed_won / closed if closed else None

    @property
    def rows(self) -> list[tuple[Stage, list[Decimal], Decimal]]:
        """The month x stage table: per open stage, its weighted amount per month and total."""
        table = []
        for stage in self.open_stages:
            cells = [self.grid.get((month, stage.pk), ZERO) for month in self.months]
            table.append((stage, cells, sum(cells, ZERO)))
        return table

    def chart_data(self) -> dict:
        return {
            "labels": [month.isoformat() for month in self.months],
            "datasets": [
                {"label": stage.name, "data": [float(c) for c in cells]}
                for stage, cells, _total in self.rows
            ],
        }


def _month_stage_grid(opportunities, months: list[date]) -> dict[tuple[date, int], Decimal]:
    rows = (
        opportunities.order_by()
        .annotate(month=TruncMonth("close_date"))
        .values("month", "stage_id")
        .annotate(weighted_x100=Sum(F("amount") * F("probability"), output_field=MONEY))
    )
    grid = {}
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, datetime) else month
        grid[(month, row["stage_id"])] = _weighted(row["weighted_x100"])
    return grid


def _owner_rows(in_pipeline, *, start: date, end: date, won_since, won_until) -> list[OwnerRow]:
    is_open = Q(closed_at__isnull=True, close_date__gte=start, close_date__lte=end)
    is_won = Q(stage__is_won=True, closed_at__gte=won_since, closed_at__lt=won_until)

    def money(condition):
        return Coalesce(Sum("amount", filter=condition), Value(ZERO), output_field=MONEY)

    rows = (
        in_pipeline.filter(is_open | is_won)
        .order_by()
        .values("owner_id", "owner__full_name", "owner__email")
        .annotate(
            count=Count("id", filter=is_open),
            open_amount=money(is_open),
            weighted_x100=Coalesce(
                Sum(F("amount") * F("probability"), filter=is_open, output_field=MONEY),
                Value(ZERO),
                output_field=MONEY,
            ),
            commit=money(is_open & Q(forecast_category=ForecastCategory.COMMIT)),
            best_case=money(is_open & Q(forecast_category=ForecastCategory.BEST_CASE)),
            won=money(is_won),
        )
    )
    owners = [
        OwnerRow(
            owner_id=row["owner_id"],
            name=row["owner__full_name"] or row["owner__email"] or str(_("No owner")),
            count=row["count"],
            amount=Decimal(row["open_amount"]),
            weighted=_weighted(row["weighted_x100"]),
            commit=Decimal(row["commit"]),
            best_case=Decimal(row["best_case"]),
            won=Decimal(row["won"]),
        )
        for row in rows
    ]
    return sorted(owners, key=lambda r: (-r.weighted, -r.won, r.name))


def _stage_rows(pipeline: Pipeline, stages: list[Stage], since: datetime) -> list[StageRow]:
    funnel = [s for s in stages if not s.is_lost]
    changes = StageChange.objects.filter(opportunity__pipeline=pipeline, changed_at__gte=since)
    reached = (
        changes.aggregate(
            **{
                f"s{stage.pk}": Count(
                    "opportunity",
                    distinct=True,
                    filter=Q(to_stage__position__gte=stage.position, to_stage__is_lost=False),
                )
                for stage in funnel
            }
        )
        if funnel
        else {}
    )
    left_at = Subquery(
        StageChange.objects.filter(
            opportunity_id=OuterRef("opportunity_id"), changed_at__gt=OuterRef("changed_at")
        )
        .order_by("changed_at", "id")
        .values("changed_at")[:1]
    )
    stays = (
        changes.filter(to_stage__isnull=False)
        .annotate(left_at=left_at)
        .filter(left_at__isnull=False)
        .order_by()
        .values("to_stage_id")
        .annotate(seconds=Avg(EpochSeconds(F("left_at")) - EpochSeconds(F("changed_at"))))
    )
    days = {row["to_stage_id"]: _days(row["seconds"]) for row in stays}
    rows = [StageRow(stage=s, reached=reached.get(f"s{s.pk}", 0)) for s in funnel]
    for row, following in pairwise(rows):
        row.conversion = following.reached / row.reached if row.reached else None
    for row in rows:
        row.average_days = days.get(row.stage.pk)
    return rows


def forecast(
    *, org: Organization, pipeline: Pipeline, period: str, today: date | None = None
) -> Forecast:
    """The forecast of `pipeline` for the period (see Period). Six queries."""
    today = today or timezone.localdate()
    start, end = period_range(period, today)
    months = months_between(start, end)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    open_stages = [s for s in stages if not s.is_closed]
    in_pipeline = Opportunity.objects.filter(pipeline=pipeline)
    open_in_period = in_pipeline.filter(
        closed_at__isnull=True, close_date__gte=start, close_date__lte=end
    )
    grid = _month_stage_grid(open_in_period, months)
    won_since, won_until = _bounds(start, end)
    owners = _owner_rows(
        in_pipeline, start=start, end=end, won_since=won_since, won_until=won_until
    )

    trailing = timezone.now() - timedelta(days=TRAILING_DAYS)
    closed = in_pipeline.filter(closed_at__gte=trailing).aggregate(
        won=Count("id", filter=Q(stage__is_won=True)),
        lost=Count("id", filter=Q(stage__is_lost=True)),
        average_deal=Avg("amount", filter=Q(stage__is_won=True)),
        cycle=Avg(
            EpochSeconds(F("closed_at")) - EpochSeconds(F("created_at")),
            filter=Q(stage__is_won=True),
        ),
    )
    result = Forecast(
        pipeline=pipeline,
        start=start,
        end=end,
        months=months,
        open_stages=open_stages,
        grid=grid,
        month_totals=[sum((grid.get((m, s.pk), ZERO) for s in open_stages), ZERO) for m in months],
        owners=owners,
        closed_won=closed["won"],
        closed_lost=closed["lost"],
        average_deal=(
            Decimal(closed["average_deal"]).quantize(Decimal("0.01"))
            if closed["average_deal"] is not None
            else None
        ),
        average_cycle_days=_days(closed["cycle"]),
        stages=_stage_rows(pipeline, stages, trailing),
    )
    result.won = sum((r.won for r in owners), ZERO)
    result.commit = result.won + sum((r.commit for r in owners), ZERO)
    result.best_case = result.commit + sum((r.best_case for r in owners), ZERO)
    result.pipeline_amount = sum((r.amount for r in owners), ZERO)
    result.weighted = sum((r.weighted for r in owners), ZERO)
    return result


# --- Home panels ------------------------------------------------------------------------------


def my_pipeline(*, org: Organization, user: User, today: date | None = None, hot: int = 5) -> dict:
    """A member's open opportunities (count, amount, weighted) and the likeliest of those that
    close this month. Two queries."""
    today = today or timezone.localdate()
    mine = Opportunity.objects.filter(owner=user, closed_at__isnull=True)
    totals = mine.aggregate(
        count=Count("id"),
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY),
        weighted_x100=Coalesce(
            Sum(F("amount") * F("probability"), output_field=MONEY),
            Value(ZERO),
            output_field=MONEY,
        ),
    )
    month_end = _add_months(today.replace(day=1), 1) - timedelta(days=1)
    closing = list(
        mine.filter(close_date__gte=today.replace(day=1), close_date__lte=month_end)
        .select_related("customer", "stage")
        .only(
            "id",
            "organization_id",
            "name",
            "amount",
            "probability",
            "close_date",
            "customer__id",
            "customer__organization_id",
            "customer__name",
            "stage__id",
            "stage__organization_id",
            "stage__name",
        )
        .order_by("-probability", "-amount", "close_date", "id")[:hot]
    )
    return {
        "count": totals["count"],
        "amount": Decimal(totals["total"]),
        "weighted": _weighted(totals["weighted_x100"]),
        "closing": closing,
    }


def quarter_summary(*, org: Organization, today: date | None = None) -> dict:
    """Won, commit, best case and weighted pipeline of this quarter over every pipeline. One
    query."""
    today = today or timezone.localdate()
    start, end = period_range(Period.THIS_QUARTER, today)
    since, until = _bounds(start, end)
    is_open = Q(closed_at__isnull=True, close_date__gte=start, close_date__lte=end)
    is_won = Q(stage__is_won=True, closed_at__gte=since, closed_at__lt=until)

    def money(condition):
        return Coalesce(Sum("amount", filter=condition), Value(ZERO), output_field=MONEY)

    row = Opportunity.objects.filter(is_open | is_won).aggregate(
        won=money(is_won),
        commit=money(is_open & Q(forecast_category=ForecastCategory.COMMIT)),
        best_case=money(is_open & Q(forecast_category=ForecastCategory.BEST_CASE)),
        weighted_x100=Coalesce(
            Sum(F("amount") * F("probability"), filter=is_open, output_field=MONEY),
            Value(ZERO),
            output_field=MONEY,
        ),
    )
    won = Decimal(row["won"])
    commit = won + Decimal(row["commit"])
    return {
        "start": start,
        "end": end,
        "won": won,
        "commit": commit,
        "best_case": commit + Decimal(row["best_case"]),
        "weighted": _weighted(row["weighted_x100"]),
    }
