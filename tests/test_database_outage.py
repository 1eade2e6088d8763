"""Which database errors are an outage (retried quietly, no attempt used) and which are a failed attempt."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import InterfaceError, OperationalError

from seeding.common import database_outage

pytestmark = pytest.mark.once


def django_error(cause: BaseException, kind: type[Exception] = OperationalError) -> Exception:
    error = kind(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.OperationalError("connection failed: Connection refused"),  # no SQLSTATE: the socket
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is shutting down"),
        psycopg.errors.ConnectionFailure("connection failure"),
    ],
    ids=["refused", "admin-shutdown", "shutting-down", "class-08"],
)
def test_a_server_that_cannot_be_talked_to_is_an_outage(cause):
    assert database_outage.is_unreachable(django_error(cause))


@pytest.mark.parametrize(
    "error",
    [
        django_error(psycopg.errors.DeadlockDetected("deadlock detected")),
        django_error(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
        django_error(sqlite3.OperationalError("database is locked")),
        ValueError("a bug"),
    ],
    ids=["deadlock", "statement-timeout", "sqlite-locked", "not-a-database-error"],
)
def test_other_failures_are_ordinary_failed_attempts(error):
    assert not database_outage.is_unreachable(error)


def test_a_connection_the_driver_lost_is_an_outage_but_a_cursor_used_after_close_is_a_bug():
    assert database_outage.is_unreachable(
        django_error(psycopg.InterfaceError("the connection is lost"), InterfaceError)
    )
    assert not database_outage.is_unreachable(InterfaceError("cursor already closed"))


def test_outage_retries_leave_an_ordinary_failure_its_full_retries():
    """13 quiet retries through a 20 s outage, then a deadlock: Dramatiq still grants it max_retries (5)."""
    outage = database_outage.retry_later(django_error(psycopg.OperationalError("refused")))
    database_outage.note_reachable()
    assert 1_000 <= outage.delay <= 2_000
    options = {}
    for retries in range(13):
        database_outage.allow_another_try(options, max_retries=5, outage_retries=400)
        options["retries"] = retries + 1  # what Dramatiq's Retries middleware then does
    assert options["max_retries"] - options["retries"] == 5


def test_past_its_budget_an_outage_uses_up_the_ordinary_retries():
    options = {"outage_retries": 400, "max_retries": 405}
    database_outage.allow_another_try(options, max_retries=5, outage_retries=400)
    assert options == {"outage_retries": 400, "max_retries": 405}
