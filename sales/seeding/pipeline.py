"""Demo pipelines, opportunities with their stage history, quotes, competitors and tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from customers.models import Contact, Customer, CustomerTag
from sales.models import (
    Competitor,
    CustomerPriceBook,
    ForecastCategory,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityCompetitor,
    Partner,
    Pipeline,
    Quote,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageChange,
    Task,
    TaskPriority,
)
from sales.seeding.catalog import CatalogRows
from sales.seeding.orders import Buyers, QuoteOrder

# (name, probability, won, lost)
SALES_STAGES = [
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
]
RENEWAL_STAGES = [
    ("Renewal due", 40, False, False),
    ("In negotiation", 70, False, False),
    ("Renewed", 100, True, False),
    ("Churned", 0, False, True),
]
OPEN_WEIGHTS = {4: [0.35, 0.27, 0.22, 0.16], 2: [0.6, 0.4]}  # by number of open stages
WIN_RATE = 0.4
RENEWAL_SHARE = 0.15
TOPICS = [
    "POS rollout",
    "Store expansion",
    "Software upgrade",
    "Hardware refresh",
    "Training package",
    "New stores",
    "Inventory project",
    "Analytics pilot",
]
NEXT_STEPS = ["Send proposal", "Book a demo", "Call the buyer", "Agree on terms", "Site visit", ""]
LOST_REASONS = ["Price too high", "Went with a competitor", "No budget this year", "No decision"]
COMPETITORS = [
    ("Storeline", "Cheap hardware bundles", "Slow support"),
    ("CashCo POS", "Large installed base", "Dated software"),
    ("RetailOne", "Strong analytics", "Expensive"),
    ("Vendix", "Fast to set up", "Few integrations"),
    ("TillPro", "Good offline mode", "Small team"),
    ("Shopwave", "Great e-commerce tools", "Weak in-store hardware"),
]
PARTNERS = [
    ("Northwind Resellers", Partner.Kind.RESELLER, "15.00"),
    ("Summit IT Partners", Partner.Kind.RESELLER, "12.00"),
    ("Harbor Consulting", Partner.Kind.REFERRER, "8.00"),
    ("Retail Alliance", Partner.Kind.REFERRER, "5.00"),
    ("Cedar Systems", Partner.Kind.RESELLER, "10.00"),
]
TASKS = {
    "opportunity": ["Send the proposal for {}", "Call about {}", "Prepare the demo for {}"],
    "lead": ["Qualify {}", "Follow up with {}", "Send the brochure to {}"],
    "customer": [
        "Quarterly check-in with {}",
        "Renewal reminder for {}",
        "Collect feedback from {}",
    ],
}
CENT = Decimal("0.01")


@dataclass
class PipelineRows:
    pipeline: Pipeline
    open_stages: list[Stage]
    won: Stage
    lost: Stage


def seed_pipelines(*, org) -> list[PipelineRows]:
    result = []
    for name, stages, default in (
        ("Sales", SALES_STAGES, True),
        ("Renewals", RENEWAL_STAGES, False),
    ):
        pipeline = Pipeline.objects.create(organization=org, name=name, is_default=default)
        rows = Stage.objects.bulk_create(
            [
                Stage(
                    organization=org,
                    pipeline=pipeline,
                    name=stage,
                    position=index,
                    probability=probability,
                    is_won=won,
                    is_lost=lost,
                )
                for index, (stage, probability, won, lost) in enumerate(stages)
            ]
        )
        result.append(
            PipelineRows(
                pipeline=pipeline,
                open_stages=[s for s in rows if not s.is_closed],
                won=next(s for s in rows if s.is_won),
                lost=next(s for s in rows if s.is_lost),
            )
        )
    return result


def seed_competitors_and_partners(*, org) -> tuple[list[Competitor], list[Partner]]:
    competitors = Competitor.objects.bulk_create(
        [
            Competitor(
                organization=org,
                name=name,
                website=f"https://{name.lower().replace(' ', '')}.example",
                strengths=strengths,
                weaknesses=weaknesses,
            )
            for name, strengths, weaknesses in COMPETITORS
        ]
    )
    partners = Partner.objects.bulk_create(
        [
            Partner(
                organization=org,
                name=name,
                kind=kind,
                email=f"partners@{name.lower().replace(' ', '')}.example",
                commission_percent=Decimal(commission),
            )
            for name, kind, commission in PARTNERS
        ]
    )
    return competitors, partners


def _days(rng: np.random.Generator, low: float, high: float) -> timedelta:
    return timedelta(days=float(rng.uniform(low, high)))


def _soon_after(rng: np.random.Generator, moment: datetime, now: datetime) -> datetime:
    """Half a day to ten days after `moment`, and before `now`."""
    later = moment + _days(rng, 0.5, 10)
    return later if later < now else moment + (now - moment) * float(rng.uniform(0.2, 0.9))


def _names_and_contacts(customer_ids: list[int]) -> tuple[dict[int, str], dict[int, int]]:
    names, contacts = {}, {}
    for start in range(0, len(customer_ids), 1000):
        chunk = customer_ids[start : start + 1000]
        names.update(Customer.objects.filter(pk__in=chunk).values_list("id", "name"))
        contacts.update(
            Contact.objects.filter(customer_id__in=chunk, is_primary=True).values_list(
                "customer_id", "id"
            )
        )
    return names, contacts


def seed_opportunities(
    *,
    org,
    rng: np.random.Generator,
    now: datetime,
    buyers: Buyers,
    pipelines: list[PipelineRows],
    open_count: int,
    closed_count: int,
    owners: list[int],
    partners: list[Partner],
    competitors: list[Competitor],
    leads: list[Lead],
) -> list[Opportunity]:
    """Open opportunities spread over the open stages (more in the early ones), and won and lost
    ones closed over the customers' lives; each with the StageChange rows of its path."""
    total = open_count + closed_count
    if total == 0 or len(buyers.ids) == 0:
        return []
    weights = np.where(buyers.company, 6.0, 1.0)
    chosen = rng.choice(
        len(buyers.ids), size=total, replace=total > len(buyers.ids), p=weights / weights.sum()
    )
    names, contacts = _names_and_contacts(sorted({int(buyers.ids[i]) for i in chosen}))
    opportunities, paths = [], []
    positions: dict[int, int] = {}
    for k, index in enumerate(chosen.tolist()):
        rows = pipelines[1] if rng.random() < RENEWAL_SHARE else pipelines[0]
        customer_id = int(buyers.ids[index])
        acquired = buyers.acquired[index].item().replace(tzinfo=now.tzinfo)
        owner = owners[rng.integers(len(owners))]
        if k < open_count:
            weights_open = OPEN_WEIGHTS[len(rows.open_stages)]
            reached = int(rng.choice(len(rows.open_stages), p=weights_open))
            path = rows.open_stages[: reached + 1]
            created = max(acquired, now - _days(rng, 2, 240))
            end, closed_at = now, None
            close_date = (now + _days(rng, -20, 150)).date()
        else:
            won = rng.random() < WIN_RATE
            steps = (
                len(rows.open_stages) if won else int(rng.integers(1, len(rows.open_stages) + 1))
            )
            path = [*rows.open_stages[:steps], rows.won if won else rows.lost]
            life = max((now - acquired).total_seconds() / 86400, 1.0)
            created = acquired + timedelta(days=float(rng.uniform(0, life * 0.9)))
            closed_at = min(created + _days(rng, 10, 150), now - timedelta(hours=1))
            end = closed_at
            close_date = closed_at.date()
        stage = path[-1]
        amount = Decimal(int(np.exp(rng.normal(9.2, 0.9)) // 100 * 100 + 500))
        topic = "annual renewal" if rows is pipelines[1] else TOPICS[rng.integers(len(TOPICS))]
        column = (rows.pipeline.pk, stage.pk)
        positions[column] = positions.get(column, -1) + 1
        times = sorted(rng.uniform(0, 1, len(path) - 1).tolist())
        span = max(end - created, timedelta(minutes=len(path)))
        moments = [created] + [created + span * t for t in times]
        opportunity = Opportunity(
            organization=org,
            name=f"{names[customer_id]} – {topic}",
            customer_id=customer_id,
            contact_id=contacts.get(customer_id),
            pipeline=rows.pipeline,
            stage=stage,
            amount=amount,
            close_date=close_date,
            probability=stage.probability,
            forecast_category=_forecast(stage, rows),
            next_step=NEXT_STEPS[rng.integers(len(NEXT_STEPS))] if closed_at is None else "",
            owner_id=owner,
            source_campaign="",
            partner=partners[rng.integers(len(partners))] if rng.random() < 0.12 else None,
            lost_reason=LOST_REASONS[rng.integers(len(LOST_REASONS))] if stage.is_lost else "",
            position=positions[column],
            closed_at=closed_at,
            stage_entered_at=moments[-1],
            created_at=created,
        )
        opportunities.append(opportunity)
        paths.append(list(zip(path, moments, strict=True)))
    converted = _link_converted_leads(rng, leads, opportunities)
    Opportunity.objects.bulk_create(opportunities, batch_size=2000)
    for lead, opportunity in converted:
        lead.converted_opportunity_id = opportunity.pk
    Lead.objects.bulk_update(
        [lead for lead, _opportunity in converted],
        [
            "converted_customer",
            "converted_contact",
            "converted_opportunity",
            "converted_at",
            "created_at",
        ],
        batch_size=500,
    )
    changes = [
        StageChange(
            organization=org,
            opportunity=opportunity,
            from_stage=path[i - 1][0] if i else None,
            to_stage=stage,
            changed_by_id=opportunity.owner_id,
            changed_at=moment,
        )
        for opportunity, path in zip(opportunities, paths, strict=True)
        for i, (stage, moment) in enumerate(path)
    ]
    StageChange.objects.bulk_create(changes, batch_size=5000)
    _competitors(org, rng, opportunities, competitors)
    return opportunities


def _forecast(stage: Stage, rows: PipelineRows) -> str:
    if stage.is_won:
        return ForecastCategory.CLOSED
    if stage.is_lost:
        return ForecastCategory.OMITTED
    place = rows.open_stages.index(stage) / max(len(rows.open_stages) - 1, 1)
    if place >= 1:
        return ForecastCategory.COMMIT
    return ForecastCategory.BEST_CASE if place >= 0.6 else ForecastCategory.PIPELINE


def _link_converted_leads(
    rng, leads: list[Lead], opportunities: list[Opportunity]
) -> list[tuple[Lead, Opportunity]]:
    """A converted lead became one of the opportunities (and its customer and contact)."""
    converted = [lead for lead in leads if lead.status == LeadStatus.CONVERTED]
    picks = rng.permutation(len(opportunities))[: len(converted)].tolist()
    pairs = []
    for lead, pick in zip(converted, picks, strict=False):
        opportunity = opportunities[pick]
        opportunity.lead = lead
        lead.converted_customer_id = opportunity.customer_id
        lead.converted_contact_id = opportunity.contact_id
        lead.converted_at = opportunity.created_at
        lead.created_at = min(lead.created_at, opportunity.created_at - _days(rng, 1, 30))
        pairs.append((lead, opportunity))
    return pairs


def _competitors(org, rng, opportunities: list[Opportunity], competitors: list[Competitor]) -> None:
    rows = []
    for opportunity in opportunities:
        if rng.random() >= 0.3:
            continue
        outcome = (
            OpportunityCompetitor.Outcome.WON
            if opportunity.stage.is_won
            else OpportunityCompetitor.Outcome.LOST
            if opportunity.stage.is_lost
            else OpportunityCompetitor.Outcome.OPEN
        )
        for index in rng.choice(len(competitors), size=int(rng.integers(1, 3)), replace=False):
            rows.append(
                OpportunityCompetitor(
                    organization=org,
                    opportunity=opportunity,
                    competitor=competitors[int(index)],
                    outcome=outcome,
                )
            )
    OpportunityCompetitor.objects.bulk_create(rows, batch_size=2000)


# --- Quotes -------------------------------------------------------------------------------------


def _price_books(customer_ids: list[int], catalog: CatalogRows) -> dict[int, int]:
    """The price book each customer buys from: VIP if tagged VIP, wholesale if assigned."""
    books = {}
    for start in range(0, len(customer_ids), 1000):
        chunk = customer_ids[start : start + 1000]
        for customer in CustomerTag.objects.filter(
            customer_id__in=chunk, tag_id=catalog.vip.tag_id
        ).values_list("customer_id", flat=True):
            books[customer] = catalog.vip.pk
    for customer, book in CustomerPriceBook.objects.filter(
        customer_id__in=customer_ids
    ).values_list("customer_id", "price_book_id"):
        books[customer] = book
    return books


def seed_quotes(
    *,
    org,
    rng: np.random.Generator,
    now: datetime,
    opportunities: list[Opportunity],
    catalog: CatalogRows,
    tax_percent: Decimal,
) -> list[QuoteOrder]:
    """Quotes for opportunities that reached a proposal: drafts and sent ones for open deals,
    accepted for won ones (each becomes an order), rejected or expired for lost ones. The
    opportunity's amount becomes its quote's net value. Returns the accepted quotes' orders."""
    quoted = []
    for opportunity in opportunities:
        stage = opportunity.stage
        reached_proposal = (
            stage.is_won
            or (stage.is_lost and rng.random() < 0.5)
            or (not stage.is_closed and stage.position >= 2 and opportunity.pipeline.is_default)
        )
        if reached_proposal and rng.random() < 0.8:
            quoted.append(opportunity)
    books = _price_books(sorted({o.customer_id for o in quoted}), catalog)
    product_index = {p.pk: i for i, p in enumerate(catalog.products)}
    quotes, lines, orders = [], [], []
    for number, opportunity in enumerate(quoted, start=1):
        if opportunity.stage.is_won:
            status = QuoteStatus.ACCEPTED
        elif opportunity.stage.is_lost:
            status = QuoteStatus.REJECTED if rng.random() < 0.6 else QuoteStatus.EXPIRED
        else:
            status = QuoteStatus.SENT if rng.random() < 0.7 else QuoteStatus.DRAFT
        book = books.get(opportunity.customer_id, catalog.standard.pk)
        created = opportunity.created_at + (
            (opportunity.closed_at or now) - opportunity.created_at
        ) * float(rng.uniform(0.3, 0.8))
        quote_lines = []
        for position, index in enumerate(
            rng.choice(len(catalog.products), size=int(rng.integers(1, 5)), replace=False)
        ):
            product = catalog.products[int(index)]
            price = catalog.prices[(book, product.pk)]
            quantity = int(rng.integers(1, 21))
            discount = Decimal([0, 0, 5, 10][rng.integers(4)])
            quote_lines.append(
                QuoteLine(
                    organization=org,
                    position=position,
                    product=product,
                    description=product.name,
                    quantity=Decimal(quantity),
                    unit_price=price,
                    unit_cost=product.unit_cost,
                    discount_percent=discount,
                    line_total=(price * quantity * (100 - discount) / 100).quantize(
                        CENT, ROUND_HALF_UP
                    ),
                )
            )
        subtotal = sum((line.line_total for line in quote_lines), Decimal(0))
        discount_percent = Decimal([0, 0, 0, 5][rng.integers(4)])
        discount_total = (subtotal * discount_percent / 100).quantize(CENT, ROUND_HALF_UP)
        tax_total = ((subtotal - discount_total) * tax_percent / 100).quantize(CENT, ROUND_HALF_UP)
        decided = None
        if status in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
            decided = opportunity.closed_at or now
        quote = Quote(
            organization=org,
            number=f"Q-{created.year}-{number:05d}",
            customer_id=opportunity.customer_id,
            contact_id=opportunity.contact_id,
            opportunity=opportunity,
            price_book_id=book,
            status=status,
            valid_until=(created + timedelta(days=30)).date(),
            discount_percent=discount_percent,
            tax_percent=tax_percent,
            subtotal=subtotal,
            discount_total=discount_total,
            tax_total=tax_total,
            total=subtotal - discount_total + tax_total,
            created_by_id=opportunity.owner_id,
            created_at=created,
            sent_at=None if status == QuoteStatus.DRAFT else created + timedelta(hours=2),
            decided_at=decided,
        )
        quotes.append(quote)
        lines.append(quote_lines)
        opportunity.amount = subtotal - discount_total
    Quote.objects.bulk_create(quotes, batch_size=2000)
    for quote, quote_lines in zip(quotes, lines, strict=True):
        for line in quote_lines:
            line.quote = quote
        if quote.status == QuoteStatus.ACCEPTED:
            orders.append(
                QuoteOrder(
                    customer_id=quote.customer_id,
                    ordered_at=_soon_after(rng, quote.decided_at, now),
                    quote_id=quote.pk,
                    opportunity_id=quote.opportunity_id,
                    lines=[
                        (
                            product_index[line.product_id],
                            int(line.quantity),
                            int(line.unit_price * 100),
                            int((line.unit_cost or 0) * 100),
                            int(line.unit_price * line.quantity * 100) - int(line.line_total * 100),
                        )
                        for line in quote_lines
                    ],
                )
            )
    QuoteLine.objects.bulk_create([line for group in lines for line in group], batch_size=5000)
    Opportunity.objects.bulk_update(quoted, ["amount"], batch_size=1000)
    return orders


# --- Tasks --------------------------------------------------------------------------------------


def seed_tasks(
    *,
    org,
    rng: np.random.Generator,
    now: datetime,
    reps: list[int],
    opportunities: list[Opportunity],
    leads: list[Lead],
    per_rep: int,
) -> int:
    """Each rep's tasks: some overdue, some due today, more upcoming, and done ones."""
    open_by_owner: dict[int, list[Opportunity]] = {}
    for opportunity in opportunities:
        if opportunity.closed_at is None:
            open_by_owner.setdefault(opportunity.owner_id, []).append(opportunity)
    open_leads = [lead for lead in leads if lead.status != LeadStatus.CONVERTED]
    tasks = []
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for rep in reps:
        mine = open_by_owner.get(rep, [])
        for k in range(per_rep):
            kind = ["overdue", "today", "upcoming", "upcoming", "done", "done"][k % 6]
            if kind == "overdue":
                due = now - _days(rng, 1, 20)
            elif kind == "today":
                due = today + timedelta(hours=float(rng.uniform(8, 18)))
            elif kind == "upcoming":
                due = now + _days(rng, 1, 30)
            else:
                due = now - _days(rng, 1, 60)
            link = rng.random()
            task = Task(
                organization=org,
                due_at=due,
                priority=[TaskPriority.LOW, TaskPriority.NORMAL, TaskPriority.HIGH][
                    rng.choice(3, p=[0.2, 0.6, 0.2])
                ],
                assignee_id=rep,
                created_by_id=rep,
                created_at=min(due, now) - _days(rng, 1, 10),
                completed_at=due + _days(rng, -1, 0.5) if kind == "done" else None,
                remind_at=due - timedelta(hours=1)
                if kind == "upcoming" and rng.random() < 0.5
                else None,
            )
            if link < 0.5 and mine:
                opportunity = mine[rng.integers(len(mine))]
                task.opportunity, task.customer_id = opportunity, opportunity.customer_id
                task.title = TASKS["opportunity"][rng.integers(3)].format(opportunity.name)
            elif link < 0.75 and open_leads:
                lead = open_leads[rng.integers(len(open_leads))]
                task.lead = lead
                task.title = TASKS["lead"][rng.integers(3)].format(lead.full_name)
            elif opportunities:
                account = opportunities[rng.integers(len(opportunities))]
                task.customer_id = account.customer_id
                task.title = TASKS["customer"][rng.integers(3)].format(account.name.split(" – ")[0])
            else:
                task.title = "Plan the week"
            if task.completed_at and task.completed_at > now:
                task.completed_at = now
            tasks.append(task)
    Task.objects.bulk_create(tasks, batch_size=2000)
    return len(tasks)
