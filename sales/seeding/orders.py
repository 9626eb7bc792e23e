"""Demo orders whose purchase behaviour has the structure customer analytics looks for.

Each buying customer follows the BG/NBD story (Fader, Hardie and Lee, 2005): from its first
order, on the day it was acquired, it orders at its own rate λ (gamma distributed across
customers) while it is active, and after each order it leaves for good with its own probability
p (beta distributed). Order values follow the gamma-gamma model: each customer has its own mean
spend (gamma distributed), its orders scatter around it, right-skewed; companies spend more.
Time runs faster in November and December and slower in summer and at weekends (the process
runs on a seasonal clock). So recency and frequency vary, some customers have lapsed, lifetime
values differ by orders of magnitude, and clusters exist to be found.

On top: about 2.5% cancelled and 1.5% returned orders, 0.5% gifts worth nothing, discounts on
some orders, and a cost of 55-75% of the value (each customer has its own margin). A few key
accounts never leave and order thousands of times (one about 5,000 times in a large demo: the
order-list benchmark's customer). Order numbers follow the order dates.

Order lines: every order has lines in a small demo. In a large one (bulk) only the orders of
the last LINES_RECENT_DAYS days do: the lines are what an order's page shows, while analytics
reads Order.total and Order.cost_total, so ten million orders need not carry thirty million
lines. Order totals are recomputed from their lines where there are lines.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from sales.models import Order, OrderChannel, OrderLine, OrderStatus
from tenancy.bulk_load import Codes, Numbered, bulk_tables, insert_rows

# Seasonality of the order rate, January to December and Monday to Sunday (mean 1 once scaled).
MONTH_FACTORS = np.array([0.9, 0.85, 0.95, 1.0, 0.95, 0.8, 0.72, 0.75, 1.0, 1.05, 1.35, 1.6])
WEEKDAY_FACTORS = np.array([1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75])
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 11, 10, 9, 8, 8, 9, 8, 6, 3, 2], dtype=float
)
RATE_SHAPE, RATE_SCALE = 1.2, 32.0  # purchases a year while active: gamma(shape, scale)
DROPOUT_A, DROPOUT_B = 1.5, 20.0  # chance of leaving after an order: beta(a, b), mean 7%
SPEND_SHAPE, SPEND_Q, SPEND_GAMMA = 3.0, 3.0, 80.0  # gamma-gamma in dollars: mean about $120
COMPANY_SPEND = 4.0  # companies' orders are this many times bigger
MIN_ORDER_CENTS = 500
CANCELLED, RETURNED, GIFTS = 0.025, 0.015, 0.005
DISCOUNTED = 0.3
MARGIN_LOW, MARGIN_HIGH = 0.55, 0.75  # cost as a share of the value, per customer
LINES_RECENT_DAYS = 30
CHANNELS = [c.value for c in OrderChannel]  # web, store, phone, sales, partner, marketplace
COMPANY_CHANNELS = [0.2, 0.0, 0.2, 0.45, 0.15, 0.0]
PERSON_CHANNELS = [0.55, 0.25, 0.05, 0.0, 0.0, 0.15]
logger = logging.getLogger("seed_demo")
STATUSES = [OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.RETURNED]
MICROS_PER_DAY = 86_400 * 1_000_000


@dataclass
class Buyers:
    """The organization's customers, one entry each, sorted by id."""

    ids: np.ndarray
    acquired: np.ndarray  # datetime64[us], UTC
    company: np.ndarray
    buys: np.ndarray  # False for prospects: they have not ordered yet
    key_accounts: dict[int, int] = field(default_factory=dict)  # index -> orders wanted


@dataclass
class Catalog:
    """Products that order lines may name, sorted by list price."""

    ids: np.ndarray
    names: list[str]
    prices: np.ndarray  # cents


@dataclass
class QuoteOrder:
    """An order placed by accepting a quote: its values and lines come from the quote."""

    customer_id: int
    ordered_at: datetime
    quote_id: int
    opportunity_id: int
    lines: list[tuple[int, int, int, int, int]]  # (product index, quantity, price, cost, discount)


@dataclass
class OrderBook:
    """One entry per order, in time order."""

    customer: np.ndarray  # index into Buyers
    ordered_at: np.ndarray  # datetime64[us]
    subtotal: np.ndarray  # cents
    discount: np.ndarray
    total: np.ndarray
    cost: np.ndarray
    status: np.ndarray  # index into STATUSES
    channel: np.ndarray  # index into CHANNELS
    gift: np.ndarray
    quote: np.ndarray  # quote id or 0
    opportunity: np.ndarray  # opportunity id or 0

    def __len__(self) -> int:
        return len(self.customer)


