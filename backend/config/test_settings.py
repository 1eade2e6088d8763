"""The test suite's settings: the project's own, read from an environment the caller's shell cannot reach.

pytest-django imports this module before anything else reads a setting. It
drops every variable the settings read (except where the databases are:
DATABASE_URL and REDIS_URL, which `make test` sets per pass) and turns the
`.env` file off, so a developer's exported DJANGO_DEBUG=false or a compose
`.env` with production values cannot change what the suite checks. Tests pin
the settings they test (pytest-django's ``settings`` fixture) or pass the
environment a child process needs explicitly.

Child processes that tests start inherit this environment and use the
project's settings (``config.settings``), so a variable a test sets for its
child (DJANGO_DEBUG=false for a production-shaped gunicorn) is kept.
"""

from __future__ import annotations

import os

#: The variables that name where the services are: the test runner chooses them per pass.
PASSED_THROUGH = frozenset({"DATABASE_URL", "REDIS_URL"})
#: Every variable config/settings.py reads starts with one of these (tests/test_hermetic.py holds it so).
SETTING_PREFIXES = (
    "DJANGO_",
    "SEED_",
    "SEEDING_",
    "DRAMATIQ_",
    "ADMIN_",
    "LOG_",
    "DATABASE_",
    "POSTGRES_",
    "WORKER_",
    "WEB_CONCURRENCY",
    "MONITOR_",
)


def hermetic(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` without any variable the settings read, but the services' addresses, and with no .env file."""
    kept = {
        name: value
        for name, value in environment.items()
        if name in PASSED_THROUGH or name == "DJANGO_SETTINGS_MODULE" or not name.startswith(SETTING_PREFIXES)
    }
    return {**kept, "DJANGO_ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "config.settings"}


_environment = hermetic(dict(os.environ))
os.environ.clear()
os.environ.update(_environment)

from config.settings import *  # noqa: E402, F403
