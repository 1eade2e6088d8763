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
    ``executemany`` or psycopg COPY) with no Django at all.

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
from collections.abc import Callable, Iterator
from itertools import chain, cycle, islice, repeat
from typing import Any

from common import AS_OF, KINDS, RAW_BATCH_ROWS, SEED, setup_django

#: Table and columns of each kind, from backend/inventory/models.py. ``seed_run_id``
#: is left NULL. If the schema grows a NOT NULL column, the raw insert fails loudly.
RAW_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "applications": (
        "inventory_application",
        ("id", "code", "name", "vendor", "category", "version", "owner_team", "tier", "lifecycle"),
    ),
    "assets": (
        "inventory_asset",
        (
            "id",
            "hostname",
            "ip_address",
            "serial_number",
            "asset_type",
            "manufacturer",
            "model",
            "operating_system",
            "location",
            "lifecycle_status",
            "purchase_date",
            "owner_team",
            "assigned_to",
        ),
    ),
    "deployments": (
        "inventory_deployment",
        ("id", "application_id", "asset_id", "version", "environment", "status", "deployed_at"),
    ),
    "events": (
        "inventory_event",
        ("id", "asset_id", "deployment_id", "kind", "severity", "source", "message", "occurred_at"),
    ),
}
#: Share (in fifths) of raw events tied to a deployment: 3/5 = 60%, like the service
#: writes, so both paths pay for the same number of foreign-key checks.
RAW_EVENT_DEPLOYMENT_FIFTHS = 3
RAW_TIMESTAMP = "2026-10-01 00:00:00"  # the text form Django stores on SQLite; PostgreSQL parses it in UTC
RAW_DATE = "2026-01-01"

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


def application_rows(counts: Counts) -> Iterator[Row]:
    ids = range(1, counts["applications"] + 1)
    constants = ("app", "vendor", "category", "1.0.0", "team", "tier_3", "active")
    return zip(ids, map("A{}".format, ids), *map(repeat, constants))


def asset_rows(counts: Counts) -> Iterator[Row]:
    ids = range(1, counts["assets"] + 1)
    ips = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in ids)  # unique below 2**24 assets
    constants = ("server", "maker", "model", "os", "site", "in_use", RAW_DATE, "team", "")
    return zip(ids, map("h{}".format, ids), ips, map("S{}".format, ids), *map(repeat, constants))


def deployment_rows(counts: Counts) -> Iterator[Row]:
    """Ordinal k pairs application k mod A with asset k div A: every (application, asset) once."""
    applications = counts["applications"]
    return (
        (k + 1, k % applications + 1, k // applications + 1, "1.0.0", "production", "running", RAW_TIMESTAMP)
        for k in range(counts["deployments"])
    )


def event_rows(counts: Counts) -> Iterator[Row]:
    """All C-level iterators: the raw path should spend as little Python per row as possible."""
    ties = range(1, counts["deployments"] + 1)
    deployments = [d if d % 5 < RAW_EVENT_DEPLOYMENT_FIFTHS else None for d in ties] or [None]
    constants = ("alert", "info", "monitor", "message", RAW_TIMESTAMP)
    return zip(
        range(1, counts["events"] + 1),
        cycle(range(1, counts["assets"] + 1)),
        cycle(deployments),
        *map(repeat, constants),
    )


RAW_ROWS: dict[str, Callable[[Counts], Iterator[Row]]] = {
    "applications": application_rows,
    "assets": asset_rows,
    "deployments": deployment_rows,
    "events": event_rows,
}


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
    path = database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
        connection.execute(f"PRAGMA {pragma}")
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    for kind in KINDS:
        kind_start = time.perf_counter()
        table, columns = RAW_TABLES[kind]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in batches(RAW_ROWS[kind](counts), batch_rows):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, batch)
            connection.execute("COMMIT")
        seconds[kind] = time.perf_counter() - kind_start
    total = time.perf_counter() - start
    rss = max_rss_kib()
    written = {kind: connection.execute(f"SELECT COUNT(*) FROM {RAW_TABLES[kind][0]}").fetchone()[0] for kind in KINDS}
    connection.close()
    return _raw_result("sqlite", counts, written, seconds, total, rss, batch_rows, commit_each_batch=True)


def run_raw_postgres(database_url: str, counts: Counts, batch_rows: int, commit_each_batch: bool) -> dict[str, Any]:
    """One psycopg connection, one COPY per batch; commit per batch or once at the end.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so they are checked at
    COMMIT: with a single commit, every check lands at the end. That commit is charged
    to the last kind written and also reported on its own as ``commit_seconds``.
    """
    import psycopg

    seconds: dict[str, float] = {}
    with psycopg.connect(database_url) as connection:
        connection.execute("SET TIME ZONE 'UTC'")  # Django does the same; the timestamps are UTC text
        connection.commit()
        start = time.perf_counter()
        for kind in KINDS:
            kind_start = time.perf_counter()
            table, columns = RAW_TABLES[kind]
            with connection.cursor() as cursor:
                for batch in batches(RAW_ROWS[kind](counts), batch_rows):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
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
            kind: connection.execute(f"SELECT COUNT(*) FROM {RAW_TABLES[kind][0]}").fetchone()[0] for kind in KINDS
        }
    result = _raw_result("postgresql", counts, written, seconds, total, rss, batch_rows, commit_each_batch)
    return {**result, "commit_seconds": commit_seconds}


def _raw_result(
    vendor: str,
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
