"""One measured benchmark run, in a process of its own; ``bench.py`` starts it.

Why a separate process: ``ru_maxrss`` is a high-water mark for the whole
process, so the only way to get the peak memory of *one* run is to give each
run a fresh process. The parent also gets a clean interpreter for every run:
no warm caches, no pools left over from an earlier run.

Two modes write the same rows into the same, already migrated, database tables:

``service``
    The real thing: ``seed_run_create`` + ``seed_run_execute`` through Django,
    timed per kind from the progress callback.
``raw``
    The floor to compare against: trivial values that only satisfy the
    constraints, written by the fastest path each driver has (``sqlite3``
    ``executemany`` or psycopg COPY). Django is set up only to read the
    models' columns (every concrete field's, so none can be missed), before
    the clock starts; no row goes through it.

The result is one JSON object on stdout; everything else (Django's logging,
tracebacks) goes to stderr. To profile a run by hand, migrate a database first
(``DATABASE_URL=... backend/manage.py migrate``), then for example::

    .venv/bin/pyinstrument scripts/bench_child.py service --database-url sqlite:////tmp/b.sqlite3 \\
        --applications 5000 --assets 50000 --deployments 100000 --events 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, cycle, islice, repeat
from typing import Any

from common import AS_OF, KINDS, RAW_BATCH_ROWS, SEED, setup_django

RAW_TIMESTAMP = "2026-10-01 00:00:00"  # the text form Django stores on SQLite; PostgreSQL parses it in UTC
RAW_DATE = "2026-01-01"
#: Share (in fifths) of raw events tied to a deployment: 3/5 = 60%, like the service
#: writes, so both paths pay for the same number of foreign-key checks.
RAW_EVENT_DEPLOYMENT_FIFTHS = 3

Counts = dict[str, int]
Row = tuple[Any, ...]


def max_rss_kib() -> int:
    """Peak resident memory of this process so far (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- service ------------------------------------------------------------------


class KindTimer:
    """Progress callback that charges the time since the previous call to the chunk's kind.

    The run calls back once when it starts (``chunk`` None: the run is created and
    claimed), then after every chunk, so the first chunk of a kind also carries
    whatever was done lazily for it: that is part of the cost of writing that kind.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.rows: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.chunks = 0
        self.started: float | None = None
        self._last = time.perf_counter()

    def __call__(self, run: object, chunk: Any) -> None:
        now = time.perf_counter()
        if chunk is None:
            self.started = self._last = now
            return
        self.seconds[chunk.kind] += now - self._last
        self.rows[chunk.kind] += chunk.rows
        self.chunks += 1
        self._last = now


def run_service(database_url: str, counts: Counts, chunk_size: int | None) -> dict[str, Any]:
    """Seed ``counts`` through the seeding service; time per kind and in total."""
    setup_django(database_url)
    from django.db import connection

    from seeding import services
    from seeding.plan import SeedPlan

    setup_rss = max_rss_kib()
    options = {"chunk_size": chunk_size} if chunk_size else {}
    plan = SeedPlan(**counts, seed=SEED, as_of=AS_OF, **options)
    timer = KindTimer()
    start = time.perf_counter()
    # The command's own path: the one request path, inline.
    run = services.seed_request(plan=plan, source="command", mode="inline", on_progress=timer).run
    end = time.perf_counter()
    created = timer.started
    rss = max_rss_kib()

    if timer.rows != counts or run.total_done != sum(counts.values()):
        raise RuntimeError(f"the service wrote {timer.rows} (run says {run.total_done}), expected {counts}")
    return {
        "mode": "service",
        "vendor": connection.vendor,
        "chunk_size": plan.chunk_size,
        "chunks": timer.chunks,
        "rows": counts,
        "seconds": timer.seconds,
        "create_seconds": created - start,
        "total_seconds": end - start,
        "max_rss_kib": rss,
        "setup_rss_kib": setup_rss,
    }


# --- raw: trivial rows ----------------------------------------------------------


def ids(kind: str) -> Callable[[Counts], Iterable[int]]:
    """1 to the count of ``kind``: the primary keys; no column is shorter, so they end the kind's rows."""
    return lambda counts: range(1, counts[kind] + 1)


def numbered(prefix: str, kind: str) -> Callable[[Counts], Iterable[str]]:
    """``prefix`` and the row's id: unique values for a unique column."""
    return lambda counts: map(f"{prefix}{{}}".format, ids(kind)(counts))


def ip_addresses(counts: Counts) -> Iterable[str]:
    return (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in ids("assets")(counts))  # unique below 2**24


def deployment_applications(counts: Counts) -> Iterable[int]:
    """Deployment k (from 0) runs application k mod A + 1 on asset k div A + 1: every pair at most once."""
    return cycle(range(1, counts["applications"] + 1))


def deployment_assets(counts: Counts) -> Iterable[int]:
    return chain.from_iterable(map(repeat, ids("assets")(counts), repeat(counts["applications"])))


def event_deployments(counts: Counts) -> Iterable[int | None]:
    ties = ids("deployments")(counts)
    return cycle([d if d % 5 < RAW_EVENT_DEPLOYMENT_FIFTHS else None for d in ties] or [None])


#: What the raw rows hold, per kind and column: a function of the counts giving one value per row, or a
#: constant. Trivial values that only satisfy the constraints, all from C-level iterators, so the raw path
#: spends as little Python per row as it can. The columns themselves come from the models (``raw_tables``):
#: one not named here gets its field's default, or NULL where the field allows it (``seed_run_id``,
#: ``retired_on``); one with neither stops the run before its clock starts, naming it.
RAW_VALUES: dict[str, dict[str, Any]] = {
    "applications": {
        "id": ids("applications"),
        "code": numbered("A", "applications"),
        "name": "app",
        "vendor": "vendor",
        "category": "category",
        "version": "1.0.0",
        "owner_team": "team",
        "tier": "tier_3",
        "lifecycle": "active",
    },
    "assets": {
        "id": ids("assets"),
        "hostname": numbered("h", "assets"),
        "ip_address": ip_addresses,
        "serial_number": numbered("S", "assets"),
        "asset_type": "server",
        "manufacturer": "maker",
        "model": "model",
        "operating_system": "os",
        "location": "site",
        "lifecycle_status": "in_use",
        "purchase_date": RAW_DATE,
        "owner_team": "team",
        "assigned_to": "",
    },
    "deployments": {
        "id": ids("deployments"),
        "application_id": deployment_applications,
        "asset_id": deployment_assets,
        "version": "1.0.0",
        "environment": "production",
        "status": "running",
        "deployed_at": RAW_TIMESTAMP,
    },
    "events": {
        "id": ids("events"),
        "asset_id": lambda counts: cycle(ids("assets")(counts)),
        "deployment_id": event_deployments,
        "kind": "alert",
        "severity": "info",
        "source": "monitor",
        "message": "message",
        "occurred_at": RAW_TIMESTAMP,
    },
}


class RawTable:
    """A kind's table and every concrete column of its model, with where each column's values come from."""

    def __init__(self, kind: str, model: Any) -> None:
        self.kind, self.name = kind, model._meta.db_table
        values = RAW_VALUES[kind]
        fields = {field.column: field for field in model._meta.concrete_fields}
        unknown = set(values) - set(fields)
        if unknown:
            raise RuntimeError(f"RAW_VALUES names columns {model.__name__} does not have: {sorted(unknown)}")
        self.values: dict[str, Any] = {}
        for column, field in fields.items():
            if column in values:
                self.values[column] = values[column]
            elif field.has_default():
                self.values[column] = field.get_default()
            elif field.null:
                self.values[column] = None
            else:
                raise RuntimeError(f"{self.name}.{column} is NOT NULL with no default: give it a value in RAW_VALUES")
        self.columns = tuple(self.values)

    def rows(self, counts: Counts) -> Iterator[Row]:
        """One tuple per row, in ``columns`` order; as many rows as ``counts`` gives the kind (its ids end them)."""
        return zip(*(value(counts) if callable(value) else repeat(value) for value in self.values.values()))


def raw_tables(database_url: str) -> dict[str, RawTable]:
    """Every kind's table from the models, read before any clock starts (Django is set up for that only;
    the rows go through the drivers alone)."""
    setup_django(database_url)
    from seeding.persistence.tables import MODELS

    return {kind: RawTable(kind, MODELS[kind]) for kind in KINDS}


def batches(rows: Iterator[Row], size: int) -> Iterator[Iterator[Row]]:
    """Consecutive lazy slices of ``rows`` (nothing is materialised, so memory stays flat).

    Each slice must be consumed before the next is asked for.
    """
    while (first := next(rows, None)) is not None:
        yield chain((first,), islice(rows, size - 1))


# --- raw: writers ----------------------------------------------------------------


def run_raw_sqlite(database_url: str, counts: Counts, batch_rows: int) -> dict[str, Any]:
    """``executemany``, one ``BEGIN IMMEDIATE`` transaction per batch, with Django's pragmas.

    Django's SQLite connection turns foreign keys on and the settings add WAL and
    synchronous=NORMAL; the raw path uses the same, so both pay the same for durability
    and constraint checks.
    """
    tables = raw_tables(database_url)
    path = database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
        connection.execute(f"PRAGMA {pragma}")
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    for kind in KINDS:
        kind_start = time.perf_counter()
        table = tables[kind]
        columns = table.columns
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in batches(table.rows(counts), batch_rows):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, batch)
            connection.execute("COMMIT")
        seconds[kind] = time.perf_counter() - kind_start
    total = time.perf_counter() - start
    rss = max_rss_kib()
    written = {kind: connection.execute(f"SELECT COUNT(*) FROM {tables[kind].name}").fetchone()[0] for kind in KINDS}
    connection.close()
    return _raw_result("sqlite", tables, counts, written, seconds, total, rss, batch_rows, commit_each_batch=True)


