"""Bulk writers: the fastest way each database has to take a chunk of rows.

PostgreSQL gets COPY (psycopg 3), several times faster than ``bulk_create``;
SQLite gets the driver's ``executemany`` over multi-row INSERTs (see
``SQLITE_ROWS_PER_INSERT``). Both run on Django's own connection, inside the
caller's ``transaction.atomic`` block, so the rows commit (or roll back)
together with the chunk's checkpoint.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import chain, repeat

from django.db import connections
from django.db.models import Model

from seeding.generation.rows import Columns

#: Rows per INSERT statement on SQLite. One statement per row spends most of its
#: time stepping and resetting the statement; 100 rows per statement wrote plan
#: L's million events in 1.8 s instead of 3.0 s here (more rows gained nothing).
#: Capped by the connection's own bound-parameter limit (32,766 since SQLite 3.32).
SQLITE_ROWS_PER_INSERT = 100


def write_rows(model: type[Model], columns: Columns, *, seed_run_id: int, using: str = "default") -> int:
    """Insert the rows described by ``columns`` (field name -> values), tagged with the run."""
    names = list(columns)
    if not names or not columns[names[0]]:
        return 0
    db_columns = [model._meta.get_field(name).column for name in names] + ["seed_run_id"]
    rows = zip(*columns.values(), repeat(seed_run_id))
    connection = connections[using]
    quote = connection.ops.quote_name
    table, column_list = quote(model._meta.db_table), ", ".join(quote(c) for c in db_columns)
    # wrap_database_errors: the raw driver cursors below raise the driver's own
    # exceptions; callers expect Django's (IntegrityError for a duplicate key).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif connection.vendor == "sqlite":
            # The raw sqlite3 cursor: Django's wrapper would rewrite every row's params.
            max_params = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            per_insert = max(1, min(SQLITE_ROWS_PER_INSERT, max_params // len(db_columns)))
            _insert_sqlite(cursor.cursor, f"INSERT INTO {table} ({column_list}) VALUES ", list(rows), per_insert)
        else:
            placeholders = ", ".join(["%s"] * len(db_columns))
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", list(rows))
    return len(columns[names[0]])


def _insert_sqlite(cursor, insert: str, rows: Sequence[tuple], per_insert: int) -> None:
    """``rows`` in INSERTs of ``per_insert`` rows each, then one INSERT for the remainder."""
    one_row = f"({', '.join('?' * len(rows[0]))})"
    whole = len(rows) - len(rows) % per_insert
    if whole:
        batches: Iterable[list] = (
            list(chain.from_iterable(rows[start : start + per_insert])) for start in range(0, whole, per_insert)
        )
        cursor.executemany(insert + ", ".join([one_row] * per_insert), batches)
    if whole < len(rows):
        cursor.execute(insert + ", ".join([one_row] * (len(rows) - whole)), list(chain.from_iterable(rows[whole:])))
