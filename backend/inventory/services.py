"""Writes about the inventory that are not rows of it."""

from __future__ import annotations

from django.db import connection, transaction

from inventory.models import RowCountDelta


def row_count_deltas_compact() -> None:
    """Fold the row-count deltas into one row per table, so summing them stays cheap.

    Each statement that writes an inventory table adds a delta (PostgreSQL);
    seeding calls this when a run ends or data is cleared. The table is locked
    for the fold (writers' deltas wait a moment), and a TRUNCATE's trigger takes
    the same lock: without it, a TRUNCATE waiting for this fold would delete
    the rows it saw and miss the folded row this inserts.
    """
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(RowCountDelta._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} RETURNING table_name, total, demo) "
            f"INSERT INTO {table} (table_name, total, demo) "
            f"SELECT table_name, SUM(total), SUM(demo) FROM gone GROUP BY table_name"
        )
