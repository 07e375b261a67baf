"""Write many rows of one model in one statement, without a model instance per row.

``QuerySet.bulk_create`` spends most of its time preparing each value of each instance
(``pre_save``, ``get_db_prep_save``, a placeholder per value): about 150 µs per pool of 30
columns, more than parsing the pool out of AWS's answer, and a sync does it for thousands.
Here the rows are written as they are:

- PostgreSQL: the rows travel as one JSON document that ``json_populate_recordset`` turns into
  rows of the table's own type, so the server does the conversions (a statement with a
  parameter per value takes long to plan, and psycopg adapts arrays value by value).
- SQLite: a multi-row ``VALUES``, with dates and JSON converted by their fields, each distinct
  object once, as many rows per statement as the connection's limit on variables allows
  (:func:`query_param_limit`).

Only the field classes named here are written, checked per model before its first row
(:func:`check_supported`): Django's own fields whose values the drivers take as they are,
date-times and JSON, and subclasses of the former, whose values go through their own
``get_db_prep_save`` on both databases.

Primary keys can be taken from the table's own sequence beforehand (:func:`reserve_ids`), so
rows written together can refer to each other (a pool and its source pool) in one statement.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import NotSupportedError, connection, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

# Field classes whose Python values both drivers, and PostgreSQL's JSON input, take as they
# are. Exactly these classes: a subclass may prepare its values its own way (``get_prep_value``)
# while reporting the same internal type, so it is written as its field prepares it.
_PASSED_AS_IS: frozenset[type[models.Field]] = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.BigIntegerField,
        models.BooleanField,
        models.CharField,
        models.GenericIPAddressField,  # a string; PostgreSQL reads it into its inet type
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.SmallIntegerField,
        models.TextField,
    }
)
# Field classes that PostgreSQL converts from the JSON document itself (a time as ISO 8601, a
# JSON value as it is) and that SQLite takes as their ``get_db_prep_save`` gives them.
_CONVERTED_ON_SQLITE: frozenset[type[models.Field]] = frozenset(
    {models.DateTimeField, models.JSONField}
)
_JSON_SCALARS = (str, int, float, bool, type(None))

# How a field's values reach the database (see _how_written).
AS_IS = "as is"
AS_IS_ON_POSTGRESQL = "as is on PostgreSQL, prepared on SQLite"
PREPARED = "prepared by the field"

POSTGRESQL_PARAM_LIMIT = 65535  # parameters of one statement in PostgreSQL's wire protocol
_VENDORS = ("postgresql", "sqlite")


def query_param_limit(db: BaseDatabaseWrapper = connection) -> int:
    """How many variables one statement may carry on this connection.

    Django 5.2 assumes SQLite's historical limit of 999 (``features.max_query_params``) and
    splits bulk statements accordingly; SQLite has allowed 32766 since 3.32 and reports its
    real limit, which is what this returns. Asked each time, not remembered: it is one call,
    and a connection may be replaced or its limit lowered (``setlimit``). Only this module's
    statements use it; Django's features are left as they are.
    """
    if db.vendor == "sqlite":
        db.ensure_connection()
        return db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return db.features.max_query_params or POSTGRESQL_PARAM_LIMIT


def check_supported(model: type[models.Model]) -> None:
    """Raise ``ImproperlyConfigured``, naming the field, if a field of ``model`` has a class
    this module cannot write on both databases. :func:`insert_rows` and :func:`update_rows`
    check each model before its first row; callers can check theirs when they are imported."""
    _fields(model)


@cache
def _fields(model: type[models.Model]) -> dict[str, tuple[models.Field, str]]:
    """Every concrete field of ``model`` by attname, with how its values are written."""
    return {f.attname: (f, _how_written(f, f)) for f in model._meta.concrete_fields}


def _how_written(field: models.Field, named: models.Field) -> str:
    cls = type(field)
    if cls in _PASSED_AS_IS:
        return AS_IS
    if cls is models.ForeignKey:  # its values are those of the field it points at
        how = _how_written(field.target_field, named)
        if how != AS_IS_ON_POSTGRESQL:
            return how
    elif cls in _CONVERTED_ON_SQLITE:
        if getattr(field, "encoder", None) is None:  # PostgreSQL's document uses no encoder
            return AS_IS_ON_POSTGRESQL
    elif issubclass(cls, tuple(_PASSED_AS_IS)):
        return PREPARED
    raise ImproperlyConfigured(
        f"{named.model._meta.label}.{named.name}: pools.bulk does not write a "
        f"{type(named).__name__}{'' if field is named else f' to a {cls.__name__}'} "
        f"(it writes {', '.join(sorted(c.__name__ for c in _PASSED_AS_IS))}, their subclasses, "
        "ForeignKey to those, DateTimeField and JSONField without an encoder)"
    )


def _vendor(db: BaseDatabaseWrapper) -> str:
    if db.vendor not in _VENDORS:
        raise NotSupportedError(f"pools.bulk is not written for {db.vendor}.")
    return db.vendor


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
        if _vendor(db) == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [db.ops.quote_name(table), column, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
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
    known = _fields(model)
    pk = model._meta.pk
    fields = [f for f, _ in known.values() if f is not pk or pk.attname in rows[0]]
    rows = _with_defaults(fields, rows)
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    insert = f"INSERT INTO {table} ({names})"
    with db.cursor() as cursor:
        if _vendor(db) == "postgresql":
            rows_sql = f"json_populate_recordset(NULL::{table}, %s)"
            cursor.execute(
                f"{insert} SELECT {names} FROM {rows_sql}", [_document(known, fields, rows, db)]
            )
            return
        for count, params in _sqlite_batches(known, fields, rows, db):
            values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * count)
            cursor.execute(f"{insert} VALUES {values}", params)


def update_rows(
    model: type[models.Model], rows: Sequence[dict[str, Any]], names: Sequence[str]
) -> None:
    """Set the fields ``names`` (attnames) of existing rows to the values ``rows`` give.

    Each row gives its primary key (by attname) and a value for each of ``names``. One
    ``UPDATE ... FROM`` the rows (SQLite: per statement's worth of variables), instead of
    ``bulk_update``'s ``CASE`` per field with a branch per row.
    """
    if not rows or not names:
        return
    db = connections[router.db_for_write(model)]
    known = _fields(model)
    fields = [model._meta.pk, *(known[name][0] for name in names)]
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = quote(fields[0].column)
    with db.cursor() as cursor:
        if _vendor(db) == "postgresql":
            sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields[1:])
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM json_populate_recordset(NULL::{table}, %s) "
                f"AS v WHERE {table}.{pk_column} = v.{pk_column}",
                [_document(known, fields, rows, db)],
            )
            return
        # A VALUES list names its columns column1, column2, ...
        sets = ", ".join(f"{quote(f.column)} = v.column{n}" for n, f in enumerate(fields[1:], 2))
        for count, params in _sqlite_batches(known, fields, rows, db):
            values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * count)
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v "
                f"WHERE {table}.{pk_column} = v.column1",
                params,
            )


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


Prepare = Callable[[Any], Any]


def _preparer(field: models.Field, how: str, db: BaseDatabaseWrapper) -> Prepare | None:
    """What turns a value of ``field`` into what this database takes; None: nothing does."""
    if how == AS_IS or (how == AS_IS_ON_POSTGRESQL and db.vendor == "postgresql"):
        return None
    if db.vendor == "sqlite":
        return lambda value: field.get_db_prep_save(value, db)

    def prepared_for_json(value: Any) -> Any:
        prepared = field.get_db_prep_save(value, db)
        if not isinstance(prepared, _JSON_SCALARS):
            raise TypeError(
                f"{field.model._meta.label}.{field.name}: get_db_prep_save gave a "
                f"{type(prepared).__name__}; pools.bulk writes only strings, numbers, booleans "
                "and None for a field of its own class"
            )
        return prepared

    return prepared_for_json


def _prepared(prepare: Prepare, values: list[Any]) -> list[Any]:
    """The column's values as the database takes them; each distinct object converted once."""
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)  # rows share objects (the time now, None): their ids stay valid here
        if key not in done:
            done[key] = prepare(value)
        out.append(done[key])
    return out


