"""Everything the monitor reads, as plain data: no Streamlit here, so it is testable on its own.

Read-only, through the backend's models and selectors (one definition of a
run's progress, rate and ETA for the admin, the API and the monitor). Every
query is bounded: counts come from the backend's cheap row counts, history from
chunk checkpoints grouped per minute in the database and thinned to at most
``MAX_POINTS`` points.
"""

from __future__ import annotations

import pandas as pd
from django.db import DatabaseError
from django.db.models import Sum
from django.db.models.functions import TruncMinute

from seeding.kinds import KINDS
from seeding.models import SeedChunk, SeedRun
from seeding.selectors import active_seed_run, inventory_counts, recent_seed_runs, seed_run_status

#: A chart of rows over time never has more points than this, however long the history.
MAX_POINTS = 400

#: What a query raises when the database is down: the pages say so and retry.
Unreachable = DatabaseError


def estate_counts() -> dict[str, dict[str, int]]:
    """Rows per kind, in total and written by seeding: ``{"events": {"total": n, "demo": m}, ...}``."""
    return inventory_counts()


def active_run() -> dict | None:
    run = active_seed_run()
    return seed_run_status(run) if run is not None else None


def runs(limit: int = 50) -> list[dict]:
    return [seed_run_status(run) for run in recent_seed_runs(limit=limit)]


def rows_over_time(max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Seeded rows per kind over time, from the chunks' commit times, with clears as drops.

    One row per point in time (a DatetimeIndex), one column per kind. Commits
    are summed per minute by the database; a clear subtracts what the cleared
    runs had written, at the time they were cleared.
    """
    commits = (
        SeedChunk.objects.annotate(minute=TruncMinute("committed_at"))
        .values("minute", "kind")
        .annotate(rows=Sum("rows"))
        .order_by("minute")
    )
    changes = [(row["minute"], row["kind"], row["rows"]) for row in commits]
    for run in SeedRun.objects.exclude(cleared_at=None).only("cleared_at", *(f"{k}_done" for k in KINDS)):
        changes.extend((run.cleared_at, kind, -run.done(kind)) for kind in KINDS if run.done(kind))
    if not changes:
        return pd.DataFrame(columns=list(KINDS), index=pd.DatetimeIndex([], name="time"))
    frame = pd.DataFrame(changes, columns=["time", "kind", "rows"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    table = frame.pivot_table(index="time", columns="kind", values="rows", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(KINDS), fill_value=0).sort_index().cumsum()
    start = pd.DataFrame(0, index=[table.index[0] - pd.Timedelta(minutes=1)], columns=table.columns)
    table = pd.concat([start, table])  # from nothing: a seed written within one minute still draws a line
    if len(table) > max_points:  # keep the last value of each of max_points equal slices
        step = -(-len(table) // max_points)
        table = table.iloc[list(range(step - 1, len(table), step)) + ([len(table) - 1] if len(table) % step else [])]
    table.index.name = "time"
    return table
