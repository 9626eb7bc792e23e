"""Row-level security for tenant tables: the second wall.

Use `EnableRowLevelSecurity` in the migration that creates a tenant table (or in a migration of
its own right after it):

    from tenancy.rls import EnableRowLevelSecurity

    operations = [..., EnableRowLevelSecurity("customer")]

It enables and forces row-level security on the table and creates the policy that lets a session
see and write only the rows of the tenant it set with set_config('app.tenant_id', ..., true).
On SQLite it does nothing. tests/tenancy/test_rls.py fails for any table with an organization_id
column that lacks it.
"""

from django.db import migrations

TENANT_PREDICATE = "organization_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
POLICY_NAME = "tenant_isolation"


def enable_sql(table: str, *, extra_using: str = "") -> list[str]:
    using = TENANT_PREDICATE + (f" OR ({extra_using})" if extra_using else "")
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'CREATE POLICY {POLICY_NAME} ON "{table}" USING ({using}) WITH CHECK ({TENANT_PREDICATE})',
    ]


def disable_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    """Enable, force and attach the tenant policy to a model's table (PostgreSQL only).

    `extra_using` widens what may be *read* (never written), e.g. a user's own memberships in
    every organization for the organization switcher.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, extra_using: str = "") -> None:
        self.model_name = model_name
        self.extra_using = extra_using

    def state_forwards(self, app_label, state) -> None:
        pass

    def _table(self, app_label, state) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in enable_sql(self._table(app_label, to_state), extra_using=self.extra_using):
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in disable_sql(self._table(app_label, from_state)):
            schema_editor.execute(sql)

    def describe(self) -> str:
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"

    def deconstruct(self):
        kwargs = {"extra_using": self.extra_using} if self.extra_using else {}
        return (self.__class__.__qualname__, [self.model_name], kwargs)


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only (extensions, trigram indexes); a no-op on SQLite."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
