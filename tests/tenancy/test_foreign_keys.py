"""Foreign keys to the tables deleted in bulk (customers, contacts) carry the tenant.

Deleting a row makes PostgreSQL check every foreign key that points at it, one probe per row per
referencing table. With (organization_id, x_id) keys each probe is an index lookup; with a key
on x_id alone it scanned the referencing table, since every index leads with organization_id
(tenancy/foreign_keys.py; undoing an import of 100,000 customers took 427 s).
"""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from customers.models import Contact, Customer
from tenancy.context import tenant_context
from tenancy.db import become_app_role, become_owner
from tenancy.foreign_keys import AddTenantForeignKey, ValidateTenantForeignKey, constraint_name
from tenancy.models import TenantModel
from tests.factories import ContactFactory, CustomerFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the tenant foreign keys are PostgreSQL's"
)

BULK_DELETED = [Customer, Contact]

RELATIONS = [
    (model, field)
    for model in apps.get_models()
    for field in model._meta.concrete_fields
    if (field.many_to_one or field.one_to_one) and field.related_model in BULK_DELETED
]
# A relation that is its table's primary key (analytics' CustomerScore.customer) is found through
# that key whatever the other columns; it may do without a database key (derived rows).
KEYED_RELATIONS = [(model, field) for model, field in RELATIONS if not field.primary_key]