def run_raw_postgres(database_url: str, counts: Counts, batch_rows: int, commit_each_batch: bool) -> dict[str, Any]:
    """One psycopg connection, one COPY per batch; commit per batch or once at the end.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so they are checked at
    COMMIT: with a single commit, every check lands at the end. That commit is charged
    to the last kind written and also reported on its own as ``commit_seconds``.
    """
    import psycopg

    tables = raw_tables(database_url)
    seconds: dict[str, float] = {}
    with psycopg.connect(database_url) as connection:
        connection.execute("SET TIME ZONE 'UTC'")  # Django does the same; the timestamps are UTC text
        connection.commit()
        start = time.perf_counter()
        for kind in KINDS:
            kind_start = time.perf_counter()
            table = tables[kind]
            with connection.cursor() as cursor:
                for batch in batches(table.rows(counts), batch_rows):
                    with cursor.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                    if commit_each_batch:
                        connection.commit()
            seconds[kind] = time.perf_counter() - kind_start
        commit_start = time.perf_counter()
        connection.commit()  # the only commit, or a no-op after the last batch's
        commit_seconds = time.perf_counter() - commit_start
        seconds[KINDS[-1]] += commit_seconds
        total = time.perf_counter() - start
        rss = max_rss_kib()
        written = {
            kind: connection.execute(f"SELECT COUNT(*) FROM {tables[kind].name}").fetchone()[0] for kind in KINDS
        }
    result = _raw_result("postgresql", tables, counts, written, seconds, total, rss, batch_rows, commit_each_batch)
    return {**result, "commit_seconds": commit_seconds}


