"""The inline executor: write a run in this process, phase by phase, resumable after any failure.

Used for small plans from the web and for the management command. On
PostgreSQL two chunks of a phase are written at once, each on its own
connection, so one commits (where PostgreSQL checks the chunk's deferred
foreign keys) while the other copies; SQLite has one writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from seeding.common import log_context
from seeding.generation.kinds import PHASES, Chunk, rows_by_kind
from seeding.models import DeferredIndex, SeedRun
from seeding.persistence.indexes import IndexRebuildFailed, indexes_deferred
from seeding.persistence.tables import MODELS
from seeding.services.audit import Requester
from seeding.services.chunk_transaction import seed_chunk_write
from seeding.services.errors import RunFailed
from seeding.services.runs import (
    refresh_progress,
    seed_run_claim,
    seed_run_pending_chunks,
    seed_run_succeed,
    transition,
)

logger = logging.getLogger("seeding.services")

#: A progress display: called with (run, None) once the run is claimed, then with
#: (run, chunk) after each committed chunk, the run's counters refreshed.
ProgressCallback = Callable[[SeedRun, Chunk | None], None]


def seed_run_execute(
    *, run: SeedRun, resume: bool = False, on_progress: ProgressCallback | None = None, by: Requester | None = None
) -> SeedRun:
    """Write every pending chunk of ``run`` here: a new inline run, or (``resume``) one that failed or was cancelled.

    Each chunk commits on its own, so a failure keeps every earlier chunk, marks
    the run failed and raises RunFailed; resuming continues after the last
    commit. Ctrl-C (KeyboardInterrupt) marks it cancelled and goes on up. A
    cancel from elsewhere stops it at the next chunk boundary (or before it
    starts); the run is returned as it then is. ``on_progress`` is only a
    display: if it fails (a closed stdout), the run goes on without it.
    """
    with log_context.about(run.pk):
        return _execute(run, resume=resume, on_progress=on_progress, by=by)


def _execute(run: SeedRun, *, resume: bool, on_progress: ProgressCallback | None, by: Requester | None) -> SeedRun:
    claim = seed_run_claim(run=run, resume=resume, by=by)
    if claim is None:
        return run
    notify = _Progress(on_progress)
    threads = writer_threads()
    rows, rows_deferred = 0, 0
    try:
        notify(run, None)
        for kinds in PHASES:
            chunks = list(seed_run_pending_chunks(run=run, kinds=kinds))
            pending = rows_by_kind(chunks)
            with indexes_deferred(run, pending, claim=claim) as dropped:
                rows += sum(pending.values())
                rows_deferred += _rows_with_indexes_deferred(run, pending) if dropped else 0
                for chunk in write_chunks(run, chunks, threads, claim=claim):
                    refresh_progress(run=run)
                    notify(run, chunk)
            if _stand_down(run, claim):
                run.refresh_from_db()
                logger.info("%s stopped (%s); committed chunks are kept", run, run.status)
                return run
    except BaseException as exc:
        with suppress(DatabaseError):  # the database may be what failed
            refresh_progress(run=run)
        _record_stop(run, exc)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RunFailed(run) from exc
    _record_path(run, bulk=rows_deferred * 2 > rows)
    seed_run_succeed(run=run, claim=claim)  # unless cancelled, failed or taken over meanwhile
    return run


def _rows_with_indexes_deferred(run: SeedRun, pending: dict[str, int]) -> int:
    """Rows of ``pending`` going into tables whose indexes ``run`` has deferred (their recipes are
    recorded while the indexes are down)."""
    tables = set(DeferredIndex.objects.filter(run=run).values_list("table", flat=True))
    return sum(count for kind, count in pending.items() if MODELS[kind]._meta.db_table in tables)


def _record_path(run: SeedRun, *, bulk: bool) -> None:
    """Record how this stretch was written, for estimates: a load into nearly empty SQLite tables (most of
    its rows with their indexes deferred) runs about three times faster than one into full tables."""
    run.path = SeedRun.Path.INLINE_BULK if bulk else SeedRun.Path.INLINE
    SeedRun.objects.filter(pk=run.pk).update(path=run.path)


class ChunkFailed(Exception):
    """Carries which chunk failed out of a writer thread (the cause is the error)."""

    def __init__(self, chunk: Chunk):
        super().__init__(f"{chunk.kind} chunk {chunk.index}")
        self.chunk = chunk


def writer_threads() -> int:
    """How many chunks of one phase to write at once in this process.

    PostgreSQL does a chunk's foreign-key checks at commit, one backend busy per
    connection: a second connection keeps the other core working meanwhile.
    SQLite has a single writer, and a caller's open transaction cannot be shared
    with other connections; both write one chunk at a time.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.SEED_WRITER_THREADS)


