"""Writing chunks: the one transaction that holds a chunk's rows and its checkpoint,
and the worker-side step that wraps it with attempts, phases and completion."""

from __future__ import annotations

import logging
import os
import socket

from django.conf import settings
from django.db import IntegrityError, transaction

from seeding.generation.chunks import generate_chunk
from seeding.generation.spec import RunSpec
from seeding.indexes import restore_indexes
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.plan import Chunk, chunks_of
from seeding.services.errors import RunCleared
from seeding.services.status import refresh_progress, seed_run_fail, seed_run_succeed
from seeding.writers import write_rows

logger = logging.getLogger("seeding.services")


def _writer() -> str:
    """host:pid of this process (looked up per call: worker processes are forked)."""
    return f"{socket.gethostname()}:{os.getpid()}"


#: Chunks of one phase only reference rows of earlier phases, so they can be
#: written in any order and in parallel; phases run one after the other.
PHASES: tuple[tuple[str, ...], ...] = (("applications", "assets"), ("deployments",), ("events",))


def seed_chunk_write(*, run: SeedRun, spec: RunSpec, chunk: Chunk) -> bool:
    """Write one chunk and its checkpoint (the SeedChunk row) atomically.

    False if it was already written. The run row is deliberately not touched here:
    a lock on it would be held through the commit, where PostgreSQL runs the
    chunk's deferred foreign-key checks, and parallel writers would queue behind
    each other. ``refresh_progress`` derives the run's counters afterwards.
    """
    with transaction.atomic():
        if SeedChunk.objects.filter(run=run, kind=chunk.kind, index=chunk.index).exists():
            return False
        model, columns = generate_chunk(spec, chunk)
        write_rows(model, columns, seed_run_id=run.pk)
        if SeedRun.objects.filter(pk=run.pk, cleared_at__isnull=False).exists():
            # A clear of this run committed while the chunk was being written (it
            # waits for writes in flight): these rows must not outlive it.
            raise RunCleared(f"{run}'s rows were cleared while {chunk.kind} chunk {chunk.index} was written")
        SeedChunk.objects.create(run=run, kind=chunk.kind, index=chunk.index, rows=chunk.rows, written_by=_writer())
    return True


def phase_of(kind: str) -> int:
    return next(number for number, kinds in enumerate(PHASES) if kind in kinds)


def phase_chunks(run: SeedRun, phase: int) -> list[Chunk]:
    return [chunk for kind in PHASES[phase] for chunk in chunks_of(kind, run.planned(kind), run.chunk_size)]


def current_phase(run: SeedRun) -> int | None:
    """The first phase with uncommitted chunks, or None when every chunk is committed."""
    done = set(SeedChunk.objects.filter(run=run).values_list("kind", "index"))
    for number in range(len(PHASES)):
        if any((chunk.kind, chunk.index) not in done for chunk in phase_chunks(run, number)):
            return number
    return None


def seed_chunk_process(*, run_id: int, kind: str, index: int, send_phase) -> str:
    """Worker step for one chunk message; safe to deliver any number of times.

    Returns what happened ("written", "already written", "skipped", "failed") for
    logs and tests. ``send_phase(run, phase)`` sends a phase's chunk messages; it
    is called after the commit that completes the previous phase.
    Raises to ask the broker for a retry while attempts remain.
    """
    run = SeedRun.objects.filter(pk=run_id).first()
    if run is None or run.status != SeedRun.Status.RUNNING or run.executor != SeedRun.Executor.WORKERS:
        return "skipped"  # cancelled, failed, finished, deleted, or taken over by an inline resume
    chunk = next((c for c in chunks_of(kind, run.planned(kind), run.chunk_size) if c.index == index), None)
    if chunk is None:
        return "skipped"
    if SeedChunk.objects.filter(run=run, kind=kind, index=index).exists():
        # A redelivery; the first delivery may have died between its commit and
        # sending the next phase, so make sure the run moves on.
        _advance(run_id, phase_of(kind), send_phase)
        return "already written"

    attempt = _begin_attempt(run, chunk)
    if attempt > settings.SEED_CHUNK_MAX_ATTEMPTS:
        _give_up(run, chunk, attempt - 1)
        return "failed"
    try:
        wrote = seed_chunk_write(run=run, spec=RunSpec.from_run(run), chunk=chunk)
    except IntegrityError as exc:
        if SeedChunk.objects.filter(run=run, kind=kind, index=index).exists():
            return "already written"  # a concurrent delivery of the same chunk won
        return _failed_attempt(run, chunk, attempt, exc)
    except Exception as exc:
        if SeedChunk.objects.filter(run=run, kind=kind, index=index).exists():
            return "already written"  # a concurrent delivery won while this one waited (database locked)
        return _failed_attempt(run, chunk, attempt, exc)
    _advance(run_id, phase_of(kind), send_phase)
    return "written" if wrote else "already written"


