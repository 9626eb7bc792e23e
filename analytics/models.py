"""The analytics ledger (one row per organization and as-of date), each customer's current
scores, and per-run score history."""

import math

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, RfmSegment, ValueQuadrant
from tenancy.models import Organization, TenantModel


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class AnalyticsRun(TenantModel):
    """One scoring of one organization's customers as of one date. Claimed through the unique
    (organization, as_of) constraint, so concurrent or repeated runs cannot duplicate results."""

    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    attempts = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    stage_seconds = models.JSONField(default=dict, blank=True)
    progress = models.CharField(max_length=40, blank=True)
    rows_read = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    dropped = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("analytics run")
        verbose_name_plural = _("analytics runs")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "as_of"], name="analyticsrun_org_asof_uniq"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "-started_at"], name="analyticsrun_org_started_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ChurnBand(models.TextChoices):
    """The customer list's churn-risk filter: bands of churn_probability."""

    LOW = "low", _("Low (< 30%)")
    MEDIUM = "medium", _("Medium (30–60%)")
    HIGH = "high", _("High (≥ 60%)")


CHURN_BAND_LIMITS = {ChurnBand.LOW: 0.3, ChurnBand.MEDIUM: 0.6}  # upper bounds; high: the rest

# The coarse sort keys of lifetime value and churn risk (CustomerScore.clv_key, churn_key): steps
# of about 5% of the value (20 a factor of e) and of one percentage point. The nightly job
# computes them in SQL (pipeline._INCOMING_SQL) from the same rounded values.
CLV_KEY_STEPS = 20
CHURN_KEY_STEPS = 100


def clv_sort_key(clv) -> int | None:
    """A step of the lifetime value that grows with it (never decreases): None for None."""
    if clv is None:
        return None
    value = float(clv)
    if math.isnan(value):
        return None
    magnitude = math.log1p(min(abs(value), 1e300))  # a forged cursor may hold 1e400
    step = math.floor(magnitude * CLV_KEY_STEPS)
    return -step if value < 0 else step


def churn_sort_key(probability) -> int | None:
    """The churn probability in whole percentage points, rounded down: None for None."""
    if probability is None or math.isnan(float(probability)):
        return None
    value = min(max(float(probability), -1e6), 1e6)  # a forged cursor may hold 1e400
    return math.floor(value * CHURN_KEY_STEPS)


