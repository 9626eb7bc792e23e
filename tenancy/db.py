"""Database role handling for row-level security.

Two PostgreSQL roles (docs/architecture.md, "Database roles"): the owner, which runs migrations,
and a non-owner, non-superuser app role, which the app and workers use so that row-level security
is in force. In production the app simply connects as the app role. When one connection string
must serve both (CI, the test suite), DATABASE_APP_ROLE names the app role: every new connection
runs `SET ROLE <app role>`, migrations switch back to the owner for their duration, and afterwards
the app role is granted what it needs on every table.
"""

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate
from django.dispatch import receiver


def _quote(role: str) -> str:
    return '"' + role.replace('"', '""') + '"'


def _app_role(connection) -> str:
    # The maintenance connection Django opens to create or drop databases keeps the owner role.
    if connection.vendor != "postgresql" or connection.alias == NO_DB_ALIAS:
        return ""
    return settings.DATABASE_APP_ROLE


def become_app_role(connection) -> None:
    if role := _app_role(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {_quote(role)}")


def become_owner(connection) -> None:
    if _app_role(connection):
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def grant_app_role(connection, *, truncate: bool = False) -> None:
    """Grant the app role DML (and, for test flushes, TRUNCATE) on every table and sequence."""
    role = _app_role(connection)
    if not role:
        return
    privileges = "SELECT, INSERT, UPDATE, DELETE" + (", TRUNCATE" if truncate else "")
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {_quote(role)}")
        cursor.execute(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {_quote(role)}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_quote(role)}")


@receiver(connection_created)
def _on_connect(sender, connection, **kwargs) -> None:
    become_app_role(connection)


@receiver(pre_migrate)
def _before_migrate(sender, using="default", **kwargs) -> None:
    become_owner(connections[using])


@receiver(post_migrate)
def _after_migrate(sender, using="default", **kwargs) -> None:
    # Sent once per app after all migrations ran. The connection stays the owner's until the
    # caller switches (the test suite's conftest calls become_app_role after set-up).
    if sender.name == "tenancy":
        grant_app_role(connections[using])
