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


def own_redis_database(redis_url: str, worker: str) -> str:
    """``redis_url`` on a database of this pytest-xdist worker's own (gw0: the URL's, gw1: one below, ...).

    Parallel test processes must not share queues: a worker process one test starts would take
    the messages another test sends. Each test process has its own test database already
    (pytest-django names it after the worker); this gives it its own Redis database too.
    """
    if not redis_url or not worker.startswith("gw"):
        return redis_url
    base, _, database = redis_url.rpartition("/")
    return f"{base}/{int(database or 0) - int(worker[2:])}"


_environment = hermetic(dict(os.environ))
if "REDIS_URL" in _environment:
    _environment["REDIS_URL"] = own_redis_database(_environment["REDIS_URL"], os.environ.get("PYTEST_XDIST_WORKER", ""))
os.environ.clear()
os.environ.update(_environment)

from config.settings import *  # noqa: E402, F403

#: Django's own advice for test speed: PBKDF2 spends 0.6 s per password here by design, and the suite creates
#: a user with a password in a few hundred tests (pytest-django's admin_client among them). Tests check who may
#: do what, not how passwords are stored; child processes keep the project's hashers (they hash their own users).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
