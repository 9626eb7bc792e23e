from django.db import migrations

from tenancy.rls import EnableRowLevelSecurity, PostgresOnlySQL

TENANT_TABLES = [
    "tag", "customfielddefinition", "customer", "customertag", "contact", "interaction",
    "consentevent", "fieldchange", "importbatch", "importrowchange", "customermerge",
]

# Trigram indexes for search (names, emails, phones), led by organization_id through btree_gin
# so that each tenant's search walks only its own part of the index.
SEARCH_INDEXES = [
    ("customer_org_name_trgm", "customers_customer", "organization_id, name gin_trgm_ops"),
    ("customer_org_email_trgm", "customers_customer", "organization_id, email gin_trgm_ops"),
    ("customer_org_phone_trgm", "customers_customer", "organization_id, phone_normalized gin_trgm_ops"),
    (
        "contact_org_name_trgm",
        "customers_contact",
        "organization_id, (first_name || ' ' || last_name) gin_trgm_ops",
    ),
    ("contact_org_email_trgm", "customers_contact", "organization_id, email gin_trgm_ops"),
    ("contact_org_phone_trgm", "customers_contact", "organization_id, phone_normalized gin_trgm_ops"),
]


# Analytics sorts put customers not scored yet last.
SORT_INDEXES = [
    ("customer_org_clv_idx", "organization_id, clv DESC NULLS LAST, id DESC"),
    ("customer_org_churn_idx", "organization_id, churn_probability DESC NULLS LAST, id DESC"),
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        *[EnableRowLevelSecurity(name) for name in TENANT_TABLES],
        PostgresOnlySQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS btree_gin;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        *[
            PostgresOnlySQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({columns})",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, table, columns in SEARCH_INDEXES
        ],
        *[
            PostgresOnlySQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer ({columns})",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, columns in SORT_INDEXES
        ],
    ]
