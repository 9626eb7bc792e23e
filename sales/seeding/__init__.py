"""Demo sales data for seed_demo: catalogue, pipelines, leads, opportunities, quotes, tasks and
years of orders (sales.seeding.orders explains how the purchase behaviour is generated).

Runs after the customers step (order 10) and reads the customers it wrote. Deterministic for the
seed, apart from dates, which are relative to now. Sizes follow the number of customers; from
LARGE_DEMO customers on, acme gets the benchmark's shapes: about 2,000 open opportunities for the
kanban board and key accounts with thousands of orders (one about 5,000) for the order list.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.db import connection
from django.utils import timezone

from customers.models import Customer, CustomerKind, LifecycleStage
from sales.models import Quote
from sales.seeding.catalog import seed_catalog
from sales.seeding.leads import seed_lead_setup, seed_leads
from sales.seeding.orders import Buyers, Catalog, write_orders
from sales.seeding.pipeline import (
    seed_competitors_and_partners,
    seed_opportunities,
    seed_pipelines,
    seed_quotes,
    seed_tasks,
)
from tenancy.bulk_load import step_rng
from tenancy.permissions import Role
from tenancy.seeding import SeedContext, seed_step

LARGE_DEMO = 10_000
LARGE_KEY_ACCOUNTS = [5000, 3000, 2000, 1200, 800]  # orders each, over about three years
TAX_PERCENT = {"USD": Decimal("8.00"), "EUR": Decimal("19.00")}


@seed_step(order=20)
def seed_sales(ctx: SeedContext) -> None:
    rng, org, now = step_rng(ctx.seed, "sales"), ctx.org, timezone.now()
    sales, manager = ctx.users[Role.SALES].pk, ctx.users[Role.MANAGER].pk
    large = ctx.primary and ctx.customers >= LARGE_DEMO
    n = ctx.customers
    open_count = 2000 if large else (min(600, max(8, n // 6)) if n else 0)

    catalog = seed_catalog(org=org, rng=rng)
    pipelines = seed_pipelines(org=org)
    competitors, partners = seed_competitors_and_partners(org=org)
    web_form = seed_lead_setup(org=org, owners=[sales, manager])
    leads = seed_leads(
        org=org,
        rng=rng,
        count=600 if large else min(300, max(20, n // 2)),
        owners=[sales, sales, manager],
        web_form=web_form,
        now=now,
    )
    buyers = load_buyers(org_id=org.pk)
    buyers.key_accounts = _key_accounts(buyers, ctx.primary, large, n)
    opportunities = seed_opportunities(
        org=org,
        rng=rng,
        now=now,
        buyers=buyers,
        pipelines=pipelines,
        open_count=open_count,
        closed_count=open_count * 3 // 2,
        owners=[sales, sales, manager],
        partners=partners,
        competitors=competitors,
        leads=leads,
    )
    quote_orders = seed_quotes(
        org=org,
        rng=rng,
        now=now,
        opportunities=opportunities,
        catalog=catalog,
        tax_percent=TAX_PERCENT.get(org.currency, Decimal("0.00")),
    )
    tasks = seed_tasks(
        org=org,
        rng=rng,
        now=now,
        reps=[sales, manager],
        opportunities=opportunities,
        leads=leads,
        per_rep=36 if large else 12,
    )
    products = catalog.products
    order_stats = write_orders(
        rng,
        org_id=org.pk,
        buyers=buyers,
        catalog=Catalog(
            ids=np.array([p.pk for p in products]),
            names=[p.name for p in products],
            prices=np.array([int(p.list_price * 100) for p in products]),
        ),
        now=now,
        quote_orders=quote_orders,
        bulk=ctx.bulk,
    )
    ctx.stats.update(
        products=len(products),
        leads=len(leads),
        opportunities=len(opportunities),
        **{"open opportunities": sum(1 for o in opportunities if o.closed_at is None)},
        quotes=Quote.objects.count(),
        tasks=tasks,
        **order_stats,
    )


def load_buyers(*, org_id: int) -> Buyers:
    """The organization's live customers as arrays, sorted by id."""
    if connection.vendor == "postgresql":
        # A million rows: epoch microseconds and booleans, not datetime objects.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, (EXTRACT(EPOCH FROM created_at) * 1000000)::bigint, kind = %s, "
                "lifecycle_stage <> %s FROM customers_customer "
                "WHERE organization_id = %s AND merged_into_id IS NULL ORDER BY id",
                [CustomerKind.COMPANY, LifecycleStage.PROSPECT, org_id],
            )
            rows = cursor.fetchall()
    else:
        customers = Customer.objects.filter(merged_into__isnull=True).order_by("id")
        rows = [
            (
                pk,
                int(created.timestamp() * 1_000_000),
                kind == CustomerKind.COMPANY,
                stage != LifecycleStage.PROSPECT,
            )
            for pk, created, kind, stage in customers.values_list(
                "id", "created_at", "kind", "lifecycle_stage"
            )
        ]
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return Buyers(
        ids=table[:, 0],
        acquired=table[:, 1].astype("datetime64[us]"),
        company=table[:, 2].astype(bool),
        buys=table[:, 3].astype(bool),
    )


def _key_accounts(buyers: Buyers, primary: bool, large: bool, customers: int) -> dict[int, int]:
    """The oldest buying companies of acme order far more than anyone: {index: orders}."""
    if not primary:
        return {}
    wanted = LARGE_KEY_ACCOUNTS if large else [max(20, min(150, customers // 2))]
    candidates = np.flatnonzero(buyers.company & buyers.buys)
    oldest = candidates[np.argsort(buyers.acquired[candidates], kind="stable")]
    return {int(index): orders for index, orders in zip(oldest, wanted, strict=False)}