def _fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _foreign_keys_to(tables: list[str]) -> dict[tuple[str, str], dict]:
    """{(referencing table, constraint name): its columns, the referenced ones, flags}."""
    rows = _fetch(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text,
               ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                     ORDER BY k.i),
               ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                     ORDER BY k.i),
               c.convalidated, c.condeferrable, c.condeferred
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.confrelid = ANY(%s::regclass[])
        """,
        [tables],
    )
    return {
        (table, name): {
            "target": target,
            "columns": list(columns),
            "target_columns": list(target_columns),
            "validated": validated,
            "deferred": deferrable and deferred,
        }
        for table, name, target, columns, target_columns, validated, deferrable, deferred in rows
    }


def _index_prefixes(table: str) -> list[list[str]]:
    """The columns of each index of the table, in order."""
    return [
        list(columns)
        for (columns,) in _fetch(
            """
            SELECT ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                         ORDER BY k.o)
              FROM pg_index i WHERE i.indrelid = %s::regclass
            """,
            [table],
        )
    ]


# --- Every backend: the models ----------------------------------------------------------------


def test_there_are_relations_to_check():
    labels = {f"{model._meta.label}.{field.name}" for model, field in RELATIONS}
    assert {
        "customers.Contact.customer",
        "customers.Customer.merged_into",
        "customers.Interaction.contact",
        "sales.Order.customer",
        "sales.Quote.contact",
    } <= labels


@pytest.mark.parametrize(
    ("model", "field"), RELATIONS, ids=[f"{m._meta.label}.{f.name}" for m, f in RELATIONS]
)
def test_each_relation_leaves_its_key_to_the_migration_and_has_a_tenant_index(model, field):
    assert issubclass(model, TenantModel)
    # Django would add a key on the one column; the migration adds the tenant's key instead.
    assert not field.db_constraint, "db_constraint=False and AddTenantForeignKey in a migration"
    if field.primary_key:
        return
    leading = [["organization", field.name], ["organization", field.attname]]
    declared = [list(index.fields) for index in model._meta.indexes] + [
        list(getattr(constraint, "fields", ())) for constraint in model._meta.constraints
    ]
    assert any(fields[:2] in leading for fields in declared), (
        f"index {model._meta.label} on (organization, {field.name}, ...)"
    )


@pytest.mark.parametrize("target", BULK_DELETED, ids=[m._meta.label for m in BULK_DELETED])
def test_the_targets_are_unique_on_organization_and_id(target):
    assert any(
        list(getattr(constraint, "fields", ())) == ["organization", "id"]
        for constraint in target._meta.constraints
    )


# --- PostgreSQL: the keys in the database -----------------------------------------------------


@postgresql_only
@pytest.mark.django_db
def test_every_key_to_customers_and_contacts_carries_the_organization():
    tables = [model._meta.db_table for model in BULK_DELETED]
    keys = _foreign_keys_to(tables)

    wrong = {
        name: key
        for name, key in keys.items()
        if key["columns"][0] != "organization_id"
        or key["target_columns"] != ["organization_id", "id"]
        or not key["validated"]
        or not key["deferred"]
    }
    assert wrong == {}
    # One key per relation the models declare, with the name the migration gives it.
    assert set(keys) == {
        (model._meta.db_table, constraint_name(model._meta.db_table, field.column))
        for model, field in KEYED_RELATIONS
    }


@postgresql_only
@pytest.mark.django_db
def test_an_index_serves_the_check_of_every_key_to_customers_and_contacts():
    keys = _foreign_keys_to([model._meta.db_table for model in BULK_DELETED])
    unserved = [
        (table, key["columns"])
        for (table, _name), key in keys.items()
        if not any(
            columns[: len(key["columns"])] == key["columns"] for columns in _index_prefixes(table)
        )
    ]
    assert keys
    assert unserved == []


@postgresql_only
def test_a_row_cannot_point_at_another_tenants_customer(org_a, org_b):
    theirs = CustomerFactory(organization=org_b)

    with tenant_context(org_a):
        with pytest.raises(IntegrityError, match="tenant_fk"), transaction.atomic():
            Contact.objects.create(customer_id=theirs.pk, first_name="Eve")
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the check, now, not at commit
        ours = CustomerFactory(organization=org_a)
        contact = Contact.objects.create(customer=ours, first_name="Ann")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    assert contact.pk


@postgresql_only
def test_a_customer_still_referenced_cannot_be_deleted_behind_djangos_back(org_a):
    contact = ContactFactory(customer=CustomerFactory(organization=org_a))

    with tenant_context(org_a):
        with (
            pytest.raises(IntegrityError, match="tenant_fk"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM customers_customer WHERE id = %s", [contact.customer_id])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert Customer.objects.filter(pk=contact.customer_id).exists()


# --- PostgreSQL: validating a key on existing rows --------------------------------------------


@pytest.fixture
def orphan_contact(org_a, org_b):
    """A contact of A pointing at B's customer, written while the key was not there, and the
    key added back NOT VALID, as migration 0005 leaves it. As the owner, who runs migrations."""
    table, column = "customers_contact", "customer_id"
    theirs = CustomerFactory(organization=org_b)
    become_owner(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # DDL refuses pending checks
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint_name(table, column)}")
        with tenant_context(org_a):
            Contact.objects.create(customer_id=theirs.pk, first_name="Orphan")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        state = SimpleNamespace(apps=apps)  # the operations read models from state.apps
        with connection.schema_editor(atomic=False) as editor:
            AddTenantForeignKey("contact", "customer").database_forwards(
                "customers", editor, state, state
            )
        yield state
    finally:
        become_app_role(connection)


@postgresql_only
def test_validating_a_key_finds_a_row_that_points_at_nothing(orphan_contact, org_a):
    validate = ValidateTenantForeignKey("contact", "customer")

    with (
        pytest.raises(IntegrityError, match=f"rows of organization {org_a.pk} point at no"),
        transaction.atomic(),
        connection.schema_editor(atomic=False) as editor,
    ):
        validate.database_forwards("customers", editor, orphan_contact, orphan_contact)


@postgresql_only
def test_postgresqls_own_validation_sees_no_rows_when_the_owner_runs_it(orphan_contact):
    # Why ValidateTenantForeignKey checks tenant by tenant: FORCE ROW LEVEL SECURITY applies the
    # policy to the owner's check too, and with no tenant set it reads nothing and passes.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE customers_contact "
            "VALIDATE CONSTRAINT customers_contact_customer_id_tenant_fk"
        )
        cursor.execute(
            "SELECT convalidated FROM pg_constraint "
            "WHERE conname = 'customers_contact_customer_id_tenant_fk'"
        )
        assert cursor.fetchone() == (True,)
