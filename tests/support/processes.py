"""Real processes for end-to-end tests: `rundramatiq` workers started the documented way, against
the test database and the configured Redis, and a throwaway redis-server for tests that stop one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.databases import database_url
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.waiting import wait_until


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

        def ready() -> bool:
            logs = self.tmp_path.glob("worker-*.log")
            return sum(path.read_text().count("Worker process is ready for action.") for path in logs) >= count

        wait_until(ready, timeout=timeout, interval=0.2, message=self.awaiting(f"{count} workers' ready lines"))

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

    def awaiting(self, what: str) -> Callable[[], str]:
        """A ``wait_until`` message: ``what``, then the workers' logs (read only if the wait gives up)."""
        return lambda: f"{what}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.tmp_path.glob("worker-*.log")))


class RedisServer:
    """A throwaway redis-server on a free port, for tests that stop and restart it (never the shared one)."""

    def __init__(self, directory: Path, *, aof: bool):
        self.directory, self.aof = directory, aof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--dir",
             str(self.directory), *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

        def answers() -> bool:
            return subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout == b"PONG\n"

        wait_until(answers, timeout=10, interval=0.05, message=f"redis-server on port {self.port} to answer PING")

    def stop(self) -> None:
        """SHUTDOWN: with AOF its data is on disk; without persistence every message is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        if self.process is not None:
            self.process.wait(timeout=10)
