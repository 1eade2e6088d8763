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

A server that refuses a connection because every slot is taken ("too many
clients", SQLSTATE 53300) is reachable: it is out of connections. That is
retried the same way but said differently, once per process every
``SAY_AGAIN_AFTER_SECONDS``: one line naming the connection budget this
deployment's settings add up to and the settings to change, instead of an
"unreachable ... reachable again after 0 s" pair each time a try gets through.
The web process and the command name the same two cases (``refusal``).
"""

from __future__ import annotations

import logging
import random
import threading
import time

import dramatiq
from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("seeding.database")

#: SQLSTATE classes and codes of a database that cannot be talked to right now:
#: 08 connection exceptions, 57P01-57P03 admin shutdown, crash shutdown, cannot connect now.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")
#: Out of connection slots: too_many_connections. A refused connection carries no SQLSTATE, only the server's words.
_NO_SLOT_STATE = "53300"
_NO_SLOT_WORDS = ("too many clients", "too many connections", "remaining connection slots are reserved")
#: Between two tries of a message while the database is away.
RETRY_DELAY_MS = (1_000, 2_000)
#: A process says "out of connections" again at most this often, however many tries meet it.
SAY_AGAIN_AFTER_SECONDS = 300.0

#: What ``refusal`` answers: the two ways a database can refuse to serve a request now.
BUSY = "database_busy"
UNAVAILABLE = "database_unavailable"

_lock = threading.Lock()
_since: float | None = None
_busy_said_at: float | None = None
_busy_met_at: float = float("-inf")
#: "Retrying message" lines stay quiet this long after a try met "out of connections".
_BUSY_QUIET_SECONDS = 10.0


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
    return state is None or state.startswith(_UNREACHABLE_STATES) or state == _NO_SLOT_STATE


def is_out_of_connections(exc: BaseException) -> bool:
    """True if ``exc`` is PostgreSQL refusing a connection for want of a free slot (max_connections, or a role's
    or database's CONNECTION LIMIT)."""
    if not is_unreachable(exc):
        return False
    return exc.__cause__.sqlstate == _NO_SLOT_STATE or any(words in str(exc) for words in _NO_SLOT_WORDS)


def refusal(exc: BaseException) -> str | None:
    """``BUSY``, ``UNAVAILABLE``, or None when ``exc`` is not the database refusing to serve at all."""
    if is_out_of_connections(exc):
        return BUSY
    return UNAVAILABLE if is_unreachable(exc) else None


def out_of_connections_line(exc: BaseException) -> str:
    """The one log line for a "too many clients" refusal: the server's words, the budget, what to change.

    The budget is what docs/operations.md counts, from the settings this process can see
    (``DATABASE_CONNECTION_BUDGET``, from the same environment variables compose uses).
    """
    budget = settings.DATABASE_CONNECTION_BUDGET
    writers = settings.SEED_WRITER_THREADS
    web = budget["web_processes"] * (1 + writers)
    worker = budget["worker_processes"] * (2 * budget["worker_threads"] + 1)
    return (
        f"PostgreSQL refused a connection: {_server_words(exc)} (max_connections={budget['max_connections']}). "
        f"This deployment may open up to {web + worker + budget['monitor']}: "
        f"web {budget['web_processes']} x (1 + {writers} SEED_WRITER_THREADS) = {web} "
        f"+ worker replica {budget['worker_processes']} WORKER_PROCESSES x "
        f"(2 x {budget['worker_threads']} WORKER_THREADS + 1) = {worker} each "
        f"+ monitor {budget['monitor']}; raise max_connections (POSTGRES_MAX_CONNECTIONS) or lower "
        f"WORKER_PROCESSES, WORKER_THREADS, the worker replicas, WEB_CONCURRENCY or SEED_WRITER_THREADS"
    )


def say_out_of_connections(exc: BaseException) -> None:
    """Log ``out_of_connections_line`` unless this process said it in the last ``SAY_AGAIN_AFTER_SECONDS``."""
    global _busy_said_at, _busy_met_at
    now = time.monotonic()
    with _lock:
        _busy_met_at = now
        if _busy_said_at is not None and now - _busy_said_at < SAY_AGAIN_AFTER_SECONDS:
            return
        _busy_said_at = now
    logger.warning("%s", out_of_connections_line(exc))


def _server_words(exc: BaseException) -> str:
    """The server's reason without the driver's preamble: 'sorry, too many clients already'."""
    text = str(exc).strip()
    return text.split("FATAL:", 1)[-1].strip().splitlines()[0] if text else type(exc).__name__


def retry_later(exc: BaseException) -> DatabaseUnreachable:
    """The Retry for an actor to raise for ``exc``; the outage is recorded (``note_unreachable``)."""
    note_unreachable(exc)
    return DatabaseUnreachable(str(exc), delay=random.randint(*RETRY_DELAY_MS))


def note_unreachable(exc: BaseException) -> None:
    """Record an outage; the first report of one in this process says so in the log.

    Out of connections is not an outage (the server answered): it is said on its own terms, and no
    "reachable again" line follows when the next try gets a connection.
    """
    global _since
    if is_out_of_connections(exc):
        say_out_of_connections(exc)
        return
    with _lock:
        first, _since = _since is None, _since if _since is not None else time.monotonic()
    if first:
        logger.warning(
            "the database is unreachable (%s); messages are retried every 1-2 s until it is back",
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        )


def outage_ongoing() -> bool:
    return _since is not None


def note_reachable() -> None:
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


class QuietDatabaseOutage(logging.Filter):
    """On the log handler: no "Retrying message" line per message every second while the database is away."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            (_since is not None or time.monotonic() - _busy_met_at < _BUSY_QUIET_SECONDS)
            and record.name.startswith("dramatiq.middleware.retries")
            and record.getMessage().startswith("Retrying message")
        )
