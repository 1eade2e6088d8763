"""Writes about the inventory that are not rows of it."""

from __future__ import annotations

from django.db import connection, transaction

from inventory.models import RowCountDelta
from inventory.selectors import COUNTED_MODELS


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


def inventory_statistics_refresh() -> None:
    """ANALYZE the inventory tables (PostgreSQL), after seeding wrote or cleared millions of rows.

    Why: the admin pages of large tables show the planner's estimates (counts of filtered lists, facet
    counts; ``inventory.selectors.estimated_count``) and the planner picks its plans by the same figures.
    Autovacuum analyzes a table only after a tenth of it changed and some time later, and may be off:
    right after a run the estimates would describe the tables as they were before it. ANALYZE samples
    30,000 rows per table whatever its size (about a second for all four tables at 11.5 million rows).
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in COUNTED_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
