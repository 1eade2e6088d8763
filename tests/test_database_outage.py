"""Which database errors are an outage (retried quietly, no attempt used) and which are a failed attempt."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import InterfaceError, OperationalError

from seeding import database_outage

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


def test_a_closed_connection_is_an_outage():
    assert database_outage.is_unreachable(InterfaceError("connection already closed"))


def test_an_outage_is_retried_longer_than_an_ordinary_failure():
    outage = database_outage.retry_later(django_error(psycopg.OperationalError("refused")))
    database_outage.reached()
    assert 1_000 <= outage.delay <= 2_000
    should = lambda retries, exc: database_outage.should_retry(retries, exc, max_retries=5, outage_retries=400)  # noqa: E731
    assert should(4, RuntimeError()) and not should(5, RuntimeError())
    assert should(399, outage) and not should(400, outage)
