# Checks the rows that were there when 0005 added the tenant foreign keys (NOT VALID). Not
# atomic: each check commits on its own and, outside the transaction that added the key, lets
# the tables be read and written while it runs (tenancy/foreign_keys.py).

from django.db import migrations

from tenancy.foreign_keys import ValidateTenantForeignKey


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sales", "0005_tenant_foreign_keys"),
    ]

    operations = [
        ValidateTenantForeignKey("customerpricebook", "customer"),
        ValidateTenantForeignKey("lead", "converted_contact"),
        ValidateTenantForeignKey("lead", "converted_customer"),
        ValidateTenantForeignKey("opportunity", "contact"),
        ValidateTenantForeignKey("opportunity", "customer"),
        ValidateTenantForeignKey("order", "customer"),
        ValidateTenantForeignKey("quote", "contact"),
        ValidateTenantForeignKey("quote", "customer"),
        ValidateTenantForeignKey("task", "customer"),
    ]
