"""The second wall: PostgreSQL row-level security, and the indexes that lead with the tenant.

The PostgreSQL tests run against the test database as the connection's role: with
DATABASE_APP_ROLE set, the non-owner app role, as in production.
"""

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from tenancy.context import tenant_context, user_context
from tenancy.models import Membership, TenantModel
from tenancy.permissions import Role
from tenancy.rls import POLICY_NAME

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-level security is a PostgreSQL feature"
)

TENANT_MODELS = [model for model in apps.get_models() if issubclass(model, TenantModel)]


def _fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _tables_with_organization_id() -> list[str]:
    return [
        table
        for (table,) in _fetch(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' "
            "  AND t.table_type = 'BASE TABLE' ORDER BY 1"
        )
    ]


@pytest.fixture
def two_teams(org_a, org_b, member_of):
    """Two members in A, one in B, and dave, who belongs to both."""
    a1 = member_of(org_a, Role.ADMIN, email="a1@a.example")
    a2 = member_of(org_a, Role.SALES, email="a2@a.example")
    b1 = member_of(org_b, Role.ADMIN, email="b1@b.example")
    dave = member_of(org_a, Role.SUPPORT, email="dave@both.example")
    with tenant_context(org_b):
        Membership.objects.create(user=dave, role=Role.MANAGER)
    return {"a1": a1, "a2": a2, "b1": b1, "dave": dave}


# --- (a) every tenant table is protected ------------------------------------------------------


@postgresql_only
@pytest.mark.django_db
def test_it_finds_the_tenant_tables():
    tables = _tables_with_organization_id()
    assert {"tenancy_membership", "tenancy_invitation", "tenancy_activityevent"} <= set(tables)
    assert {model._meta.db_table for model in TENANT_MODELS} <= set(tables)


@postgresql_only
@pytest.mark.django_db
def test_every_table_with_an_organization_id_forces_row_level_security():
    tables = _tables_with_organization_id()
    flags = {
        name: (enabled, forced)
        for name, enabled, forced in _fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
            [tables],
        )
    }
    unprotected = [table for table in tables if flags.get(table) != (True, True)]
    assert unprotected == [], "use tenancy.rls.EnableRowLevelSecurity in their migrations"


@postgresql_only
@pytest.mark.django_db
def test_every_table_with_an_organization_id_has_the_tenant_isolation_policy():
    tables = _tables_with_organization_id()
    policies = {
        table: (command, using, check)
        for table, command, using, check in _fetch(
            "SELECT tablename, cmd, qual, with_check FROM pg_policies "
            "WHERE schemaname = 'public' AND policyname = %s",
            [POLICY_NAME],
        )
    }
    assert [table for table in tables if table not in policies] == []
    for table in tables:
        command, using, check = policies[table]
        assert command == "ALL", table
        assert "app.tenant_id" in using, table
        # Writes are confined to the tenant, whatever extra rows a table lets one read.
        assert "app.tenant_id" in check, table
        assert "app.user_id" not in check, table


@postgresql_only
@pytest.mark.django_db
def test_no_tenant_table_has_a_permissive_policy_besides_tenant_isolation():
    tables = _tables_with_organization_id()
    others = _fetch(
        "SELECT tablename, policyname FROM pg_policies "
        "WHERE schemaname = 'public' AND tablename = ANY(%s) AND policyname <> %s",
        [tables, POLICY_NAME],
    )
    assert others == []


# --- (b) the app does not run as a role that bypasses it --------------------------------------


@postgresql_only
@pytest.mark.skipif(
    not settings.DATABASE_APP_ROLE, reason="DATABASE_APP_ROLE names the role to check"
)
@pytest.mark.django_db
def test_the_app_runs_as_the_app_role():
    assert _fetch("SELECT current_user") == [(settings.DATABASE_APP_ROLE,)]


