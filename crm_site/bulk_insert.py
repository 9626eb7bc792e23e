"""Inserting many rows of a wide model fast, from plain dicts.

`QuerySet.bulk_create` spends about 200 µs of Python per row of a 60-column model (building a
model instance, then running every value through the SQL compiler), which makes a 100,000-row
import take a minute before the database does any work. `insert_rows` writes the same rows
with one multi-row INSERT ... RETURNING per batch, from dicts of attribute values, running only
the values that need it through their field's `get_db_prep_save` (JSON, dates, decimals, UUIDs,
and anything unusual); plain strings, numbers, booleans and ids go to the driver as they are.

Like bulk_create it calls no `save()` and sends no signals; unlike it, it never builds model
instances. Columns missing from a row get the field's default, so callers set what matters
(including the organization and any auto_now value) and nothing else.
"""

from collections.abc import Sequence
from typing import Any

from django.db import NotSupportedError, connection, models

# Field classes whose Python values the database drivers take unchanged.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.FloatField,
)
_NOT_PLAIN = (models.JSONField, models.UUIDField, models.DecimalField, models.DateField)


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]


def _is_plain(field: models.Field) -> bool:
    if isinstance(field, models.ForeignKey):
        return _is_plain(field.target_field) if not field.target_field.primary_key else True
    return isinstance(field, _PLAIN) and not isinstance(field, _NOT_PLAIN)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    batch_size: int = 1000,
    returning: bool = True,
) -> list[int]:
    """Insert `rows` ({attname: value}) into `model`'s table; returns their ids, in order."""
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError("insert_rows needs INSERT ... RETURNING (SQLite 3.35+).")
    fields = _columns(model)
    defaults = {f.attname: f.get_default() for f in fields}
    plain = [_is_plain(f) for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk = connection.ops.quote_name(model._meta.pk.column)
    # SQLite caps the number of parameters of one statement.
    limit = connection.features.max_query_params or 10**9
    batch_size = max(1, min(batch_size, limit // len(fields)))
    ids: list[int] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        params: list[Any] = []
        for row in batch:
            for field, is_plain in zip(fields, plain, strict=True):
                value = row.get(field.attname, defaults[field.attname])
                if not is_plain and value is not None:
                    value = field.get_db_prep_save(value, connection)
                params.append(value)
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholder] * len(batch))}"
        with connection.cursor() as cursor:
            if returning:
                cursor.execute(f"{sql} RETURNING {pk}", params)
                ids += [row[0] for row in cursor.fetchall()]
            else:
                cursor.execute(sql, params)
    return ids
