"""Chunk leases: which worker thread is writing a chunk right now, kept alive while it works.

Dramatiq hands a dead worker's unacknowledged messages back only after its
heartbeat timeout (60 s) and a random maintenance pass, and copies of a chunk
message (a redelivery, a sweeper's re-send) can arrive while the first copy is
still working. A lease per chunk in flight answers both, the way BullMQ's job
locks and SQS's visibility timeouts do: a worker takes the chunk's lease when it
starts, renews it every third of ``SEED_CHUNK_LEASE_SECONDS`` from a side thread
while it works, and drops it when done. A copy that finds a live lease held by
someone else stands down without counting an attempt; a lease nobody renewed
lapses within ``SEED_CHUNK_LEASE_SECONDS``, and the sweeper (``workers``) then
re-sends the chunk, so a killed worker costs seconds, not minutes.

The lease is a row (``SeedChunkAttempt``), written in short transactions of
their own, never inside the chunk's transaction. Lease times come from the
database's clock (``lease_clock``), so workers on machines whose clocks
disagree still agree on which leases lapsed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from seeding.generation.kinds import Chunk
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun

logger = logging.getLogger("seeding.services")


def lease_holder_name() -> str:
    """host:pid:thread of the caller: each worker thread holds its own leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def lease_acquire(*, run: SeedRun, chunk: Chunk) -> int | None:
    """Take the chunk's lease and count the attempt; returns its number, or None if there is nothing to do:
    another holder's lease is live, or the chunk was committed meanwhile.

    Committed before any work, so a crash that kills the worker still leaves the
    attempt counted (a chunk that kills every worker fails its run) and the
    lease to lapse. The committed check is made under the lock: a holder
    releases its lease only after its chunk commits, so a copy that waited for
    the lock sees the commit instead of counting a second attempt.
    """
    me, now = lease_holder_name(), lease_clock()
    with transaction.atomic():
        attempt, _ = SeedChunkAttempt.objects.select_for_update().get_or_create(
            run=run, kind=chunk.kind, index=chunk.index
        )
        if attempt.lease_until is not None and attempt.lease_until > now and attempt.lease_holder != me:
            return None
        if SeedChunk.objects.filter(run=run, kind=chunk.kind, index=chunk.index).exists():
            return None
        attempt.attempts += 1
        attempt.lease_holder, attempt.lease_until = me, now + _first_length()
        attempt.save(update_fields=["attempts", "lease_holder", "lease_until", "updated_at"])
    return attempt.attempts


@contextmanager
def lease_kept(*, run: SeedRun, chunk: Chunk) -> Iterator[None]:
    """Renew the caller's lease on ``chunk`` while the body runs, and release it afterwards, however it ends."""
    me, stop = lease_holder_name(), threading.Event()
    renewer = None
    if connection.vendor != "sqlite":  # there the first lease covers the chunk (_first_length)
        renewer = threading.Thread(
            target=_renew, args=(run.pk, chunk, me, stop), name=f"lease-{chunk.kind}-{chunk.index}", daemon=True
        )
        renewer.start()
    try:
        yield
    finally:
        stop.set()
        if renewer is not None:
            # Not waited for longer than a renewal normally takes: a renewal stuck on a broken network
            # (a partition) would hold this thread, and with it the chunk's time limit, until TCP gives up.
            # A late renewal is harmless: it only touches a lease this holder still holds, released below.
            renewer.join(timeout=settings.SEED_CHUNK_LEASE_SECONDS / 3)
        SeedChunkAttempt.objects.filter(run=run, kind=chunk.kind, index=chunk.index, lease_holder=me).update(
            lease_holder="", lease_until=None
        )


def lapsed_leases(now: datetime) -> list[SeedChunkAttempt]:
    """Leases of running worker runs that their holders stopped renewing."""
    return list(
        SeedChunkAttempt.objects.filter(
            lease_until__lt=now, run__status=SeedRun.Status.RUNNING, run__executor=SeedRun.Executor.WORKERS
        ).select_related("run")
    )


def lease_claim_lapsed(attempt: SeedChunkAttempt) -> bool:
    """Clear a lapsed lease, if no other sweeper did first; True if this caller should re-send the chunk."""
    return bool(
        SeedChunkAttempt.objects.filter(pk=attempt.pk, lease_until=attempt.lease_until).update(
            lease_holder="", lease_until=None
        )
    )


def run_has_live_lease(run: SeedRun, now: datetime) -> bool:
    return SeedChunkAttempt.objects.filter(run=run, lease_until__gte=now).exists()


def _renew(run_id: int, chunk: Chunk, me: str, stop: threading.Event) -> None:
    # Renewing proves the process is alive, not that the chunk moves: past its time
    # limit (which cannot interrupt a call blocked in the database) the lease is
    # left to lapse, so the sweeper can act on a chunk stuck for good.
    give_up_at = time.monotonic() + settings.SEED_CHUNK_TIME_LIMIT_MS / 1000 + settings.SEED_CHUNK_LEASE_SECONDS
    try:
        while not stop.wait(settings.SEED_CHUNK_LEASE_SECONDS / 3) and time.monotonic() < give_up_at:
            try:
                renewed = SeedChunkAttempt.objects.filter(
                    run_id=run_id, kind=chunk.kind, index=chunk.index, lease_holder=me
                ).update(lease_until=lease_clock() + _length())
            except Exception:  # the database is away: the next renewal may reach it
                logger.warning("run #%s %s chunk %s: could not renew its lease", run_id, chunk.kind, chunk.index)
                connection.close()
                continue
            if not renewed:
                logger.warning(
                    "run #%s %s chunk %s: its lease was taken over while it was being written",
                    run_id,
                    chunk.kind,
                    chunk.index,
                )
                return
    finally:
        connection.close()  # this thread's own connection


def lease_clock() -> datetime:
    """Now, by the database's clock on PostgreSQL (one clock for every worker machine); SQLite is one machine."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _length() -> timedelta:
    return timedelta(seconds=settings.SEED_CHUNK_LEASE_SECONDS)


def _first_length() -> timedelta:
    """How long a new lease lasts before its first renewal.

    On SQLite the chunk's transaction holds the database's only write lock, so a
    renewal waits until the chunk commits: the first lease covers the chunk's
    whole time limit instead (one process writes there anyway, the embedded
    worker, and a dead process takes its worker with it).
    """
    if connection.vendor == "sqlite":
        return _length() + timedelta(milliseconds=settings.SEED_CHUNK_TIME_LIMIT_MS)
    return _length()
