"""Foreign keys between tenant tables that carry the tenant: (organization_id, x_id).

PostgreSQL checks a foreign key for every row deleted from the table it points at, with
`SELECT 1 FROM referencing WHERE x_id = $1`. Every index of a tenant table leads with
organization_id, so that probe has no index to use and scans the table: deleting 100,000
customers scanned each of a dozen referencing tables 100,000 times (docs/performance.md,
"Imports"). A key of two columns, (organization_id, x_id) REFERENCES target (organization_id, id),
is probed with both, which is what the (organization_id, x_id, ...) indexes serve. It also keeps a
row from pointing at another tenant's row, and is the shape Citus requires of foreign keys between
tables distributed by organization.

Django has no composite foreign keys, so the model keeps its ForeignKey with
`db_constraint=False` (Django still emulates on_delete in Python, as it does with its own
constraints) and the target model declares `UniqueConstraint(fields=["organization", "id"])`.
A migration then adds the key:

    from tenancy.foreign_keys import AddTenantForeignKey, ValidateTenantForeignKey

    operations = [..., AddTenantForeignKey("contact", "customer")]        # NOT VALID: instant
    # and, in a migration with atomic = False (it checks the existing rows tenant by tenant,
    # reading only, and then marks the key valid):
    operations = [ValidateTenantForeignKey("contact", "customer")]

The key is DEFERRABLE INITIALLY DEFERRED and NO ACTION, like the keys Django creates. On SQLite
both operations do nothing. tests/tenancy/test_foreign_keys.py checks that every foreign key to
a tenant table that is deleted in bulk (customers, contacts) has this shape and an index.
"""

from django.db import IntegrityError, migrations, transaction


def constraint_name(table: str, column: str) -> str:
    return f"{table}_{column}_tenant_fk"


def _key(app_label: str, state, model_name: str, field_name: str) -> tuple[str, str, str]:
    model = state.apps.get_model(app_label, model_name)
    field = model._meta.get_field(field_name)
    return model._meta.db_table, field.column, field.related_model._meta.db_table


class AddTenantForeignKey(migrations.operations.base.Operation):
    """Add (organization_id, <field>_id) REFERENCES <target> (organization_id, id), NOT VALID
    (PostgreSQL only): rows written from now on are checked, existing ones by
    ValidateTenantForeignKey. The field must have db_constraint=False."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, field_name: str) -> None:
        self.model_name = model_name
        self.field_name = field_name

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table, column, target = _key(app_label, to_state, self.model_name, self.field_name)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint_name(table, column))} "
            f"FOREIGN KEY (organization_id, {quote(column)}) "
            f"REFERENCES {quote(target)} (organization_id, id) "
            "DEFERRABLE INITIALLY DEFERRED NOT VALID"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table, column, _target = _key(app_label, from_state, self.model_name, self.field_name)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} "
            f"DROP CONSTRAINT IF EXISTS {quote(constraint_name(table, column))}"
        )

    def describe(self) -> str:
        return f"Add the tenant foreign key of {self.model_name}.{self.field_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"tenant_fk_{self.model_name.lower()}_{self.field_name.lower()}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name, self.field_name], {})


class ValidateTenantForeignKey(AddTenantForeignKey):
    """Check the rows that were there when AddTenantForeignKey added the key, then mark it
    valid (PostgreSQL only). Put it in a migration with atomic = False: outside the transaction
    that added the key, the check lets the tables be read and written meanwhile.

    PostgreSQL's own check (VALIDATE CONSTRAINT) cannot be trusted here: it runs as the
    migrating role, the tables' owner, whom FORCE ROW LEVEL SECURITY subjects to the tenant
    policy, so with no tenant set it sees no rows and passes whatever the data. So the rows are
    checked one organization at a time, with that tenant set (a key only ever joins rows of one
    organization), and a row pointing nowhere stops the migration.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table, column, target = _key(app_label, to_state, self.model_name, self.field_name)
        quote = schema_editor.quote_name
        organizations = to_state.apps.get_model("tenancy", "Organization")._meta.db_table
        orphans_sql = (
            f"SELECT r.id, r.{quote(column)} FROM ONLY {quote(table)} r "
            f"WHERE r.organization_id = %s AND r.{quote(column)} IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM ONLY {quote(target)} t "
            f"WHERE t.organization_id = r.organization_id AND t.id = r.{quote(column)}) LIMIT 5"
        )
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {quote(organizations)} ORDER BY id")
            organization_ids = [row[0] for row in cursor.fetchall()]
        for organization_id in organization_ids:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('app.tenant_id', %s, true)", [str(organization_id)]
                )
                cursor.execute(orphans_sql, [organization_id])
                orphans = cursor.fetchall()
                cursor.execute("SELECT set_config('app.tenant_id', '', true)")
            if orphans:
                raise IntegrityError(
                    f"{table}.{column}: rows of organization {organization_id} point at no "
                    f"{target} row of that organization, e.g. (id, {column}) {orphans}"
                )
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} "
            f"VALIDATE CONSTRAINT {quote(constraint_name(table, column))}"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        pass  # a validated key reverts to an unvalidated one only by being dropped and re-added

    def describe(self) -> str:
        return f"Validate the tenant foreign key of {self.model_name}.{self.field_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"validate_tenant_fk_{self.model_name.lower()}_{self.field_name.lower()}"
