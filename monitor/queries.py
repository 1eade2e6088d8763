"""Everything the monitor reads, as plain data: no Streamlit here, so it is testable on its own.

Read-only, through the backend's models and selectors (one definition of a
run's progress, rate and ETA for the admin, the API and the monitor) and, for
the queue, ``seeding.messaging.broker_state``. Every query is bounded: counts come from
the backend's cheap row counts, history from chunk checkpoints grouped per
minute in the database and thinned to at most ``MAX_POINTS`` points, event
rhythms from per-chunk counts kept between refreshes (``rollups``), the
estate's breakdowns recomputed only when their table's row count or the
runs change.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd
from django.db import DatabaseError
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from inventory.models import Application, Asset, Deployment, Event
from monitor import rollups
from seeding.generation.kinds import KINDS
from seeding.messaging.broker_state import BrokerState, BrokerUnreachable, broker_state, uses_redis
from seeding.models import SeedChunk, SeedRun
from seeding.selectors import (
    active_seed_run,
    inventory_counts,
    live_stream_recent_events,
    recent_seed_runs,
    seed_run_failed_attempts,
    seed_run_status,
)
from seeding.services import seed_runs_settle

__all__ = ["BrokerState", "BrokerUnreachable", "broker_state", "uses_redis"]

#: A chart of rows over time never has more points than this, however long the history.
MAX_POINTS = 400

#: The rate over a run's life is taken over slices at least this many average gaps between commits wide.
COMMITS_PER_SLICE = 4

#: What a query raises when the database is down: the pages say so and retry.
Unreachable = DatabaseError


def estate_counts() -> dict[str, dict[str, int]]:
    """Rows per kind, in total and written by seeding: ``{"events": {"total": n, "demo": m}, ...}``."""
    return inventory_counts()


def active_run() -> dict | None:
    seed_runs_settle()  # a run whose process died reads as failed, not running
    run = active_seed_run()
    return seed_run_status(run) if run is not None else None


def runs(limit: int = 50) -> list[dict]:
    seed_runs_settle()
    return [seed_run_status(run) for run in recent_seed_runs(limit=limit)]


def run(run_id: int) -> dict | None:
    seed_runs_settle()
    found = SeedRun.objects.filter(pk=run_id).first()
    return seed_run_status(found) if found is not None else None


def rows_over_time(max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Seeded rows per kind over time, from the chunks' commit times, with clears as drops.

    One row per point in time (a DatetimeIndex), one column per kind. Commits
    are summed per run and minute by the database; a clear takes away exactly
    what its run added, no earlier than that run's last commit. Summing per run
    matters: ``make demo`` twice clears run 1 and writes run 2 within one
    minute, and a per-minute sum of both runs would land after run 1's clear
    and draw the clear as a drop below zero.
    """
    commits = list(
        SeedChunk.objects.order_by()
        .annotate(minute=TruncMinute("committed_at"))
        .values("run_id", "minute", "kind")
        .annotate(rows=Sum("rows"), last=Max("committed_at"))
    )
    cleared_at = dict(SeedRun.objects.exclude(cleared_at=None).values_list("pk", "cleared_at"))
    # A minute's point is placed at its last commit: no earlier than the rows were
    # there, and a run that is writing reaches its latest chunk.
    changes = [(row["last"], row["kind"], row["rows"]) for row in commits]
    written: dict[tuple[int, str], int] = {}
    last_commit: dict[int, dt.datetime] = {}
    for row in commits:
        if row["run_id"] in cleared_at:
            key = (row["run_id"], row["kind"])
            written[key] = written.get(key, 0) + row["rows"]
            last_commit[row["run_id"]] = max(row["last"], last_commit.get(row["run_id"], row["last"]))
    for (run_id, kind), rows in written.items():  # after the run's last commit, whatever the clocks said
        changes.append((max(cleared_at[run_id], last_commit[run_id]), kind, -rows))
    return _cumulative(changes, max_points)


