"""No Redis at all: `make serve`'s web process queues a large plan on its embedded
in-process worker, which writes it to the end. A real server process over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from scripts.api_session import ApiSession
from tests.support.databases import sqlite_index_sql
from tests.support.paths import MANAGE, REPO
from tests.support.ports import free_port
from tests.support.waiting import wait_until

# A server of its own on an SQLite file: the same test in either pass, so it runs in the first only.
pytestmark = [pytest.mark.once, pytest.mark.slow]


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
    indexes_after_migrate = sqlite_index_sql(tmp_path / "serve.sqlite3")
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

        def server_log() -> str:
            return (tmp_path / "server.log").read_text()

        def logged_in() -> bool:
            try:
                browser.login("admin", "embedded-test-password")
            except OSError:
                return False  # not listening yet
            return True

        wait_until(logged_in, timeout=30, interval=0.3, message=lambda: f"the server to log in\n{server_log()}")
        status, body, _ = browser.call(
            "POST",
            "/api/v1/admin/seed-demo-data",
            {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000},
        )
        assert status == 202, body

        def ended() -> dict | None:
            _, run, _ = browser.call("GET", f"/api/v1/admin/seed-runs/{body['run_id']}")
            return run if run["status"] not in ("queued", "running") else None

        run = wait_until(ended, timeout=60, interval=0.3, message=lambda: f"the run to end\n{server_log()}")
        assert run["status"] == "succeeded", run
        assert run["executor"] == "workers"
        assert run["done"] == {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000}
        _, stats, _ = browser.call("GET", "/api/v1/admin/demo-data-stats")
        assert stats["counts"]["events"] == {"total": 4_000, "demo": 4_000}
        # The embedded worker loads the empty tables with their secondary indexes deferred, as inline runs do,
        # and leaves the schema as it found it.
        assert "deferred 4 indexes until its events are written" in (tmp_path / "server.log").read_text()
        assert sqlite_index_sql(tmp_path / "serve.sqlite3") == indexes_after_migrate
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
