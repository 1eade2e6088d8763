"""`make bench-scale`: how seeding scales with worker processes, and to plan 10L, on PostgreSQL + Redis.

What it prints:

* plan L (1,155,000 rows) through the API with 1, 2 and 4 `rundramatiq` worker
  processes (one thread each), from the POST to the run's finish, in rows/s, next
  to the raw single-connection COPY of the same row counts measured in the same
  run (scripts/bench_child.py raw): the ceiling one connection reaches;
* plan 10L (11,550,000 rows) with 2 worker processes: its time against 10 x
  plan L's with 2 workers (the median of three runs of L; within 15 % is
  linear), and the workers' resident memory sampled every 2 s (flat: nothing
  accumulates per chunk);
* the PostgreSQL settings that decide 10L's pace (docs/operations.md,
  "PostgreSQL for large plans"); ``--tune-postgres`` sets docker-compose.yml's
  for the bench's duration, except ``shared_buffers`` (a restart).

A real HTTP server and real workers against a fresh database (scripts/servers.py,
scripts/processes.py), 8 to 10 minutes here. Needs PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import BENCH_DIR, PLANS, REPO
from databases import raw_copy_seconds
from processes import workers
from servers import add_server_arguments, fresh_server_env, logged_in_server, manage, seed_through_the_api

PLAN_L = PLANS["L"]
PLAN_10L = {kind: 10 * count for kind, count in PLAN_L.items()}

#: What docker-compose.yml gives PostgreSQL for bulk loads (docs/operations.md, "PostgreSQL for large plans").
BULK_LOAD_SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "15min", "wal_compression": "lz4"}


@contextmanager
def postgres_settings(admin_url: str, *, tune: bool) -> Iterator[dict[str, str]]:
    """The server's settings that decide plan 10L's pace, as they are during the bench.

    With ``tune``, BULK_LOAD_SETTINGS for the bench's duration (ALTER SYSTEM and a reload: a superuser's
    connection), and what was there before put back afterwards.
    """
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        altered = dict(conn.execute(  # what ALTER SYSTEM had set, to set again afterwards
            "SELECT name, setting FROM pg_file_settings WHERE applied AND name = ANY(%s) "
            "AND sourcefile LIKE '%%postgresql.auto.conf'", [list(BULK_LOAD_SETTINGS)]
        ).fetchall())  # fmt: skip
        if tune:
            try:
                for name, value in BULK_LOAD_SETTINGS.items():
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            except psycopg.errors.InsufficientPrivilege:
                print("--tune-postgres: ALTER SYSTEM needs a superuser; the bench runs with the server's settings")
                tune = False
            else:
                conn.execute("SELECT pg_reload_conf()")
                time.sleep(1)
        during = dict(conn.execute("SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
                                   [[*BULK_LOAD_SETTINGS, "shared_buffers"]]).fetchall())  # fmt: skip
    try:
        yield during
    finally:
        if tune:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                for name in BULK_LOAD_SETTINGS:
                    if name in altered:
                        conn.execute(f"ALTER SYSTEM SET {name} = '{altered[name]}'")
                    else:
                        conn.execute(f"ALTER SYSTEM RESET {name}")
                conn.execute("SELECT pg_reload_conf()")


class RssSampler:
    """Resident memory of a process group's worker processes (the rundramatiq children), every ``period`` s."""

    def __init__(self, main_pid: int, period: float = 2.0):
        self.main_pid, self.period = main_pid, period
        self.samples: list[float] = []  # MB, summed over the worker processes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            total = sum(_rss_mb(pid) for pid in _descendants(self.main_pid))
            if total:
                self.samples.append(total)


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found.extend(int(child) for child in children)
        frontier.extend(int(child) for child in children)
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def through_workers(client, env: dict, plan: dict, count: int, logs: Path) -> dict:
    """Clear, start ``count`` worker processes, POST ``plan``, poll until it ends."""
    manage(env, "seed_demo_data", "--clear", "--verbosity", "0")
    with workers(env, logs / f"scale-workers-{count}.log", processes=count) as main, RssSampler(main.pid) as rss:
        run, wall = seed_through_the_api(client, plan)
    return {"workers": count, "rows": run["total_done"], "seconds": wall, "rows_per_second": run["total_done"] / wall,
            "rss_mb": rss.samples}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--skip-10l", action="store_true", help="plan L only (about a minute)")
    parser.add_argument(
        "--tune-postgres",
        action="store_true",
        help="run with docker-compose.yml's PostgreSQL settings for bulk loads (ALTER SYSTEM for the bench's "
        "duration, then put back; needs a superuser): " + ", ".join(f"{k}={v}" for k, v in BULK_LOAD_SETTINGS.items()),
    )
    args = parser.parse_args()

    logs = BENCH_DIR
    logs.mkdir(parents=True, exist_ok=True)
    env = fresh_server_env(args.postgres_url, "demoseed_scale", args.redis_url)
    with postgres_settings(args.postgres_url, tune=args.tune_postgres) as server_settings:
        results: dict = {
            "postgres_settings": server_settings,
            "raw_copy_L_seconds": raw_copy_seconds(args.postgres_url, PLAN_L),
        }
        with logged_in_server(env, logs / "scale-server.log") as client:
            results["L"] = [through_workers(client, env, PLAN_L, workers, logs) for workers in (1, 2, 4)]
            if not args.skip_10l:
                # The yardstick for 10L: single runs of L move by 10-20 % here, so the median of three.
                results["L_2_workers_again"] = [through_workers(client, env, PLAN_L, 2, logs) for _ in range(2)]
                results["10L"] = through_workers(client, env, PLAN_10L, 2, logs)

    raw = results["raw_copy_L_seconds"]
    print("\nPostgreSQL: " + ", ".join(f"{name}={value}" for name, value in server_settings.items())
          + (" (set for this bench: --tune-postgres)" if args.tune_postgres else ""))  # fmt: skip
    rows_l = sum(PLAN_L.values())
    print(f"\nPlan L ({rows_l:,} rows) on PostgreSQL, POST to succeeded; raw single-connection COPY of L in the "
          f"same run: {raw:.1f} s ({rows_l / raw:,.0f} rows/s)")  # fmt: skip
    for row in results["L"]:
        print(f"  {row['workers']} worker process(es): {row['seconds']:6.1f} s  {row['rows_per_second']:9,.0f} rows/s"
              f"  ({raw / row['seconds']:.2f} x raw COPY)")  # fmt: skip
    if "10L" in results:
        big = results["10L"]
        runs = [next(row for row in results["L"] if row["workers"] == 2), *results["L_2_workers_again"]]
        two = statistics.median(row["seconds"] for row in runs)
        ratio = big["seconds"] / (10 * two)
        rss = big["rss_mb"] or [0.0]
        third = max(1, len(rss) // 3)
        print(f"\nPlan 10L ({big['rows']:,} rows), 2 worker processes: {big['seconds']:.1f} s, "
              f"{big['rows_per_second']:,.0f} rows/s; 10 x L with 2 workers: {10 * two:.1f} s (L: median of "
              f"{', '.join(format(row['seconds'], '.1f') for row in runs)} s); "
              f"ratio {ratio:.2f} ({'within' if ratio <= 1.15 else 'NOT within'} 15 %)")  # fmt: skip
        print(f"  worker RSS (both processes): first third median {statistics.median(rss[:third]):.0f} MB, "
              f"last third median {statistics.median(rss[-third:]):.0f} MB, max {max(rss):.0f} MB "
              f"({len(rss)} samples)")  # fmt: skip
    (logs / "scale.json").write_text(json.dumps(results, indent=2))
    print(f"\nResults written to {(logs / 'scale.json').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
