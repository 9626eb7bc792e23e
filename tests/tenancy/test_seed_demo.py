"""seed_demo: two demo organizations, one user per role in each, deterministic for a seed."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenancy.context import tenant_context
from tenancy.models import ActivityEvent, Membership, Organization, User
from tenancy.permissions import Role
from tenancy.seeding import DEMO_NAMES, DEMO_PASSWORD, demo_email

pytestmark = pytest.mark.django_db

DEMO_SLUGS = ["acme", "globex"]


def _seed(*args, **options) -> str:
    out = StringIO()
    call_command(
        "seed_demo", *args, customers=20, seed=options.pop("seed", 1), stdout=out, **options
    )
    return out.getvalue()


def _snapshot() -> dict:
    """What the demo looks like, without database ids (they change when it is rebuilt)."""
    snapshot = {"users": sorted(User.objects.values_list("email", "full_name"))}
    for org in Organization.objects.filter(slug__in=DEMO_SLUGS).order_by("slug"):
        with tenant_context(org):
            snapshot[org.slug] = {
                "org": (org.name, org.currency),
                "members": sorted(Membership.objects.values_list("user__email", "role")),
                "activity": sorted(ActivityEvent.objects.values_list("verb", "target")),
            }
    return snapshot


def test_it_creates_acme_and_globex():
    _seed()

    assert sorted(Organization.objects.values_list("slug", "name", "currency")) == [
        ("acme", "Acme Corporation", "USD"),
        ("globex", "Globex Trading", "EUR"),
    ]


def test_it_creates_a_user_per_role_in_each_organization():
    _seed()

    for slug in DEMO_SLUGS:
        org = Organization.objects.get(slug=slug)
        with tenant_context(org):
            roles = dict(Membership.objects.values_list("user__email", "role"))
        for role in Role:
            email = f"{role.value}@{slug}.example"
            assert email == demo_email(role, slug)
            assert roles[email] == role
            assert User.objects.get(email=email).full_name == DEMO_NAMES[slug][role]


def test_the_acme_manager_also_works_in_globex():
    _seed()

    globex = Organization.objects.get(slug="globex")
    with tenant_context(globex):
        manager = Membership.objects.get(user__email="manager@acme.example")
    assert manager.role == Role.MANAGER


def test_every_demo_user_signs_in_with_the_demo_password():
    _seed()

    users = User.objects.filter(email__endswith=".example")
    assert users.count() == 2 * len(Role)
    for user in users:
        assert user.check_password(DEMO_PASSWORD), user.email
        assert user.check_password("clientele-demo")
        assert user.is_active


def test_a_demo_user_can_sign_in_through_the_login_page(client):
    _seed()

    response = client.post(
        "/accounts/login/",
        {"username": "sales@acme.example", "password": "clientele-demo"},
        REMOTE_ADDR="10.0.0.1",
    )

    assert response.status_code == 302
    assert client.get("/")["Location"] == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200


def test_it_gives_each_home_page_some_activity():
    _seed()

    for slug in DEMO_SLUGS:
        with tenant_context(Organization.objects.get(slug=slug)):
            assert ActivityEvent.objects.count() >= 1 + 2 * (len(Role) - 1)


def test_it_is_deterministic_for_a_seed():
    _seed()
    first = _snapshot()

    _seed("--reset")

    assert _snapshot() == first


def test_a_second_run_does_nothing_and_says_so():
    _seed()
    users = set(User.objects.values_list("pk", flat=True))
    orgs = set(Organization.objects.values_list("pk", flat=True))

    output = _seed()

    assert "already there" in output
    assert "--reset" in output
    assert set(User.objects.values_list("pk", flat=True)) == users
    assert set(Organization.objects.values_list("pk", flat=True)) == orgs


def test_reset_rebuilds_the_demo():
    _seed()
    old_orgs = set(Organization.objects.values_list("pk", flat=True))
    old_users = set(User.objects.values_list("pk", flat=True))
    before = _snapshot()

    output = _seed("--reset")

    assert "Deleted the previous demo data." in output
    assert "Demo ready" in output
    assert set(Organization.objects.values_list("pk", flat=True)).isdisjoint(old_orgs)
    assert set(User.objects.values_list("pk", flat=True)).isdisjoint(old_users)
    assert _snapshot() == before


def test_reset_leaves_other_organizations_and_their_people_alone(org_a, admin_a):
    # admin_a's address, ada@a.example, is also at a .example domain.
    _seed()

    _seed("--reset")

    assert Organization.objects.filter(pk=org_a.pk).exists()
    assert User.objects.filter(pk=admin_a.pk).exists()
    with tenant_context(org_a):
        assert Membership.objects.get().user == admin_a


def test_it_prints_the_logins():
    output = _seed()

    assert "clientele-demo" in output
    for role in Role:
        assert demo_email(role, "acme") in output
        assert demo_email(role, "globex") in output


def test_it_refuses_a_negative_number_of_customers():
    with pytest.raises(CommandError):
        call_command("seed_demo", customers=-1, stdout=StringIO())
    assert not Organization.objects.exists()
