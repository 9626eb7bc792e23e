"""Writing many rows of one model fast: the demo seeder's millions of customers and orders.

Rows are given by column, as numpy arrays (one value per row) or constants, and written either
through the ORM (`bulk_create`, any database: small demos, SQLite) or, when `bulk` is true, with
PostgreSQL's COPY. Both paths take the same columns, so the generators that build them are
tested on SQLite and the fast path only changes how the bytes travel.

Column values:
- a numpy array of ints, floats or bools; a masked array (`numpy.ma`) for NULLs;
- datetime64 arrays (read as UTC) for DateTimeFields, datetime64[D] for DateFields;
- ints for DecimalFields are in units of the last decimal place (cents for money);
- `Codes(codes, labels)`: small ints naming strings (choices, names from a word list); sent as
  ints and turned into text by PostgreSQL;
- `Numbered(values, prefix, width)`: "SO-00000042" from 42;
- numpy arrays of text (StringDType, str or object), for JSONFields JSON text or objects;
- a scalar: the same value in every row. Fields that are not given get their default.

The fast path. PostgreSQL refuses COPY FROM into a table whose row-level security applies, and
every tenant table forces it. So each chunk is COPied into a temporary table (no policies), then
moved with INSERT ... SELECT inside the caller's tenant transaction, where the policy's WITH CHECK
vets every row (the approach of bench/seed_customers.py). Numbers travel in COPY's binary
format, built from a numpy structured array without a Python loop per row; the few free-text
columns (names, emails) in the text format, into a second staging table joined on the row's place
in the chunk. Ids are reserved from the table's sequence up front, so that related rows can point
at them.

`bulk_tables` drops a table's secondary indexes, unique constraints (bar those foreign keys
point at) and foreign keys for the load and puts them back afterwards (indexes built by sorting,
foreign keys checked by one join each with VALIDATE CONSTRAINT instead of a trigger per row):
several times faster for millions of rows. Both need the table owner's rights;
`bulk_load_available` says whether the session has them.
"""

from __future__ import annotations

import io
import json
import logging
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, models
from django.utils import timezone
from numpy.dtypes import StringDType

logger = logging.getLogger("seed_demo")  # seed_demo -v 2 prints it

CHUNK_ROWS = 200_000
REBUILD_MIN_ROWS = 50_000  # below this, maintaining the indexes row by row is as fast
MICROS_PER_DAY = 86_400 * 1_000_000
NULL_INT = np.iinfo(np.int64).min  # stands for NULL in int columns of the staging table
_TEXT = StringDType()
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


@dataclass(frozen=True)
class Codes:
    """Each row's value is labels[code]; masked codes are NULL."""

    codes: np.ndarray
    labels: Sequence[str]


@dataclass(frozen=True)
class Numbered:
    """Each row's value is prefix + the number padded with zeros to `width` digits."""

    values: np.ndarray
    prefix: str
    width: int


def step_rng(seed: int, salt: str) -> np.random.Generator:
    """A numpy generator for one seeding step, deterministic for (seed, salt)."""
    return np.random.default_rng([seed, zlib.crc32(salt.encode())])


def day_times(rng: np.random.Generator, *, now: datetime, days_ago: np.ndarray) -> np.ndarray:
    """A random time (datetime64[us], UTC) on each day `days_ago` days before today; today's
    fall before `now`. Which day is the seed's choice, whatever the time of day the demo is
    built at, so row counts that depend on dates ("none in the future") are deterministic."""
    today = np.datetime64(now.replace(tzinfo=None).date(), "us")
    elapsed = (np.datetime64(now.replace(tzinfo=None), "us") - today).astype(np.int64)
    days_ago = np.asarray(days_ago, dtype=np.int64)
    span = np.where(days_ago <= 0, elapsed, MICROS_PER_DAY)
    offsets = (rng.random(len(days_ago)) * span).astype(np.int64) - days_ago * MICROS_PER_DAY
    return today + offsets.astype("timedelta64[us]")


