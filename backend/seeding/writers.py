"""Bulk writers: the fastest way each database has to take a chunk of rows.

PostgreSQL gets COPY (psycopg 3), several times faster than ``bulk_create``;
SQLite gets the driver's ``executemany``, which is not held to Django's
999-parameters-per-INSERT batching. Both run on Django's own connection, inside
the caller's ``transaction.atomic`` block, so the rows commit (or roll back)
together with the chunk's checkpoint.
"""

from __future__ import annotations

from itertools import repeat

from django.db import connections
from django.db.models import Model

from seeding.generation.rows import Columns


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
            placeholders = ", ".join("?" * len(db_columns))
            # The raw sqlite3 cursor: Django's wrapper would rewrite every row's params.
            cursor.cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", rows)
        else:
            placeholders = ", ".join(["%s"] * len(db_columns))
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", list(rows))
    return len(columns[names[0]])
