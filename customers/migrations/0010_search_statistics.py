from django.db import migrations

from tenancy.rls import PostgresOnlySQL

# The customer list's text search is `name ILIKE '%text%' OR email ILIKE ...`. PostgreSQL
# estimates how many rows such a pattern matches from the column's histogram, and with the
# default 100 entries a text that one customer in a hundred has is usually in none of them: it
# is taken for a rare one (0.01%), and the page collects and joins all its matches before
# keeping the newest 50 (13,600 of them: 180 ms). With 1,000 entries the estimate follows the
# text's real frequency down to about one in a thousand, and the planner walks the newest
# customers instead (20 ms). Rarer texts are served from the ids looked up first
# (customers.selectors._text_search_rows). ANALYZE then samples 300,000 rows instead of
# 30,000 (about 20 s at a million customers, in the background), and planning a search
# compares the text with up to 3,000 histogram entries (under a millisecond).

COLUMNS = ("name", "email", "phone_normalized")


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_live_customer_indexes")]

    operations = [
        PostgresOnlySQL(
            "ALTER TABLE customers_customer "
            + ", ".join(f"ALTER COLUMN {column} SET STATISTICS 1000" for column in COLUMNS),
            reverse_sql="ALTER TABLE customers_customer "
            + ", ".join(f"ALTER COLUMN {column} SET STATISTICS -1" for column in COLUMNS),
        ),
    ]
