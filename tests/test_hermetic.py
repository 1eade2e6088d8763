"""The suite checks the same things whatever the caller's shell or a `.env` says (config/test_settings.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from config.test_settings import PASSED_THROUGH, SETTING_PREFIXES
from tests.support.paths import REPO

PRODUCTION_ENV = """\
DJANGO_DEBUG=false
DJANGO_SECRET_KEY=a-production-secret-that-is-long-enough-for-django-checks-0123456789
DJANGO_HTTPS=true
DJANGO_ALLOWED_HOSTS=inventory.example.com
SEED_INLINE_THRESHOLD=1
SEED_MAX_TOTAL=10
"""


def test_every_variable_the_settings_read_is_one_the_test_settings_drop():
    source = (REPO / "backend" / "config" / "settings.py").read_text()
    read = set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z0-9_]+)["']""", source))
    assert {"DJANGO_DEBUG", "SEED_INLINE_THRESHOLD", "DATABASE_URL"} <= read  # the pattern finds them
    assert {name for name in read - PASSED_THROUGH if not name.startswith(SETTING_PREFIXES)} == set()


@pytest.mark.slow
@pytest.mark.once  # a pytest of its own, on an SQLite file of its own
def test_the_suite_is_unmoved_by_a_production_env_file_and_exported_settings(tmp_path):
    """Exported DJANGO_DEBUG=false and a compose-style .env once failed 125 tests (HTTPS redirects, the manifest)."""
    env_file = tmp_path / ".env"
    env_file.write_text(PRODUCTION_ENV)
    caller = {
        **os.environ,
        **dict(line.split("=", 1) for line in PRODUCTION_ENV.splitlines()),
        "DJANGO_ENV_FILE": str(env_file),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Not the running suite's test database: two pytests on one SQLite file break each other.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hermetic.sqlite3'}",
        "REDIS_URL": "",
    }
    tests = [
        "tests/test_api.py::test_a_plan_at_the_threshold_runs_inline_and_answers_200_with_counts",
        "tests/test_api.py::test_a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says",
        "tests/test_admin.py",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not postgres", *tests],
        cwd=REPO,
        env=caller,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("name", ["DJANGO_DEBUG", "SEED_INLINE_THRESHOLD", "DJANGO_ENV_FILE"])
def test_this_process_sees_no_setting_from_its_caller(name):
    assert os.environ.get(name, "") == ""
