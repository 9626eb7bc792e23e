from django.db import migrations

from tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("analyticsrun"),
        EnableRowLevelSecurity("customerscoresnapshot"),
    ]
