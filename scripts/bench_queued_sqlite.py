"""Queued plan L on SQLite against the same plan inline, side by side in one run: the time each took and the ratio.

The paths, each on a fresh SQLite file of this script's own, in turn (``--rounds`` times, so that a
loaded machine shows in every path alike rather than in one):

* ``inline``: ``seed_demo_data --sync``, the command writing the plan in its own process;
* ``embedded``: POST to the API of a web process with no REDIS_URL, whose embedded worker writes it
  (what ``make serve`` does without Redis);
* ``redis``: POST to the API of a web process with REDIS_URL, one ``rundramatiq`` worker process
  (one thread) writing it (needs Redis; ``--paths inline,embedded`` leaves it out).

Each path's time is its run's own, from the row's ``created_at`` to its ``finished_at`` (process start-up
is not counted, queueing is); the API paths also print POST to succeeded as the client saw it. The target
(issue 19): every queued path within 2x of inline.

    .venv/bin/python scripts/bench_queued_sqlite.py [--rounds 2] [--paths inline,embedded,redis]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from common import PLANS
from processes import flush_redis, workers
from servers import REDIS_URL, logged_in_server, manage, migrate_with_superuser, seed_through_the_api, server_env

PLAN_L = PLANS["L"]
PATHS = ("inline", "embedded", "redis")
TARGET_RATIO = 2.0


def run_seconds(database: Path) -> float:
    """created_at to finished_at of the only run in ``database``."""
    with sqlite3.connect(database) as connection:
        created, finished, status = connection.execute(
            "SELECT created_at, finished_at, status FROM seeding_seedrun ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if status != "succeeded":
        raise RuntimeError(f"the run in {database} ended {status}")
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(created)).total_seconds()


def inline(database: Path, logs: Path) -> tuple[float, float | None]:
    env = server_env(f"sqlite:///{database}")
    manage(env, "migrate", "--verbosity=0")
    manage(env, "seed_demo_data", "--plan=L", "--seed=1", "--sync", "--verbosity=0")
    return run_seconds(database), None


def queued(database: Path, logs: Path, *, redis: bool) -> tuple[float, float | None]:
    env = server_env(f"sqlite:///{database}", redis_url=REDIS_URL if redis else None)
    migrate_with_superuser(env)
    if not redis:
        with logged_in_server(env, logs / "embedded.log") as client:
            _, wall = seed_through_the_api(client)
        return run_seconds(database), wall
    flush_redis(REDIS_URL)
    with workers(env, logs / "worker.log"), logged_in_server(env, logs / "redis-web.log") as client:
        _, wall = seed_through_the_api(client)
    return run_seconds(database), wall


def measure(path: str, scratch: Path) -> tuple[float, float | None]:
    database = scratch / f"{path}.sqlite3"
    for leftover in scratch.glob(f"{path}.sqlite3*"):
        leftover.unlink()
    if path == "inline":
        return inline(database, scratch)
    return queued(database, scratch, redis=path == "redis")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated, of: " + ", ".join(PATHS))
    parser.add_argument("--rounds", type=int, default=1, help="measure every path this many times, in turn")
    args = parser.parse_args()
    queued_paths = [path for path in args.paths.split(",") if path != "inline"]
    paths = ["inline", *queued_paths]  # inline first in every round: each queued path's ratio is to that round's
    print(f"plan L on SQLite: {sum(PLAN_L.values()):,} rows; run = created_at to finished_at of the run's row")
    print(f"{'round':<7}{'path':<10}{'run':>9}{'POST->done':>12}{'vs inline':>11}")
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    with tempfile.TemporaryDirectory(prefix="bench-queued-sqlite-") as scratch:
        for round_number in range(1, args.rounds + 1):
            for path in paths:
                took, wall = measure(path, Path(scratch))
                seconds[path].append(took)
                ratio = took / seconds["inline"][-1]
                client = f"{wall:>11.1f}s" if wall is not None else f"{'':>12}"
                print(f"{round_number:<7}{path:<10}{took:>8.1f}s{client}{ratio:>10.2f}x", flush=True)
    inline_median = statistics.median(seconds["inline"])
    worst = 0.0
    print(f"\nmedians (inline {inline_median:.1f} s):")
    for path in queued_paths:
        median = statistics.median(seconds[path])
        ratio = median / inline_median
        worst = max(worst, ratio)
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        print(f"  {path:<10}{median:6.1f} s  {ratio:5.2f}x inline  target <= {TARGET_RATIO:g}x: {verdict}")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
