"""What goes on the wire: the seeding queue, its messages, and sending them.

Messages are addressed to actors by name, as Dramatiq routes them anyway, so
the services can send without importing the actors module (``tasks.py``, an
entry point that calls the services). The actors there are declared with these
names; the end-to-end tests run real workers over real Redis to keep both sides
in step.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq
import redis
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker

from seeding.generation.kinds import Chunk

START_RUN = "start_seed_run"
WRITE_CHUNK = "write_seed_chunk"
FOLLOW_LIVE = "follow_live_stream"

#: What sending raises when the broker is down: the Redis broker does not wrap
#: its client's errors on enqueue.
BROKER_ERRORS = (redis.exceptions.RedisError, dramatiq.errors.BrokerError, OSError)


def send_start(run_id: int) -> str:
    """Send a run's start message; returns its message id. Raises one of BROKER_ERRORS."""
    return _send(START_RUN, run_id).message_id


def send_chunks(run_id: int, chunks: Iterable[Chunk]) -> int:
    """Send one message per chunk; returns how many were sent."""
    sent = 0
    for chunk in chunks:
        _send(WRITE_CHUNK, run_id, chunk.kind, chunk.index)
        sent += 1
    return sent


def send_live_turn(run_id: int, claim: int) -> str:
    """Send a live stream's next turn of writing, for the writer holding ``claim``."""
    return _send(FOLLOW_LIVE, run_id, claim).message_id


def ensure_reachable() -> None:
    """Raise one of BROKER_ERRORS if the broker cannot take a message now.

    Asked before a queued run is created, so that a request answered "broker
    unreachable" writes nothing: no failed run, and no block of primary keys
    reserved that would shift the next run's keys (and so its data).
    """
    target = broker()
    if isinstance(target, RedisBroker):
        target.client.ping()


def broker() -> dramatiq.Broker:
    return dramatiq.get_broker()


def _send(actor_name: str, *args) -> dramatiq.Message:
    target = broker()
    # Declaring the actors would declare their queue; a process that only sends
    # (a web process, the command) does it here. Idempotent.
    target.declare_queue(settings.SEED_QUEUE)
    message = dramatiq.Message(queue_name=settings.SEED_QUEUE, actor_name=actor_name, args=args, kwargs={}, options={})
    return target.enqueue(message)
