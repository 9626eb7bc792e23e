# Checks the rows that were there when 0005 added the tenant foreign keys (NOT VALID). Not
# atomic: each check commits on its own and, outside the transaction that added the key, lets
# the tables be read and written while it runs (tenancy/foreign_keys.py).

from django.db import migrations

from tenancy.foreign_keys import ValidateTenantForeignKey


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0005_tenant_foreign_keys"),
    ]

    operations = [
        ValidateTenantForeignKey("consentevent", "customer"),
        ValidateTenantForeignKey("contact", "customer"),
        ValidateTenantForeignKey("customer", "merged_into"),
        ValidateTenantForeignKey("customermerge", "merged"),
        ValidateTenantForeignKey("customermerge", "survivor"),
        ValidateTenantForeignKey("customertag", "customer"),
        ValidateTenantForeignKey("duplicatedismissal", "customer_a"),
        ValidateTenantForeignKey("duplicatedismissal", "customer_b"),
        ValidateTenantForeignKey("interaction", "contact"),
        ValidateTenantForeignKey("interaction", "customer"),
    ]
