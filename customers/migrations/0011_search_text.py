import django.db.models.functions.text
from django.db import migrations, models

from tenancy.rls import PostgresOnlySQL

# The customer list's search box looked in three columns (name ILIKE, email ILIKE, phone LIKE),
# each with its trigram index: the matches were counted through a BitmapOr of the three, and a
# page of a common text walked the newest customers, reading each one's table row to test the
# two ILIKEs (about 5 us a row: 31 ms for "emma" at a million customers).
#
# search_text holds the three in one column, lower-cased, so that:
# - one trigram index finds and counts the matches (customer_org_search_trgm);
# - the list's order, newest first, is walked in an index that carries the text
#   (customer_org_search_walk_idx, an index-only scan: 4 ms for "emma").
# Both are made here on PostgreSQL only: SQLite has neither trigram nor covering indexes.
# Adding the column rewrites the table (about a minute at a million customers).


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_search_statistics")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    django.db.models.functions.text.Lower("name"),
                    models.Value("\n"),
                    django.db.models.functions.text.Lower("email"),
                    models.Value("\n"),
                    "phone_normalized",
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS customer_org_search_trgm ON customers_customer "
            "USING gin (organization_id, search_text gin_trgm_ops)",
            reverse_sql="DROP INDEX IF EXISTS customer_org_search_trgm",
        ),
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS customer_org_search_walk_idx ON customers_customer "
            "(organization_id, created_at DESC, id DESC) INCLUDE (search_text) "
            "WHERE merged_into_id IS NULL",
            reverse_sql="DROP INDEX IF EXISTS customer_org_search_walk_idx",
        ),
    ]
