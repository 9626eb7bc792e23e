from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.models import AnalyticsRun, RunStatus
from analytics.pipeline import analytics_run
from tenancy.context import tenant_context
from tenancy.models import Organization


class Command(BaseCommand):
    help = "Score customers now (RFM, segments, lifetime value, churn, profitability)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", help="organization slug (default: every organization)")
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="skip organizations already scored for that date",
        )

    def handle(
        self, *args, org: str | None, as_of: str | None, if_missing: bool, **options
    ) -> None:
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError:
            raise CommandError("--as-of must be a date, YYYY-MM-DD.") from None
        orgs = Organization.objects.order_by("pk")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                raise CommandError(f"No organization with the slug {org!r}.")
        for organization in orgs:
            if if_missing:
                with tenant_context(organization):
                    done = AnalyticsRun.objects.filter(
                        as_of=day, status=RunStatus.SUCCEEDED
                    ).exists()
                if done:
                    self.stdout.write(f"{organization.slug}: already scored for {day}.")
                    continue
            run = analytics_run(org=organization, as_of=day)
            if run is None:
                self.stdout.write(f"{organization.slug}: another worker is running it.")
                continue
            stages = ", ".join(
                f"{name} {seconds:.2f}s" for name, seconds in run.stage_seconds.items()
            )
            churn = run.metrics.get("churn", {})
            self.stdout.write(
                f"{organization.slug}: {run.status}, "
                f"{run.metrics.get('customers_scored', 0):,} customers from "
                f"{run.rows_read:,} orders in {run.seconds:.1f}s ({stages}); "
                f"k={run.metrics.get('k')}, silhouette={run.metrics.get('silhouette')}, "
                f"churn model={churn.get('model')}"
            )
