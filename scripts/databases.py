"""Scratch databases for the benchmarks and smoke runs: created empty, migrated, dropped again.

Each script works on databases of its own, so what it drops can only be its own: ``recreate_database``
takes the name from the caller, ``fresh_postgres`` refuses a name without "bench" in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.parse
from collections.abc import Iterator

from common import BENCH_DIR, MANAGE, REPO


class BenchError(Exception):
    """A measured run or its database set-up failed; the message says where."""


def recreate_database(admin_url: str, name: str) -> str:
    """Drop (closing its connections) and create PostgreSQL database ``name`` on ``admin_url``'s server;
    returns ``admin_url`` pointed at it."""
    import psycopg

    parts = urllib.parse.urlsplit(admin_url)
    params = {"host": parts.hostname, "port": parts.port or 5432, "user": parts.username, "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def migrate(database_url: str) -> None:
    """Create the schema with the project's own migrations, so every path measured sees the same indexes."""
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([*MANAGE, "migrate", "--verbosity", "0"], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"migrate failed for {database_url}:\n{done.stderr[-2000:]}")


@contextlib.contextmanager
def fresh_sqlite(tag: str) -> Iterator[str]:
    """A new, migrated SQLite file under var/bench/, deleted afterwards with its WAL files."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{tag}.sqlite3"
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    for file in files:
        file.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    try:
        migrate(url)
        os.sync()  # earlier runs' dirty pages must not be written back during this one
        yield url
    finally:
        for file in files:
            file.unlink(missing_ok=True)


def postgres_unreachable(url: str) -> str | None:
    """Why the server behind ``url`` cannot be used, or None when it answers."""
    import psycopg

    try:
        with psycopg.connect(url, dbname="postgres", connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__


def bench_database_name(url: str) -> str:
    """The database ``url`` names; refused unless it says "bench", since it is dropped."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise BenchError(f"BENCH_POSTGRES_URL names database {name!r}: it is dropped, so its name must contain 'bench'")
    return name


@contextlib.contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """Drop, create and migrate the bench database; drop it again afterwards."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(bench_database_name(url))
    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        migrate(url)
        with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
            admin.execute("CHECKPOINT")  # start from a clean buffer cache, not mid-flush from the last run
        os.sync()
        yield url
    finally:
        with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def raw_copy_seconds(admin_url: str, counts: dict[str, int], name: str = "demoseed_bench_raw") -> float:
    """The floor the queued paths are held to: ``counts`` written by bench_child.py's raw single-connection
    COPY into a fresh, migrated database ``name``; its total seconds."""
    url = recreate_database(admin_url, name)
    migrate(url)
    flags = [f"--{kind}={count}" for kind, count in counts.items()]
    child = [*MANAGE[:1], str(REPO / "scripts" / "bench_child.py"), "raw", "--database-url", url, *flags]
    result = subprocess.run(child, env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True,
                            text=True, cwd=REPO)  # fmt: skip
    return json.loads(result.stdout)["total_seconds"]
