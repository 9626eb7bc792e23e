from django.db import migrations

from tenancy.rls import PostgresOnlySQL

# Global search (customers/search.py): the expressions must match the queries' exactly.
# - full text of name and email ('simple': no stemming, names are not English words), GIN led by
#   organization_id through btree_gin, like the trigram indexes of 0002;
# - names in lower case with text_pattern_ops, so that `lower(name) LIKE 'ab%' ORDER BY
#   lower(name)` walks a range of one tenant's index whatever the database collation (the
#   short-query prefix search, and the best candidates of longer ones).
# Live customers only: every search excludes merged duplicates.
INDEXES = [
    (
        "customer_org_search_fts",
        "customers_customer USING gin (organization_id, "
        "to_tsvector('simple'::regconfig, name || ' ' || email)) WHERE merged_into_id IS NULL",
    ),
    (
        "customer_org_lower_name_idx",
        "customers_customer (organization_id, lower(name) text_pattern_ops) "
        "WHERE merged_into_id IS NULL",
    ),
    (
        "contact_org_search_fts",
        "customers_contact USING gin (organization_id, "
        "to_tsvector('simple'::regconfig, first_name || ' ' || last_name || ' ' || email))",
    ),
    (
        "contact_org_lower_name_idx",
        "customers_contact (organization_id, lower(first_name || ' ' || last_name) "
        "text_pattern_ops)",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_row_level_security_and_search")]

    operations = [
        PostgresOnlySQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES
    ]
