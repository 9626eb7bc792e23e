"""Seed one organization with N customers (default 1,000,000) for the customer benchmarks.

    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_bench \
        .venv/bin/python bench/seed_customers.py --customers 1000000

Run it as the owner role (no DATABASE_APP_ROLE): it creates the organization, its members, tags
and custom fields through the ORM, then streams customers, contacts, tags and interactions in
chunks generated in memory. The tables have FORCE ROW LEVEL SECURITY and the owner is no
superuser, and PostgreSQL refuses COPY FROM into a table whose row-level security applies
("COPY FROM not supported with row-level security"). So each chunk is COPied into a temporary
table (no policies there), then moved with INSERT ... SELECT inside one transaction that set
app.tenant_id first (tenancy.context.tenant_context): the policy's WITH CHECK vets every row.

Secondary indexes of the four big tables are dropped before the load and rebuilt after it (same
definitions, read from pg_indexes, in the same transaction), which is several times faster than
maintaining three trigram GIN indexes row by row. VACUUM (ANALYZE) runs at the end.

The distributions aim at realism rather than uniformity: Zipf-like first and last names from
eight locales (a few percent Chinese), companies and individuals, phone numbers of several
countries, lifecycle stages 25/55/12/8, 85% of customers owned by one of ~25 members, analytics
attributes on ~70% of customers, custom fields on a share of them, ~0.3% merged duplicates.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
os.environ.setdefault("SECRET_KEY", "clientele-bench-only-secret-key-0123456789abcdefghijklmnop")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tenancy.context import tenant_context  # noqa: E402
from tenancy.models import Membership, Organization, User  # noqa: E402
from tenancy.permissions import Role  # noqa: E402

BENCH_PASSWORD = "clientele-bench"  # a throwaway database's published password
BIG_TABLES = [
    "customers_customer",
    "customers_contact",
    "customers_customertag",
    "customers_interaction",
    "analytics_customerscore",
]

# --- Vocabulary -------------------------------------------------------------------------------

NAME_LOCALES = [  # (Faker locale, share of individuals)
    ("en_US", 0.40),
    ("en_GB", 0.10),
    ("de_DE", 0.10),
    ("fr_FR", 0.08),
    ("es_ES", 0.10),
    ("it_IT", 0.07),
    ("nl_NL", 0.05),
    ("sv_SE", 0.04),
    ("pt_BR", 0.03),
    ("zh_CN", 0.03),
]
CHINESE_PINYIN = {
    "王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang",
    "赵": "zhao", "吴": "wu", "周": "zhou", "徐": "xu", "孙": "sun", "马": "ma", "朱": "zhu",
}  # fmt: skip
COMPANY_A = (  # noqa: SIM905 (a word list reads best as words)
    "Blue North Bright Summit River Iron Golden Cedar Atlas Nova Pioneer Harbor Silver Maple "
    "Vertex Orchid Granite Alpine Coastal Crimson Delta Eagle Evergreen Falcon Frontier Global "
    "Horizon Lakeside Liberty Lunar Meridian Metro Northern Oak Ocean Pacific Peak Prairie "
    "Prime Quantum Redwood Royal Sapphire Sierra Solar Sterling Stone Sun Swift Titan Union "
    "United Valley Vista West Willow Zenith Apex Beacon Bluebird Canyon Copper Crystal"
).split()
COMPANY_B = (  # noqa: SIM905 (a word list reads best as words)
    "Foods Logistics Systems Retail Health Labs Textiles Energy Motors Media Robotics "
    "Outfitters Pharma Builders Coffee Analytics Bakery Brewing Capital Consulting Dental "
    "Design Electric Engineering Farms Fitness Freight Furniture Garden Glass Hardware Hotels "
    "Imports Insurance Interiors Kitchens Lighting Machinery Marine Metals Mills Mining Optics "
    "Packaging Paper Partners Plastics Printing Properties Realty Solutions Sports Studios "
    "Supply Telecom Tools Travel Ventures Water Wines Works"
).split()
SUFFIX = ["Inc.", "Ltd", "GmbH", "LLC", "Co.", "Group", "S.A.", "AG", "B.V.", "Pty Ltd", "plc"]
INDUSTRIES = [
    "Retail",
    "Manufacturing",
    "Healthcare",
    "Software",
    "Logistics",
    "Hospitality",
    "Construction",
    "Education",
    "Finance",
    "Food & Beverage",
    "Energy",
    "Media",
]
CITIES = [  # (city, region, country, phone prefix, national digits, weight)
    ("New York", "NY", "US", "1", 10, 8),
    ("Boston", "MA", "US", "1", 10, 4),
    ("Austin", "TX", "US", "1", 10, 4),
    ("Seattle", "WA", "US", "1", 10, 4),
    ("Chicago", "IL", "US", "1", 10, 5),
    ("San Francisco", "CA", "US", "1", 10, 5),
    ("Toronto", "ON", "CA", "1", 10, 4),
    ("London", "", "GB", "44", 10, 7),
    ("Manchester", "", "GB", "44", 10, 2),
    ("Berlin", "", "DE", "49", 10, 5),
    ("Munich", "Bavaria", "DE", "49", 10, 3),
    ("Lyon", "", "FR", "33", 9, 2),
    ("Paris", "", "FR", "33", 9, 5),
    ("Madrid", "", "ES", "34", 9, 4),
    ("Barcelona", "", "ES", "34", 9, 3),
    ("Milan", "", "IT", "39", 10, 3),
    ("Amsterdam", "", "NL", "31", 9, 3),
    ("Stockholm", "", "SE", "46", 9, 2),
    ("São Paulo", "SP", "BR", "55", 11, 3),
    ("Shanghai", "", "CN", "86", 11, 4),
    ("Shenzhen", "Guangdong", "CN", "86", 11, 3),
    ("Sydney", "NSW", "AU", "61", 9, 3),
]
INTERESTS = [
    "sustainability",
    "premium quality",
    "fast delivery",
    "bulk discounts",
    "new products",
    "after-sales service",
    "financing",
    "training",
    "integrations",
    "reporting",
]
TITLES = [
    "CEO",
    "CFO",
    "CTO",
    "Head of Purchasing",
    "Operations Manager",
    "Office Manager",
    "Procurement Lead",
    "IT Director",
    "Marketing Manager",
    "Finance Director",
    "Buyer",
]
TAGS = [
    ("VIP", "warning"),
    ("Newsletter", "info"),
    ("Trade show 2026", "primary"),
    ("Reseller", "secondary"),
    ("Key account", "success"),
    ("Needs follow-up", "danger"),
    ("Partner", "secondary"),
    ("Webinar lead", "info"),
]
SUBJECTS = {
    "phone": ["Intro call", "Follow-up on quote", "Checked in after delivery", "Pricing question"],
    "email": ["Sent product catalogue", "Answered a billing question", "Shared case study"],
    "meeting": ["On-site demo", "Quarterly business review", "Contract negotiation"],
    "chat": ["Asked about delivery times", "Order status"],
    "web": ["Downloaded the price list", "Visited the pricing page"],
    "social": ["Commented on our launch post"],
}
SEGMENTS = [  # (segment, weight)
    ("champions", 8),
    ("loyal", 12),
    ("potential_loyalists", 10),
    ("new", 8),
    ("promising", 7),
    ("need_attention", 10),
    ("about_to_sleep", 9),
    ("at_risk", 10),
    ("cant_lose", 4),
    ("hibernating", 12),
    ("lost", 10),
]
CLUSTERS = ["Loyal high spenders", "Bargain hunters", "Occasional buyers", "New and curious"]
CHURN_REASONS = [  # (code, a typical value), as analytics.metrics.churn explains the risk
    ("long_since_last_order", 200),
    ("few_orders", 2),
    ("low_order_value", 40),
    ("short_relationship", 60),
    ("no_recent_orders", 0),
]
CUSTOM_FIELDS = [  # (key, label, type, choices)
    ("loyalty_number", "Loyalty number", "text", []),
    ("contract_tier", "Contract tier", "choice", ["Bronze", "Silver", "Gold"]),
    ("employees", "Employees", "number", []),
    ("renewal_date", "Renewal date", "date", []),
    ("newsletter", "Newsletter", "boolean", []),
]


def _zipf_weights(n: int, s: float = 0.9) -> list[float]:
    return [1 / (rank**s) for rank in range(1, n + 1)]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class NamePool:
    """Weighted first and last names per locale (Zipf-like, as real names are)."""

    def __init__(self, rng: random.Random) -> None:
        import importlib

        self.rng = rng
        self.locales, self.locale_weights, self.pools = [], [], {}
        for locale, share in NAME_LOCALES:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            first = list(dict.fromkeys(provider.first_names))
            last = list(dict.fromkeys(provider.last_names))
            if len(last) < 20:
                continue
            rng.shuffle(first)
            rng.shuffle(last)
            self.locales.append(locale)
            self.locale_weights.append(share)
            self.pools[locale] = (
                first,
                list(_cumulative(_zipf_weights(len(first), 0.7))),
                last,
                list(_cumulative(_zipf_weights(len(last), 0.9))),
            )
        self.locale_cum = list(_cumulative(self.locale_weights))

    def person(self) -> tuple[str, str, str, str, bool]:
        """(first, last, ascii first, ascii last, family name first)."""
        rng = self.rng
        locale = rng.choices(self.locales, cum_weights=self.locale_cum)[0]
        first, first_cum, last, last_cum = self.pools[locale]
        given = rng.choices(first, cum_weights=first_cum)[0]
        family = rng.choices(last, cum_weights=last_cum)[0]
        if locale == "zh_CN":
            ascii_family = CHINESE_PINYIN.get(family, "zhou")
            return given, family, f"{ascii_family}{rng.randint(1, 99)}", ascii_family, True
        return given, family, _ascii(given) or "info", _ascii(family) or "mail", False


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


# --- COPY text format -------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":")).translate(_ESCAPES)
    return str(value).translate(_ESCAPES)


def _row(values) -> str:
    return "\t".join(_field(v) for v in values) + "\n"


CUSTOMER_COLUMNS = [
    "id",
    "organization_id",
    "kind",
    "name",
    "email",
    "phone",
    "phone_normalized",
    "website",
    "industry",
    "company_size",
    "birth_date",
    "gender",
    "income_band",
    "household_size",
    "city",
    "region",
    "country",
    "interests",
    "needs",
    "preferred_channel",
    "preferred_contact_time",
    "credit_limit",
    "credit_rating",
    "payment_terms",
    "lifecycle_stage",
    "stage_changed_at",
    "owner_id",
    "source",
    "acquisition_channel",
    "consent_email",
    "consent_email_at",
    "consent_email_source",
    "consent_sms",
    "consent_sms_source",
    "consent_phone",
    "consent_phone_source",
    "custom",
    "created_at",
    "updated_at",
    "created_by_id",
    "merged_into_id",
]
# The scores of the customers the nightly job would score (analytics.CustomerScore).
SCORE_COLUMNS = [
    "organization_id",
    "customer_id",
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "clv",
    "churn_probability",
    "churn_band",
    "churn_reason_1",
    "churn_reason_1_value",
    "churn_reason_2",
    "churn_reason_2_value",
    "profitability",
    "value_quadrant",
    "scored_at",
    "customer_created_at",
]
CONTACT_COLUMNS = [
    "id",
    "organization_id",
    "customer_id",
    "first_name",
    "last_name",
    "title",
    "decision_role",
    "email",
    "phone",
    "phone_normalized",
    "is_primary",
    "family",
    "education",
    "career_history",
    "hobbies",
    "values",
    "notes",
    "created_at",
    "updated_at",
]
INTERACTION_COLUMNS = [
    "id",
    "organization_id",
    "customer_id",
    "contact_id",
    "channel",
    "direction",
    "subject",
    "body",
    "occurred_at",
    "created_at",
    "user_id",
]
TAG_COLUMNS = ["id", "organization_id", "customer_id", "tag_id"]


class Generator:
    """Rows for one chunk of customers, with their contacts, tags and interactions."""

    def __init__(self, *, org_id: int, owners: list[int], tag_ids: list[int], seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = NamePool(self.rng)
        self.org_id = org_id
        self.owners = owners
        self.owner_cum = list(_cumulative(_zipf_weights(len(owners), 0.6)))
        self.tag_ids = tag_ids
        self.now = datetime.now(UTC)
        self.city_cum = list(_cumulative([c[5] for c in CITIES]))
        self.segment_cum = list(_cumulative([w for _s, w in SEGMENTS]))
        self.next_ids = {"customer": 0, "contact": 0, "interaction": 0, "tag": 0}

    def phone(self, city) -> tuple[str, str]:
        rng = self.rng
        prefix, digits = city[3], city[4]
        national = str(rng.randint(2, 9)) + "".join(
            str(rng.randint(0, 9)) for _ in range(digits - 1)
        )
        if prefix == "1":
            shown = f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}"
        else:
            shown = f"+{prefix} {national[:3]} {national[3:6]} {national[6:]}"
        return shown, prefix + national

    def chunk(self, count: int) -> tuple[str, str, str, str, str]:
        rng, now = self.rng, self.now
        customers, contacts, tags, interactions, scores = [], [], [], [], []
        ids = self.next_ids
        for _ in range(count):
            ids["customer"] += 1
            cid = ids["customer"]
            company = rng.random() < 0.55
            city = rng.choices(CITIES, cum_weights=self.city_cum)[0]
            # Recent customers are more numerous than old ones (the business grows).
            age_days = int(1825 * (1 - math.sqrt(rng.random())))
            created = now - timedelta(days=age_days, seconds=rng.randint(0, 86399))
            updated = created + timedelta(days=rng.randint(0, max(age_days, 0)))
            phone, phone_normalized = self.phone(city)
            if company:
                _first, last, _a, _b, _c = self.names.person()
                style = rng.random()
                if style < 0.45:
                    name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)} {rng.choice(SUFFIX)}"
                elif style < 0.75:
                    name = f"{last} {rng.choice(COMPANY_B)} {rng.choice(SUFFIX)}"
                else:
                    name = f"{rng.choice(COMPANY_A)}{rng.choice(COMPANY_B).lower()}"
                domain = f"{_ascii(name)[:18]}{cid % 997}.example"
                email = f"{rng.choice(['info', 'sales', 'office', 'contact'])}@{domain}"
            else:
                first, last, ascii_first, ascii_last, family_first = self.names.person()
                name = f"{last}{first}" if family_first else f"{first} {last}"
                domain = rng.choice(["mail.example", "post.example", "inbox.example"])
                email = f"{ascii_first}.{ascii_last}{cid % 10007}@{domain}"
            if rng.random() < 0.04:
                email = ""  # some customers give no email
            stage = rng.choices(
                ["prospect", "active", "at_risk", "churned"], weights=[25, 55, 12, 8]
            )[0]
            owner = rng.choices(self.owners, cum_weights=self.owner_cum)[0]
            owner = owner if rng.random() < 0.85 else None
            consent = rng.choices(["granted", "unknown", "withdrawn"], weights=[55, 35, 10])[0]
            scored = rng.random() < 0.7
            custom = {}
            if rng.random() < 0.4:
                custom["loyalty_number"] = f"L{100000 + cid}"
            if rng.random() < 0.3:
                custom["contract_tier"] = rng.choices(["Bronze", "Silver", "Gold"], [6, 3, 1])[0]
            if company and rng.random() < 0.5:
                custom["employees"] = int(rng.lognormvariate(3.5, 1.2)) + 1
            if rng.random() < 0.2:
                custom["renewal_date"] = (now + timedelta(days=rng.randint(-30, 365))).date()
                custom["renewal_date"] = custom["renewal_date"].isoformat()
            if rng.random() < 0.5:
                custom["newsletter"] = rng.random() < 0.6
            if scored:
                frequency = max(1, int(rng.paretovariate(1.6)))
                monetary = round(rng.lognormvariate(6, 1.1) * frequency, 2)
                clv = round(monetary * rng.uniform(0.5, 3.0), 2)
                churn = round(rng.betavariate(2, 5), 4)
                segment = rng.choices([s for s, _w in SEGMENTS], cum_weights=self.segment_cum)[0]
                cluster = rng.randrange(len(CLUSTERS))
                reasons = rng.sample(CHURN_REASONS, rng.randint(0, 2)) if churn > 0.3 else []
                reasons += [("", None)] * (2 - len(reasons))
                band = "low" if churn < 0.3 else "medium" if churn < 0.6 else "high"
                scores.append(
                    _row(
                        [
                            self.org_id,
                            cid,
                            rng.randint(1, 900),  # rfm_recency_days
                            frequency,
                            monetary,
                            rng.randint(1, 5),
                            rng.randint(1, 5),
                            rng.randint(1, 5),
                            segment,
                            cluster,
                            CLUSTERS[cluster],
                            clv,
                            churn,
                            band,
                            *reasons[0],
                            *reasons[1],
                            round(monetary * rng.uniform(-0.1, 0.4), 2),
                            rng.choice(["best", "spenders", "frequent", "uncertain"]),
                            now - timedelta(hours=rng.randint(1, 30)),
                            created,
                        ]
                    )
                )
            # Duplicates merged into an earlier customer stay in the table, hidden.
            merged_into = rng.randint(1, cid - 1) if cid > 10 and rng.random() < 0.003 else None
            customers.append(
                _row(
                    [
                        cid,
                        self.org_id,
                        "company" if company else "individual",
                        name,
                        email,
                        phone,
                        phone_normalized,
                        f"https://www.{domain}" if company and rng.random() < 0.6 else "",
                        rng.choice(INDUSTRIES) if company else "",
                        rng.choice(["1-9", "10-49", "50-249", "250-999", "1000+"])
                        if company
                        else "",
                        None
                        if company
                        else (now - timedelta(days=rng.randint(18 * 365, 80 * 365))).date(),
                        "" if company else rng.choice(["female", "male", "other", "undisclosed"]),
                        ""
                        if company
                        else rng.choice(["low", "lower_middle", "middle", "upper_middle", "high"]),
                        None if company else rng.randint(1, 6),
                        city[0],
                        city[1],
                        city[2],
                        ", ".join(rng.sample(INTERESTS, 2)),
                        "",
                        rng.choice(["email", "phone", "sms", "meeting", "chat", ""]),
                        rng.choice(["morning", "afternoon", "evening", "any", ""]),
                        rng.choice([None, 5000, 10000, 25000, 50000]) if company else None,
                        rng.choice(["A", "B", "C", "D", ""]) if company else "",
                        rng.choice(["net30", "net15", "prepaid", "net60"]) if company else "",
                        stage,
                        created + timedelta(days=rng.randint(0, 60)),
                        owner,
                        rng.choice(
                            ["web", "referral", "event", "partner", "advertising", "outbound"]
                        ),
                        rng.choice(["", "Google Ads", "LinkedIn", "Trade show", "Newsletter"]),
                        consent,
                        created if consent != "unknown" else None,
                        "Web form" if consent != "unknown" else "",
                        rng.choice(["unknown", "granted", "withdrawn"]),
                        "",
                        "unknown",
                        "",
                        custom,
                        created,
                        updated,
                        owner,
                        merged_into,
                    ]
                )
            )
            for tag_id in rng.sample(self.tag_ids, rng.choice([0, 0, 0, 1, 1, 2])):
                ids["tag"] += 1
                tags.append(_row([ids["tag"], self.org_id, cid, tag_id]))
            contact_ids = []
            if company:
                for j in range(rng.choices([1, 2, 3, 4], weights=[40, 35, 18, 7])[0]):
                    ids["contact"] += 1
                    first, last, ascii_first, ascii_last, _c = self.names.person()
                    shown, digits = self.phone(city)
                    contact_ids.append(ids["contact"])
                    contacts.append(
                        _row(
                            [
                                ids["contact"],
                                self.org_id,
                                cid,
                                first,
                                last,
                                rng.choice(TITLES),
                                rng.choice(["decision_maker", "influencer", "user", "gatekeeper"]),
                                f"{ascii_first}.{ascii_last}@{domain}",
                                shown,
                                digits,
                                j == 0,
                                "",
                                "",
                                "",
                                rng.choice(["", "", "sailing", "chess", "marathons", "jazz"]),
                                "",
                                "",
                                created,
                                updated,
                            ]
                        )
                    )
            for _ in range(rng.choices([0, 1, 2, 3, 5, 8], weights=[20, 25, 20, 15, 12, 8])[0]):
                when = created + timedelta(days=rng.randint(0, max(age_days, 1)), minutes=1)
                if when > now:
                    continue
                channel = rng.choice(list(SUBJECTS))
                ids["interaction"] += 1
                interactions.append(
                    _row(
                        [
                            ids["interaction"],
                            self.org_id,
                            cid,
                            rng.choice(contact_ids) if contact_ids and rng.random() < 0.6 else None,
                            channel,
                            rng.choice(["inbound", "outbound"]),
                            rng.choice(SUBJECTS[channel]),
                            "",
                            when,
                            when,
                            rng.choice(self.owners),
                        ]
                    )
                )
        return (
            "".join(customers),
            "".join(contacts),
            "".join(tags),
            "".join(interactions),
            "".join(scores),
        )


# --- The load ---------------------------------------------------------------------------------


def _secondary_indexes(cursor) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the big tables' indexes that back no constraint."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef
          FROM pg_indexes i
          JOIN pg_class c ON c.relname = i.indexname
         WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
         ORDER BY i.tablename, i.indexname
        """,
        [BIG_TABLES],
    )
    return cursor.fetchall()


