"""Measure the async path on PostgreSQL + Redis: POST latency and plan L end to end.

What it prints (the numbers the async-seeding work is judged by):

* POST /api/v1/admin/seed-demo-data latency, p50 and p95 over 20 requests, for an
  inline 5,000-item plan (200) and for a queued plan L (202);
* plan L (5,000 applications, 50,000 assets, 100,000 deployments, 1,000,000 events)
  through the API with 1 and with 2 worker processes, from the POST to the run's
  finish, next to the raw single-connection COPY time for L measured in the same
  run (scripts/bench_child.py raw, databases.raw_copy_seconds);
* plan L through the API on SQLite with no Redis: the web process's embedded
  worker writes it (what `make serve` does without REDIS_URL).

It runs a real HTTP server (Django's runserver, debug off) and real
`rundramatiq` workers against a fresh database, logs in like a person
(session + CSRF) and talks HTTP. Needs PostgreSQL and Redis (see README).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from api_session import ApiSession
from common import BENCH_DIR, PLANS, REPO, percentile
from databases import raw_copy_seconds
from processes import workers
from servers import (
    add_server_arguments,
    fresh_server_env,
    logged_in_server,
    manage,
    migrate_with_superuser,
    seed_through_the_api,
    server_env,
)

PLAN_L = PLANS["L"]
PLAN_INLINE = {"applications": 100, "assets": 900, "deployments": 1_000, "events": 3_000}  # 5,000 items


def post_latencies(client: ApiSession, plan: dict, expect: int, count: int, cancel: bool) -> list[float]:
    latencies = []
    for _ in range(count):
        status, body, ms = client.call("POST", "/api/v1/admin/seed-demo-data", plan)
        if status != expect:
            raise RuntimeError(f"expected {expect}, got {status}: {body}")
        latencies.append(ms)
        if cancel:
            client.call("POST", f"/api/v1/admin/seed-runs/{body['run_id']}/cancel")
    return latencies


def end_to_end(client: ApiSession, env: dict, count: int, logs: Path) -> dict:
    """Clear, start ``count`` worker processes, and time plan L from the POST to its end."""
    manage(env, "seed_demo_data", "--clear", "--verbosity", "0")
    with workers(env, logs / f"workers-{count}.log", processes=count):
        run, wall = seed_through_the_api(client)
    return {"workers": count, "seconds": wall, "rows": run["total_done"], "rows_per_second": run["total_done"] / wall}


def embedded_sqlite_seconds(logs: Path) -> float:
    """Plan L through the API on an SQLite file, written by the web process's embedded worker."""
    for leftover in logs.glob("embedded.sqlite3*"):
        leftover.unlink()
    env = server_env(f"sqlite:///{logs / 'embedded.sqlite3'}")
    migrate_with_superuser(env)
    with logged_in_server(env, logs / "embedded.log") as client:
        _, wall = seed_through_the_api(client)
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    logs = BENCH_DIR
    logs.mkdir(parents=True, exist_ok=True)
    env = fresh_server_env(args.postgres_url, "demoseed_bench_async", args.redis_url)
    results: dict = {}
    with logged_in_server(env, logs / "server.log") as client:
        post_latencies(client, PLAN_INLINE, 200, 2, cancel=False)  # warm-up: imports, pools, connections
        inline = post_latencies(client, PLAN_INLINE, 200, args.requests, cancel=False)
        queued = post_latencies(client, PLAN_L, 202, args.requests, cancel=True)
        results["post_latency_ms"] = {
            "inline_5000": {"p50": statistics.median(inline), "p95": percentile(inline, 0.95), "target_p95": 300},
            "queued_L": {"p50": statistics.median(queued), "p95": percentile(queued, 0.95), "target_p95": 100},
        }
        results["end_to_end_L"] = [end_to_end(client, env, workers, logs) for workers in (1, 2)]
    results["raw_copy_L_seconds"] = raw_copy_seconds(args.postgres_url, PLAN_L)
    results["embedded_sqlite_L_seconds"] = embedded_sqlite_seconds(logs)

    print("\nPOST /api/v1/admin/seed-demo-data latency over", args.requests, "requests (PostgreSQL, Redis)")
    for name, row in results["post_latency_ms"].items():
        verdict = "PASS" if row["p95"] < row["target_p95"] else "MISS"
        print(
            f"  {name:<13} p50 {row['p50']:7.1f} ms   p95 {row['p95']:7.1f} ms   "
            f"target p95 < {row['target_p95']} ms: {verdict}"
        )
    raw = results["raw_copy_L_seconds"]
    print(f"\nPlan L end to end through the API (POST to succeeded); raw single-connection COPY: {raw:.1f} s")
    for row in results["end_to_end_L"]:
        verdict = "PASS" if row["workers"] == 1 or row["seconds"] <= raw else "MISS"
        note = "" if row["workers"] == 1 else f"   target <= raw COPY: {verdict}"
        print(f"  {row['workers']} worker(s): {row['seconds']:6.1f} s  {row['rows_per_second']:9,.0f} rows/s{note}")
    embedded = results["embedded_sqlite_L_seconds"]
    print(f"\nPlan L through the API on SQLite, embedded worker (no Redis): {embedded:.1f} s")
    (logs / "async.json").write_text(json.dumps(results, indent=2))
    print(f"\nResults written to {(logs / 'async.json').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
