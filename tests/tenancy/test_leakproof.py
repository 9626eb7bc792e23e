"""tenancy/sql/leakproof.sql: the functions that must be LEAKPROOF for indexes to serve
searches and custom-field filters under row-level security, applied by .ci/db-setup and by
docker-compose.yml's PostgreSQL init alike."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

SQL = Path(settings.BASE_DIR, "tenancy", "sql", "leakproof.sql").read_text()
FUNCTIONS = re.findall(r"^ALTER FUNCTION (.+?) LEAKPROOF;$", SQL, flags=re.M)


def test_compose_marks_the_same_functions():
    compose = Path(settings.BASE_DIR, "docker-compose.yml").read_text()

    assert len(FUNCTIONS) >= 15
    for function in FUNCTIONS:
        assert f"ALTER FUNCTION {function} LEAKPROOF;" in compose, function


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security: PostgreSQL")
def test_the_test_database_has_them_marked(db):
    """.ci/db-setup marked them in template1, which the test database was created from: the
    tests run the query shapes production runs (crm_site/search.py chooses by the marking)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f FROM unnest(%s::text[]) f LEFT JOIN pg_proc p "
            "ON p.oid = to_regprocedure(f) WHERE NOT COALESCE(p.proleakproof, false)",
            [[function.replace(", ", ",") for function in FUNCTIONS]],
        )
        assert cursor.fetchall() == []