def _sqlite_batches(
    known: dict[str, tuple[models.Field, str]],
    fields: list[models.Field],
    rows: Sequence[dict[str, Any]],
    db: BaseDatabaseWrapper,
) -> Iterator[tuple[int, list[Any]]]:
    """The rows' values in batches that fit one statement: (rows in the batch, parameters)."""
    columns = []
    for f in fields:
        values = [row[f.attname] for row in rows]
        prepare = _preparer(f, known[f.attname][1], db)
        columns.append(values if prepare is None else _prepared(prepare, values))
    row_values = list(zip(*columns, strict=True))
    per_statement = max(1, query_param_limit(db) // len(fields))
    for start in range(0, len(row_values), per_statement):
        batch = row_values[start : start + per_statement]
        yield len(batch), [value for row in batch for value in row]


def _document(
    known: dict[str, tuple[models.Field, str]],
    fields: list[models.Field],
    rows: Sequence[dict[str, Any]],
    db: BaseDatabaseWrapper,
) -> str:
    """The rows as the JSON document ``json_populate_recordset`` reads: keys are columns."""
    changed: list[tuple[str, list[Any]]] = []  # (column, values): prepared, or renamed
    for f in fields:
        prepare = _preparer(f, known[f.attname][1], db)
        if prepare is not None:
            changed.append((f.column, _prepared(prepare, [row[f.attname] for row in rows])))
        elif f.attname != f.column:
            changed.append((f.column, [row[f.attname] for row in rows]))
    if changed:
        columns = {f.column for f in fields}
        renamed = [f.attname for f in fields if f.attname != f.column and f.attname not in columns]
        document = []
        for n, row in enumerate(rows):
            row = row | {column: values[n] for column, values in changed}
            for attname in renamed:  # its value may be one the document cannot carry
                del row[attname]
            document.append(row)
        rows = document
    return _dumps(rows)


def _dumps(document: Any) -> str:
    """JSON as DjangoJSONEncoder writes it, but times keep their microseconds, as the database."""

    def default(o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return DjangoJSONEncoder().default(o)

    return json.dumps(document, default=default)
