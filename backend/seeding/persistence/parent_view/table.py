"""The table a run's view is recorded in, and the one SQL idiom both recording and reading need."""

from __future__ import annotations

import json

import numpy as np
from django.db import connection

from seeding.models import RunParent


def view_table() -> str:
    return connection.ops.quote_name(RunParent._meta.db_table)


def in_list(column: str) -> str:
    """``column`` in a list bound as one parameter (a JSON text on SQLite, an array on PostgreSQL).

    On PostgreSQL ``= ANY(array)`` is an index condition whatever the planner
    believes; ``IN (SELECT unnest(...))`` was planned as a nested loop over the
    whole view while the table's statistics still said it was empty (a view
    recorded moments before), which took minutes per chunk on a 200,000-row view.
    """
    if connection.vendor == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(%s))"
    return f"{column} = ANY(%s::bigint[])"


def list_param(values: np.ndarray):
    items = [int(v) for v in values.tolist()]
    return json.dumps(items) if connection.vendor == "sqlite" else items


def per_position(rows: list[tuple[int, int]], size: int) -> np.ndarray:
    counts = np.zeros(size, dtype=np.int64)
    if rows:
        pairs = np.array(rows, dtype=np.int64)
        counts[pairs[:, 0]] = pairs[:, 1]
    return counts
