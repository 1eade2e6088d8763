"""A broker outage said twice in a worker's log, when it starts and when it ends, not every few seconds.

While Redis is down, Dramatiq's consumer threads (one per queue, and one per
delay queue) each log a CRITICAL "Consumer encountered a connection error" and
an INFO "Restarting consumer in 3.00 seconds" every 3 s, and worker threads
holding a finished message log a warning every 5 s while they wait to
acknowledge it: dozens of lines a minute that bury everything else. ``QuietBrokerOutage``
(a filter on the log handler, ``settings.LOGGING``) lets the first
connection error through as one WARNING and drops the repeats; the sweeper
thread (``seeding.runtime.sweeper``) pings the broker while an outage lasts and says
when it is reachable again, and for how long it was not.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("seeding.broker")

_lock = threading.Lock()
_since: float | None = None


def outage_started() -> bool:
    """Record an outage; True for the first report of it."""
    global _since
    with _lock:
        if _since is not None:
            return False
        _since = time.monotonic()
        return True


def outage_ongoing() -> bool:
    return _since is not None


def outage_ended() -> float:
    """Clear the outage; returns how long it lasted, in seconds."""
    global _since
    with _lock:
        lasted, _since = (time.monotonic() - _since if _since is not None else 0.0), None
    return lasted


class QuietBrokerOutage(logging.Filter):
    """On the log handler: one line per broker outage from Dramatiq's worker threads, not one every few seconds.

    On the handler, not on loggers: Dramatiq names a logger per queue
    (``dramatiq.worker.ConsumerThread(seeding.DQ)``), and a logger's filters do
    not apply to its children's records.
    """

    REPEATS = ("Restarting consumer in", "Failed to post_process_message(", "Consumer encountered a connection error")

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("dramatiq.worker."):
            return True
        message = record.getMessage()
        connection_error = message.startswith("Consumer encountered a connection error") or (
            message.startswith("Failed to post_process_message(") and "connection error" in message
        )
        if connection_error and outage_started():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = (
                "the message broker is unreachable (%s); its consumers retry every 3 s, "
                "and this log stays quiet until it is back",
                (message.split(": ", 1)[-1].splitlines()[0],),
            )
            return True
        return not (outage_ongoing() and message.startswith(self.REPEATS))


def check_back(broker) -> None:
    """While an outage lasts, ping ``broker``; once it answers, log that it is back."""
    if not outage_ongoing():
        return
    try:
        broker.client.ping()
    except Exception:
        return
    logger.warning("the message broker is reachable again after %.0f s", outage_ended())
