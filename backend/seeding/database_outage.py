"""A database outage in a worker: retried patiently, said twice in the log, not once per message.

When PostgreSQL restarts or is down for a while, every chunk message fails at
its first query. Left to Dramatiq's ordinary retries, a 20 s outage used up a
message's whole retry budget (about 15 s of backoff), sent it to the
dead-letter queue, and printed a chained traceback for every try. Instead the
actors (``seeding.tasks``) turn an unreachable database into a quiet
``dramatiq.Retry`` a second or two later, for as long as
``SEED_DATABASE_OUTAGE_RETRY_SECONDS`` allows, each one raising that message's
own ``max_retries`` by one (``allow_another_try``), so an outage does not use
up the retries an ordinary failure gets afterwards; the outage is logged once when a
worker process first meets it and once when its sweeper reaches the database
again. Attempts are not counted while the database is away: the attempt
counter lives in the database.

Only connection-level failures count (refused, closed, shutting down): a
deadlock or a statement error is an ordinary failed attempt.
"""

from __future__ import annotations

import logging
import random
import threading
import time

import dramatiq
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("seeding.database")

#: SQLSTATE classes and codes of a database that cannot be talked to right now:
#: 08 connection exceptions, 57P01-57P03 admin shutdown, crash shutdown, cannot connect now.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")
#: Between two tries of a message while the database is away.
RETRY_DELAY_MS = (1_000, 2_000)

_lock = threading.Lock()
_since: float | None = None


class DatabaseUnreachable(dramatiq.Retry):
    """Raised by an actor whose database is away: Dramatiq retries it without logging a traceback."""


def is_unreachable(exc: BaseException) -> bool:
    """True if ``exc`` (a Django database error) means the database server cannot be reached now.

    A driver error without an SQLSTATE is a connection failure (refused, reset,
    closed); SQLite's errors carry no SQLSTATE attribute at all and are never an outage.
    """
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    cause = exc.__cause__
    if cause is None or not hasattr(cause, "sqlstate"):
        return False  # SQLite, or Django refusing a closed cursor (a bug, not an outage)
    if isinstance(exc, InterfaceError):
        return True  # the driver's connection is gone
    state = cause.sqlstate
    return state is None or state.startswith(_UNREACHABLE_STATES)


def retry_later(exc: BaseException) -> DatabaseUnreachable:
    """The Retry for an actor to raise for ``exc``; the outage is recorded (``met``)."""
    met(exc)
    return DatabaseUnreachable(str(exc), delay=random.randint(*RETRY_DELAY_MS))


def met(exc: BaseException) -> None:
    """Record an outage; the first report of one in this process says so in the log."""
    global _since
    with _lock:
        first, _since = _since is None, _since if _since is not None else time.monotonic()
    if first:
        logger.warning(
            "the database is unreachable (%s); messages are retried every 1-2 s until it is back",
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        )


def outage_ongoing() -> bool:
    return _since is not None


def reached() -> None:
    """The database answered: if an outage was recorded in this process, say it ended and how long it lasted."""
    global _since
    if _since is None:
        return
    with _lock:
        lasted, _since = (time.monotonic() - _since if _since is not None else None), None
    if lasted is not None:
        logger.warning("the database is reachable again after %.0f s", lasted)


def allow_another_try(options: dict, *, max_retries: int, outage_retries: int) -> None:
    """Give a message one more retry than it had, up to ``outage_retries`` times over its life.

    Dramatiq counts every retry in ``options["retries"]`` and stops at
    ``options["max_retries"]`` (the actor's when unset): raising that limit with
    each outage retry leaves an ordinary failure after the outage its full
    ``max_retries``. Past ``outage_retries`` the limit stays, and the outage
    retries use up the ordinary ones: the message is then dead-lettered, and the
    sweeper re-dispatches its run once the database is back.
    """
    outages = options.get("outage_retries", 0)
    if outages < outage_retries:
        options["outage_retries"] = outages + 1
        options["max_retries"] = options.get("max_retries", max_retries) + 1


class Quiet(logging.Filter):
    """On the log handler: no "Retrying message" line per message every second while the database is away."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            _since is not None
            and record.name.startswith("dramatiq.middleware.retries")
            and record.getMessage().startswith("Retrying message")
        )
