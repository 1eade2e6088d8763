"""Dramatiq actors: thin, id-only entry points into the worker protocol (services/workers.py).

Delivery is at least once, so every step is idempotent: the database, not the
message, says what is left to do. Limits are set here on purpose instead of
Dramatiq's defaults (10-minute time limit, 20 retries backing off for up to a
week): a chunk takes about a second, and after SEED_CHUNK_MAX_ATTEMPTS starts
(counted in the database, crashes included) its run is failed with the error.
A database that cannot be reached is not a failed attempt: the message is
retried quietly every second or two for up to SEED_DATABASE_OUTAGE_RETRY_SECONDS
(``seeding.common.database_outage``). The services send messages by actor name
(``seeding.messaging.queue``); the names here must match.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import mean

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage

from seeding.common import database_outage, log_context
from seeding.messaging import queue
from seeding.services import live_stream_turn, seed_chunk_process, seed_run_start

_OPTIONS = {
    "queue_name": settings.SEED_QUEUE,
    "time_limit": settings.SEED_CHUNK_TIME_LIMIT_MS,
    # Upper bound for the broker; the attempt counter in the database fails the run first.
    "max_retries": settings.SEED_CHUNK_MAX_ATTEMPTS + 2,
    # Short backoff: a user is watching the progress bar.
    "min_backoff": 500,
    "max_backoff": 10_000,
}


_OUTAGE_RETRIES = int(settings.SEED_DATABASE_OUTAGE_RETRY_SECONDS * 1000 / mean(database_outage.RETRY_DELAY_MS))


def _through_outages(step: Callable[..., object], **kwargs: object) -> None:
    """Run ``step``; if the database cannot be reached, ask Dramatiq for a quiet retry instead of failing."""
    try:
        step(**kwargs)
    except Exception as exc:
        if database_outage.is_unreachable(exc):
            database_outage.allow_another_try(
                CurrentMessage.get_current_message().options,
                max_retries=_OPTIONS["max_retries"],
                outage_retries=_OUTAGE_RETRIES,
            )
            raise database_outage.retry_later(exc) from exc
        raise
    database_outage.note_reachable()


@dramatiq.actor(actor_name=queue.START_RUN, **_OPTIONS)
def start_seed_run(run_id: int) -> None:
    """Mark a queued run running and send the chunk messages of its current phase."""
    with log_context.about(run_id):
        _through_outages(seed_run_start, run_id=run_id)


@dramatiq.actor(actor_name=queue.WRITE_CHUNK, **_OPTIONS)
def write_seed_chunk(run_id: int, kind: str, index: int) -> None:
    """Write one chunk (skipped if already written); the commit that completes a phase starts the next."""
    with log_context.about(run_id, kind, index):
        _through_outages(seed_chunk_process, run_id=run_id, kind=kind, index=index)


@dramatiq.actor(actor_name=queue.FOLLOW_LIVE, **_OPTIONS)
def follow_live_stream(run_id: int, claim: int) -> None:
    """A turn at writing a live stream (SEED_LIVE_TURN_SECONDS), then the next turn is sent."""
    with log_context.about(run_id):
        _through_outages(live_stream_turn, run_id=run_id, claim=claim)
