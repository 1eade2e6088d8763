"""No Redis at all: `make serve`'s web process queues a large plan on its embedded
in-process worker, which writes it to the end. A real server process over HTTP."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def login(self, username: str, password: str) -> None:
        self.opener.open(f"{self.base}/admin/login/").read()
        form = {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf(), "next": "/admin/"}
        request = urllib.request.Request(
            f"{self.base}/admin/login/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": self.base}
        )
        self.opener.open(request).read()

    def json(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf(), "Referer": self.base},
        )
        try:
            with self.opener.open(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def test_without_redis_the_web_process_finishes_a_queued_run(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        SEED_INLINE_THRESHOLD="100",
        SEED_CHUNK_SIZE="500",
        DJANGO_SUPERUSER_PASSWORD="embedded-test-password",
    )
    subprocess.run([*MANAGE, "migrate", "--verbosity=0"], env=env, check=True, cwd=REPO)
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
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.login("admin", "embedded-test-password")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        status, body = browser.json(
            "/api/v1/admin/seed-demo-data", {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000}
        )
        assert status == 202, body
        deadline = time.monotonic() + 60
        while True:
            _, run = browser.json(f"/api/v1/admin/seed-runs/{body['run_id']}")
            if run["status"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        assert run["status"] == "succeeded", run
        assert run["executor"] == "workers"
        assert run["done"] == {"applications": 20, "assets": 500, "deployments": 800, "events": 4_000}
        _, stats = browser.json("/api/v1/admin/demo-data-stats")
        assert stats["counts"]["events"] == {"total": 4_000, "demo": 4_000}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