def _raw_result(
    vendor: str,
    tables: dict[str, RawTable],
    counts: Counts,
    written: Counts,
    seconds: dict[str, float],
    total: float,
    rss: int,
    batch_rows: int,
    commit_each_batch: bool,
) -> dict[str, Any]:
    if written != counts:
        raise RuntimeError(f"the raw path wrote {written}, expected {counts}")
    return {
        "mode": "raw",
        "vendor": vendor,
        "columns": {kind: list(table.columns) for kind, table in tables.items()},
        "batch_rows": batch_rows,
        "commit_each_batch": commit_each_batch,
        "rows": counts,
        "seconds": seconds,
        "total_seconds": total,
        "max_rss_kib": rss,
    }


# --- entry point ------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["service", "raw"])
    parser.add_argument("--database-url", required=True, help="sqlite:////abs/path or postgres://...")
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=int, required=True, metavar="N")
    parser.add_argument("--chunk-size", type=int, help="service: rows per chunk (default: SEED_CHUNK_SIZE)")
    parser.add_argument("--batch-rows", type=int, default=RAW_BATCH_ROWS, help="raw: rows per COPY / transaction")
    parser.add_argument(
        "--commit-at-end",
        action="store_true",
        help="raw, PostgreSQL: one commit after all rows instead of one per batch",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = {kind: getattr(args, kind) for kind in KINDS}
    if args.mode == "service":
        result = run_service(args.database_url, counts, args.chunk_size)
    elif args.database_url.startswith("sqlite:"):
        result = run_raw_sqlite(args.database_url, counts, args.batch_rows)
    else:
        result = run_raw_postgres(args.database_url, counts, args.batch_rows, not args.commit_at_end)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
