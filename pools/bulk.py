"""Insert many rows of one model in one statement, without a model instance per row.

``QuerySet.bulk_create`` spends most of its time preparing each value of each instance
(``pre_save``, ``get_db_prep_save``, a placeholder per value): about 150 µs per pool of 30
columns, more than parsing the pool out of AWS's answer, and a sync does it for thousands.
Here the rows are written as they are:

- PostgreSQL: the rows travel as one JSON document that ``json_populate_recordset`` turns into
  rows of the table's own type, so the server does the conversions (a statement with a
  parameter per value takes long to plan, and psycopg adapts arrays value by value).
- SQLite: a multi-row ``VALUES``, with dates and JSON converted by their fields, each distinct
  object once.

Primary keys can be taken from the table's own sequence beforehand (:func:`reserve_ids`), so
rows written together can refer to each other (a pool and its source pool) in one statement.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import NotSupportedError, connection, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

# Internal types whose Python values the database drivers take as they are.
_PASSED_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


def _passed_as_is(field: models.Field) -> bool:
    """Whether the driver takes the field's Python values as they are (not a subclass with a
    conversion of its own)."""
    return type(field).__name__ == field.get_internal_type() in _PASSED_AS_IS


def allow_full_batches(db: BaseDatabaseWrapper = connection) -> None:
    """Let a batch of rows go to SQLite in one query.

    Django 5.2 assumes SQLite's historical limit of 999 variables per query and splits bulk
    statements of pools (about 30 columns) into one query per 33 rows; SQLite has allowed 32766
    since 3.32, and reports its real limit. (Django 6 asks SQLite the same way.)
    """
    if db.vendor != "sqlite":
        return
    db.ensure_connection()
    limit = db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    db.features.max_query_params = max(limit, 999)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys for new rows, taken from the table's sequence in one statement.

    No other writer gets them: PostgreSQL's sequences are made for it, and Django's SQLite
    tables keep their sequence in ``sqlite_sequence`` (``AUTOINCREMENT``), which SQLite
    documents as an ordinary table that may be updated.
    """
    if count == 0:
        return []
    db = connections[router.db_for_write(model)]
    table, column = model._meta.db_table, model._meta.pk.column
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [db.ops.quote_name(table), column, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
        if db.vendor != "sqlite":
            raise NotSupportedError(f"Reserving ids is not written for {db.vendor}.")
        # The table's row in sqlite_sequence appears with its first insert.
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
            [table, table],
        )
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq",
            [count, table],
        )
        (last,) = cursor.fetchone()
    return list(range(last - count + 1, last + 1))


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (field attnames to values) in one statement (SQLite: per 1,000 or so).

    Fields a row leaves out take their default; ``auto_now_add`` and ``auto_now`` fields take
    the current time. The primary key is written where the rows give it (all or none).
    """
    if not rows:
        return
    db = connections[router.db_for_write(model)]
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk or pk.attname in rows[0]]
    rows = _with_defaults(fields, rows)
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    insert = f"INSERT INTO {table} ({names})"
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            renamed = [(f.attname, f.column) for f in fields if f.attname != f.column]
            if renamed:
                rows = [row | {column: row[attname] for attname, column in renamed} for row in rows]
            converted = [
                f for f in fields if not _passed_as_is(f) and f.get_internal_type() == "CharField"
            ]
            if converted:
                rows = [
                    row | {f.attname: f.get_prep_value(row[f.attname]) for f in converted}
                    for row in rows
                ]
            rows_sql = f"json_populate_recordset(NULL::{table}, %s)"
            cursor.execute(f"{insert} SELECT {names} FROM {rows_sql}", [_dumps(rows)])
            return
        allow_full_batches(db)
        columns = [
            c if _passed_as_is(f) else _converted(f, c, db)
            for f in fields
            for c in [[row[f.attname] for row in rows]]
        ]
        row_values = list(zip(*columns, strict=True))
        per_statement = max(1, db.features.max_query_params // len(fields))
        placeholder = f"({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(row_values), per_statement):
            batch = row_values[start : start + per_statement]
            values = ", ".join([placeholder] * len(batch))
            cursor.execute(f"{insert} VALUES {values}", [value for row in batch for value in row])


def _with_defaults(
    fields: list[models.Field], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows with every field, defaults where a row has none."""
    now = timezone.now()
    fixed: dict[str, Any] = {}
    per_row = []  # callable defaults (dict, list): called per row, so rows don't share them
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row.append((f.attname, f.get_default))
        elif not f.primary_key:
            fixed[f.attname] = f.get_default()
    full = []
    for row in rows:
        row = fixed | row
        for name, default in per_row:
            if name not in row:
                row[name] = default()
        full.append(row)
    return full


def _converted(field: models.Field, values: list[Any], db: BaseDatabaseWrapper) -> list[Any]:
    """The column's values as the database takes them; each distinct object converted once."""
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)  # rows share objects (the time now, None): their ids stay valid here
        if key not in done:
            done[key] = field.get_db_prep_save(value, db)
        out.append(done[key])
    return out


def _dumps(document: Any) -> str:
    """JSON as DjangoJSONEncoder writes it, but times keep their microseconds, as the database."""

    def default(o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return DjangoJSONEncoder().default(o)

    return json.dumps(document, default=default)
