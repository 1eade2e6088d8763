"""Measure the async path on PostgreSQL + Redis: POST latency and plan L end to end.

What it prints (the numbers the async-seeding work is judged by):

* POST /api/v1/admin/seed-demo-data latency, p50 and p95 over 20 requests, for an
  inline 5,000-item plan (200) and for a queued plan L (202);
* plan L (5,000 applications, 50,000 assets, 100,000 deployments, 1,000,000 events)
  through the API with 1 and with 2 worker processes, from the POST to the run's
  finish, next to the raw single-connection COPY time for L measured in the same
  run (scripts/bench_child.py raw);
* plan L through the API on SQLite with no Redis: the web process's embedded
  worker writes it (what `make serve` does without REDIS_URL).

It runs a real HTTP server (Django's runserver, debug off) and real
`rundramatiq` workers against a fresh database, logs in like a person
(session + CSRF) and talks HTTP. Needs PostgreSQL and Redis (see README).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from api_session import ApiSession  # scripts/ is this script's import path
from common import PLANS

REPO = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]
PLAN_L = PLANS["L"]
PLAN_INLINE = {"applications": 100, "assets": 900, "deployments": 1_000, "events": 3_000}  # 5,000 items
PASSWORD = "measure-async-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(admin_url: str, name: str) -> str:
    import psycopg

    parts = urllib.parse.urlsplit(admin_url)
    params = {"host": parts.hostname, "port": parts.port or 5432, "user": parts.username, "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def server_env(database_url: str, *, redis_url: str | None = None) -> dict[str, str]:
    """The environment of a production-like web process (debug off), with or without Redis."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        DJANGO_HTTPS="false",  # plain HTTP on loopback: no TLS proxy in front
        DJANGO_SECRET_KEY="measure-not-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def migrate_with_superuser(env: dict[str, str]) -> None:
    """Migrate, collect the static files debug-off pages name, and make the measuring user."""
    subprocess.run([*MANAGE, "migrate", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    subprocess.run([*MANAGE, "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    subprocess.run(
        [*MANAGE, "createsuperuser", "--noinput", "--username", "bench", "--email", "b@example.com"],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
    )


@contextmanager
def logged_in_server(env: dict[str, str], log: Path):
    """A real HTTP server (runserver) on a free port, and a session logged in to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process([*MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"], env, log):
        wait_http(f"{base}/admin/login/")
        client = ApiSession(base)
        client.login("bench", PASSWORD)  # without Redis, the first request also starts the embedded worker
        yield client


def plan_l_through_the_api(client: ApiSession, plan: dict | None = None) -> tuple[dict, float]:
    """POST plan L (or ``plan``) and poll its status until it ends; returns the run and the seconds it took."""
    started = time.perf_counter()
    status, body, _ = client.call("POST", "/api/v1/admin/seed-demo-data", {**(plan or PLAN_L), "seed": 1})
    if status != 202:
        raise RuntimeError(f"expected 202, got {status}: {body}")
    while True:
        _, run, _ = client.call("GET", f"/api/v1/admin/seed-runs/{body['run_id']}")
        if run["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if run["status"] != "succeeded":
        raise RuntimeError(f"run ended {run['status']}: {run['error']}")
    return run, wall


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


def end_to_end(client: ApiSession, env: dict, workers: int, logs: Path) -> dict:
    subprocess.run([*MANAGE, "seed_demo_data", "--clear", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    worker_args = [*MANAGE, "rundramatiq", "--processes", str(workers), "--threads", "1"]
    with process(worker_args, env, logs / f"workers-{workers}.log"):
        time.sleep(4)  # workers import Django and connect before the clock starts
        run, wall = plan_l_through_the_api(client)
    return {"workers": workers, "seconds": wall, "rows": run["total_done"], "rows_per_second": run["total_done"] / wall}


def embedded_sqlite_seconds(logs: Path) -> float:
    """Plan L through the API on an SQLite file, written by the web process's embedded worker."""
    for leftover in logs.glob("embedded.sqlite3*"):
        leftover.unlink()
    env = server_env(f"sqlite:///{logs / 'embedded.sqlite3'}")
    migrate_with_superuser(env)
    with logged_in_server(env, logs / "embedded.log") as client:
        _, wall = plan_l_through_the_api(client)
    return wall


def raw_copy_seconds(admin_url: str) -> float:
    url = recreate_database(admin_url, "demoseed_measure_raw")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([*MANAGE, "migrate", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    counts = ["--plan=L"]
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_child.py"), "raw", "--database-url", url, *counts],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(result.stdout)["total_seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    logs = REPO / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    env = server_env(recreate_database(args.postgres_url, "demoseed_measure"), redis_url=args.redis_url)
    subprocess.run(["redis-cli", "-u", args.redis_url, "FLUSHDB"], check=True, capture_output=True)
    migrate_with_superuser(env)
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
    results["raw_copy_L_seconds"] = raw_copy_seconds(args.postgres_url)
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