SEQUENCE_KEYS = {
    "customer": "customers_customer",
    "contact": "customers_contact",
    "tag": "customers_customertag",
    "interaction": "customers_interaction",
}


def _offsets(cursor) -> dict[str, int]:
    """Ids are assigned here, to link rows across tables: start after the sequences' values.

    (MAX(id) would not do: row-level security hides other organizations' rows from the owner.)
    """
    offsets = {}
    for key, table in SEQUENCE_KEYS.items():
        cursor.execute(
            "SELECT last_value FROM pg_sequences WHERE sequencename = %s", [f"{table}_id_seq"]
        )
        row = cursor.fetchone()
        offsets[key] = int(row[0] or 0) if row else 0
    return offsets


def _copy(cursor, table: str, columns: list[str], payload: str) -> None:
    """COPY into the table's staging twin, then INSERT ... SELECT under the tenant policy."""
    if not payload:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    cursor.copy_expert(f"COPY seed_{table} ({names}) FROM STDIN", io.StringIO(payload))
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM seed_{table}")
    cursor.execute(f"TRUNCATE seed_{table}")


def _members(org: Organization, *, slug: str) -> list[int]:
    password = make_password(BENCH_PASSWORD)
    people = [("manager", Role.MANAGER, "Bench Manager")]
    people += [(f"sales{i}", Role.SALES, f"Sales Rep {i}") for i in range(1, 25)]
    people += [(f"support{i}", Role.SUPPORT, f"Support Agent {i}") for i in range(1, 4)]
    people += [(f"marketing{i}", Role.MARKETING, f"Marketer {i}") for i in range(1, 3)]
    ids = []
    for local, role, full_name in people:
        user, _created = User.objects.get_or_create(
            email=f"{local}@{slug}.bench.example",
            defaults={"full_name": full_name, "password": password},
        )
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
        if role in (Role.MANAGER, Role.SALES):
            ids.append(user.pk)
    return ids


