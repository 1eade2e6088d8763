"""The same plan, seed and base time give identical rows on SQLite and PostgreSQL.

Runs the real command twice in subprocesses, against a fresh SQLite file and a
fresh PostgreSQL database, and compares the content digests it prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "backend" / "manage.py"
PLAN = [
    "--applications=40",
    "--assets=400",
    "--deployments=1200",
    "--events=6000",
    "--seed=99",
    "--as-of=2026-06-30T08:00:00Z",
    "--chunk-size=500",
    "--digest",
    "--sync",  # the pass sets REDIS_URL; this compares the inline writers
]

pytestmark = pytest.mark.postgres


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def digest_after_seeding(database_url: str) -> str:
    manage(database_url, "migrate", "--verbosity=0")
    output = manage(database_url, "seed_demo_data", *PLAN)
    return re.search(r"digest: ([0-9a-f]{64})", output).group(1)


@pytest.fixture
def postgres_database_url():
    """A throwaway database on the server the PostgreSQL pass uses."""
    settings = connection.settings_dict
    assert connection.vendor == "postgresql", "runs in the PostgreSQL pass of make test"
    name = f"demoseed_xb_{uuid.uuid4().hex[:8]}"
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
    yield f"postgres://{auth}@{params['host']}:{params['port']}/{name}"
    with psycopg.connect(**params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sqlite_and_postgresql_write_identical_rows(tmp_path, postgres_database_url):
    sqlite_digest = digest_after_seeding(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    postgres_digest = digest_after_seeding(postgres_database_url)
    assert sqlite_digest == postgres_digest