def bulk_load_available() -> bool:
    """PostgreSQL, and the session owns the tenant tables (COPY staging, DDL, setval)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'tenancy_organization'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


# --- Columns ------------------------------------------------------------------------------


@dataclass
class _Column:
    field: models.Field
    kind: str  # int | float | text: the staging table's column type
    sql: str  # expression over the staging column (named like the field's column)
    params: list
    values: np.ndarray  # int64 or float64 with NULL sentinels, or StringDType text
    nulls: np.ndarray  # for text
    python: list | None = None  # the values as the ORM wants them


def _mask(values) -> np.ndarray:
    if np.ma.isMaskedArray(values):
        return np.ma.getmaskarray(values)
    return np.zeros(len(values), bool)


def _nullable(name: str) -> str:
    return f"NULLIF({name}, {NULL_INT})"


def _column(field: models.Field, value, *, python: bool) -> _Column:
    """The fast path's staging values and SQL for one column, and (`python`) the ORM's values."""
    name = f'"{field.column}"'
    db_type = field.db_type(connection) if connection.vendor == "postgresql" else ""
    if isinstance(value, Codes):
        codes, mask = np.ma.getdata(value.codes).astype(np.int64), _mask(value.codes)
        labels = list(value.labels)
        column = _Column(
            field,
            "int",
            f"(%s::text[])[{_nullable(name)} + 1]",
            [labels],
            np.where(mask, NULL_INT, codes),
            mask,
        )
        if python:
            column.python = [
                None if m else labels[c] for c, m in zip(codes.tolist(), mask, strict=True)
            ]
        return column
    if isinstance(value, Numbered):
        numbers = np.asarray(value.values, dtype=np.int64)
        column = _Column(
            field,
            "int",
            f"%s || lpad({name}::text, {int(value.width)}, '0')",
            [value.prefix],
            numbers,
            np.zeros(len(numbers), bool),
        )
        if python:
            column.python = [f"{value.prefix}{n:0{value.width}d}" for n in numbers.tolist()]
        return column
    mask = _mask(value)
    data = np.ma.getdata(value) if np.ma.isMaskedArray(value) else np.asarray(value)
    kind = data.dtype.kind
    if kind == "M" and isinstance(field, models.DateTimeField):
        stamps = data.astype("datetime64[us]")
        sql = f"TIMESTAMPTZ 'epoch' + {_nullable(name)} * INTERVAL '1 microsecond'"
        column = _Column(
            field, "int", sql, [], np.where(mask, NULL_INT, stamps.astype(np.int64)), mask
        )
        if python:
            column.python = [
                None if m else v.replace(tzinfo=UTC)
                for v, m in zip(stamps.tolist(), mask, strict=True)
            ]
        return column
    if kind == "M":
        days = data.astype("datetime64[D]")
        sql = f"DATE '1970-01-01' + {_nullable(name)}::integer"
        column = _Column(
            field, "int", sql, [], np.where(mask, NULL_INT, days.astype(np.int64)), mask
        )
        if python:
            column.python = [None if m else v for v, m in zip(days.tolist(), mask, strict=True)]
        return column
    if kind in "iub":
        ints = data.astype(np.int64)
        convert = int
        if isinstance(field, models.BooleanField):
            sql, convert = f"({_nullable(name)} <> 0)", bool
        elif isinstance(field, models.DecimalField):
            places = field.decimal_places
            sql = f"({_nullable(name)}::numeric / {10**places})"

            def convert(v, places=places):
                return Decimal(v).scaleb(-places)
        else:
            sql = f"CAST({_nullable(name)} AS {db_type or 'bigint'})"
        column = _Column(field, "int", sql, [], np.where(mask, NULL_INT, ints), mask)
        if python:
            column.python = [
                None if m else convert(v) for v, m in zip(ints.tolist(), mask, strict=True)
            ]
        return column
    if kind == "f":
        floats = np.where(mask, np.nan, data.astype(np.float64))
        sql = f"CAST(NULLIF({name}, 'NaN'::float8) AS {db_type or 'double precision'})"
        column = _Column(field, "float", sql, [], floats, mask)
        if python:
            column.python = [None if m else v for v, m in zip(floats.tolist(), mask, strict=True)]
        return column
    # Text; for a JSONField, JSON documents as text or as Python objects.
    is_json = isinstance(field, models.JSONField)
    if kind == "O":
        mask = mask | np.array([v is None for v in data], dtype=bool)
        if is_json and any(not isinstance(v, str) for v in data if v is not None):
            data = np.array(
                [None if v is None else json.dumps(v, separators=(",", ":")) for v in data],
                dtype=object,
            )
        data = np.array(["" if v is None else v for v in data], dtype=_TEXT)
    text = data.astype(_TEXT)
    column = _Column(field, "text", f"CAST({name} AS {db_type or 'text'})", [], text, mask)
    if python:
        items = text.tolist()
        load = json.loads if is_json else str
        column.python = [None if m else load(v) for v, m in zip(items, mask, strict=True)]
    return column


def _defaults(model: type[models.Model], given: Mapping[str, Any]) -> dict[str, Any]:
    """Each field's value when the caller gives none: its default, or now for auto_now."""
    now = timezone.now()
    values = {}
    for field in model._meta.concrete_fields:
        if field.attname in given or field.primary_key or field.generated:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values[field.attname] = now
        else:
            values[field.attname] = field.get_default()
    return values


def _is_column(value) -> bool:
    return isinstance(value, Codes | Numbered | np.ndarray)


