"""Creating runs, running them inline, cancelling them, and their status moves.

A run's life: created ``queued`` (plan validated, keys reserved), then ``running``,
then ``succeeded``, ``failed`` or ``cancelled``. The database allows one queued or
running run at a time (a partial unique index), whoever asks.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from seeding.generation.chunks import MODELS
from seeding.generation.spec import RunSpec
from seeding.keys import reserve_ids
from seeding.models import KINDS, SeedChunk, SeedRun
from seeding.plan import Chunk, SeedPlan, chunks_of, validate_plan
from seeding.services.chunks import seed_chunk_write
from seeding.services.errors import RunAlreadyActive, RunNotResumable, SeedingError
from seeding.services.status import seed_run_fail, set_status

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
    _abandon_stale_inline_runs()
    run = SeedRun(
        applications=plan.applications,
        assets=plan.assets,
        deployments=plan.deployments,
        events=plan.events,
        seed=plan.seed,
        as_of=(plan.as_of or timezone.now()).replace(microsecond=0),
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
    try:
        set_status(
            run,
            SeedRun.Status.RUNNING,
            executor=SeedRun.Executor.INLINE,
            started_at=run.started_at or timezone.now(),
            error="",
            finished_at=None,
        )
    except IntegrityError:
        raise _already_active_error() from None
    spec = RunSpec.from_run(run)
    chunk: Chunk | None = None
    try:
        for chunk in seed_run_pending_chunks(run):
            if _cancel_requested(run):
                logger.info("%s cancelled before %s[%s]", run, chunk.kind, chunk.index)
                return run
            if seed_chunk_write(run=run, spec=spec, chunk=chunk):
                setattr(run, f"{chunk.kind}_done", run.done(chunk.kind) + chunk.rows)
            if on_progress:
                on_progress(run, chunk)
    except BaseException as exc:
        where = f" in {chunk.kind} chunk {chunk.index}" if chunk else ""
        interrupted = isinstance(exc, KeyboardInterrupt)
        message = "interrupted" if interrupted else f"{type(exc).__name__}: {exc}"
        set_status(
            run,
            SeedRun.Status.CANCELLED if interrupted else SeedRun.Status.FAILED,
            error=f"{message}{where}; committed chunks are kept"[:4000],
            finished_at=timezone.now(),
        )
        if interrupted:
            raise
        raise SeedingError(f"{run} failed{where}: {message}", run=run) from exc
    set_status(run, SeedRun.Status.SUCCEEDED, finished_at=timezone.now())
    logger.info("%s succeeded: %s rows", run, run.total_done)
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


def _abandon_stale_inline_runs() -> None:
    """Fail inline runs whose process died (no progress for SEED_STALL_AFTER_SECONDS).

    Nothing else would ever finish them, and as active runs they would block every
    new run. Worker runs are not touched: the sweeper re-dispatches those.
    """
    threshold = timezone.now() - timedelta(seconds=settings.SEED_STALL_AFTER_SECONDS)
    for run in SeedRun.objects.filter(is_active=True, executor=SeedRun.Executor.INLINE, updated_at__lt=threshold):
        seed_run_fail(
            run=run,
            error=f"abandoned: no progress since {run.updated_at:%Y-%m-%d %H:%M:%S} UTC (the process running it "
            f"stopped); committed chunks are kept; resume with: manage.py seed_demo_data --resume {run.pk}",
        )


def _already_active_error() -> SeedingError:
    active = SeedRun.objects.filter(is_active=True).first()
    return RunAlreadyActive(active) if active else SeedingError("could not record the run; try again")


def _cancel_requested(run: SeedRun) -> bool:
    status = SeedRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if status == SeedRun.Status.CANCELLED:
        run.status = status
        return True
    return False


def _default_requester(user) -> str:
    if user is not None:
        return user.get_username()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
