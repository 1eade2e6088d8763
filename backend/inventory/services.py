"""Writes about the inventory that are not rows of it."""

from __future__ import annotations

from django.db import connection

from inventory.models import RowCountDelta


def row_count_deltas_compact() -> None:
    """Fold the row-count deltas into one row per table, so summing them stays cheap.

    Each statement that writes an inventory table adds a delta (PostgreSQL);
    seeding calls this when a run ends or data is cleared. Deltas committed by
    others meanwhile are not in this statement's snapshot and stay as they are,
    so the sums stay exact.
    """
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(RowCountDelta._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} RETURNING table_name, total, demo) "
            f"INSERT INTO {table} (table_name, total, demo) "
            f"SELECT table_name, SUM(total), SUM(demo) FROM gone GROUP BY table_name"
        )
