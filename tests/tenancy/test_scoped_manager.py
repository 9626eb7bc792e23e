"""The first wall: the scoped manager, the tenant context, and saves across tenants."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tenancy import tasks
from tenancy.context import (
    TenantNotSetError,
    current_org,
    current_org_id,
    require_org,
    tenant_context,
    user_context,
)
from tenancy.models import ActivityEvent, ActivityVerb, Invitation, Membership
from tenancy.permissions import Role
from tests.factories import InvitationFactory, MembershipFactory


def _db_tenant_id() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NULLIF(current_setting('app.tenant_id', true), '')")
        return cursor.fetchone()[0]


@pytest.fixture
def members(org_a, org_b):
    return {
        "a": [MembershipFactory(organization=org_a) for _ in range(2)],
        "b": [MembershipFactory(organization=org_b) for _ in range(3)],
    }


@pytest.mark.parametrize("model", [Membership, Invitation, ActivityEvent])
def test_objects_raises_outside_a_tenant_context(model, db):
    with pytest.raises(TenantNotSetError):
        list(model.objects.all())
    with pytest.raises(TenantNotSetError):
        model.objects.count()


def test_the_error_says_how_to_set_a_tenant(db):
    with pytest.raises(TenantNotSetError, match="tenant_context"):
        Membership.objects.exists()


def test_objects_filters_to_the_organization_in_context(members, org_a, org_b):
    with tenant_context(org_a):
        assert set(Membership.objects.all()) == set(members["a"])
        assert Membership.objects.count() == 2
    with tenant_context(org_b):
        assert set(Membership.objects.all()) == set(members["b"])


def test_objects_does_not_find_another_tenants_row_by_pk(members, org_a):
    with tenant_context(org_a), pytest.raises(Membership.DoesNotExist):
        Membership.objects.get(pk=members["b"][0].pk)


def test_bulk_updates_and_deletes_stay_in_the_tenant(members, org_a, org_b):
    with tenant_context(org_a):
        assert Membership.objects.update(role=Role.SUPPORT) == 2
        assert Membership.objects.all().delete()[0] == 2
    with tenant_context(org_b):
        assert Membership.objects.count() == 3
        assert not Membership.objects.filter(role=Role.SUPPORT).exists()


def test_unscoped_sees_what_the_database_lets_it_see(members, org_a, org_b):
    every = {m.pk for m in members["a"] + members["b"]}
    if connection.vendor == "postgresql":
        # Row-level security still applies: no tenant, no rows; one tenant, its rows only.
        assert Membership.unscoped.count() == 0
        with tenant_context(org_a):
            assert set(Membership.unscoped.values_list("pk", flat=True)) == {
                m.pk for m in members["a"]
            }
    else:
        assert set(Membership.unscoped.values_list("pk", flat=True)) == every
        with tenant_context(org_a):
            assert set(Membership.unscoped.values_list("pk", flat=True)) == every


def test_the_organization_is_filled_in_from_the_context(org_a, admin_a):
    with tenant_context(org_a):
        invitation = Invitation(email="new@a.example", role=Role.SALES)
        invitation.save()
        event = ActivityEvent.objects.create(actor=admin_a, verb=ActivityVerb.MEMBER_JOINED)

    assert invitation.organization_id == org_a.pk
    assert event.organization_id == org_a.pk


def test_saving_another_tenants_new_row_raises(org_a, org_b):
    with tenant_context(org_a), pytest.raises(ValueError, match="Refusing to save"):
        Invitation(organization=org_b, email="x@b.example", role=Role.SALES).save()
    with tenant_context(org_b):
        assert not Invitation.objects.exists()


def test_saving_another_tenants_existing_row_raises(org_a, org_b):
    invitation = InvitationFactory(organization=org_b)
    invitation.role = Role.ADMIN

    with tenant_context(org_a), pytest.raises(ValueError, match="Refusing to save"):
        invitation.save()
    with tenant_context(org_b):
        assert Invitation.objects.get().role == Role.SALES


def test_saving_without_a_tenant_raises(org_a):
    with pytest.raises(TenantNotSetError):
        Invitation(organization=org_a, email="x@a.example", role=Role.SALES).save()


def test_unscoped_create_still_refuses_another_tenant(org_a, org_b):
    with tenant_context(org_a), pytest.raises(ValueError):
        Invitation.unscoped.create(organization=org_b, email="x@b.example", role=Role.SALES)


def test_there_is_no_tenant_by_default():
    assert current_org() is None
    assert current_org_id() is None
    with pytest.raises(TenantNotSetError):
        require_org()


def test_nested_contexts_restore_the_previous_tenant(org_a, org_b):
    with tenant_context(org_a):
        assert current_org() == org_a
        with tenant_context(org_b):
            assert current_org() == org_b
            assert Membership.objects.filter(organization=org_a).count() == 0
        assert current_org() == org_a
        assert require_org() == org_a
    assert current_org() is None


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL carries the tenant in a setting"
)
def test_nested_contexts_restore_the_database_setting(org_a, org_b):
    with tenant_context(org_a):
        assert _db_tenant_id() == str(org_a.pk)
        with tenant_context(org_b):
            assert _db_tenant_id() == str(org_b.pk)
        assert _db_tenant_id() == str(org_a.pk)
    assert _db_tenant_id() is None


def test_a_context_left_by_an_exception_restores_the_previous_tenant(org_a, org_b):
    with tenant_context(org_a):
        with pytest.raises(RuntimeError), tenant_context(org_b):
            raise RuntimeError("boom")
        assert current_org() == org_a
        assert Membership.objects.count() == 0  # still queries as A
    assert current_org() is None


def test_a_context_rolls_back_its_writes_when_it_fails(org_a):
    with pytest.raises(RuntimeError), tenant_context(org_a):
        InvitationFactory(organization=org_a)
        raise RuntimeError("boom")

    with tenant_context(org_a):
        assert not Invitation.objects.exists()


def test_user_context_keeps_the_user_for_nested_tenant_contexts(org_a, admin_a):
    from tenancy.context import _current_user_id

    with user_context(admin_a.pk):
        assert current_org() is None
        with tenant_context(org_a):
            assert _current_user_id.get() == admin_a.pk
        assert _current_user_id.get() == admin_a.pk
    assert _current_user_id.get() is None


def test_the_tenant_does_not_leak_into_other_threads(org_a):
    seen = []
    with tenant_context(org_a):
        thread = threading.Thread(target=lambda: seen.append(current_org()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_a_task_works_tenant_by_tenant(org_a, org_b):
    # Celery runs eagerly in the tests; the task sets each tenant in turn, as a worker would.
    long_ago = timezone.now() - timedelta(days=30)
    stale = [
        InvitationFactory(organization=org_a, expires_at=long_ago),
        InvitationFactory(organization=org_b, expires_at=long_ago),
        InvitationFactory(organization=org_b, expires_at=long_ago),
    ]
    fresh_a = InvitationFactory(organization=org_a)
    fresh_b = InvitationFactory(organization=org_b)

    result = tasks.invitations_expire.delay()

    assert result.get() == len(stale)
    with tenant_context(org_a):
        assert list(Invitation.objects.all()) == [fresh_a]
    with tenant_context(org_b):
        assert list(Invitation.objects.all()) == [fresh_b]
    assert current_org() is None


def test_a_task_sets_its_tenant_from_an_id(members, org_a):
    from tenancy.context import tenant_context_for

    with tenant_context_for(org_a.pk) as org:
        assert org == org_a
        assert current_org() == org_a
        assert set(Membership.objects.all()) == set(members["a"])
    assert current_org() is None


def test_a_task_for_an_organization_that_is_gone_fails_loudly(db):
    from tenancy.context import tenant_context_for
    from tenancy.models import Organization

    with pytest.raises(Organization.DoesNotExist), tenant_context_for(10**9):
        pass
