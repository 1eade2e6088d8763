"""Creating runs, running them inline, cancelling them, and their status moves.

A run's life: created ``queued`` (plan validated, keys reserved), then ``running``,
then ``succeeded``, ``failed`` or ``cancelled``. The database allows one queued or
running run at a time (a partial unique index), whoever asks.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from seeding.generation.chunks import MODELS
from seeding.generation.spec import RunSpec
from seeding.indexes import IndexRebuildFailed, indexes_deferred, restore_orphaned_indexes
from seeding.keys import reserve_ids
from seeding.models import KINDS, SeedChunk, SeedRun
from seeding.plan import Chunk, PlanError, SeedPlan, chunks_of, rows_by_kind, validate_plan
from seeding.services.chunks import PHASES, seed_chunk_write
from seeding.services.errors import RunAlreadyActive, RunNotResumable, SeedingError
from seeding.services.status import abandon_stale_inline_runs, refresh_progress, seed_run_succeed, transition

logger = logging.getLogger("seeding.services")

ProgressCallback = Callable[[SeedRun, Chunk], None]


def seed_run_create(
    *,
    plan: SeedPlan,
    source: str = SeedRun.Source.COMMAND,
    executor: str = SeedRun.Executor.INLINE,
    requested_by=None,
    requested_by_label: str = "",
) -> SeedRun:
    """Validate ``plan`` and record a queued run with its keys reserved.

    Raises PlanError (per-field messages) or RunAlreadyActive, writing nothing.
    """
    validate_plan(plan, existing=existing_parents(plan))
    as_of = (plan.as_of or timezone.now()).replace(microsecond=0)
    _refuse_as_of_before_existing_assets(plan, as_of)
    abandon_stale_inline_runs()
    restore_orphaned_indexes()
    run = SeedRun(
        applications=plan.applications,
        assets=plan.assets,
        deployments=plan.deployments,
        events=plan.events,
        seed=plan.seed,
        as_of=as_of,
        chunk_size=plan.chunk_size,
        source=source,
        executor=executor,
        requested_by=requested_by,
        requested_by_label=requested_by_label or _default_requester(requested_by),
    )
    try:
        with transaction.atomic():
            run.save()  # first: the one-active-run index refuses here, before keys are reserved
            for kind in KINDS:
                setattr(run, f"{kind}_id_base", reserve_ids(MODELS[kind], plan.count(kind)))
            run.save(update_fields=[f"{kind}_id_base" for kind in KINDS])
    except IntegrityError:
        raise _already_active_error() from None
    logger.info("Created %s: %s", run, plan_summary(run))
    return run


def seed_run_pending_chunks(run: SeedRun, kinds: tuple[str, ...] = KINDS) -> Iterator[Chunk]:
    """The run's chunks (of ``kinds``) not yet committed, in write order."""
    done = set(SeedChunk.objects.filter(run=run, kind__in=kinds).values_list("kind", "index"))
    for kind in kinds:
        for chunk in chunks_of(kind, run.planned(kind), run.chunk_size):
            if (chunk.kind, chunk.index) not in done:
                yield chunk


def seed_run_execute(*, run: SeedRun, on_progress: ProgressCallback | None = None) -> SeedRun:
    """Write every pending chunk of ``run`` in this process; resumable after any failure.

    Each chunk commits on its own, so a failure keeps every earlier chunk, marks
    the run failed with the error, and re-raises as SeedingError. Calling this
    again on the same run continues after the last committed chunk.
    """
    if run.status == SeedRun.Status.SUCCEEDED:
        raise RunNotResumable(f"{run} already succeeded; there is nothing left to write")
    if run.cleared_at is not None:
        # Its checkpoints describe rows that no longer exist, and its reserved keys
        # may have been handed out again: finishing it would report a lie.
        raise RunNotResumable(f"{run}'s rows were cleared; start a new run instead")
    abandon_stale_inline_runs()  # a resumed run may be one whose process died
    restore_orphaned_indexes()
    try:
        # Claimed with a conditional update: a run another process is writing
        # (inline or on workers) is never taken over.
        claimed = transition(
            run,
            SeedRun.Status.RUNNING,
            only_from=(
                Q(status=SeedRun.Status.QUEUED, executor=SeedRun.Executor.INLINE)
                | Q(status__in=(SeedRun.Status.FAILED, SeedRun.Status.CANCELLED))
            )
            & Q(cleared_at__isnull=True),
            executor=SeedRun.Executor.INLINE,
            claim=F("claim") + 1,
            started_at=Coalesce("started_at", Value(timezone.now())),
            error="",
            finished_at=None,
        )
    except IntegrityError:
        raise _already_active_error() from None
    if not claimed:
        if run.cleared_at is not None:
            raise RunNotResumable(f"{run}'s rows were cleared; start a new run instead")
        where = "on the workers" if run.executor == SeedRun.Executor.WORKERS else "in another process"
        raise RunNotResumable(f"{run} is {run.status} {where}; wait for it, or cancel it first")
    my_claim = run.claim
    spec = RunSpec.from_run(run)
    threads = writer_threads()
    try:
        for kinds in PHASES:
            chunks = list(seed_run_pending_chunks(run, kinds))
            with indexes_deferred(run, rows_by_kind(chunks), claim=my_claim):
                for chunk, _written in write_chunks(run, spec, chunks, threads, claim=my_claim):
                    refresh_progress(run)
                    if on_progress:
                        on_progress(run, chunk)
            if _cancel_requested(run, my_claim):
                run.refresh_from_db()
                logger.info("%s stopped (%s); committed chunks are kept", run, run.status)
                return run
    except BaseException as exc:
        with suppress(DatabaseError):  # the database may be what failed
            refresh_progress(run)
        if isinstance(exc, ChunkFailed):
            chunk, exc = exc.chunk, exc.__cause__
            where = f" in {chunk.kind} chunk {chunk.index}"
        else:
            where = " while rebuilding deferred indexes" if isinstance(exc, IndexRebuildFailed) else ""
        interrupted = isinstance(exc, KeyboardInterrupt)
        message = "interrupted" if interrupted else f"{type(exc).__name__}: {exc}"
        transition(
            run,
            SeedRun.Status.CANCELLED if interrupted else SeedRun.Status.FAILED,
            only_from=SeedRun.ACTIVE_STATUSES,
            error=f"{message}{where}; committed chunks are kept"[:4000],
            finished_at=timezone.now(),
        )
        if interrupted:
            raise exc from None
        raise SeedingError(f"{run} failed{where}: {message}", run=run) from exc
    seed_run_succeed(run=run, claim=my_claim)  # unless cancelled, failed or taken over meanwhile
    return run


