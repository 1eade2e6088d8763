"""Run the test suite twice: SQLite with the in-memory broker, then PostgreSQL with Redis.

The second pass runs whenever the servers answer; with CI=true an unreachable
PostgreSQL or Redis fails the run instead of being skipped. Tests marked
``postgres`` only run in the second pass, tests marked ``stub`` or ``once`` only in the first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed")
# A database number of its own, so tests never flush a developer's queues (a second test process takes
# the one below it; the fuzz run and the compose smoke test use 12 and 13).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: Test processes of the PostgreSQL pass (pytest-xdist). One by default: several on this 2-core machine made
#: the tests that time real runs (estimates, time limits) miss under the load; 2 takes Redis databases 15 and 14.
PROCESSES = int(os.environ.get("TEST_PROCESSES", "1"))


def postgres_problem(url: str) -> str | None:
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username,
            password=parts.password,
            dbname="postgres",
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable ({str(exc).strip()})"


def redis_problem(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return None
            return f"Redis at {parts.hostname}:{parts.port or 6379} did not answer PING"
    except OSError as exc:
        return f"Redis at {parts.hostname}:{parts.port or 6379} is not reachable ({exc})"


def environment(env_changes: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def start_pytest(label: str, env_changes: dict[str, str | None], args: list[str]) -> subprocess.Popen:
    """Start one pass, its output straight to ours."""
    print(f"\n=== tests on {label} ===", flush=True)
    return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=REPO, env=environment(env_changes))


def main() -> int:
    args = sys.argv[1:]
    in_ci = os.environ.get("CI", "").lower() == "true"
    status = start_pytest(
        "SQLite (a file: WAL, immediate transactions), in-memory broker",
        {"DATABASE_URL": f"sqlite:///{REPO / 'var' / 'tests.sqlite3'}", "REDIS_URL": None},
        ["-m", "not postgres", *args],
    ).wait()
    problems = [p for p in (postgres_problem(POSTGRES_URL), redis_problem(REDIS_URL)) if p]
    if problems:
        message = "; ".join(problems)
        if in_ci:
            print(f"\nFAILED: {message}. CI requires both: start them (see README, 'Services').", flush=True)
            return 1
        print(f"\nWARNING: {message}. The PostgreSQL + Redis pass was NOT run.", flush=True)
        return status
    # With TEST_PROCESSES above 1, its tests in that many processes (pytest-xdist), a file's tests in one of
    # them; each process has a test database and a Redis database of its own (config/test_settings.py).
    parallel = ["-n", str(PROCESSES), "--dist", "loadfile"] if PROCESSES > 1 else []
    pg_status = start_pytest(
        "PostgreSQL, Redis broker, real workers",
        {"DATABASE_URL": POSTGRES_URL, "REDIS_URL": REDIS_URL},
        ["-m", "not stub and not once", *parallel, *args],
    ).wait()
    return status or pg_status


if __name__ == "__main__":
    sys.exit(main())
