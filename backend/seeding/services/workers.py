"""The worker protocol: how a queued run moves through Dramatiq workers, in the order it happens.

1. ``seed_run_enqueue``: once the run row is committed, send its start message.
2. ``seed_run_start`` (the start message): mark the run running and open its
   current phase: on SQLite, defer the indexes its load would maintain
   (``seeding.persistence.indexes``), then send one message per uncommitted chunk.
3. ``seed_chunk_process`` (a chunk message): take the chunk's lease and count the
   attempt (a copy finding a live lease stands down), write the chunk (the same
   chunk transaction the inline executor uses) while renewing the lease, then, if
   this commit completed its phase, rebuild what the phase deferred, then open
   the next phase or mark the run succeeded.
4. ``seed_runs_sweep`` (every worker, every couple of seconds): re-send chunks
   whose lease lapsed (their worker died), and the start message of runs that
   stopped moving with nothing in flight; step 2 then re-sends what is left.

Delivery is at least once, so every step is safe to repeat: the database, not
the message, says what is left to do. Messages are sent through ``queue``; the
actors (``tasks.py``) only call these functions.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.time_limit import TimeLimitExceeded

from seeding.generation.kinds import PHASES, Chunk, chunks_of, phase_of, rows_by_kind
from seeding.messaging import queue
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.persistence.indexes import defer_indexes, restore_indexes
from seeding.services.chunk_transaction import seed_chunk_write
from seeding.services.errors import BrokerUnavailable, ChunkFenced
from seeding.services.leases import (
    lapsed_leases,
    lease_acquire,
    lease_claim_lapsed,
    lease_clock,
    lease_kept,
    run_has_live_lease,
)
from seeding.services.live import live_stream_hand_on
from seeding.services.runs import (
    plan_summary,
    refresh_progress,
    seed_run_fail,
    seed_run_pending_chunks,
    seed_run_succeed,
    transition,
)

logger = logging.getLogger("seeding.services")

# --- 1. enqueue ------------------------------------------------------------------------------


def broker_ensure_reachable() -> None:
    """Raise BrokerUnavailable unless the broker can take a message now: asked before a queued run is
    created or claimed, so that a request refused for it writes nothing and reserves no keys."""
    try:
        queue.ensure_reachable()
    except queue.BROKER_ERRORS as exc:
        raise BrokerUnavailable(f"the message broker is unreachable: {exc}") from exc


def seed_run_enqueue(*, run: SeedRun) -> str:
    """Send the run's start message; returns its message id.

    Must be called after the run row is committed (a worker could otherwise pick
    the message up and not find the run), hence never inside a transaction. If
    the broker cannot be reached the run is marked failed, so nothing is left
    dangling, and BrokerUnavailable is raised.
    """
    if connection.in_atomic_block:
        raise RuntimeError("seed_run_enqueue must be called outside a transaction, after the run is committed")
    try:
        message_id = queue.send_start(run.pk)
    except queue.BROKER_ERRORS as exc:
        seed_run_fail(run=run, error="could not queue the run: the message broker is unreachable", detail=str(exc))
        raise BrokerUnavailable(f"the message broker is unreachable: {exc}") from exc
    # Recorded for estimates: the embedded worker (no Redis, one thread) and worker processes differ.
    run.path = SeedRun.Path.WORKERS if isinstance(queue.broker(), RedisBroker) else SeedRun.Path.EMBEDDED
    SeedRun.objects.filter(pk=run.pk).update(task_id=message_id, path=run.path)
    run.task_id = message_id
    return message_id


# --- 2. start --------------------------------------------------------------------------------


def seed_run_start(*, run_id: int) -> str:
    """Start message: mark the run running and send its current phase; returns what happened.

    Also the sweeper's way back in, so it re-sends the current phase even when
    that phase was sent before: the earlier messages may be lost.
    """
    run = SeedRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active or run.executor != SeedRun.Executor.WORKERS:
        return "skipped"
    # Conditional: a cancel that landed since the read above wins.
    queued = (SeedRun.Status.QUEUED,)
    if run.status in queued and transition(
        run=run, to=SeedRun.Status.RUNNING, only_from=queued, started_at=timezone.now()
    ):
        logger.info("%s started on the workers: %s", run, plan_summary(run=run))
    if run.status != SeedRun.Status.RUNNING:
        return "skipped"
    if run.is_live:  # written by time, one writer at a time (``live``): a new one takes it from here
        return f"handed on, claim {claim}" if (claim := live_stream_hand_on(run=run)) else "skipped"
    phase = _current_phase(run)
    if phase is None:  # every chunk committed, but the step that completed the run died first
        return "succeeded" if _finish(run) else "failed"
    return f"sent phase {phase}" if _open_phase(run, phase) else "failed"


# --- 3. one chunk ----------------------------------------------------------------------------


def seed_chunk_process(*, run_id: int, kind: str, index: int) -> str:
    """Chunk message; safe to deliver any number of times. Returns what happened, for logs and tests:
    "written", "already written", "skipped" or "failed".

    Raises to ask the broker for a retry while attempts remain.
    """
    run = SeedRun.objects.filter(pk=run_id).first()
    if run is None or run.status != SeedRun.Status.RUNNING or run.executor != SeedRun.Executor.WORKERS:
        if run is not None:
            _restore_if_ended(run)
        return "skipped"  # cancelled, failed, finished, deleted, or taken over by an inline resume
    chunk = _chunk_of(run, kind, index)
    if chunk is None:
        return "skipped"
    if _committed(run, chunk):
        # A redelivery; the first delivery may have died between its commit and
        # sending the next phase, so make sure the run moves on.
        _after_commit(run_id, phase_of(kind))
        return "already written"

    attempt = lease_acquire(run=run, chunk=chunk)
    if attempt is None:
        # A copy of a message whose chunk a live worker is writing now (or just
        # wrote): stand down without counting an attempt. If that worker dies, its
        # lease lapses and the sweeper re-sends the chunk.
        if _committed(run, chunk):
            _after_commit(run_id, phase_of(kind))  # its writer may have died before moving the run on
            return "already written"
        logger.info("%s %s chunk %s is being written by another worker: this copy stands down", run, kind, index)
        return "in flight elsewhere"
    if attempt > settings.SEED_CHUNK_MAX_ATTEMPTS:
        _give_up(run, chunk, attempt - 1)
        return "failed"
    with lease_kept(run=run, chunk=chunk):
        try:
            written = seed_chunk_write(run=run, chunk=chunk, attempt=attempt)
        except ChunkFenced as exc:
            # Another worker took the chunk over while this one was cut off or stalled: it writes it; a
            # retry of this copy would only stand down.
            logger.warning("%s: fenced off, not retried", exc)
            return "fenced"
        except (Exception, TimeLimitExceeded) as exc:  # TimeLimitExceeded is a BaseException
            if _committed(run, chunk):
                # A concurrent delivery of the same chunk won, the time limit landed just after this chunk's
                # COMMIT (it interrupts Python code only, so typically once the database call returns), or
                # the server ended this attempt's transaction when it lost this worker (a partition) and
                # another worker took the chunk over.
                logger.warning(
                    "%s %s chunk %s attempt %s ended (%s); the chunk is written: nothing written twice",
                    run, kind, index, attempt, f"{type(exc).__name__}: {exc}".strip().splitlines()[0],
                )  # fmt: skip
                _after_commit(run_id, phase_of(kind))
                return "already written"
            error = _time_limit_error() if isinstance(exc, TimeLimitExceeded) else None
            return _failed_attempt(run, chunk, attempt, exc, error=error)
    _after_commit(run_id, phase_of(kind))
    return "written" if written else "already written"


def _after_commit(run_id: int, finished_phase: int) -> None:
    """Count the commit, then finish the run or open the next phase if this commit completed its phase.

    Decided under a lock on the run row, and ``phase_sent`` is moved under the
    same lock: of several workers finishing the last chunks of a phase at once,
    one opens the next phase (a resend by the sweeper or a redelivery stays
    harmless). Rebuilding indexes and sending happen after the lock's transaction
    commits; if this process dies in between, the sweeper's start message does
    both.
    """
    next_phase, finished = None, False
    with transaction.atomic():
        # The UPDATE first: it waits for a clear holding the run table without
        # holding the run row itself, so the two cannot deadlock.
        refresh_progress(run=SeedRun(pk=run_id))  # also after a cancel: a chunk in flight then still counts
        run = SeedRun.objects.select_for_update(no_key=True).get(pk=run_id)
        running = run.status == SeedRun.Status.RUNNING and run.executor == SeedRun.Executor.WORKERS
        phase = _current_phase(run) if running else None
        if running and phase is None:
            finished = True
        elif running and finished_phase < phase and run.phase_sent < phase:  # this commit completed its phase
            SeedRun.objects.filter(pk=run.pk).update(phase_sent=phase)
            next_phase = phase
    if not running:
        _restore_if_ended(run)
    elif finished:
        _finish(run)
    elif next_phase is not None:
        _open_phase(run, next_phase)


def _failed_attempt(run: SeedRun, chunk: Chunk, attempt: int, exc: BaseException, *, error: str | None = None) -> str:
    error = (error or f"{type(exc).__name__}: {exc}".strip())[:2000]
    SeedChunkAttempt.objects.filter(run=run, kind=chunk.kind, index=chunk.index).update(last_error=error)
    if attempt >= settings.SEED_CHUNK_MAX_ATTEMPTS:
        _give_up(run, chunk, attempt)
        return "failed"
    logger.warning("%s %s chunk %s attempt %s failed: %s", run, chunk.kind, chunk.index, attempt, error)
    raise exc  # the broker retries it with backoff


def _time_limit_error() -> str:
    return (
        f"time limit: the chunk ran longer than SEED_CHUNK_TIME_LIMIT_MS "
        f"({settings.SEED_CHUNK_TIME_LIMIT_MS / 1000:g} s) and was interrupted"
    )


def _give_up(run: SeedRun, chunk: Chunk, attempts: int) -> None:
    attempt = SeedChunkAttempt.objects.get(run=run, kind=chunk.kind, index=chunk.index)
    seed_run_fail(
        run=run,
        error=f"{chunk.kind} chunk {chunk.index} failed {attempts} times ({attempt.cause}); committed chunks are kept",
        detail=f"last error: {attempt.last_error or attempt.cause}",
    )
    _restore_if_ended(run)


# --- phases ----------------------------------------------------------------------------------


def _current_phase(run: SeedRun) -> int | None:
    """The first phase with uncommitted chunks, or None when every chunk is committed."""
    for number, kinds in enumerate(PHASES):
        if next(seed_run_pending_chunks(run=run, kinds=kinds), None) is not None:
            return number
    return None


def _open_phase(run: SeedRun, phase: int) -> bool:
    """Rebuild the indexes earlier phases deferred, defer those this phase's load would maintain, and send it.

    Safe to repeat (the sweeper's start message re-opens the current phase): the
    phase's own deferred indexes stay down, and ones already recorded are not
    dropped again. Returns False if the run failed rebuilding.
    """
    if not _rebuild_deferred(run, keep=PHASES[phase]):
        return False
    chunks = list(seed_run_pending_chunks(run=run, kinds=PHASES[phase]))
    defer_indexes(run, rows_by_kind(chunks), claim=run.claim)
    _send_phase(run, phase, chunks)
    return True


def _finish(run: SeedRun) -> bool:
    """Every chunk is committed: rebuild what the run deferred, then mark it succeeded. False if it failed.

    The status commits after the "succeeded" log line, so whoever sees the run succeeded also finds it logged.
    """
    if not _rebuild_deferred(run):
        return False
    with transaction.atomic():
        return seed_run_succeed(run=run)


def _rebuild_deferred(run: SeedRun, *, keep: tuple[str, ...] = ()) -> bool:
    """Rebuild the indexes ``run`` deferred for kinds other than ``keep``; False if that failed, and failed the run.

    As inline: every row is written and kept, the recipes stay for the next run,
    resume or clear to rebuild (``restore_orphaned_indexes``), and the run says why.
    """
    try:
        restore_indexes(run, keep=keep)
    except DatabaseError as exc:
        seed_run_fail(
            run=run,
            claim=run.claim,
            error=f"rebuilding deferred indexes after its rows were written failed ({type(exc).__name__}); "
            "committed chunks are kept",
            detail=f"{type(exc).__name__}: {exc}".strip(),
        )
        logger.warning("%s: rebuilding deferred indexes failed: %s", run, exc)
        return False
    return True


def _restore_if_ended(run: SeedRun) -> None:
    """Rebuild what a run that ended without its workers (cancelled, failed) deferred: nothing else would
    before the next run, resume or clear. A run resumed meanwhile is left to its writer."""
    try:
        restore_indexes(run, only_if_inactive=True)
    except DatabaseError:
        logger.exception("%s: rebuilding deferred indexes failed; the next run, resume or clear retries", run)


def _send_phase(run: SeedRun, phase: int, chunks: list[Chunk]) -> int:
    """Send one message per chunk of ``phase`` in ``chunks`` (its uncommitted ones); returns how many."""
    sent = queue.send_chunks(run.pk, chunks)
    SeedRun.objects.filter(pk=run.pk).update(updated_at=timezone.now(), phase_sent=Greatest("phase_sent", Value(phase)))
    logger.info("%s: phase %s (%s): sent %s chunk messages", run, phase, ", ".join(PHASES[phase]), sent)
    return sent


def _chunk_of(run: SeedRun, kind: str, index: int) -> Chunk | None:
    """Chunk ``index`` of ``kind`` in ``run``'s plan, or None if the plan has no such chunk."""
    return next((c for c in chunks_of(kind, run.planned(kind), run.chunk_size) if c.index == index), None)


def _committed(run: SeedRun, chunk: Chunk) -> bool:
    return SeedChunk.objects.filter(run=run, kind=chunk.kind, index=chunk.index).exists()


# --- 4. sweep --------------------------------------------------------------------------------


def seed_runs_sweep(*, stall_after: float | None = None, stalled_runs: bool = True) -> list[int]:
    """Take over chunks whose worker stopped renewing their lease, and re-dispatch stalled runs; returns
    the ids of the runs it re-sent work for.

    A lapsed lease (``leases``) means the worker writing that chunk died: the
    chunk is re-sent within SEED_CHUNK_LEASE_SECONDS plus one sweep interval.
    A run with no progress for ``stall_after`` seconds and no live lease lost
    its messages (Redis restarted without persistence, a send that failed
    mid-phase): its start message is re-sent, which re-sends whatever is still
    uncommitted. Both are claimed with conditional updates, so of many sweeping
    workers one acts; re-sent chunks that were in fact written are skipped.
    ``stalled_runs=False`` looks at leases only (the first sweep after a database
    outage, when no run has moved for a while but their messages are being retried).
    """
    stall_after = settings.SEED_STALL_AFTER_SECONDS if stall_after is None else stall_after
    now = lease_clock()
    swept = []
    for lapsed in lapsed_leases(now):
        chunk = _chunk_of(lapsed.run, lapsed.kind, lapsed.index)
        if chunk is None or not lease_claim_lapsed(lapsed) or _committed(lapsed.run, chunk):
            continue
        queue.send_chunks(lapsed.run_id, [chunk])
        swept.append(lapsed.run_id)
        logger.warning(
            "%s: took over %s chunk %s, whose worker (%s) stopped renewing its lease %.1f s ago",
            lapsed.run,
            chunk.kind,
            chunk.index,
            lapsed.lease_holder,
            (now - lapsed.lease_until).total_seconds(),
        )
    if not stalled_runs:
        return sorted(set(swept))
    stalled = SeedRun.objects.filter(
        is_active=True, executor=SeedRun.Executor.WORKERS, updated_at__lt=now - timedelta(seconds=stall_after)
    )
    for run in stalled:
        if run.pk in swept or run_has_live_lease(run, now):
            continue  # a chunk is being written (a slow one): not stalled
        if SeedRun.objects.filter(pk=run.pk, updated_at=run.updated_at).update(updated_at=now):
            queue.send_start(run.pk)
            swept.append(run.pk)
            logger.warning("%s made no progress for %.0f s: re-dispatched", run, (now - run.updated_at).total_seconds())
    return sorted(set(swept))