class SeasonalClock:
    """Maps days (relative to today's midnight, UTC) to seasonal "operational" time and back.

    A Poisson process of constant rate on the operational clock is, on the calendar, a process
    whose rate follows MONTH_FACTORS and WEEKDAY_FACTORS.
    """

    def __init__(self, *, today: datetime, first_day: int) -> None:
        days = np.arange(first_day, 1)
        dates = np.datetime64(today.date()) + days.astype("timedelta64[D]")
        months = dates.astype("datetime64[M]").astype(int) % 12
        weekdays = (dates.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
        intensity = MONTH_FACTORS[months] * WEEKDAY_FACTORS[weekdays]
        intensity = intensity / intensity.mean()
        self.edges = np.append(days, 1).astype(float)
        self.cumulative = np.concatenate([[0.0], np.cumsum(intensity)])

    def to_operational(self, days: np.ndarray) -> np.ndarray:
        return np.interp(days, self.edges, self.cumulative)

    def to_calendar(self, operational: np.ndarray) -> np.ndarray:
        return np.interp(operational, self.cumulative, self.edges)


def purchase_days(
    rng: np.random.Generator,
    *,
    start: np.ndarray,
    end: float,
    rate: np.ndarray,
    dropout: np.ndarray,
    clock: SeasonalClock,
) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, day) of every order: one at `start` (days, relative to today), then
    Poisson arrivals at `rate` a day on the seasonal clock, each followed by leaving with
    probability `dropout`, until `end`. Customers with a NaN start never order.

    Simulated one order "round" at a time for all customers still active, so the work is
    proportional to the number of orders, with no Python loop per customer.
    """
    active = np.flatnonzero(~np.isnan(start))
    clock_time = clock.to_operational(start[active])
    end_time = float(clock.to_operational(np.array([end]))[0])
    owners, times = [active], [clock_time]
    while len(active):
        stays = rng.random(len(active)) >= dropout[active]
        active, clock_time = active[stays], clock_time[stays]
        clock_time = clock_time + rng.exponential(1.0 / rate[active])
        before_end = clock_time < end_time
        active, clock_time = active[before_end], clock_time[before_end]
        owners.append(active)
        times.append(clock_time)
    owner = np.concatenate(owners)
    day = clock.to_calendar(np.concatenate(times))
    return owner, day


def simulate_orders(
    rng: np.random.Generator, buyers: Buyers, *, now: datetime, quote_orders: list[QuoteOrder]
) -> tuple[OrderBook, dict[int, list[tuple[int, int, int, int, int]]]]:
    """Every order of every buyer, and the quote orders' lines by their position in the book."""
    n = len(buyers.ids)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today64 = np.datetime64(today.replace(tzinfo=None), "us")
    # Whole days: the simulation runs from the start of the acquisition day to the end of today,
    # so the number of orders does not depend on the time of day the demo is built.
    start = np.floor((buyers.acquired - today64) / np.timedelta64(1, "D"))
    start = np.where(buyers.buys, start, np.nan)
    rate = rng.gamma(RATE_SHAPE, RATE_SCALE, n) / 365.0
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, n)
    first_day = int(np.floor(np.nanmin(start, initial=0.0))) - 1
    for index, wanted in buyers.key_accounts.items():
        # A key account never leaves and orders `wanted` times on average over its life.
        life = 1.0 - start[index]
        rate[index], dropout[index] = wanted / life, 0.0
    clock = SeasonalClock(today=today, first_day=first_day)
    owner, day = purchase_days(rng, start=start, end=1.0, rate=rate, dropout=dropout, clock=clock)
    # The calendar day from the seasonal clock, a time of day from business hours; never after
    # now, and the first order not before the customer existed.
    m = len(owner)
    hours = rng.choice(24, size=m, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = hours * 3600 + rng.integers(0, 3600, m)
    day_start = np.floor(day)
    when = today64 + ((day_start * 86400 + seconds) * 1_000_000).astype("timedelta64[us]")
    now64 = np.datetime64(now.replace(tzinfo=None), "us")
    late = when > now64  # today, after now: earlier today instead
    since_midnight = (now64 - today64).astype(np.int64)
    when[late] = today64 + (rng.random(late.sum()) * since_midnight).astype("timedelta64[us]")
    when = np.maximum(when, buyers.acquired[owner])

    # Spend: gamma-gamma. nu is each customer's rate parameter; its mean order is SHAPE / nu.
    nu = rng.gamma(SPEND_Q, 1.0 / SPEND_GAMMA, n)
    scale = np.where(buyers.company, COMPANY_SPEND, 1.0)
    value = rng.gamma(SPEND_SHAPE, 1.0 / nu[owner]) * scale[owner]
    subtotal = np.maximum(np.round(value * 100), MIN_ORDER_CENTS).astype(np.int64)
    discount_rate = np.where(
        rng.random(m) < DISCOUNTED, rng.choice([0.05, 0.1, 0.15, 0.2], size=m), 0.0
    )
    discount = np.round(subtotal * discount_rate).astype(np.int64)
    gift = rng.random(m) < GIFTS
    discount = np.where(gift, subtotal, discount)
    margin = rng.uniform(MARGIN_LOW, MARGIN_HIGH, n)[owner] + rng.normal(0, 0.02, m)
    margin = np.clip(margin, MARGIN_LOW - 0.05, MARGIN_HIGH + 0.05)
    draw = rng.random(m)
    status = np.where(draw < CANCELLED, 1, np.where(draw < CANCELLED + RETURNED, 2, 0))
    main_channel = np.where(
        buyers.company,
        rng.choice(len(CHANNELS), size=n, p=COMPANY_CHANNELS),
        rng.choice(len(CHANNELS), size=n, p=PERSON_CHANNELS),
    )
    channel = np.where(rng.random(m) < 0.85, main_channel[owner], rng.integers(0, len(CHANNELS), m))
    quote = np.zeros(m, dtype=np.int64)
    opportunity = np.zeros(m, dtype=np.int64)

    # The orders of accepted quotes, with the quotes' values.
    quote_lines = {}
    if quote_orders:
        q = len(quote_orders)
        q_owner = np.searchsorted(buyers.ids, [o.customer_id for o in quote_orders])
        q_when = np.array(
            [np.datetime64(o.ordered_at.replace(tzinfo=None), "us") for o in quote_orders]
        )
        q_subtotal = np.array([sum(line[1] * line[2] for line in o.lines) for o in quote_orders])
        q_discount = np.array([sum(line[4] for line in o.lines) for o in quote_orders])
        q_cost = np.array([sum(line[1] * line[3] for line in o.lines) for o in quote_orders])
        owner = np.concatenate([owner, q_owner])
        when = np.concatenate([when, q_when])
        subtotal = np.concatenate([subtotal, q_subtotal])
        discount = np.concatenate([discount, q_discount])
        gift = np.concatenate([gift, np.zeros(q, bool)])
        margin = np.concatenate([margin, q_cost / np.maximum(q_subtotal - q_discount, 1)])
        status = np.concatenate([status, np.zeros(q, int)])
        channel = np.concatenate([channel, np.full(q, CHANNELS.index(OrderChannel.SALES))])
        quote = np.concatenate([quote, [o.quote_id for o in quote_orders]])
        opportunity = np.concatenate([opportunity, [o.opportunity_id for o in quote_orders]])
    order = np.argsort(when, kind="stable")
    if quote_orders:
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        for k, quote_order in enumerate(quote_orders):
            quote_lines[int(position[m + k])] = quote_order.lines
    total = subtotal - discount
    cost = np.round(np.where(gift, subtotal, total) * margin).astype(np.int64)
    book = OrderBook(
        customer=owner[order],
        ordered_at=when[order],
        subtotal=subtotal[order],
        discount=discount[order],
        total=total[order],
        cost=cost[order],
        status=status[order],
        channel=channel[order],
        gift=gift[order],
        quote=quote[order],
        opportunity=opportunity[order],
    )
    return book, quote_lines


def order_lines(
    rng: np.random.Generator,
    book: OrderBook,
    catalog: Catalog,
    *,
    selected: np.ndarray,
    quote_lines: dict[int, list[tuple[int, int, int, int, int]]],
) -> dict[str, np.ndarray]:
    """Lines for the orders at positions `selected` (sorted): one to three products each, priced
    from the catalogue, in quantities that add up to about the order's value. The orders'
    subtotal, discount, total and cost are set to what their lines add up to."""
    quoted = np.array(sorted(quote_lines), dtype=np.int64)
    simulated = selected[~np.isin(selected, quoted)]
    count = rng.choice([1, 2, 3], size=len(simulated), p=[0.5, 0.3, 0.2])
    line_order = np.repeat(simulated, count)
    shares = rng.gamma(1.0, 1.0, len(line_order))
    share_sums = np.bincount(
        np.repeat(np.arange(len(simulated)), count), weights=shares, minlength=len(simulated)
    )
    share = shares / np.repeat(share_sums, count)
    amount = book.subtotal[line_order] * share
    # A product that costs at most the line's share of the value (a few cheaper ones nearby).
    below = np.searchsorted(catalog.prices, amount, side="right") - 1
    product = np.clip(below - rng.integers(0, 4, len(amount)), 0, len(catalog.prices) - 1)
    price = catalog.prices[product]
    quantity = np.maximum(np.round(amount / price), 1).astype(np.int64)
    # The cost follows the order's margin (each customer has its own), not the price list's.
    margin = book.cost / np.maximum(np.where(book.gift, book.subtotal, book.total), 1)
    unit_cost = np.round(price * margin[line_order]).astype(np.int64)
    discount = np.zeros(len(line_order), dtype=np.int64)
    q_positions = quoted[np.isin(quoted, selected)].tolist()
    if q_positions:
        q_lines = [(p, *line) for p in q_positions for line in quote_lines[p]]
        line_order = np.concatenate([line_order, [line[0] for line in q_lines]])
        product = np.concatenate([product, [line[1] for line in q_lines]])
        quantity = np.concatenate([quantity, [line[2] for line in q_lines]])
        price = np.concatenate([price, [line[3] for line in q_lines]])
        unit_cost = np.concatenate([unit_cost, [line[4] for line in q_lines]])
        discount = np.concatenate([discount, [line[5] for line in q_lines]])
    line_total = quantity * price - discount
    by_order = np.argsort(line_order, kind="stable")
    line_order, product, quantity = line_order[by_order], product[by_order], quantity[by_order]
    price, unit_cost = price[by_order], unit_cost[by_order]
    discount, line_total = discount[by_order], line_total[by_order]

    # The orders now add up to their lines; order-level discounts keep their rate.
    sums = np.bincount(line_order, weights=quantity * price, minlength=len(book))
    costs = np.bincount(line_order, weights=quantity * unit_cost, minlength=len(book))
    line_discounts = np.bincount(line_order, weights=discount, minlength=len(book))
    touched = selected  # every selected order got at least one line
    old = np.maximum(book.subtotal[touched], 1)
    rate = book.discount[touched] / old
    new_subtotal = sums[touched].astype(np.int64)
    is_quote = np.isin(touched, np.array(q_positions, dtype=np.int64))
    new_discount = np.where(
        is_quote,
        line_discounts[touched],
        np.where(book.gift[touched], new_subtotal, np.round(new_subtotal * rate)),
    ).astype(np.int64)
    book.subtotal[touched] = new_subtotal
    book.discount[touched] = new_discount
    book.total[touched] = new_subtotal - new_discount
    book.cost[touched] = costs[touched].astype(np.int64)
    return {
        "order": line_order,
        "product_id": catalog.ids[product],
        "description": Codes(product, catalog.names),
        "quantity": quantity * 1000,  # DecimalField(decimal_places=3)
        "unit_price": price,
        "unit_cost": unit_cost,
        "discount": discount,
        "line_total": line_total,
    }


def write_orders(
    rng: np.random.Generator,
    *,
    org_id: int,
    buyers: Buyers,
    catalog: Catalog,
    now: datetime,
    quote_orders: list[QuoteOrder],
    bulk: bool,
) -> dict[str, int]:
    """Simulate and write the orders (and their lines); counts for the summary."""
    started = time.perf_counter()
    book, quote_lines = simulate_orders(rng, buyers, now=now, quote_orders=quote_orders)
    if bulk:
        since = np.datetime64(now.replace(tzinfo=None), "us") - np.timedelta64(
            LINES_RECENT_DAYS, "D"
        )
        chosen = book.ordered_at >= since
        chosen[list(quote_lines)] = True
        with_lines = np.flatnonzero(chosen)
    else:
        with_lines = np.arange(len(book))
    lines = order_lines(rng, book, catalog, selected=with_lines, quote_lines=quote_lines)
    logger.info("simulated %s orders in %.1fs", f"{len(book):,}", time.perf_counter() - started)
    with bulk_tables([Order, OrderLine], enabled=bulk, rows=len(book)):
        order_ids = insert_rows(
            Order,
            {
                "organization_id": org_id,
                "number": Numbered(np.arange(1, len(book) + 1), "SO-", 8),
                "customer_id": buyers.ids[book.customer],
                "ordered_at": book.ordered_at,
                "status": Codes(book.status, STATUSES),
                "channel": Codes(book.channel, CHANNELS),
                "is_gift": book.gift,
                "subtotal": book.subtotal,
                "discount": book.discount,
                "total": book.total,
                "cost_total": book.cost,
                "quote_id": np.ma.masked_equal(book.quote, 0),
                "opportunity_id": np.ma.masked_equal(book.opportunity, 0),
                "created_at": book.ordered_at,
            },
            bulk=bulk,
        )
        position = lines.pop("order")
        insert_rows(
            OrderLine,
            {"organization_id": org_id, "order_id": order_ids[position], **lines},
            bulk=bulk,
        )
    counts = np.bincount(book.customer, minlength=len(buyers.ids))
    return {
        "orders": len(book),
        "order lines": len(position),
        "cancelled orders": int((book.status == 1).sum()),
        "returned orders": int((book.status == 2).sum()),
        "gift orders": int(book.gift.sum()),
        "most orders of one customer": int(counts.max(initial=0)),
    }
