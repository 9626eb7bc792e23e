from django.db import migrations

from tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        # A user may read their own memberships in every organization (organization switcher);
        # writes stay confined to the current tenant.
        EnableRowLevelSecurity(
            "membership",
            extra_using="user_id = NULLIF(current_setting('app.user_id', true), '')::bigint",
        ),
        EnableRowLevelSecurity("invitation"),
        EnableRowLevelSecurity("activityevent"),
    ]