def _length(value) -> int:
    if isinstance(value, Codes):
        return len(value.codes)
    if isinstance(value, Numbered):
        return len(value.values)
    return len(value)


# --- Writing ------------------------------------------------------------------------------


def insert_rows(
    model: type[models.Model],
    columns: Mapping[str, Any],
    *,
    bulk: bool,
    chunk: int = CHUNK_ROWS,
) -> np.ndarray:
    """Insert rows of `model` from `columns` (attname -> column or constant; at least one
    column) and return their ids in row order. With `bulk`, PostgreSQL COPY (the caller sets the
    tenant and owns the table); otherwise `bulk_create`."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = set(columns) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    arrays = {name: value for name, value in columns.items() if _is_column(value)}
    lengths = {_length(value) for value in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"{model.__name__}: columns of different lengths {sorted(lengths)}")
    rows = lengths.pop()
    constants = {
        **_defaults(model, columns),
        **{name: value for name, value in columns.items() if not _is_column(value)},
    }
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    if bulk:
        return _copy_rows(model, fields, arrays, constants, rows, chunk)
    return _orm_rows(model, fields, arrays, constants, rows)


def _orm_rows(model, fields, arrays, constants, rows) -> np.ndarray:
    objects = [model(**constants) for _ in range(rows)]
    for name, value in arrays.items():
        values = _column(fields[name], value, python=True).python
        for obj, item in zip(objects, values, strict=True):
            setattr(obj, name, item)
    model._base_manager.bulk_create(objects, batch_size=2000)
    return np.array([obj.pk for obj in objects], dtype=np.int64)


def _reserve_ids(cursor, table: str, count: int) -> np.ndarray:
    """`count` consecutive ids from the table's sequence, which nobody else may draw meanwhile
    (the lock conflicts with any other session's INSERT into the table)."""
    cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
        "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, count],
    )
    last = cursor.fetchone()[0]
    return np.arange(last - count + 1, last + 1, dtype=np.int64)


def _take(value, start: int, stop: int):
    if isinstance(value, Codes):
        return Codes(value.codes[start:stop], value.labels)
    if isinstance(value, Numbered):
        return Numbered(value.values[start:stop], value.prefix, value.width)
    return value[start:stop]


def _copy_rows(model, fields, arrays, constants, rows, chunk) -> np.ndarray:
    """COPY in chunks: numbers in binary format into one staging table, text (if any) in text
    format into another, joined on the row's place in the chunk by the INSERT ... SELECT."""
    started = time.perf_counter()
    table = model._meta.db_table
    numbers_table, texts_table = f"seed_n_{table}", f"seed_t_{table}"
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, table, rows) if "id" not in arrays else None
        if ids is not None:
            arrays = {"id": ids, **arrays}
        names = list(arrays)
        sample = {n: _column(fields[n], _take(arrays[n], 0, 1), python=False) for n in names}
        numeric = [n for n in names if sample[n].kind != "text"]
        texts = [n for n in names if sample[n].kind == "text"]
        types = {"int": "bigint", "float": "double precision", "text": "text"}
        for staging, group in ((numbers_table, numeric), (texts_table, texts)):
            cursor.execute(f'DROP TABLE IF EXISTS "{staging}"')
            columns = ", ".join(f'"{fields[n].column}" {types[sample[n].kind]}' for n in group)
            cursor.execute(
                f'CREATE TEMP TABLE "{staging}" (_row bigint, {columns}) ON COMMIT DROP'
                if group
                else f'CREATE TEMP TABLE "{staging}" (_row bigint) ON COMMIT DROP'
            )
        const_names = list(constants)
        target = ", ".join(f'"{fields[n].column}"' for n in names + const_names)
        select = ", ".join(sample[n].sql for n in names)
        params = [p for n in names for p in sample[n].params]
        if const_names:
            select += ", " + ", ".join(
                f"CAST(%s AS {fields[n].db_type(connection)})" for n in const_names
            )
            params += [fields[n].get_db_prep_save(constants[n], connection) for n in const_names]
        source = f'"{numbers_table}"' + (f' JOIN "{texts_table}" USING (_row)' if texts else "")
        insert = f'INSERT INTO "{table}" ({target}) SELECT {select} FROM {source}'
        for start in range(0, rows, chunk):
            stop = min(start + chunk, rows)
            place = np.arange(stop - start, dtype=np.int64)
            built = {
                n: _column(fields[n], _take(arrays[n], start, stop), python=False) for n in names
            }
            cursor.copy_expert(
                f'COPY "{numbers_table}" FROM STDIN WITH (FORMAT binary)',
                _binary_payload([place, *(built[n].values for n in numeric)]),
            )
            if texts:
                cursor.copy_expert(
                    f'COPY "{texts_table}" FROM STDIN',
                    _text_payload(place, [built[n] for n in texts]),
                )
                if start == 0:  # so that the join is planned as a hash join, not a loop
                    cursor.execute(f'ANALYZE "{numbers_table}", "{texts_table}"')
            cursor.execute(insert, params)
            cursor.execute(f'TRUNCATE "{numbers_table}", "{texts_table}"')
        cursor.execute(f'DROP TABLE "{numbers_table}", "{texts_table}"')
    logger.info("%s: %s rows in %.1fs", table, f"{rows:,}", time.perf_counter() - started)
    return ids if ids is not None else np.asarray(arrays["id"], dtype=np.int64)