@postgresql_only
@pytest.mark.skipif(
    not settings.DATABASE_APP_ROLE, reason="DATABASE_APP_ROLE names the role to check"
)
@pytest.mark.django_db
def test_the_app_role_neither_is_superuser_nor_bypasses_row_level_security():
    [(superuser, bypass)] = _fetch(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert (superuser, bypass) == (False, False)


@postgresql_only
@pytest.mark.skipif(
    not settings.DATABASE_APP_ROLE, reason="DATABASE_APP_ROLE names the role to check"
)
@pytest.mark.django_db
def test_the_app_role_owns_no_tenant_table():
    tables = _tables_with_organization_id()
    owned = _fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename = ANY(%s) AND pg_has_role(current_user, tableowner, 'USAGE')",
        [tables],
    )
    assert owned == []


# --- (c) what a session sees and may write ----------------------------------------------------


@postgresql_only
def test_raw_sql_in_a_tenant_context_sees_only_that_tenants_memberships(two_teams, org_a):
    with tenant_context(org_a):
        rows = _fetch("SELECT DISTINCT organization_id FROM tenancy_membership")
        [(count,)] = _fetch("SELECT count(*) FROM tenancy_membership")

    assert rows == [(org_a.pk,)]
    assert count == 3


@postgresql_only
def test_raw_sql_without_a_tenant_sees_no_membership(two_teams):
    assert _fetch("SELECT count(*) FROM tenancy_membership") == [(0,)]
    assert _fetch("SELECT count(*) FROM tenancy_invitation") == [(0,)]
    assert _fetch("SELECT count(*) FROM tenancy_activityevent") == [(0,)]


@postgresql_only
def test_the_unscoped_manager_is_still_confined_by_the_policy(two_teams, org_a, org_b):
    assert Membership.unscoped.count() == 0
    with tenant_context(org_b):
        assert set(Membership.unscoped.values_list("organization_id", flat=True)) == {org_b.pk}


@postgresql_only
def test_raw_sql_cannot_insert_a_row_of_another_tenant(two_teams, org_a, org_b):
    outsider = two_teams["a2"]

    with tenant_context(org_a):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            _fetch(
                "INSERT INTO tenancy_membership (organization_id, user_id, role, created_at) "
                "VALUES (%s, %s, 'admin', now()) RETURNING id",
                [org_b.pk, outsider.pk],
            )
        # The transaction survived the refused insert, still as org A.
        assert _fetch("SELECT DISTINCT organization_id FROM tenancy_membership") == [(org_a.pk,)]

    with tenant_context(org_b):
        assert not Membership.objects.filter(user=outsider).exists()


@postgresql_only
def test_raw_sql_cannot_move_a_row_to_another_tenant(two_teams, org_a, org_b):
    with (
        tenant_context(org_a),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
    ):
        _fetch(
            "UPDATE tenancy_membership SET organization_id = %s WHERE user_id = %s",
            [org_b.pk, two_teams["a2"].pk],
        )


@postgresql_only
def test_raw_sql_cannot_change_or_delete_another_tenants_rows(two_teams, org_a, org_b):
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tenancy_membership SET role = 'admin' WHERE organization_id = %s", [org_b.pk]
        )
        updated = cursor.rowcount
        cursor.execute("DELETE FROM tenancy_membership WHERE organization_id = %s", [org_b.pk])
        deleted = cursor.rowcount

    assert (updated, deleted) == (0, 0)
    with tenant_context(org_b):
        assert Membership.objects.count() == 2


@postgresql_only
def test_raw_sql_without_a_tenant_cannot_insert(two_teams, org_a):
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        _fetch(
            "INSERT INTO tenancy_activityevent (organization_id, verb, target, link, created_at) "
            "VALUES (%s, 'member.joined', '', '', now())",
            [org_a.pk],
        )


@postgresql_only
def test_the_tenant_setting_ends_with_the_context(org_a):
    with tenant_context(org_a):
        assert _fetch("SELECT current_setting('app.tenant_id', true)") == [(str(org_a.pk),)]
    assert _fetch("SELECT NULLIF(current_setting('app.tenant_id', true), '')") == [(None,)]


# --- (d) a user reads their own memberships in every organization -----------------------------


