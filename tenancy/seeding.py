"""Demo data: the registry of seeding steps, and the tenancy step (organizations and users).

Each app contributes a `seeding.py` with functions decorated by `seed_step(order)`; `seed_demo`
discovers them and runs them in order for each demo organization, inside that organization's
tenant context. A step receives a SeedContext and must be deterministic for its random source.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from tenancy.models import ActivityEvent, ActivityVerb, Membership, Organization, User
from tenancy.permissions import Role

DEMO_PASSWORD = "clientele-demo"  # noqa: S105 (the published demo password)
DEMO_DOMAIN = "example"

DEMO_ORGS = [
    {"slug": "acme", "name": "Acme Corporation", "currency": "USD", "primary": True},
    {"slug": "globex", "name": "Globex Trading", "currency": "EUR", "primary": False},
]

# Deterministic, readable names per (org, role).
DEMO_NAMES = {
    "acme": {
        Role.ADMIN: "Ada Admin",
        Role.MANAGER: "Alice Moreau",
        Role.SALES: "Bob Sanchez",
        Role.MARKETING: "Mia Marsh",
        Role.SUPPORT: "Carol Chen",
    },
    "globex": {
        Role.ADMIN: "Mallory Grant",
        Role.MANAGER: "Hank Scorpio",
        Role.SALES: "Sam Weller",
        Role.MARKETING: "Lin Wei",
        Role.SUPPORT: "Omar Haddad",
    },
}


@dataclass
class SeedContext:
    org: Organization
    users: dict[str, User]
    rng: random.Random
    customers: int
    primary: bool
    seed: int
    stats: dict[str, int] = field(default_factory=dict)
    # Write the big tables with COPY (PostgreSQL, large demos): see tenancy.bulk_load.
    bulk: bool = False


SeedStep = Callable[[SeedContext], None]
_steps: list[tuple[int, str, SeedStep]] = []


def seed_step(order: int) -> Callable[[SeedStep], SeedStep]:
    def register(function: SeedStep) -> SeedStep:
        name = f"{function.__module__}.{function.__qualname__}"
        if all(existing != name for _, existing, _f in _steps):
            _steps.append((order, name, function))
        return function

    return register


def seed_steps() -> list[tuple[int, str, SeedStep]]:
    return sorted(_steps, key=lambda step: (step[0], step[1]))


def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.{DEMO_DOMAIN}"


def demo_users_create(*, slug: str, password_hash: str) -> dict[str, User]:
    users = {}
    for role in Role:
        users[role] = User.objects.create(
            email=demo_email(role, slug),
            full_name=DEMO_NAMES[slug][role],
            password=password_hash,
        )
    return users


def demo_password_hash() -> str:
    # Hash once: PBKDF2 is deliberately slow, and every demo user shares the password.
    return make_password(DEMO_PASSWORD)


@seed_step(order=0)
def seed_team(ctx: SeedContext) -> None:
    """One member per role, and a few lines of activity so home pages are not empty."""
    for role, user in ctx.users.items():
        Membership.objects.create(organization=ctx.org, user=user, role=role)
    admin = ctx.users[Role.ADMIN]
    ActivityEvent.objects.create(
        organization=ctx.org,
        actor=admin,
        verb=ActivityVerb.ORGANIZATION_CREATED,
        target=ctx.org.name,
    )
    for role, user in ctx.users.items():
        if role != Role.ADMIN:
            ActivityEvent.objects.create(
                organization=ctx.org,
                actor=admin,
                verb=ActivityVerb.MEMBER_INVITED,
                target=user.email,
            )
            ActivityEvent.objects.create(
                organization=ctx.org,
                actor=user,
                verb=ActivityVerb.MEMBER_JOINED,
                target=ctx.org.name,
            )
    ctx.stats["members"] = len(ctx.users)
