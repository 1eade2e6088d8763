"""Run the test suite twice: SQLite with the in-memory broker, and PostgreSQL with Redis.

The PostgreSQL pass runs whenever the servers answer; with CI=true an unreachable
PostgreSQL or Redis fails the run instead of being skipped. Tests marked
``postgres`` only run in the PostgreSQL pass, tests marked ``stub`` or ``once`` only in the SQLite pass.

Two phases, so the suite takes the time of its longest part rather than the sum:

1. Both passes side by side (they share nothing: an SQLite file and no broker;
   PostgreSQL and Redis), the PostgreSQL pass's files spread over
   ``TEST_PROCESSES`` pytest-xdist processes (each with a test database and a
   Redis database of its own, config/test_settings.py). Most of that pass waits
   on the worker processes and servers its tests start, which is why it
   overlaps well even on two cores. The SQLite pass's output is kept in
   var/tests-sqlite.log and shown when it ends.
2. Then the tests marked ``timed`` (they compare how long real work takes with
   an estimate or a limit, which other load would distort), alone: SQLite, then
   PostgreSQL.
3. With CI=true (CI runs as root), the tests marked ``hosts``: workers on hosts of
   their own, in network namespaces, against a PostgreSQL and a Redis server of
   their own on a bridge (scripts/hosts.py, started by the tests), so that a
   partition is a real one. ``--hosts`` runs only those (``make test-hosts``).

``TEST_PROCESSES=1`` runs the PostgreSQL pass in one process (still beside the SQLite pass).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import hosts  # scripts/hosts.py: this script's directory is first on sys.path

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed")
# A database number of its own, so tests never flush a developer's queues (each further test process takes
# the one below it: 11, 10, 9; the fuzz run and the compose smoke test use 12 and 13).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
#: Test processes of the PostgreSQL pass's first phase (pytest-xdist). Most of its tests wait on the worker
#: processes and servers they start, so three overlap well on two cores.
PROCESSES = int(os.environ.get("TEST_PROCESSES", "3"))
SQLITE_URL = f"sqlite:///{REPO / 'var' / 'tests.sqlite3'}"
#: pytest's exit status when no test was selected (a -k that leaves no timed test, say): not a failure here.
NO_TESTS_COLLECTED = 5


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
    print(f"\n=== {label}{' (in the background; its output follows when it ends)' if log else ''} ===", flush=True)
    output = log.open("w") if log else None
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(command, cwd=REPO, env=environment(env_changes), stdout=output, stderr=subprocess.STDOUT)


def passed(status: int) -> bool:
    return status in (0, NO_TESTS_COLLECTED)


SQLITE = {"DATABASE_URL": SQLITE_URL, "REDIS_URL": None}
SQLITE_LABEL = "SQLite (a file: WAL, immediate transactions), in-memory broker"
PG_LABEL = "PostgreSQL, Redis broker, real workers"


def start_hosts_pass(args: list[str]):
    """The tests marked ``hosts``, on the servers those tests start themselves (scripts/hosts.py)."""
    servers = {"DATABASE_URL": hosts.DATABASE_URL, "REDIS_URL": hosts.REDIS_URL}
    return start_pytest("tests on separate hosts: workers, PostgreSQL and Redis in namespaces of their own",
                        servers, ["-m", "hosts", *args])  # fmt: skip


def main() -> int:
    args = sys.argv[1:]
    in_ci = os.environ.get("CI", "").lower() == "true"
    if "--hosts" in args:  # make test-hosts: workers on hosts of their own (network namespaces; root)
        args.remove("--hosts")
        return 0 if start_hosts_pass(args).wait() == 0 else 1
    problems = [p for p in (postgres_problem(POSTGRES_URL), redis_problem(REDIS_URL)) if p]
    if problems and in_ci:
        print(f"\nFAILED: {'; '.join(problems)}. CI requires both: start them (see README, 'Services').", flush=True)
        return 1
    postgres = {"DATABASE_URL": POSTGRES_URL, "REDIS_URL": REDIS_URL}
    sqlite_log = REPO / "var" / "tests-sqlite.log"
    sqlite_log.parent.mkdir(exist_ok=True)
    statuses: dict[str, int] = {}

    sqlite_pass = start_pytest(
        f"tests on {SQLITE_LABEL}",
        SQLITE,
        ["-m", "not postgres and not timed", *args],
        log=None if problems else sqlite_log,
    )
    if not problems:
        parallel = ["-n", str(PROCESSES), "--dist", "loadfile"] if PROCESSES > 1 else []
        pg_pass = start_pytest(
            f"tests on {PG_LABEL}",
            postgres,
            ["-m", "not stub and not once and not timed and not hosts", *parallel, *args],
        )
        statuses["PostgreSQL"] = pg_pass.wait()
    statuses["SQLite"] = sqlite_pass.wait()
    if not problems:
        print("\n=== the SQLite pass's output ===\n" + sqlite_log.read_text(), flush=True)

    statuses["SQLite, timed"] = start_pytest(
        f"timed tests on {SQLITE_LABEL}, alone", SQLITE, ["-m", "timed and not postgres", *args]
    ).wait()
    if problems:
        print(f"\nWARNING: {'; '.join(problems)}. The PostgreSQL + Redis pass was NOT run.", flush=True)
    else:
        statuses["PostgreSQL, timed"] = start_pytest(
            f"timed tests on {PG_LABEL}, alone",
            postgres,
            ["-m", "timed and not stub and not once and not hosts", *args],
        ).wait()
    if in_ci and not problems:  # CI runs as root: workers on hosts of their own too (make test-hosts)
        statuses["PostgreSQL, worker hosts"] = start_hosts_pass(args).wait()
    print("\n" + "; ".join(f"{name}: {'passed' if passed(code) else 'FAILED'}" for name, code in statuses.items()))
    return 0 if all(passed(code) for code in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