@postgresql_only
def test_a_user_reads_their_own_memberships_in_every_organization(two_teams, org_a, org_b):
    dave = two_teams["dave"]

    with user_context(dave.pk):
        own = set(Membership.unscoped.filter(user=dave).values_list("organization_id", flat=True))
        visible = set(Membership.unscoped.values_list("user_id", flat=True))
        [(raw_count,)] = _fetch("SELECT count(*) FROM tenancy_membership")

    assert own == {org_a.pk, org_b.pk}
    assert visible == {dave.pk}
    assert raw_count == 2


@postgresql_only
def test_a_user_cannot_read_other_users_memberships_in_other_organizations(two_teams, org_a, org_b):
    a1 = two_teams["a1"]

    with user_context(a1.pk):
        rows = _fetch("SELECT organization_id, user_id FROM tenancy_membership")
        sees_b1 = Membership.unscoped.filter(user=two_teams["b1"]).exists()
        sees_colleague = Membership.unscoped.filter(user=two_teams["a2"]).exists()

    assert rows == [(org_a.pk, a1.pk)]
    assert not sees_b1
    assert not sees_colleague  # without the tenant set, only one's own rows


@postgresql_only
def test_the_user_rule_lets_nobody_write_in_another_organization(two_teams, org_b):
    a1 = two_teams["a1"]

    with (
        user_context(a1.pk),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
    ):
        _fetch(
            "INSERT INTO tenancy_membership (organization_id, user_id, role, created_at) "
            "VALUES (%s, %s, 'admin', now())",
            [org_b.pk, a1.pk],
        )


@postgresql_only
def test_the_user_rule_applies_to_memberships_only(two_teams, org_a, admin_a):
    from tests.factories import ActivityEventFactory, InvitationFactory

    ActivityEventFactory(organization=org_a, actor=admin_a)
    InvitationFactory(organization=org_a, invited_by=admin_a)

    with user_context(admin_a.pk):
        assert _fetch("SELECT count(*) FROM tenancy_activityevent") == [(0,)]
        assert _fetch("SELECT count(*) FROM tenancy_invitation") == [(0,)]


# --- Every backend: indexes lead with the tenant ----------------------------------------------


def _constraints(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def _not_leading_with_organization_id(constraints: dict[str, dict]) -> dict[str, list]:
    """Indexes and unique constraints, bar the primary key, whose first column is not the tenant."""
    return {
        name: info["columns"]
        for name, info in constraints.items()
        if (info["index"] or info["unique"])
        and not info["primary_key"]
        and (not info["columns"] or info["columns"][0] != "organization_id")
    }


@pytest.mark.django_db
def test_there_are_tenant_models_to_check():
    assert {"Membership", "Invitation", "ActivityEvent"} <= {m.__name__ for m in TENANT_MODELS}


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=[m._meta.label for m in TENANT_MODELS])
def test_every_index_and_unique_constraint_leads_with_organization_id(model):
    # organization_id is the future distribution column (Citus): every index must start with it.
    constraints = _constraints(model)

    assert _not_leading_with_organization_id(constraints) == {}
    # The model's declared indexes and constraints are among those checked.
    declared = {i.name for i in model._meta.indexes} | {c.name for c in model._meta.constraints}
    assert declared <= set(constraints)


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=[m._meta.label for m in TENANT_MODELS])
def test_the_organization_column_is_required(model):
    field = model._meta.get_field("organization")
    assert not field.null
    assert field.column == "organization_id"


def test_the_index_check_catches_indexes_that_do_not_lead_with_organization_id():
    base = {"primary_key": False, "unique": False, "index": False, "foreign_key": None}
    constraints = {
        "pk": {**base, "primary_key": True, "unique": True, "columns": ["id"]},
        "org_role_idx": {**base, "index": True, "columns": ["organization_id", "role"]},
        "role_idx": {**base, "index": True, "columns": ["role"]},
        "user_org_uniq": {**base, "unique": True, "columns": ["user_id", "organization_id"]},
        "user_fk": {**base, "foreign_key": ("tenancy_user", "id"), "columns": ["user_id"]},
    }

    assert _not_leading_with_organization_id(constraints) == {
        "role_idx": ["role"],
        "user_org_uniq": ["user_id", "organization_id"],
    }
