"""Processes the scripts start and wait for: a free port, a process stopped with its children whatever
happens, a server that answers, Dramatiq workers that have booted, a Redis database emptied.

Every script that runs servers or workers against a scratch database needs the same few steps; here they
are written once, so a fix (a longer grace period, a port race) reaches every script at the same time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import MANAGE, REPO

#: How long a `rundramatiq` worker takes here to import Django and connect to Redis before a clock starts.
WORKER_BOOT_SECONDS = 4


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    """Until something accepts connections on 127.0.0.1:``port``; SystemExit after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start on port {port}")


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until ``url`` answers at all (an HTTP error status counts: the server is up); RuntimeError otherwise."""
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


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """``args`` running from the repository root, its output in ``log``; on leaving, its whole process group
    gets SIGTERM, then SIGKILL after 20 s (workers fork children, which must not outlive the script)."""
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


@contextmanager
def workers(env: dict[str, str], log: Path, processes: int = 1, threads: int = 1) -> Iterator[subprocess.Popen]:
    """`rundramatiq` with ``processes`` x ``threads``, given WORKER_BOOT_SECONDS to boot before the caller's
    clock starts (a run posted earlier would wait for them, and that wait is not what is measured)."""
    args = [*MANAGE, "rundramatiq", "--processes", str(processes), "--threads", str(threads)]
    with process(args, env, log) as main:
        time.sleep(WORKER_BOOT_SECONDS)
        yield main


def flush_redis(redis_url: str) -> None:
    """Empty the Redis database ``redis_url`` names: no message or worker record left by an earlier run."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
