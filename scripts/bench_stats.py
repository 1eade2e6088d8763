"""``make bench-stats``: how long GET /api/v1/admin/demo-data-stats takes with plan 2xL seeded.

For SQLite (a file, as ``make demo`` uses) and PostgreSQL: a fresh database,
plan 2xL (10,000 applications, 100,000 assets, 200,000 deployments, 2,000,000
events) seeded with the command, then a real HTTP server (runserver, debug off)
asked for the stats by a logged-in session, 50 times after 3 warm-ups. Prints
p50 and p95 (target: p95 under 100 ms) and checks the counts are exact.
PostgreSQL is skipped, and said so, when it cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from common import BENCH_DIR, PLANS, percentile
from databases import recreate_database
from servers import add_server_arguments, logged_in_server, migrate_with_superuser, seed_with_the_command, server_env

PLAN_2XL = PLANS["2xL"]
TARGET_P95_MS = 100.0


def measure(database_url: str, label: str, requests: int, logs: Path) -> dict:
    env = server_env(database_url)
    migrate_with_superuser(env)
    print(f"  {label}: seeded plan 2xL in {seed_with_the_command(env, '2xL'):.1f} s", flush=True)
    with logged_in_server(env, logs / f"stats-{label}.log") as client:
        timings = []
        for attempt in range(3 + requests):
            status, body, ms = client.call("GET", "/api/v1/admin/demo-data-stats")
            if status != 200:
                raise RuntimeError(f"expected 200, got {status}: {body}")
            if attempt >= 3:
                timings.append(ms)
    exact = {kind: row["total"] for kind, row in body["counts"].items()} == PLAN_2XL
    if not exact:
        raise RuntimeError(f"the counts are not exact: {body['counts']}")
    return {"p50": statistics.median(timings), "p95": percentile(timings, 0.95), "requests": requests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser, redis=False)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    logs = BENCH_DIR
    logs.mkdir(parents=True, exist_ok=True)

    results = {}
    sqlite_file = logs / "stats.sqlite3"
    for leftover in logs.glob("stats.sqlite3*"):
        leftover.unlink()
    results["sqlite"] = measure(f"sqlite:///{sqlite_file}", "sqlite", args.requests, logs)
    try:
        url = recreate_database(args.postgres_url, "demoseed_bench_stats")
    except Exception as exc:  # any failure to connect: say so and go on
        print(f"  postgresql: not measured, the server cannot be reached ({exc})")
    else:
        results["postgresql"] = measure(url, "postgresql", args.requests, logs)

    print(f"\nGET /api/v1/admin/demo-data-stats with plan 2xL seeded, {args.requests} requests, counts exact")
    for vendor, row in results.items():
        verdict = "PASS" if row["p95"] < TARGET_P95_MS else "MISS"
        print(f"  {vendor:<11} p50 {row['p50']:6.1f} ms   p95 {row['p95']:6.1f} ms   target p95 < 100 ms: {verdict}")
    (logs / "stats.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
