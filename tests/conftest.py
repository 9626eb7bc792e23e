"""The small shared cast: alice (manager in org A), bob (sales rep in A), carol (support in A),
and mallory (admin of org B), plus `member_of` for any other (org, role)."""

import pytest
from django.test import Client

from tenancy.permissions import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the test database exists, work as the non-owner app role (when one is configured),
    so that PostgreSQL row-level security is in force for every test."""
    from django.db import connection

    from tenancy.db import become_app_role, become_owner, grant_app_role

    with django_db_blocker.unblock():
        become_owner(connection)
        grant_app_role(connection, truncate=True)  # TRUNCATE: transactional tests flush tables
        become_app_role(connection)


@pytest.fixture(autouse=True)
def _english_by_default():
    # A request in Chinese leaves its language active in the thread; start every test in English.
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Uploads and prepared exports go to a folder of the test's own, never the project's media/.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 takes about 0.3 s a password here; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org_a(db):
    return OrganizationFactory(name="Acme Test", slug="org-a")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(name="Beta Test", slug="org-b")


@pytest.fixture
def member_of(db):
    def make(org, role: str, **user_fields):
        user = UserFactory(**user_fields)
        MembershipFactory(organization=org, user=user, role=role)
        return user

    return make


@pytest.fixture
def alice(member_of, org_a):
    return member_of(org_a, Role.MANAGER, email="alice@a.example", full_name="Alice Manager")


@pytest.fixture
def bob(member_of, org_a):
    return member_of(org_a, Role.SALES, email="bob@a.example", full_name="Bob Sales")


@pytest.fixture
def carol(member_of, org_a):
    return member_of(org_a, Role.SUPPORT, email="carol@a.example", full_name="Carol Support")


@pytest.fixture
def admin_a(member_of, org_a):
    return member_of(org_a, Role.ADMIN, email="ada@a.example", full_name="Ada Admin")


@pytest.fixture
def mallory(member_of, org_b):
    return member_of(org_b, Role.ADMIN, email="mallory@b.example", full_name="Mallory Admin")


@pytest.fixture
def outsider(db):
    """Signed up, but a member of no organization."""
    return UserFactory(email="oscar@outside.example", full_name="Oscar Outsider")


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