def _advance(run_id: int, finished_phase: int, send_phase) -> None:
    """After a commit: finish the run, or start the next phase once this one is complete.

    Decided under a lock on the run row, and ``phase_sent`` is moved under the same
    lock: of several workers finishing the last chunks of a phase at once, one
    sends the next phase (a resend by the sweeper or a redelivery stays harmless).
    """
    with transaction.atomic():
        # The UPDATE first: it waits for a clear holding the run table without
        # holding the run row itself, so the two cannot deadlock.
        run = SeedRun(pk=run_id)
        refresh_progress(run)  # also after a cancel: a chunk in flight then still counts
        run = SeedRun.objects.select_for_update(no_key=True).get(pk=run_id)
        if run.status != SeedRun.Status.RUNNING or run.executor != SeedRun.Executor.WORKERS:
            return
        phase = current_phase(run)
        # When this commit completed a phase (or the run), first rebuild the indexes
        # that phase's messages were sent with dropped (SQLite; a no-op otherwise).
        # A failure rolls this step back and the message's retry comes back to it.
        if phase is None:
            restore_indexes(run)
            seed_run_succeed(run=run)
            return
        if finished_phase < phase and run.phase_sent < phase:  # this commit completed the phase
            restore_indexes(run)
            SeedRun.objects.filter(pk=run.pk).update(phase_sent=phase)
            transaction.on_commit(lambda: send_phase(run, phase))


def _begin_attempt(run: SeedRun, chunk: Chunk) -> int:
    """Count this start in its own committed transaction, before any work: a crash
    that kills the worker still leaves the count behind."""
    with transaction.atomic():
        attempt, _ = SeedChunkAttempt.objects.select_for_update().get_or_create(
            run=run, kind=chunk.kind, index=chunk.index
        )
        attempt.attempts += 1
        attempt.save(update_fields=["attempts", "updated_at"])
    return attempt.attempts


def _failed_attempt(run: SeedRun, chunk: Chunk, attempt: int, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}".strip()[:2000]
    SeedChunkAttempt.objects.filter(run=run, kind=chunk.kind, index=chunk.index).update(last_error=error)
    if attempt >= settings.SEED_CHUNK_MAX_ATTEMPTS:
        _give_up(run, chunk, attempt)
        return "failed"
    logger.warning("%s %s chunk %s attempt %s failed: %s", run, chunk.kind, chunk.index, attempt, error)
    raise exc  # the broker retries it with backoff


def _give_up(run: SeedRun, chunk: Chunk, attempts: int) -> None:
    last_error = (
        SeedChunkAttempt.objects.filter(run=run, kind=chunk.kind, index=chunk.index)
        .values_list("last_error", flat=True)
        .first()
    ) or "the worker stopped while writing it (killed, out of memory, or timed out)"
    seed_run_fail(
        run=run,
        error=f"{chunk.kind} chunk {chunk.index} failed {attempts} times; last error: {last_error}. "
        "Committed chunks are kept.",
    )
