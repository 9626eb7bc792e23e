import logging
import random
import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils.module_loading import autodiscover_modules

from tenancy.bulk_load import bulk_load_available
from tenancy.context import tenant_context
from tenancy.db import become_app_role, become_owner
from tenancy.models import Membership, Organization, TenantModel, User
from tenancy.permissions import Role
from tenancy.seeding import (
    DEMO_ORGS,
    DEMO_PASSWORD,
    SeedContext,
    demo_email,
    demo_password_hash,
    demo_users_create,
    seed_steps,
)

# globex is the small second tenant that shows the organization switcher and isolation.
GLOBEX_MAX_CUSTOMERS = 10_000
# From this many customers on PostgreSQL the big tables are written with COPY.
COPY_THRESHOLD = 20_000


def tenant_models_referrers_first() -> list[type[TenantModel]]:
    """Every tenant model, each after the models whose foreign keys point at it."""
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    ordered: list[type[TenantModel]] = []
    seen: set[type[TenantModel]] = set()

    def visit(model: type[TenantModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for other in tenant_models:
            if other is not model and any(
                field.many_to_one and field.related_model is model
                for field in other._meta.concrete_fields
            ):
                visit(other)
        ordered.append(model)

    for model in tenant_models:
        visit(model)
    return ordered


class Command(BaseCommand):
    help = (
        "Create the demo organizations acme and globex, one user per role in each, and every "
        "app's demo records. Deterministic for a seed. Does nothing when the demo exists, "
        "unless --reset."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=300, help="customers in acme")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="delete the demo first")
        parser.add_argument(
            "--copy-threshold",
            type=int,
            default=COPY_THRESHOLD,
            help="on PostgreSQL, write with COPY from this many customers on (0: always)",
        )

    def handle(
        self,
        *args,
        customers: int,
        seed: int,
        reset: bool,
        copy_threshold: int = COPY_THRESHOLD,
        **options,
    ) -> None:
        if customers < 0:
            raise CommandError("--customers must be zero or more.")
        bulk = connection.vendor == "postgresql" and customers >= copy_threshold
        if bulk:
            # COPY staging, dropping and rebuilding indexes and reserving ids need the tables'
            # owner (as migrations do); row-level security still applies to it (FORCE).
            become_owner(connection)
            if not bulk_load_available():
                self.stdout.write("Not the tables' owner: writing row by row (slow).")
                become_app_role(connection)
                bulk = False
        # -v 2 shows the bulk loader's timings (rows per table, rebuilds), -v 3 each index's.
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("    %(message)s"))
        loader_log = logging.getLogger("seed_demo")
        level, propagate = loader_log.level, loader_log.propagate
        verbosity = options.get("verbosity", 1)
        loader_log.addHandler(handler)
        loader_log.setLevel({2: logging.INFO, 3: logging.DEBUG}.get(verbosity, logging.WARNING))
        loader_log.propagate = False
        try:
            self.build(customers=customers, seed=seed, reset=reset, bulk=bulk)
        finally:
            loader_log.removeHandler(handler)
            loader_log.setLevel(level)
            loader_log.propagate = propagate
            if bulk:
                become_app_role(connection)

    def build(self, *, customers: int, seed: int, reset: bool, bulk: bool) -> None:
        slugs = [spec["slug"] for spec in DEMO_ORGS]
        existing = Organization.objects.filter(slug__in=slugs)
        if existing.exists():
            if not reset:
                self.stdout.write("The demo data is already there (use --reset to rebuild it).")
                self.print_logins()
                return
            self.delete_demo(list(existing), bulk=bulk)

        autodiscover_modules("seeding")
        password_hash = demo_password_hash()
        started = time.monotonic()
        if bulk:
            self.stdout.write("Writing the big tables with COPY.")
        for index, spec in enumerate(DEMO_ORGS):
            org_started = time.monotonic()
            with transaction.atomic():
                org = Organization.objects.create(
                    slug=spec["slug"], name=spec["name"], currency=spec["currency"]
                )
                users = demo_users_create(slug=org.slug, password_hash=password_hash)
                ctx = SeedContext(
                    org=org,
                    users=users,
                    rng=random.Random(f"{seed}:{org.slug}"),
                    customers=customers
                    if spec["primary"]
                    else min(customers, max(customers // 10, 50), GLOBEX_MAX_CUSTOMERS),
                    primary=spec["primary"],
                    seed=seed + index,
                    bulk=bulk,
                )
                with tenant_context(org):
                    for _order, name, step in seed_steps():
                        step_started = time.monotonic()
                        step(ctx)
                        self.stdout.write(
                            f"  {org.slug}: {name.split('.')[0]}.{step.__name__} "
                            f"({time.monotonic() - step_started:.1f}s)"
                        )
            summary = ", ".join(f"{count:,} {what}" for what, count in ctx.stats.items())
            self.stdout.write(f"{org.name}: {summary} ({time.monotonic() - org_started:.1f}s)")
        self.add_cross_membership()
        if bulk:
            self.analyze_tenant_tables()
        self.stdout.write(self.style.SUCCESS(f"Demo ready in {time.monotonic() - started:.1f}s."))
        self.print_logins()

    def add_cross_membership(self) -> None:
        """The acme manager also advises globex, to show the organization switcher."""
        globex = Organization.objects.get(slug="globex")
        manager = User.objects.get(email=demo_email(Role.MANAGER, "acme"))
        with tenant_context(globex):
            Membership.objects.create(organization=globex, user=manager, role=Role.MANAGER)

    def delete_demo(self, orgs: list[Organization], *, bulk: bool) -> None:
        if bulk:
            self.truncate_tenant_tables(orgs)
        for org in orgs:
            with tenant_context(org):
                # Rows that point at others first: a PROTECT foreign key (an order's customer)
                # refuses the cascade from the organization even though both would go.
                for model in tenant_models_referrers_first():
                    model.objects.all().delete()
                org.delete()
        # Only the demo's own users: other people may have addresses at a .example domain too.
        emails = [demo_email(role, spec["slug"]) for spec in DEMO_ORGS for role in Role]
        User.objects.filter(email__in=emails).delete()
        self.stdout.write("Deleted the previous demo data.")

    def analyze_tenant_tables(self) -> None:
        """Fresh planner statistics for every tenant table. Autovacuum would get there, but
        until it does the tables written through the ORM (opportunities, quotes...) look empty
        to the planner, which then joins thousands of rows to sort them for a 50-row page."""
        started = time.monotonic()
        tables = self.tenant_tables()
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
        self.stdout.write(f"  analyzed {len(tables)} tables ({time.monotonic() - started:.1f}s)")

    def tenant_tables(self) -> list[str]:
        existing = set(connection.introspection.table_names())
        return sorted(
            {
                model._meta.db_table
                for model in apps.get_models(include_auto_created=True)
                if model._meta.db_table in existing
                and any(
                    field.column == "organization_id" and field.is_relation
                    for field in model._meta.concrete_fields
                )
            }
        )

    def truncate_tenant_tables(self, orgs: list[Organization]) -> bool:
        """Empty every tenant table at once when the demo organizations are the only ones.

        Deleting ten million orders row by row, with a foreign-key check per row, takes far longer
        than creating them. TRUNCATE needs the tables' owner and is refused when a table outside
        the list still points at one of them; then the caller's row-by-row delete does it all.
        """
        if Organization.objects.exclude(pk__in=[org.pk for org in orgs]).exists():
            return False
        tables = self.tenant_tables()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
        except DatabaseError as error:
            self.stdout.write(f"Could not truncate the tenant tables ({error}); deleting rows.")
            return False
        return True

    def print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for spec in DEMO_ORGS:
            emails = "  ".join(demo_email(role, spec["slug"]) for role in Role)
            self.stdout.write(f"  {spec['slug']:<7} {emails}")
        self.stdout.write("  (manager@acme.example is also a manager in globex.)")
