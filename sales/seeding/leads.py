"""Demo leads: a web form, scoring and assignment rules, leads in every status, their touches."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from customers.models import Channel, Direction
from customers.seeding import CITIES, FIRST, INDUSTRIES, LAST, TITLES, phones
from customers.seeding import COMPANY_A as WORDS_A
from customers.seeding import COMPANY_B as WORDS_B
from sales.models import (
    AssignmentRule,
    Lead,
    LeadInteraction,
    LeadRating,
    LeadScoreRule,
    LeadSource,
    LeadStatus,
    WebForm,
)
from sales.services.lead_scoring import Scorer, interaction_counts

STATUS_WEIGHTS = {
    LeadStatus.NEW: 30,
    LeadStatus.CONTACTED: 25,
    LeadStatus.QUALIFIED: 15,
    LeadStatus.UNQUALIFIED: 15,
    LeadStatus.CONVERTED: 15,
}
SOURCE_WEIGHTS = {
    LeadSource.WEB_FORM: 30,
    LeadSource.WEBSITE: 15,
    LeadSource.REFERRAL: 12,
    LeadSource.EVENT: 12,
    LeadSource.PARTNER: 8,
    LeadSource.ADVERTISING: 12,
    LeadSource.COLD_CALL: 8,
    LeadSource.OTHER: 3,
}
CAMPAIGNS = ["", "", "Spring webinar", "Trade show 2026", "Retail newsletter", "Search ads Q3"]
# (kind, label, field, operator, value, points)
SCORE_RULES = [
    ("fit", "Software company", "industry", "equals", "Software", 15),
    ("fit", "Retailer", "industry", "equals", "Retail", 10),
    ("fit", "50 employees or more", "employees", "gte", "50", 10),
    ("fit", "Senior title", "title", "contains", "head", 10),
    ("fit", "Referred to us", "source", "equals", "referral", 20),
    ("fit", "Gave a phone number", "phone", "present", "", 5),
    ("fit", "Based in the US", "country", "equals", "US", 5),
    ("engagement", "Two touches or more", "interactions", "gte", "2", 10),
    ("engagement", "Got in touch with us", "interactions_inbound", "gte", "1", 10),
]
TOUCHES = [
    (Channel.PHONE, "Discovery call"),
    (Channel.EMAIL, "Sent the brochure"),
    (Channel.EMAIL, "Replied to our email"),
    (Channel.MEETING, "Demo meeting"),
    (Channel.WEB, "Filled in the contact form"),
    (Channel.CHAT, "Asked about pricing in the chat"),
]


def _pick(rng: np.random.Generator, weights: dict, n: int) -> list:
    keys = list(weights)
    p = np.array(list(weights.values()), dtype=float)
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def seed_lead_setup(*, org, owners: list[int]) -> WebForm:
    """The rules that score and route leads, and the website's form."""
    LeadScoreRule.objects.bulk_create(
        [
            LeadScoreRule(
                organization=org,
                kind=kind,
                label=label,
                field=field,
                operator=operator,
                value=value,
                points=points,
            )
            for kind, label, field, operator, value, points in SCORE_RULES
        ]
    )
    AssignmentRule.objects.bulk_create(
        [
            AssignmentRule(
                organization=org,
                name="Web leads, round robin",
                position=1,
                match_source=LeadSource.WEB_FORM,
                assignees=owners,
            ),
            AssignmentRule(
                organization=org, name="Everything else", position=2, assignees=owners[:1]
            ),
        ]
    )
    return WebForm.objects.create(
        organization=org,
        name="Contact us",
        fields=["first_name", "last_name", "email", "company", "phone", "notes"],
        thank_you_message="Thanks! We will be in touch within one business day.",
        campaign_name="Website",
    )


def seed_leads(
    *,
    org,
    rng: np.random.Generator,
    count: int,
    owners: list[int],
    web_form: WebForm,
    now: datetime,
) -> list[Lead]:
    """`count` leads of the last 180 days, newest unassigned more often; scored by the rules."""
    statuses = _pick(rng, STATUS_WEIGHTS, count)
    sources = _pick(rng, SOURCE_WEIGHTS, count)
    city = rng.integers(0, len(CITIES), count)
    shown, _digits = phones(rng, city)
    leads = []
    for i in range(count):
        first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
        company = f"{WORDS_A[rng.integers(len(WORDS_A))]} {WORDS_B[rng.integers(len(WORDS_B))]}"
        domain = "".join(ch for ch in company.lower() if ch.isalnum())
        age = float(rng.exponential(45.0)) % 180
        status = statuses[i]
        name_city, region, country = CITIES[city[i]][:3]
        leads.append(
            Lead(
                organization=org,
                first_name=first,
                last_name=last,
                company=company,
                title=TITLES[rng.integers(len(TITLES))],
                email=f"{first.lower()}.{i}@{domain}.example",
                phone=str(shown[i]) if rng.random() < 0.7 else "",
                industry=INDUSTRIES[rng.integers(len(INDUSTRIES))],
                employees=int(rng.lognormal(3.5, 1.2)) + 1,
                city=name_city,
                region=region,
                country=country,
                status=status,
                source=sources[i],
                rating=[LeadRating.HOT, LeadRating.WARM, LeadRating.COLD, ""][rng.integers(4)],
                owner_id=None
                if status == LeadStatus.NEW and rng.random() < 0.4
                else owners[rng.integers(len(owners))],
                campaign_name=CAMPAIGNS[rng.integers(len(CAMPAIGNS))],
                web_form=web_form if sources[i] == LeadSource.WEB_FORM else None,
                created_at=now - timedelta(days=age, minutes=int(rng.integers(0, 1440))),
            )
        )
    Lead.objects.bulk_create(leads)
    touches = []
    for lead in leads:
        contacted = lead.status != LeadStatus.NEW
        for _ in range(int(rng.integers(1, 5)) if contacted else int(rng.integers(0, 2))):
            channel, subject = TOUCHES[rng.integers(len(TOUCHES))]
            when = lead.created_at + timedelta(hours=float(rng.uniform(1, 24 * 20)))
            touches.append(
                LeadInteraction(
                    organization=org,
                    lead=lead,
                    channel=channel,
                    direction=Direction.INBOUND if rng.random() < 0.35 else Direction.OUTBOUND,
                    subject=subject,
                    occurred_at=min(when, now),
                    user_id=lead.owner_id,
                )
            )
    LeadInteraction.objects.bulk_create(touches)
    # Scored as the app scores them (converted leads too: they were scored before converting).
    scorer = Scorer.load()
    counts = interaction_counts(lead.pk for lead in leads)
    for lead in leads:
        scorer.apply(lead, counts.get(lead.pk, {}))
    Lead.objects.bulk_update(leads, ["score", "score_reasons"], batch_size=500)
    return leads
