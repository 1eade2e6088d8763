"""Schemathesis, every check, against a live production-shaped stack: scripts/api_fuzz.py (also `make api-fuzz`).

The script brings its own stack (a fresh ``demoseed_fuzz`` database on the suite's
PostgreSQL server, gunicorn with debug off, one ``rundramatiq`` worker on Redis
database 12, a superuser's API token) and runs the Schemathesis CLI twice: with
the token and without credentials. This test fails with Schemathesis' report
when either run finds a server error, an undocumented status, a response that
breaks the OpenAPI document, or an operation that answers an anonymous client
with anything but 401. Marked ``postgres``: it runs in the PostgreSQL + Redis pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.paths import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Both runs take about a minute and a half on 2 cores; this only stops a hung stack.
TIMEOUT_SECONDS = 900


def fuzz_database_url() -> str:
    """The suite's PostgreSQL server (DATABASE_URL in this pass), with the harness's own database name."""
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/demoseed"))
    return urlunsplit(parts._replace(path="/demoseed_fuzz"))


def test_schemathesis_finds_nothing_with_a_token_or_without_credentials():
    env = {**os.environ, "FUZZ_POSTGRES_URL": fuzz_database_url()}
    done = subprocess.run(
        [sys.executable, "scripts/api_fuzz.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, f"{done.stdout[-30_000:]}\n{done.stderr[-5_000:]}"