def _binary_payload(columns: list[np.ndarray]) -> io.BytesIO:
    """COPY's binary format: a header, then per row a field count and (length, value) pairs
    (8-byte integers or floats), built as one numpy structured array."""
    fields = [("count", ">i2")]
    for index, values in enumerate(columns):
        fields += [
            (f"l{index}", ">i4"),
            (f"v{index}", ">f8" if values.dtype.kind == "f" else ">i8"),
        ]
    rows = np.empty(len(columns[0]), dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for index, values in enumerate(columns):
        rows[f"l{index}"] = 8
        rows[f"v{index}"] = values
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return io.BytesIO(header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True))


def _text_payload(place: np.ndarray, columns: list[_Column]) -> io.BytesIO:
    """COPY's text format for the text columns, built column by column with numpy."""
    line = place.astype(_TEXT)
    for column in columns:
        text = column.values
        for char, escaped in _COPY_ESCAPES:
            if np.any(np.strings.find(text, char) >= 0):
                text = np.strings.replace(text, char, escaped)
        if column.nulls.any():
            text = np.where(column.nulls, "\\N", text).astype(_TEXT)
        line = np.strings.add(np.strings.add(line, "\t"), text)
    return io.BytesIO(("\n".join(line.tolist()) + "\n").encode())


# --- Indexes and constraints around a load ------------------------------------------------


def _live_rows(tables: list[str]) -> int:
    """The biggest table's live rows, all tenants, as the statistics collector counts them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(MAX(n_live_tup), 0) FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [tables],
        )
        return int(cursor.fetchone()[0])


@contextmanager
def bulk_tables(
    tables: Sequence[type[models.Model]], *, enabled: bool, rows: int
) -> Iterator[None]:
    """Load `tables` without their secondary indexes, unique constraints and foreign keys, and
    put them back afterwards (same definitions, read from the catalog). Runs inside the caller's
    transaction: if the load fails, the rollback restores everything.

    Rebuilding reads the whole table, other tenants' rows included, so it is only done when the
    load (`rows`, in its biggest table) is large and at least doubles the table; a small tenant
    added next to a big one keeps the indexes and has them maintained row by row.
    """
    names = [model._meta.db_table for model in tables]
    if not enabled or rows < max(REBUILD_MIN_ROWS, _live_rows(names)):
        yield
        return
    with connection.cursor() as cursor:
        # Fire the checks that earlier statements deferred: DDL refuses tables with pending
        # trigger events. Immediate checks for the rest of the load, so none pile up.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
              FROM pg_constraint c
             WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f')
               -- A unique key that foreign keys point at, (organization_id, id), stays: the
               -- keys of other tables depend on it (tenancy/foreign_keys.py).
               AND NOT (c.contype = 'u' AND EXISTS (
                   SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid
               ))
             ORDER BY c.contype DESC, c.conname
            """,
            [names],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef
              FROM pg_indexes i
              JOIN pg_class c ON c.relname = i.indexname AND c.relkind IN ('i', 'I')
             WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
             ORDER BY i.tablename, i.indexname
            """,
            [names],
        )
        indexes = cursor.fetchall()
        for table, name, _kind, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name, definition in indexes:
            index_started = time.perf_counter()
            cursor.execute(definition)
            logger.debug("index %s in %.1fs", name, time.perf_counter() - index_started)
        logger.info("%s: indexes in %.1fs", ", ".join(names), time.perf_counter() - started)
        # Statistics before the foreign-key checks: planned on the empty tables' statistics,
        # a check's anti-join becomes a nested loop, quadratic in the rows.
        for table in names:
            cursor.execute(f'ANALYZE "{table}"')
        for table, name, kind, definition in constraints:
            if kind == "u":
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, kind, definition in constraints:
            if kind == "f":
                cursor.execute(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID'
                )
                check_started = time.perf_counter()
                cursor.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
                logger.debug("check %s in %.1fs", name, time.perf_counter() - check_started)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    logger.info("%s: rebuilt in %.1fs", ", ".join(names), time.perf_counter() - started)