def write_chunks(run: SeedRun, chunks: list[Chunk], threads: int, *, claim: int) -> Iterator[Chunk]:
    """Write ``chunks`` (of one phase), yielding each as it commits.

    Stops early when this writer should stand down (cancelled, failed elsewhere,
    claimed by another process); raises ChunkFailed from the first error after
    letting chunks in flight finish.
    """
    if threads <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            if _stand_down(run, claim):
                return
            try:
                seed_chunk_write(run=run, chunk=chunk)
            except Exception as exc:
                raise ChunkFailed(chunk) from exc
            yield chunk
        return
    queue = iter(chunks)
    with ThreadPoolExecutor(threads, thread_name_prefix="seed-writer") as pool:
        in_flight: dict[Future, Chunk] = {}

        def submit_next() -> None:
            if (chunk := next(queue, None)) is not None:
                in_flight[pool.submit(_write_on_own_connection, run, chunk)] = chunk

        for _ in range(threads):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = in_flight.pop(future)
                try:
                    future.result()
                except Exception as exc:
                    wait(in_flight)  # chunks in flight commit or roll back on their own
                    raise ChunkFailed(chunk) from exc
                yield chunk
                if not _stand_down(run, claim):
                    submit_next()


def _write_on_own_connection(run: SeedRun, chunk: Chunk) -> bool:
    try:
        return seed_chunk_write(run=run, chunk=chunk)
    finally:
        connection.close()  # this thread's connection, closed after each chunk: none outlives the pool


def _stand_down(run: SeedRun, claim: int) -> bool:
    """True once this writer should stop: the run is no longer running (cancelled, or
    failed by someone else, e.g. marked abandoned) or another process claimed it
    since (a later resume; that process finishes the run). ``run.status`` is refreshed."""
    run.status, current_claim = SeedRun.objects.filter(pk=run.pk).values_list("status", "claim").first()
    return run.status != SeedRun.Status.RUNNING or current_claim != claim


def _record_stop(run: SeedRun, exc: BaseException) -> None:
    """Mark the run cancelled (Ctrl-C) or failed, with a short error and the full cause."""
    if isinstance(exc, KeyboardInterrupt):
        status, error, detail = SeedRun.Status.CANCELLED, "interrupted (Ctrl-C); committed chunks are kept", ""
    else:
        if isinstance(exc, ChunkFailed):
            where, exc = f"{exc.chunk.kind} chunk {exc.chunk.index}", exc.__cause__
        elif isinstance(exc, IndexRebuildFailed):
            where = "rebuilding deferred indexes after every row was written"
        else:
            where = "the run"
        status = SeedRun.Status.FAILED
        error = f"{where} failed ({type(exc).__name__}); committed chunks are kept"
        detail = f"{type(exc).__name__}: {exc}".strip()
    transition(
        run=run,
        to=status,
        only_from=SeedRun.ACTIVE_STATUSES,
        error=error,
        error_detail=detail[:8000],
        finished_at=timezone.now(),
    )
    if status == SeedRun.Status.FAILED:
        logger.warning("%s failed: %s (%s)", run, error, detail)


class _Progress:
    """Calls the caller's progress display; an error there (a closed pipe) turns it off, nothing more."""

    def __init__(self, callback: ProgressCallback | None):
        self.callback = callback

    def __call__(self, run: SeedRun, chunk: Chunk | None) -> None:
        if self.callback is None:
            return
        try:
            self.callback(run, chunk)
        except Exception:
            logger.info("%s: the progress display failed; writing goes on without it", run, exc_info=True)
            self.callback = None