def seed(*, slug: str, customers: int, chunk: int, seed_value: int, keep_indexes: bool) -> None:
    from customers.models import CustomFieldDefinition, Tag

    started = time.perf_counter()
    org, created = Organization.objects.get_or_create(
        slug=slug, defaults={"name": f"Bench {slug}", "currency": "USD"}
    )
    with tenant_context(org):
        if not created and Tag.objects.exists():
            sys.exit(f"Organization {slug!r} has data already: use a new database or slug.")
        owners = _members(org, slug=slug)
        tag_ids = [Tag.objects.create(name=n, color=c).pk for n, c in TAGS]
        for position, (key, label, field_type, choices) in enumerate(CUSTOM_FIELDS, start=1):
            CustomFieldDefinition.objects.create(
                key=key, label=label, field_type=field_type, choices=choices, position=position
            )
    print(f"organization {slug} (id {org.pk}), {len(owners)} owners", flush=True)

    generator = Generator(org_id=org.pk, owners=owners, tag_ids=tag_ids, seed=seed_value)
    totals = dict.fromkeys(["customers", "contacts", "tags", "interactions", "scores"], 0)
    gen_time = copy_time = 0.0
    with tenant_context(org), connection.cursor() as cursor:
        # Non-deferred foreign-key checks: a million deferred checks would queue until COMMIT.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        for table in BIG_TABLES:
            cursor.execute(f"CREATE TEMP TABLE seed_{table} (LIKE {table}) ON COMMIT DROP")
        generator.next_ids = _offsets(cursor)
        first_customer = generator.next_ids["customer"] + 1
        indexes = [] if keep_indexes else _secondary_indexes(cursor)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        print(f"dropped {len(indexes)} secondary indexes", flush=True)
        done = 0
        while done < customers:
            count = min(chunk, customers - done)
            t0 = time.perf_counter()
            rows = generator.chunk(count)
            t1 = time.perf_counter()
            _copy(cursor, "customers_customer", CUSTOMER_COLUMNS, rows[0])
            _copy(cursor, "customers_contact", CONTACT_COLUMNS, rows[1])
            _copy(cursor, "customers_customertag", TAG_COLUMNS, rows[2])
            _copy(cursor, "customers_interaction", INTERACTION_COLUMNS, rows[3])
            _copy(cursor, "analytics_customerscore", SCORE_COLUMNS, rows[4])
            t2 = time.perf_counter()
            gen_time += t1 - t0
            copy_time += t2 - t1
            for key, payload in zip(totals, rows, strict=True):
                totals[key] += payload.count("\n")
            done += count
            print(
                f"  {done:>9,} customers  (generate {t1 - t0:5.1f} s, copy {t2 - t1:5.1f} s)",
                flush=True,
            )
        t0 = time.perf_counter()
        for name, definition in indexes:
            i0 = time.perf_counter()
            cursor.execute(definition)
            print(f"  index {name}: {time.perf_counter() - i0:5.1f} s", flush=True)
        index_time = time.perf_counter() - t0
        for key, table in SEQUENCE_KEYS.items():
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [table, max(generator.next_ids[key], 1)],
            )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    vacuum_time = time.perf_counter() - t0
    print(
        f"done in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{v:,} {k}" for k, v in totals.items())
        + f" (generate {gen_time:.0f} s, copy {copy_time:.0f} s, indexes {index_time:.0f} s, "
        f"vacuum+analyze {vacuum_time:.0f} s); customer ids from {first_customer:,}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", default="bench", help="organization slug (default: bench)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000, help="customers per COPY")
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="load with the indexes in place (slower; for adding to a populated database)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to PostgreSQL, as the owner role (no DATABASE_APP_ROLE).")
    with transaction.atomic():
        pass  # opens the connection before the long run, failing fast on a bad URL
    seed(
        slug=args.org,
        customers=args.customers,
        chunk=args.chunk,
        seed_value=args.seed,
        keep_indexes=args.keep_indexes,
    )


if __name__ == "__main__":
    main()