def seed_run_cancel(*, run: SeedRun) -> SeedRun:
    """Stop an active run at its next chunk boundary; committed chunks stay."""
    updated = SeedRun.objects.filter(pk=run.pk, status__in=SeedRun.ACTIVE_STATUSES).update(
        status=SeedRun.Status.CANCELLED,
        is_active=None,
        error="cancelled on request; committed chunks are kept",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    run.refresh_from_db()
    if not updated:
        raise RunNotResumable(f"{run} is not active")
    logger.info("%s cancelled", run)
    return run


def seed(*, plan: SeedPlan, on_progress: ProgressCallback | None = None, **create_kwargs) -> SeedRun:
    """Create a run for ``plan`` and write it right away, in this process."""
    run = seed_run_create(plan=plan, **create_kwargs)
    return seed_run_execute(run=run, on_progress=on_progress)


def plan_of(run: SeedRun) -> SeedPlan:
    return SeedPlan(
        applications=run.applications,
        assets=run.assets,
        deployments=run.deployments,
        events=run.events,
        seed=run.seed,
        chunk_size=run.chunk_size,
        as_of=run.as_of,
    )


def plan_summary(run_or_plan: SeedRun | SeedPlan) -> str:
    if isinstance(run_or_plan, SeedRun):
        run_or_plan = plan_of(run_or_plan)
    return ", ".join(f"{run_or_plan.count(kind):,} {kind}" for kind in KINDS)


def existing_parents(plan: SeedPlan) -> dict[str, int]:
    """Row counts of the parent kinds the plan needs but does not write itself."""
    needed = set()
    if plan.deployments:
        needed |= {"applications", "assets"}
    if plan.events:
        needed.add("assets")
    return {kind: MODELS[kind].objects.count() for kind in needed if not plan.count(kind)}


def _refuse_as_of_before_existing_assets(plan: SeedPlan, as_of) -> None:
    """Children of assets already in the database must not predate those assets."""
    if plan.assets or not (plan.deployments or plan.events):
        return
    newer = MODELS["assets"].objects.filter(purchase_date__gt=as_of.date()).count()
    if newer:
        raise PlanError(
            {"as_of": f"is before the purchase date of {newer:,} assets already in the database; use a later base time"}
        )


def _already_active_error() -> SeedingError:
    active = SeedRun.objects.filter(is_active=True).first()
    return RunAlreadyActive(active) if active else SeedingError("could not record the run; try again")


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


def write_chunks(
    run: SeedRun, spec: RunSpec, chunks: list[Chunk], threads: int, *, claim: int
) -> Iterator[tuple[Chunk, bool]]:
    """Write ``chunks`` (of one phase), yielding (chunk, written) as each commits.

    Stops early when the run is no longer running (cancelled, or failed elsewhere);
    raises ChunkFailed from the first error after letting chunks in flight finish.
    """
    if threads <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            if _cancel_requested(run, claim):
                return
            try:
                yield chunk, seed_chunk_write(run=run, spec=spec, chunk=chunk)
            except Exception as exc:
                raise ChunkFailed(chunk) from exc
        return
    queue = iter(chunks)
    with ThreadPoolExecutor(threads, thread_name_prefix="seed-writer") as pool:
        in_flight: dict[Future, Chunk] = {}

        def submit_next() -> None:
            if (chunk := next(queue, None)) is not None:
                in_flight[pool.submit(_write_on_own_connection, run, spec, chunk)] = chunk

        for _ in range(threads):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = in_flight.pop(future)
                try:
                    written = future.result()
                except Exception as exc:
                    wait(in_flight)  # chunks in flight commit or roll back on their own
                    raise ChunkFailed(chunk) from exc
                yield chunk, written
                if not _cancel_requested(run, claim):
                    submit_next()


def _write_on_own_connection(run: SeedRun, spec: RunSpec, chunk: Chunk) -> bool:
    try:
        return seed_chunk_write(run=run, spec=spec, chunk=chunk)
    finally:
        connection.close()  # this thread's connection; the pool's threads end with the phase


def _cancel_requested(run: SeedRun, claim: int) -> bool:
    """True once this writer should stop: the run is no longer running (cancelled, or
    failed by someone else, e.g. marked abandoned) or another process claimed it
    since (a later resume; that process finishes the run). ``run.status`` is refreshed."""
    run.status, current_claim = SeedRun.objects.filter(pk=run.pk).values_list("status", "claim").first()
    return run.status != SeedRun.Status.RUNNING or current_claim != claim


def _default_requester(user) -> str:
    if user is not None:
        return user.get_username()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
