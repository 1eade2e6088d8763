"""Run the test suite on SQLite, then again on PostgreSQL.

The PostgreSQL pass runs whenever the server answers; with CI=true an
unreachable server fails the run instead of being skipped. Tests marked
``postgres`` only run in the PostgreSQL pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed")


def postgres_reachable(url: str) -> tuple[bool, str]:
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
            return True, ""
    except psycopg.Error as exc:
        return False, str(exc).strip()


def pytest(label: str, extra_env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== tests on {label} ===", flush=True)
    env = {**os.environ, **extra_env}
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=REPO, env=env)


def main() -> int:
    args = sys.argv[1:]
    in_ci = os.environ.get("CI", "").lower() == "true"
    sqlite_env = {"DATABASE_URL": "sqlite:///:memory:"}
    status = pytest("SQLite", sqlite_env, ["-m", "not postgres", *args])
    reachable, reason = postgres_reachable(POSTGRES_URL)
    if not reachable:
        where = urlsplit(POSTGRES_URL).netloc
        message = f"PostgreSQL at {where} is not reachable ({reason})."
        if in_ci:
            print(f"\nFAILED: {message} CI requires it: start it (see README, 'Services').", flush=True)
            return 1
        print(f"\nWARNING: {message} The PostgreSQL pass was NOT run. Start PostgreSQL to run it.", flush=True)
        return status
    pg_status = pytest("PostgreSQL", {"DATABASE_URL": POSTGRES_URL}, args)
    return status or pg_status


if __name__ == "__main__":
    sys.exit(main())
