"""Real processes for end-to-end tests: `rundramatiq` workers started the documented way, against
the test database and the configured Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Starts and stops `rundramatiq` process groups; their logs go to tmp_path."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(
        self,
        *,
        threads: int = 1,
        default_settings: bool = False,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        shutdown_timeout_ms: int = 3_000,
    ) -> subprocess.Popen:
        """A worker process group; unless ``default_settings``, with recovery shortened to seconds.

        The documented worker commands (Makefile, Procfile, docker-compose.yml) wait
        30,000 ms for chunks in flight on SIGTERM; tests stop theirs sooner unless they say so.
        """
        from django.conf import settings

        extra, env = (
            env or {},
            {
                **os.environ,
                "DATABASE_URL": database_url(),
                "REDIS_URL": redis_url or settings.REDIS_URL,
            },
        )
        if not default_settings:
            env.update(
                SEED_STALL_AFTER_SECONDS="3", SEED_SWEEP_INTERVAL_SECONDS="0.5", DRAMATIQ_HEARTBEAT_TIMEOUT_MS="3000"
            )
        env.update(extra)
        log = open(self.tmp_path / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [
                sys.executable,
                "backend/manage.py",
                "rundramatiq",
                "--processes",
                "1",
                "--threads",
                str(threads),
                "--worker-shutdown-timeout",
                str(shutdown_timeout_ms),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def wait_ready(self, count: int, timeout: float = 60.0) -> None:
        """Until ``count`` worker processes have logged Dramatiq's ready line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = sum(
                path.read_text().count("Worker process is ready for action.")
                for path in self.tmp_path.glob("worker-*.log")
            )
            if ready >= count:
                return
            time.sleep(0.2)
        pytest.fail(f"workers not ready after {timeout} s\n{self.logs()}")

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        process.wait(timeout=15)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.tmp_path.glob("worker-*.log")))


class RedisServer:
    """A throwaway redis-server on a free port, for tests that stop and restart it (never the shared one)."""

    def __init__(self, directory: Path, *, aof: bool):
        self.directory, self.aof = directory, aof
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--dir",
             str(self.directory), *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout == b"PONG\n":
                return
            time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """SHUTDOWN: with AOF its data is on disk; without persistence every message is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        if self.process is not None:
            self.process.wait(timeout=10)


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, a free port), for tests that stop it.

    Run as the ``postgres`` user when the tests run as root (PostgreSQL refuses
    root), so its directory is made outside pytest's root-only tmp_path.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="demoseed-pg-"))
        self.data = self.directory / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/demoseed"
        self._bin = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")

    def init(self) -> None:
        """initdb, start, create the ``demoseed`` database."""
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "demoseed")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "postgres.log")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown, as a service restart does: open transactions are rolled back, clients disconnected."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(self._as_owner(str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pg(self, program: str, *args: str) -> None:
        done = subprocess.run(self._as_owner(str(self._bin / program), *args), capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"{program} failed: {done.stderr or done.stdout}")

    def _as_owner(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)
