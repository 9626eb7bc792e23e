from django.db import migrations

from tenancy.rls import EnableRowLevelSecurity

TENANT_TABLES = [
    "webform", "lead", "leadscorerule", "assignmentrule", "pipeline", "stage", "competitor",
    "partner", "opportunity", "opportunitycompetitor", "stagechange", "product", "pricebook",
    "pricebookentry", "customerpricebook", "quote", "quoteline", "order", "orderline", "task",
]


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_TABLES]
