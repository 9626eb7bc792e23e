"""tenancy.bulk_load: the same columns written through the ORM or with COPY give the same rows."""

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from customers.models import Customer, Interaction
from sales.models import Order
from tenancy.bulk_load import (
    Codes,
    Numbered,
    bulk_load_available,
    bulk_tables,
    day_times,
    insert_rows,
)
from tenancy.context import tenant_context
from tenancy.db import become_app_role, become_owner
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")


def _orders(org, customer, *, bulk: bool, first: int) -> np.ndarray:
    ordered = np.array(["2026-01-02T03:04:05.123456", "2026-02-03T00:00:00"], "datetime64[us]")
    return insert_rows(
        Order,
        {
            "organization_id": org.pk,
            "number": Numbered(np.array([first, first + 1]), "SO-", 6),
            "customer_id": np.array([customer.pk, customer.pk]),
            "ordered_at": ordered,
            "status": Codes(np.array([0, 2]), ["completed", "cancelled", "returned"]),
            "is_gift": np.array([False, True]),
            "subtotal": np.array([12345, 500]),  # cents
            "total": np.array([12345, 0]),
            "cost_total": np.ma.masked_array([8000, 0], mask=[False, True]),
            "created_at": ordered,
        },
        bulk=bulk,
    )


def _rows(ids) -> list[tuple]:
    return list(
        Order.objects.filter(pk__in=ids.tolist())
        .order_by("number")
        .values_list(
            "number",
            "ordered_at",
            "status",
            "channel",
            "is_gift",
            "subtotal",
            "total",
            "cost_total",
        )
    )


def test_it_writes_columns_through_the_orm_and_returns_the_ids(org_a):
    with tenant_context(org_a):
        customer = CustomerFactory(organization=org_a)
        ids = _orders(org_a, customer, bulk=False, first=1)

        rows = _rows(ids)

    assert rows == [
        (
            "SO-000001",
            datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
            "completed",
            "sales",  # not given: the field's default
            False,
            Decimal("123.45"),
            Decimal("123.45"),
            Decimal("80.00"),
        ),
        (
            "SO-000002",
            datetime(2026, 2, 3, tzinfo=UTC),
            "returned",
            "sales",
            True,
            Decimal("5.00"),
            Decimal("0.00"),
            None,
        ),
    ]


def test_it_refuses_columns_of_different_lengths(org_a):
    with tenant_context(org_a), pytest.raises(ValueError, match="different lengths"):
        insert_rows(
            Interaction,
            {
                "organization_id": org_a.pk,
                "customer_id": np.array([1, 2]),
                "subject": np.array(["a"]),
            },
            bulk=False,
        )


def test_day_times_fall_on_the_chosen_days_and_never_after_now():
    now = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    rng = np.random.default_rng(1)

    times = day_times(rng, now=now, days_ago=np.array([0, 0, 1, 30] * 50))

    days = (np.datetime64("2026-05-06") - times.astype("datetime64[D]")).astype(int)
    assert days.tolist() == [0, 0, 1, 30] * 50
    assert times.max() <= np.datetime64("2026-05-06T07:08:09", "us")


@on_postgresql
def test_copy_writes_what_the_orm_writes(org_a):
    with tenant_context(org_a):
        customer = CustomerFactory(organization=org_a)
        orm = _rows(_orders(org_a, customer, bulk=False, first=1))
        become_owner(connection)
        try:
            assert bulk_load_available()
            copied_ids = _orders(org_a, customer, bulk=True, first=1001)
        finally:
            become_app_role(connection)
        copied = _rows(copied_ids)
        # The ids came from the table's sequence: the next ORM insert does not collide.
        after = _orders(org_a, customer, bulk=False, first=2001)

    assert [row[1:] for row in copied] == [row[1:] for row in orm]
    assert [row[0] for row in copied] == ["SO-001001", "SO-001002"]
    assert after.min() > copied_ids.max()


@on_postgresql
def test_copy_writes_text_and_json_columns_and_keeps_indexes_around_a_load(org_a):
    with tenant_context(org_a):
        become_owner(connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = 'customers_customer'"
                )
                indexes = cursor.fetchone()[0]
            with bulk_tables([Customer], enabled=True, rows=10**9):
                ids = insert_rows(
                    Customer,
                    {
                        "organization_id": org_a.pk,
                        "name": np.array(["Tab\there", "Back\\slash", "Zoë"]),
                        "email": np.array(["a@x.example", "", "z@x.example"]),
                        "custom": np.array(['{"tier": "Gold"}', "{}", '{"n": 1}']),
                    },
                    bulk=True,
                )
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = 'customers_customer'"
                )
                assert cursor.fetchone()[0] == indexes
        finally:
            become_app_role(connection)
        rows = list(
            Customer.objects.filter(pk__in=ids.tolist())
            .order_by("id")
            .values_list("name", "custom")
        )

    assert rows == [("Tab\there", {"tier": "Gold"}), ("Back\\slash", {}), ("Zoë", {"n": 1})]
