from django.db import migrations

from tenancy.rls import PostgresOnlySQL

# The customer list's custom-field filters (choice, yes/no, number, date) are JSON containment,
# `custom @> '{"key": value}'` (customers/filters.py): this index serves them, led by the
# organization through btree_gin (migration 0002 creates the extension). jsonb_path_ops: the
# smaller opclass, and containment is the only operator the filters use.


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_scores_move_to_analytics")]

    operations = [
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS customer_org_custom_gin ON customers_customer "
            "USING gin (organization_id, custom jsonb_path_ops)",
            reverse_sql="DROP INDEX IF EXISTS customer_org_custom_gin",
        ),
    ]
