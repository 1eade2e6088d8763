"""Are dry-run estimates right at plan L? Estimate vs actual on each path, after one run of the same plan.

For each path (inline on SQLite and on PostgreSQL through the command; the embedded worker on SQLite
and one `rundramatiq` worker process on PostgreSQL + Redis, both through the API), on a fresh
database: write plan L, clear, ask for the estimate of plan L (``seed_request_preview``, what
``--dry-run`` prints), write plan L again, and print the estimate, the time it took (the command's
wall time; POST to succeeded through the API), their ratio and the estimate's basis. The target is a
ratio within 0.65 to 1.35.

    .venv/bin/python scripts/bench_estimates.py [--paths sqlite-inline,sqlite-embedded,postgres-inline,postgres-worker]

PostgreSQL paths need PostgreSQL and Redis (README, Services); the databases are scratch ones of
this script's own (``demoseed_bench_estimates``, an SQLite file in a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import PLANS
from databases import recreate_database
from processes import workers
from servers import REDIS_URL, logged_in_server, manage, migrate_with_superuser, seed_through_the_api, server_env

PLAN_L = PLANS["L"]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed")
PATHS = ("sqlite-inline", "sqlite-embedded", "postgres-inline", "postgres-worker")
PLAN_FLAGS = ["--plan=L", "--seed=1"]
PREVIEW = """
from seeding import services
from seeding.plan import SeedPlan
preview = services.seed_request_preview(plan=SeedPlan(**{plan}, seed=1), mode="{mode}")
print(preview.estimated_seconds)
print(preview.estimate_basis)
"""


def estimate(env: dict[str, str], mode: str) -> tuple[float, str]:
    """What a dry run of plan L would say now: seconds and basis."""
    seconds, basis = manage(env, "shell", "-c", PREVIEW.format(plan=PLAN_L, mode=mode)).strip().splitlines()[-2:]
    return float(seconds), basis


def inline(env: dict[str, str]) -> tuple[float, float, str]:
    """Plan L through the command, twice; the second run's wall time against its estimate."""
    manage(env, "migrate", "--verbosity=0")
    manage(env, "seed_demo_data", *PLAN_FLAGS, "--sync", "--verbosity=0")
    manage(env, "seed_demo_data", "--clear", "--verbosity=0")
    seconds, basis = estimate(env, "inline")
    started = time.perf_counter()
    manage(env, "seed_demo_data", *PLAN_FLAGS, "--sync", "--verbosity=0")
    return seconds, time.perf_counter() - started, basis


def through_the_api(env: dict[str, str], logs: Path) -> tuple[float, float, str]:
    """Plan L through the API, twice; the second run's POST-to-succeeded time against its estimate."""
    with logged_in_server(env, logs / "server.log") as client:
        seed_through_the_api(client)
        manage(env, "seed_demo_data", "--clear", "--verbosity=0")
        seconds, basis = estimate(env, "queued")
        _, took = seed_through_the_api(client)
    return seconds, took, basis


def measure(path: str, logs: Path) -> tuple[float, float, str]:
    if path == "sqlite-inline":
        return inline(server_env(f"sqlite:///{logs / 'inline.sqlite3'}"))
    if path == "sqlite-embedded":
        env = server_env(f"sqlite:///{logs / 'embedded.sqlite3'}")
        migrate_with_superuser(env)
        return through_the_api(env, logs)
    database = recreate_database(POSTGRES_URL, "demoseed_bench_estimates")
    if path == "postgres-inline":
        return inline(server_env(database))
    env = server_env(database, redis_url=REDIS_URL)
    migrate_with_superuser(env)
    with workers(env, logs / "worker.log"):  # booted and named in Redis before the estimate counts it
        return through_the_api(env, logs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated, of: " + ", ".join(PATHS))
    args = parser.parse_args()
    print(f"plan L: {sum(PLAN_L.values()):,} rows; each path: run, clear, estimate, run again")
    print(f"{'path':<17}{'estimate':>10}{'actual':>10}{'ratio':>8}  basis")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-estimates-") as scratch:
        for path in args.paths.split(","):
            seconds, took, basis = measure(path, Path(scratch))
            worst = max(worst, abs(took / seconds - 1))
            print(f"{path:<17}{seconds:>9.1f}s{took:>9.1f}s{took / seconds:>8.2f}  {basis}", flush=True)
    print(f"largest miss: {worst:.0%} (target: within 35 %)")
    return 0 if worst <= 0.35 else 1


if __name__ == "__main__":
    sys.exit(main())
