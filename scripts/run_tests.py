"""Run the test suite twice, side by side: SQLite with the in-memory broker, and PostgreSQL with Redis.

The second pass runs whenever the servers answer; with CI=true an unreachable
PostgreSQL or Redis fails the run instead of being skipped. Tests marked
``postgres`` only run in the second pass, tests marked ``stub`` or ``once`` only in the first.
The first pass's output is kept in var/tests-sqlite.log and printed when both have ended.
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
#: Test processes of the PostgreSQL pass: two, so that 14 and 15 are the Redis databases it takes.
PROCESSES = int(os.environ.get("TEST_PROCESSES", "2"))


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


def start_pytest(label: str, env_changes: dict[str, str | None], args: list[str], log: Path | None = None):
    """Start one pass; its output goes to ``log`` (shown when it ends) or, without one, straight to ours."""
    print(f"\n=== tests on {label}{' (in the background; its output follows when it ends)' if log else ''} ===")
    sys.stdout.flush()
    output = log.open("w") if log else None
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(command, cwd=REPO, env=environment(env_changes), stdout=output, stderr=subprocess.STDOUT)


def main() -> int:
    args = sys.argv[1:]
    in_ci = os.environ.get("CI", "").lower() == "true"
    problems = [p for p in (postgres_problem(POSTGRES_URL), redis_problem(REDIS_URL)) if p]
    if problems and in_ci:
        print(f"\nFAILED: {'; '.join(problems)}. CI requires both: start them (see README, 'Services').", flush=True)
        return 1
    sqlite_log = REPO / "var" / "tests-sqlite.log"
    sqlite_log.parent.mkdir(exist_ok=True)
    # The passes share nothing (an SQLite file and no broker; PostgreSQL and Redis), so they run side by
    # side: the PostgreSQL pass mostly waits on the worker processes its tests start.
    sqlite_pass = start_pytest(
        "SQLite (a file: WAL, immediate transactions), in-memory broker",
        {"DATABASE_URL": f"sqlite:///{REPO / 'var' / 'tests.sqlite3'}", "REDIS_URL": None},
        ["-m", "not postgres", *args],
        log=None if problems else sqlite_log,
    )
    if problems:
        status = sqlite_pass.wait()
        print(f"\nWARNING: {'; '.join(problems)}. The PostgreSQL + Redis pass was NOT run.", flush=True)
        return status
    # Its tests in PROCESSES processes (pytest-xdist), a file's tests in one of them; each process has a
    # test database and a Redis database of its own (config/test_settings.py: 15, then 14).
    pg_pass = start_pytest(
        "PostgreSQL, Redis broker, real workers",
        {"DATABASE_URL": POSTGRES_URL, "REDIS_URL": REDIS_URL},
        ["-m", "not stub and not once", "-n", str(PROCESSES), "--dist", "loadfile", *args],
    )
    pg_status = pg_pass.wait()
    status = sqlite_pass.wait()
    print("\n=== the SQLite pass's output ===\n" + sqlite_log.read_text(), flush=True)
    verdicts = {"SQLite": status, "PostgreSQL": pg_status}
    print("; ".join(f"{name} pass: {'passed' if code == 0 else 'FAILED'}" for name, code in verdicts.items()))
    return status or pg_status


if __name__ == "__main__":
    sys.exit(main())
