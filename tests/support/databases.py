"""Databases a test hands to a process of its own: the URL of the test database, a throwaway database
on the same PostgreSQL server, a throwaway PostgreSQL cluster for tests that stop the server, and an
SQLite file's indexes as a migrate left them."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.support.ports import free_port


def database_url() -> str:
    """The PostgreSQL test database as a URL, for worker and command processes the test starts."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def own_database_url() -> str:
    """The URL of the database this test uses (an SQLite file or PostgreSQL), for a process of its own."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{connection.settings_dict['NAME']}"
    return database_url()


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the server the PostgreSQL pass uses, dropped after; yields its URL.

    For a process that must migrate and write a database of its own (not the test database, which
    pytest-django owns and flushes).
    """
    settings = connection.settings_dict
    assert connection.vendor == "postgresql", "runs in the PostgreSQL pass of make test"
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    params = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    try:
        yield f"postgres://{auth}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_index_sql(path: Path) -> dict[str, str]:
    """Each index of the SQLite file at ``path`` and its CREATE statement: to see indexes deferred and restored."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        return dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, a free port), for tests that stop it.

    Run as the ``postgres`` user when the tests run as root (PostgreSQL refuses
    root), so its directory is made outside pytest's root-only tmp_path.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="demoseed-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
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
