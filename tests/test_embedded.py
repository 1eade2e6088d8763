"""No Redis at all: `make serve`'s web process queues a large plan on its embedded
in-process worker, which writes it to the end. A real server process over HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.api_session import ApiSession

# A server of its own on an SQLite file: the same test in either pass, so it runs in the first only.
pytestmark = pytest.mark.once

REPO = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]


def index_sql(database: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return dict(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_the_web_process_finishes_a_queued_run(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        SEED_INLINE_THRESHOLD="100",
        SEED_CHUNK_SIZE="500",
        DJANGO_SUPERUSER_PASSWORD="embedded-test-password",
        SEEDING_LOG_LEVEL="INFO",
    )
    subprocess.run([*MANAGE, "migrate", "--verbosity=0"], env=env, check=True, cwd=REPO)
    indexes_after_migrate = index_sql(tmp_path / "serve.sqlite3")
    subprocess.run(
        [*MANAGE, "createsuperuser", "--noinput", "--username=admin", "--email=a@example.com"],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [*MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        browser = ApiSession(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.login("admin", "embedded-test-password")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        status, body, _ = browser.call(
            "POST",
            "/api/v1/admin/seed-demo-data",
            {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000},
        )
        assert status == 202, body
        deadline = time.monotonic() + 60
        while True:
            _, run, _ = browser.call("GET", f"/api/v1/admin/seed-runs/{body['run_id']}")
            if run["status"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        assert run["status"] == "succeeded", run
        assert run["executor"] == "workers"
        assert run["done"] == {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000}
        _, stats, _ = browser.call("GET", "/api/v1/admin/demo-data-stats")
        assert stats["counts"]["events"] == {"total": 4_000, "demo": 4_000}
        # The embedded worker loads the empty tables with their secondary indexes deferred, as inline runs do,
        # and leaves the schema as it found it.
        assert "deferred 4 indexes until its events are written" in (tmp_path / "server.log").read_text()
        assert index_sql(tmp_path / "serve.sqlite3") == indexes_after_migrate
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
