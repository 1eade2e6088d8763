"""The same plan, seed and base time give identical rows on SQLite and PostgreSQL.

Runs the real command twice in subprocesses, against a fresh SQLite file and a
fresh PostgreSQL database, and compares the content digests it prints.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support.databases import throwaway_database
from tests.support.paths import MANAGE

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

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([*MANAGE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def digest_after_seeding(database_url: str) -> str:
    manage(database_url, "migrate", "--verbosity=0")
    output = manage(database_url, "seed_demo_data", *PLAN)
    return re.search(r"digest: ([0-9a-f]{64})", output).group(1)


@pytest.fixture
def postgres_database_url():
    """A throwaway database on the server the PostgreSQL pass uses."""
    with throwaway_database("demoseed_xb") as url:
        yield url


def test_sqlite_and_postgresql_write_identical_rows(tmp_path, postgres_database_url):
    sqlite_digest = digest_after_seeding(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    postgres_digest = digest_after_seeding(postgres_database_url)
    assert sqlite_digest == postgres_digest
