"""Routing and background dispatch.

``seed_request`` is the one decision every entry point uses: small plans run
inline, larger ones are queued for Dramatiq workers. On the worker side a run
moves phase by phase: its start message sends the current phase's chunk
messages, and the commit that completes a phase sends the next one. The sweeper
re-sends the work of runs that stopped moving (a lost message, a dead worker).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Literal

import dramatiq
import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from seeding.indexes import defer_indexes, restore_indexes, restore_orphaned_indexes
from seeding.models import SeedRun
from seeding.plan import SeedPlan, rows_by_kind
from seeding.services.chunks import current_phase, phase_chunks
from seeding.services.errors import BrokerUnavailable
from seeding.services.runs import seed_run_create, seed_run_execute, seed_run_pending_chunks
from seeding.services.status import refresh_progress, seed_run_fail, seed_run_succeed, transition

logger = logging.getLogger("seeding.services")

Mode = Literal["auto", "inline", "queued"]
#: What sending a message raises when the broker is down: the Redis broker does
#: not wrap its client's errors on enqueue.
BROKER_ERRORS = (redis.exceptions.RedisError, dramatiq.errors.BrokerError, OSError)


@dataclasses.dataclass(frozen=True)
class SeedOutcome:
    run: SeedRun
    queued: bool
    task_id: str | None = None


def runs_inline(plan: SeedPlan, mode: Mode = "auto") -> bool:
    """The routing rule: at or under SEED_INLINE_THRESHOLD items, inline; above, queued."""
    if mode == "auto":
        return plan.total <= settings.SEED_INLINE_THRESHOLD
    return mode == "inline"


def seed_request(
    *,
    plan: SeedPlan,
    source: str,
    requested_by=None,
    requested_by_label: str = "",
    mode: Mode = "auto",
) -> SeedOutcome:
    """Seed ``plan``: inline (returns the finished run) or queued (returns at once).

    Raises PlanError, RunAlreadyActive, BrokerUnavailable (the run is then marked
    failed, never left dangling) or SeedingError (an inline run failed).
    """
    inline = runs_inline(plan, mode)
    from seeding.embedded import ensure_embedded_worker

    ensure_embedded_worker()  # without Redis: also sweeps up runs a restart interrupted
    run = seed_run_create(
        plan=plan,
        source=source,
        executor=SeedRun.Executor.INLINE if inline else SeedRun.Executor.WORKERS,
        requested_by=requested_by,
        requested_by_label=requested_by_label,
    )
    if inline:
        return SeedOutcome(run=seed_run_execute(run=run), queued=False)
    return SeedOutcome(run=run, queued=True, task_id=seed_run_enqueue(run=run))


def seed_run_enqueue(*, run: SeedRun) -> str:
    """Send the run's start message; return its message id.

    Must be called after the run row is committed (a worker could otherwise pick
    the message up and not find the run), hence never inside a transaction.
    """
    from seeding import tasks

    if connection.in_atomic_block:
        raise RuntimeError("seed_run_enqueue must be called outside a transaction, after the run is committed")
    message = tasks.start_seed_run.message(run.pk)
    try:
        tasks.start_seed_run.broker.enqueue(message)
    except BROKER_ERRORS as exc:
        seed_run_fail(run=run, error=f"could not queue the run: the message broker is unreachable ({exc})")
        raise BrokerUnavailable(f"the message broker is unreachable: {exc}") from exc
    SeedRun.objects.filter(pk=run.pk).update(task_id=message.message_id)
    run.task_id = message.message_id
    return message.message_id


def seed_run_start(*, run_id: int) -> str:
    """Worker step for a start message: mark the run running and send its current phase.

    Also the sweeper's way back in, so it re-sends the current phase even when that
    phase was sent before: the earlier messages may be lost.
    """
    run = SeedRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active or run.executor != SeedRun.Executor.WORKERS:
        return "skipped"
    if run.status == SeedRun.Status.QUEUED:
        # Conditional: a cancel that landed since the read above wins.
        transition(run, SeedRun.Status.RUNNING, only_from=(SeedRun.Status.QUEUED,), started_at=timezone.now())
    if run.status != SeedRun.Status.RUNNING:
        return "skipped"
    phase = current_phase(run)
    if phase is None or run.phase_sent < phase:
        # The step that completed the previous phase (or the run) did not get to
        # rebuild its deferred indexes: it died, or the rebuild kept failing.
        try:
            restore_indexes(run)
        except DatabaseError as exc:
            if phase is not None:
                raise  # a retry of this message tries again
            # Every row is written: end the run, so it does not block new ones; the
            # recipe stays and the sweeper keeps trying (restore_orphaned_indexes).
            refresh_progress(run)  # the step that failed to rebuild rolled its counters back too
            seed_run_fail(run=run, error=f"failed while rebuilding deferred indexes: {exc}; every row is written")
            return "failed"
    if phase is None:
        seed_run_succeed(run=run)
        return "succeeded"
    send_phase(run, phase)
    return f"sent phase {phase}"


def send_phase(run: SeedRun, phase: int) -> int:
    """Send one message per uncommitted chunk of ``phase``; returns how many."""
    from seeding import tasks

    kinds = tuple(dict.fromkeys(chunk.kind for chunk in phase_chunks(run, phase)))
    pending = list(seed_run_pending_chunks(run, kinds))
    try:
        # SQLite: the phase's last chunk rebuilds them (services.chunks._advance).
        defer_indexes(run, rows_by_kind(pending), claim=run.claim)
    except DatabaseError:
        logger.exception("%s: could not defer the indexes of phase %s; writing with them in place", run, phase)
    for chunk in pending:
        tasks.write_seed_chunk.send(run.pk, chunk.kind, chunk.index)
    SeedRun.objects.filter(pk=run.pk).update(updated_at=timezone.now(), phase_sent=Greatest("phase_sent", Value(phase)))
    logger.info("%s: sent %s chunk messages of phase %s", run, len(pending), phase)
    return len(pending)


def seed_runs_sweep(*, stall_after: float | None = None) -> list[int]:
    """Re-dispatch worker runs with no progress for ``stall_after`` seconds.

    Covers a lost message (Redis restarted without persistence, a send that
    failed mid-phase) and a dead worker, whose unacknowledged messages Redis only
    returns after the heartbeat timeout and a random maintenance pass. Each stalled
    run is claimed with a conditional update, so of many sweeping workers one
    re-sends it. Re-sent chunks that were in fact written are skipped.
    """
    from seeding import tasks

    stall_after = settings.SEED_STALL_AFTER_SECONDS if stall_after is None else stall_after
    now = timezone.now()
    swept = []
    stalled = SeedRun.objects.filter(
        is_active=True, executor=SeedRun.Executor.WORKERS, updated_at__lt=now - timedelta(seconds=stall_after)
    )
    restore_orphaned_indexes()  # of worker runs cancelled or failed mid-phase
    for run in stalled:
        if SeedRun.objects.filter(pk=run.pk, updated_at=run.updated_at).update(updated_at=now):
            tasks.start_seed_run.send(run.pk)
            swept.append(run.pk)
            logger.warning("%s made no progress for %.0f s: re-dispatched", run, (now - run.updated_at).total_seconds())
    return swept