def _cumulative(changes: list[tuple], max_points: int, start: dt.datetime | None = None) -> pd.DataFrame:
    """(time, kind, rows added) to rows per kind over time, starting from nothing, at most ``max_points`` long."""
    if not changes:
        return pd.DataFrame(columns=list(KINDS), index=pd.DatetimeIndex([], name="time"))
    frame = pd.DataFrame(changes, columns=["time", "kind", "rows"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    table = frame.pivot_table(index="time", columns="kind", values="rows", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(KINDS), fill_value=0).sort_index().cumsum()
    lead = max(pd.Timedelta(seconds=1), (table.index[-1] - table.index[0]) / 20)  # a short flat start, not a minute
    origin = pd.Timestamp(start) if start is not None else table.index[0] - lead
    table = pd.concat(
        [pd.DataFrame(0, index=[min(origin, table.index[0])], columns=table.columns), table]
    )  # from nothing: a seed written within one minute still draws a line
    if len(table) > max_points:  # keep the last value of each of max_points equal slices
        step = -(-len(table) // max_points)
        table = table.iloc[list(range(step - 1, len(table), step)) + ([len(table) - 1] if len(table) % step else [])]
    table.index.name = "time"
    return table


# --- One run in detail -------------------------------------------------------------------------


def run_chunks(run_id: int) -> pd.DataFrame:
    """A run's committed chunks in commit order: committed_at, kind, index, rows, seconds, written_by."""
    columns = ["committed_at", "kind", "index", "rows", "seconds", "written_by"]
    rows = SeedChunk.objects.filter(run_id=run_id).order_by("committed_at", "id").values_list(*columns)
    frame = pd.DataFrame(list(rows), columns=columns)
    frame["committed_at"] = pd.to_datetime(frame["committed_at"], utc=True)
    return frame


def run_rows_over_time(
    chunks: pd.DataFrame, started_at: dt.datetime | None = None, max_points: int = MAX_POINTS
) -> pd.DataFrame:
    """The run's rows per kind over time, from nothing when it started, one point per commit (thinned)."""
    changes = list(chunks[["committed_at", "kind", "rows"]].itertuples(index=False, name=None))
    table = _cumulative(changes, max_points, start=started_at)
    return table.loc[:, (table != 0).any()] if not table.empty else table  # only the kinds it wrote


def run_rate(chunks: pd.DataFrame, buckets: int = 60) -> pd.DataFrame:
    """Rows per second over the run's life, in at most ``buckets`` equal slices that end at its last commit.

    A slice is never narrower than a few average gaps between commits: workers
    commit in bursts (each thread's chunk at about the same time), and slices of
    one gap would alternate between a burst and nothing. The slices end at the
    last commit, so the newest one is whole instead of a slice the clock has
    only begun.
    """
    if chunks.empty:
        return pd.DataFrame(columns=["rows/s"], index=pd.DatetimeIndex([], name="time"))
    span = chunks["committed_at"].max() - chunks["committed_at"].min()
    average_gap = span / max(1, len(chunks) - 1)  # not the median: within a burst, gaps are near zero
    width = max(pd.Timedelta(seconds=1), span / buckets, COMMITS_PER_SLICE * average_gap).ceil("s")
    per_slice = (
        chunks.set_index("committed_at")["rows"]
        .sort_index()
        .resample(width, origin="end", closed="right", label="right")
        .sum()
    )
    rate = per_slice / width.total_seconds()
    rate.index.name = "time"
    return rate.to_frame("rows/s")


def run_writers(chunks: pd.DataFrame) -> pd.DataFrame:
    """Chunks and rows per process (host:pid) that wrote them: how the run spread over workers and machines."""
    if chunks.empty:
        return pd.DataFrame(columns=["process", "chunks", "rows", "seconds"])
    by_process = chunks.groupby("written_by").agg(
        chunks=("index", "size"), rows=("rows", "sum"), seconds=("seconds", lambda s: s.sum(min_count=1))
    )
    return by_process.reset_index(names="process").sort_values("rows", ascending=False, ignore_index=True)


def run_failed_attempts(run_id: int) -> list[dict]:
    """Chunks that needed more than one start, or whose last start failed, and why."""
    return seed_run_failed_attempts(run_id)


# --- Workers and queue -------------------------------------------------------------------------


def writer_role(executor: str, source: str) -> str:
    """Who writes a run's chunks: a worker, or the process that asked for the run and writes it inline."""
    if executor == SeedRun.Executor.WORKERS:
        return "worker"
    return "command" if source == SeedRun.Source.COMMAND else "web request"


def chunks_per_minute(minutes: int = 30) -> pd.DataFrame:
    """Chunks committed per minute over the last ``minutes``, one column per process that wrote them.

    A column is named by the process's role and name, "worker host:pid" or
    "command host:pid" (a ``seed_demo_data`` writing its own run inline; "web
    request" for the admin or the API writing a small plan): the same chart
    holds both.
    """
    since = timezone.now() - dt.timedelta(minutes=minutes)
    rows = (
        SeedChunk.objects.filter(committed_at__gte=since)
        .order_by()
        .annotate(minute=TruncMinute("committed_at"))
        .values_list("minute", "written_by", "run__executor", "run__source")
        .annotate(chunks=Count("id"))
    )
    frame = pd.DataFrame(
        [(minute, f"{writer_role(executor, source)} {process}", n) for minute, process, executor, source, n in rows],
        columns=["minute", "process", "chunks"],
    )
    end = pd.Timestamp(timezone.now()).floor("min")
    minutes_index = pd.date_range(end - pd.Timedelta(minutes=minutes - 1), end, freq="min", name="minute")
    if frame.empty:
        return pd.DataFrame(index=minutes_index)
    frame["minute"] = pd.to_datetime(frame["minute"], utc=True)
    table = frame.pivot_table(index="minute", columns="process", values="chunks", aggfunc="sum", fill_value=0)
    return table.reindex(minutes_index, fill_value=0)


# --- The estate --------------------------------------------------------------------------------

SEVERITIES = [choice.value for choice in Event.Severity]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def event_cells() -> pd.DataFrame:
    """Events per (hour, severity) over the whole estate: see ``rollups``."""
    events = inventory_counts()["events"]
    return rollups.event_cells(unseeded_events=events["total"] - events["demo"])


def events_per_day(cells: pd.DataFrame) -> pd.DataFrame:
    """Long form for a stacked chart: day, severity, events."""
    if cells.empty:
        return pd.DataFrame(columns=["day", "severity", "events"])
    frame = cells.assign(day=cells["hour"].dt.floor("D"))
    return frame.groupby(["day", "severity"], as_index=False)["events"].sum()


def events_by_hour_and_weekday(cells: pd.DataFrame) -> pd.DataFrame:
    """Long form for a heat map: weekday (Mon..Sun), hour (0..23, UTC), events."""
    grid = pd.MultiIndex.from_product([WEEKDAYS, range(24)], names=["weekday", "hour"])
    if cells.empty:
        return pd.DataFrame(0, index=grid, columns=["events"]).reset_index()
    frame = cells.assign(
        weekday=cells["hour"].dt.day_of_week.map(dict(enumerate(WEEKDAYS))), hour=cells["hour"].dt.hour
    )
    totals = frame.groupby(["weekday", "hour"])["events"].sum().reindex(grid, fill_value=0)
    return totals.reset_index()


def _generation() -> tuple:
    """What changes whenever seeding replaces data: the newest run and the latest clear.

    Row counts alone do not: ``make demo`` twice clears 5,000 assets and writes
    5,000 others, and a breakdown kept under the count would show the old ones.
    """
    latest = SeedRun.objects.aggregate(run=Max("pk"), cleared=Max("cleared_at"))
    return latest["run"], latest["cleared"]


def assets_by(field: str) -> pd.DataFrame:
    """Assets per value of ``field`` (asset_type, location or lifecycle_status), largest first."""
    return _assets_by(field, inventory_counts()["assets"]["total"], _generation())


@lru_cache(maxsize=16)
def _assets_by(field: str, assets: int, generation: tuple) -> pd.DataFrame:
    if field not in {"asset_type", "location", "lifecycle_status"}:
        raise ValueError(f"no breakdown of assets by {field!r}")
    rows = Asset.objects.order_by().values_list(field).annotate(assets=Count("id")).order_by("-assets")
    frame = pd.DataFrame(list(rows), columns=[field, "assets"])
    labels = dict(Asset._meta.get_field(field).choices or [])  # "Virtual machine", not "virtual_machine"
    if labels:
        frame[field] = frame[field].map(lambda value: labels.get(value, value))
    return frame


def top_applications(limit: int = 10) -> pd.DataFrame:
    """The applications with the most deployments: application (its name), deployments, version, code."""
    return _top_applications(limit, inventory_counts()["deployments"]["total"], _generation())


@lru_cache(maxsize=4)
def _top_applications(limit: int, deployments: int, generation: tuple) -> pd.DataFrame:
    top = list(
        Deployment.objects.order_by()
        .values_list("application_id")
        .annotate(deployments=Count("id"))
        .order_by("-deployments", "application_id")[:limit]
    )
    names = Application.objects.in_bulk([application_id for application_id, _ in top])
    return pd.DataFrame(
        [
            (names[pk].name, count, names[pk].version, names[pk].code)
            for pk, count in top
            if pk in names  # an application deleted since the count
        ],
        columns=["application", "deployments", "version", "code"],
    )


def live_stream_events(run_id: int, limit: int = 12) -> list[dict]:
    """A live stream's latest events, newest first: occurred_at, host, kind, severity, message."""
    found = SeedRun.objects.filter(pk=run_id).first()
    rows = live_stream_recent_events(found, limit=limit) if found is not None else []
    return [
        {
            "time": row["occurred_at"],
            "host": row["asset__hostname"],
            **{k: row[k] for k in ("kind", "severity", "message")},
        }
        for row in rows
    ]


def live_stream_rate(run_id: int, seconds: int = 60) -> float:
    """Events a second in the last ``seconds`` of what the stream has written, by the events' own times (the
    office-hours rate, not how fast a stream that fell behind caught up). A range of the time index."""
    found = SeedRun.objects.filter(pk=run_id).values_list("written_until", flat=True).first()
    if found is None:
        return 0.0
    recent = Event.objects.filter(seed_run_id=run_id, occurred_at__gte=found - dt.timedelta(seconds=seconds))
    return recent.filter(occurred_at__lt=found).count() / seconds


def latest_incidents(limit: int = 15) -> list[dict]:
    """The newest incident events: id, occurred_at, severity, host, message."""
    rows = (
        Event.objects.filter(kind=Event.Kind.INCIDENT)
        .order_by("-occurred_at", "-id")
        .values("id", "occurred_at", "severity", "asset__hostname", "message")[:limit]
    )
    return [{**row, "host": row.pop("asset__hostname")} for row in rows]


def forget() -> None:
    """Drop what is kept between refreshes (tests)."""
    rollups.forget()
    _assets_by.cache_clear()
    _top_applications.cache_clear()
