"""The analytics ledger (one row per organization and as-of date) and per-run score history."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantModel


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


class CustomerScoreSnapshot(TenantModel):
    """A customer's scores as of one run, so dashboards can show movement between segments."""

    run = models.ForeignKey(
        AnalyticsRun, on_delete=models.CASCADE, related_name="+", db_index=False
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
        indexes = [
            models.Index(
                fields=["organization", "run", "customer_id"], name="snapshot_org_run_idx"
            ),
            models.Index(
                fields=["organization", "customer_id", "as_of"], name="snapshot_org_customer_idx"
            ),
        ]