class CustomerScore(TenantModel):
    """A customer's current scores: one row per scored customer, rewritten by every run.

    The scores live here rather than on the customer row. Lifetime value, churn risk and
    recency drift every day for every customer, so each run rewrites about every row;
    rewriting a million customer rows rewrote every one of the customer table's two dozen
    indexes (264 s). This table is narrow, has a fill factor of 50 (migration 0003), and
    indexes only what changes rarely (segment, cluster, value quadrant, churn band), so most
    nightly updates are HOT: the new version goes in the same page and no index changes.

    The customer list joins it through the primary key to filter and sort by score. Its
    filters are served by (organization, filter, customer_created_at, customer) indexes: the
    customer's creation time is copied here so that "segment X, newest first" walks one index
    (customers/selectors.py), as it did when the segment was a column of the customer. The
    customer page reads it with the customer (one join).

    No database foreign key: the rows are derived and rewritten nightly (each run deletes the
    rows of customers it no longer scores), and Django deletes a customer's row with the customer.
    """

    # No index of its own: the indexes below lead with it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
        db_index=False,
        db_constraint=False,  # see CustomerScoreSnapshot.organization
    )
    customer = models.OneToOneField(
        Customer,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="scores",
        db_constraint=False,
    )
    rfm_recency_days = models.PositiveIntegerField(null=True)
    rfm_frequency = models.PositiveIntegerField(null=True)
    rfm_monetary = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    rfm_r = models.PositiveSmallIntegerField(null=True)
    rfm_f = models.PositiveSmallIntegerField(null=True)
    rfm_m = models.PositiveSmallIntegerField(null=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True
    )
    cluster = models.PositiveSmallIntegerField(_("cluster"), null=True)
    cluster_name = models.CharField(max_length=80, blank=True)
    clv = models.DecimalField(
        _("predicted lifetime value"), max_digits=14, decimal_places=2, null=True
    )
    churn_probability = models.FloatField(_("churn probability"), null=True)
    churn_band = models.CharField(max_length=6, choices=ChurnBand.choices, blank=True)
    # The two features pushing the churn risk up the most (analytics.metrics.churn.REASONS) and
    # their values: plain columns rather than JSON, whose building and comparing cost seconds of
    # every nightly write.
    churn_reason_1 = models.CharField(max_length=24, blank=True)
    churn_reason_1_value = models.FloatField(null=True)
    churn_reason_2 = models.CharField(max_length=24, blank=True)
    churn_reason_2_value = models.FloatField(null=True)
    profitability = models.DecimalField(
        _("profitability"), max_digits=14, decimal_places=2, null=True
    )
    value_quadrant = models.CharField(
        _("value quadrant"), max_length=10, choices=ValueQuadrant.choices, blank=True
    )
    scored_at = models.DateTimeField(_("scored"), default=timezone.now)
    customer_created_at = models.DateTimeField(default=timezone.now)  # customer.created_at
    # Coarse copies of clv and churn_probability (clv_sort_key, churn_sort_key) that lead the
    # indexes the list's "highest lifetime value / churn risk" sorts walk; see below.
    clv_key = models.IntegerField(null=True)
    churn_key = models.SmallIntegerField(null=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            models.Index(
                fields=["organization", name, "-customer_created_at", "-customer"],
                name=f"customerscore_org_{short}_idx",
            )
            for name, short in (
                ("rfm_segment", "segment"),
                ("cluster", "cluster"),
                ("value_quadrant", "quadrant"),
                ("churn_band", "churn"),
            )
        ]
        # And on PostgreSQL (migration 0005; SQLite cannot index NULLS LAST): the sorts by
        # lifetime value and churn risk walk (organization, clv_key / churn_key DESC NULLS
        # LAST). An index on the exact value would take a new entry for nearly every customer
        # every night (no HOT update, 10 s an index at a million); the coarse key changes for
        # a fifth to a quarter of them. Ordering by (key, value, customer) is exactly the order
        # of (value, customer): PostgreSQL walks the index and sorts each step's few rows
        # (incremental sort).

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.rfm_segment}"

    @property
    def churn_reasons(self) -> list[dict]:
        """[{"code": ..., "value": ...}, ...], the reasons the customer page explains."""
        return [
            {"code": code, "value": value}
            for code, value in (
                (self.churn_reason_1, self.churn_reason_1_value),
                (self.churn_reason_2, self.churn_reason_2_value),
            )
            if code
        ]


class CustomerScoreSnapshot(TenantModel):
    """A customer's scores as of one run, so dashboards can show movement between segments."""

    # Written only by the nightly job, a million rows at a time, inside the organization's
    # transaction whose row-level security policy already checks organization_id: database
    # foreign keys would add two million deferred checks at commit (12 s), so Django alone
    # enforces these relations (it deletes the rows with their run or organization).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
        db_index=False,  # the run index leads with it
        db_constraint=False,
    )
    run = models.ForeignKey(
        AnalyticsRun,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    as_of = models.DateField()
    customer_id = models.BigIntegerField()
    rfm_r = models.PositiveSmallIntegerField(null=True)
    rfm_f = models.PositiveSmallIntegerField(null=True)
    rfm_m = models.PositiveSmallIntegerField(null=True)
    rfm_segment = models.CharField(max_length=20, blank=True)
    cluster = models.PositiveSmallIntegerField(null=True)
    clv = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    churn_probability = models.FloatField(null=True)
    profitability = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    value_quadrant = models.CharField(max_length=10, blank=True)

    class Meta(TenantModel.Meta):
        # One index: a run's rows are read, and replaced on a rerun, together. (A per-customer
        # index cost a third of the snapshot's write time and nothing reads by customer.)
        indexes = [
            models.Index(
                fields=["organization", "run", "customer_id"], name="snapshot_org_run_idx"
            ),
        ]
