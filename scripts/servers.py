"""A production-like web process on a scratch database, a session logged in to it, and a plan posted
through it and followed to its end: how the benchmarks measure what a person using the API would see.

The server is Django's runserver with debug off (static files collected, as the image does); the user is
a superuser made from DJANGO_SUPERUSER_PASSWORD; the session is api_session.ApiSession (cookies, CSRF).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api_session import ApiSession
from common import MANAGE, PLANS, REPO
from databases import recreate_database
from processes import flush_redis, free_port, process, wait_http

USER, PASSWORD = "bench", "bench-password"
#: The servers the benchmarks talk to unless told otherwise (BENCH_POSTGRES_URL, BENCH_REDIS_URL).
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def add_server_arguments(parser: argparse.ArgumentParser, *, redis: bool = True) -> None:
    """--postgres-url (a server the script makes its scratch databases on) and, with ``redis``, --redis-url."""
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="PostgreSQL server (BENCH_POSTGRES_URL)")
    if redis:
        parser.add_argument("--redis-url", default=REDIS_URL, help="Redis database, emptied (BENCH_REDIS_URL)")


def server_env(database_url: str, *, redis_url: str | None = None) -> dict[str, str]:
    """The environment of a production-like web process (debug off), with or without Redis."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        DJANGO_HTTPS="false",  # plain HTTP on loopback: no TLS proxy in front
        DJANGO_SECRET_KEY="bench-not-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def fresh_server_env(postgres_url: str, name: str, redis_url: str) -> dict[str, str]:
    """A scratch PostgreSQL database ``name`` (dropped first), migrated with the measuring user, and an emptied
    Redis: the environment of a web process or worker on them."""
    env = server_env(recreate_database(postgres_url, name), redis_url=redis_url)
    flush_redis(redis_url)
    migrate_with_superuser(env)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """``manage.py args`` in ``env``'s database; its output, or RuntimeError with the end of its errors."""
    done = subprocess.run([*MANAGE, *args], env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def migrate_with_superuser(env: dict[str, str]) -> None:
    """Migrate, collect the static files debug-off pages name, and make the measuring user."""
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "createsuperuser", "--noinput", "--username", USER, "--email", "bench@example.com")


def seed_with_the_command(env: dict[str, str], plan: str) -> float:
    """Seed the named ``plan`` inline with ``seed_demo_data --sync``; returns the seconds it took."""
    started = time.perf_counter()
    manage(env, "seed_demo_data", "--sync", f"--plan={plan}", "--as-of=2026-11-01T00:00:00Z", "--verbosity=0")
    return time.perf_counter() - started


@contextmanager
def logged_in_server(env: dict[str, str], log: Path) -> Iterator[ApiSession]:
    """A real HTTP server (runserver) on a free port, and a session logged in to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process([*MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"], env, log):
        wait_http(f"{base}/admin/login/")
        client = ApiSession(base)
        client.login(USER, PASSWORD)  # without Redis, the first request also starts the embedded worker
        yield client


def seed_through_the_api(client: ApiSession, plan: dict[str, int] | None = None) -> tuple[dict, float]:
    """POST plan L (or ``plan``) and poll its status until it ends; returns the run and the seconds it took."""
    started = time.perf_counter()
    status, body, _ = client.call("POST", "/api/v1/admin/seed-demo-data", {**(plan or PLANS["L"]), "seed": 1})
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
