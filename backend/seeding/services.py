"""The seeding service: the only code that writes demo data.

The management command, the admin and the API (and later the workers) are thin
callers of these functions. The flow for one run:

1. ``seed_run_create`` validates the plan, reserves primary keys and records a
   queued ``SeedRun``;
2. ``seed_run_execute`` writes its pending chunks in order;
3. ``seed_chunk_write`` writes one chunk and its ``SeedChunk`` checkpoint in a
   single transaction; a chunk already checkpointed is skipped, so re-running a
   run resumes exactly where it stopped.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
from collections.abc import Callable, Iterator

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Application, Asset, Deployment, Event
from seeding.generation.chunks import MODELS, generate_chunk
from seeding.generation.spec import RunSpec
from seeding.keys import reserve_ids
from seeding.models import KINDS, SeedChunk, SeedRun
from seeding.plan import Chunk, PlanError, SeedPlan, chunks_of, validate_plan
from seeding.writers import write_rows

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[SeedRun, Chunk], None]


class SeedingError(Exception):
    """A run could not be completed; the message says why and what was kept."""


class RunNotResumable(SeedingError):
    pass


class ClearRefused(SeedingError):
    pass


def seed_run_create(
    *,
    plan: SeedPlan,
    source: str = SeedRun.Source.COMMAND,
    requested_by=None,
    requested_by_label: str = "",
) -> SeedRun:
    """Validate ``plan`` and record a queued run with its keys reserved.

    Raises PlanError (with per-field messages) and writes nothing if the plan is bad.
    """
    validate_plan(plan, existing=_existing_parents(plan))
    as_of = (plan.as_of or timezone.now()).replace(microsecond=0)
    with transaction.atomic():
        run = SeedRun(
            applications=plan.applications,
            assets=plan.assets,
            deployments=plan.deployments,
            events=plan.events,
            seed=plan.seed,
            as_of=as_of,
            chunk_size=plan.chunk_size,
            source=source,
            requested_by=requested_by,
            requested_by_label=requested_by_label or _default_requester(requested_by),
        )
        for kind in KINDS:
            setattr(run, f"{kind}_id_base", reserve_ids(MODELS[kind], plan.count(kind)))
        run.save()
    logger.info("Created %s: %s", run, plan_summary(run))
    return run


def seed_run_pending_chunks(run: SeedRun) -> Iterator[Chunk]:
    """The run's chunks not yet checkpointed, in write order."""
    done = set(SeedChunk.objects.filter(run=run).values_list("kind", "index"))
    for kind in KINDS:
        for chunk in chunks_of(kind, run.planned(kind), run.chunk_size):
            if (chunk.kind, chunk.index) not in done:
                yield chunk


def seed_run_execute(*, run: SeedRun, on_progress: ProgressCallback | None = None) -> SeedRun:
    """Write every pending chunk of ``run``; resumable after any failure.

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
    _set_status(run, SeedRun.Status.RUNNING, started_at=run.started_at or timezone.now(), error="", finished_at=None)
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
        _set_status(
            run,
            SeedRun.Status.CANCELLED if interrupted else SeedRun.Status.FAILED,
            error=f"{message}{where}; committed chunks are kept"[:4000],
            finished_at=timezone.now(),
        )
        if interrupted:
            raise
        raise SeedingError(f"{run} failed{where}: {message}") from exc
    _set_status(run, SeedRun.Status.SUCCEEDED, finished_at=timezone.now())
    logger.info("%s succeeded: %s rows", run, run.total_done)
    return run


def seed_chunk_write(*, run: SeedRun, spec: RunSpec, chunk: Chunk) -> bool:
    """Write one chunk and its checkpoint atomically. False if it was already written."""
    with transaction.atomic():
        if SeedChunk.objects.filter(run=run, kind=chunk.kind, index=chunk.index).exists():
            return False
        model, columns = generate_chunk(spec, chunk)
        write_rows(model, columns, seed_run_id=run.pk)
        SeedChunk.objects.create(run=run, kind=chunk.kind, index=chunk.index, rows=chunk.rows)
        SeedRun.objects.filter(pk=run.pk).update(
            **{f"{chunk.kind}_done": F(f"{chunk.kind}_done") + chunk.rows}, updated_at=timezone.now()
        )
    return True


def seed_run_cancel(*, run: SeedRun) -> SeedRun:
    """Ask an active run to stop at its next chunk boundary; committed chunks stay."""
    updated = SeedRun.objects.filter(pk=run.pk, status__in=SeedRun.ACTIVE_STATUSES).update(
        status=SeedRun.Status.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    run.refresh_from_db()
    if not updated:
        raise RunNotResumable(f"{run} is not active")
    return run


def seed(*, plan: SeedPlan, on_progress: ProgressCallback | None = None, **create_kwargs) -> SeedRun:
    """Create a run for ``plan`` and write it right away (the inline path)."""
    run = seed_run_create(plan=plan, **create_kwargs)
    return seed_run_execute(run=run, on_progress=on_progress)


# --- clearing -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClearResult:
    deleted: dict[str, int]  # rows deleted per kind

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def demo_data_clear(*, run: SeedRun | None = None) -> ClearResult:
    """Delete the rows seeding wrote: all of them, or one run's. Never other rows.

    Refuses (ClearRefused, nothing deleted) while a run is active, or when rows
    that seeding did not write point at demo rows: deleting the demo rows would
    then take real data with them.
    """
    active = SeedRun.objects.filter(status__in=SeedRun.ACTIVE_STATUSES)
    if run is not None:
        active = active.filter(pk=run.pk)
    if active_run := active.first():
        raise ClearRefused(f"{active_run} is still active; cancel it or wait for it to finish")

    scope = {"seed_run": run} if run is not None else {"seed_run__isnull": False}
    _refuse_if_real_rows_depend_on(scope)
    with transaction.atomic():
        if run is None and not any(MODELS[kind].objects.real().exists() for kind in KINDS):
            deleted = {kind: MODELS[kind].objects.count() for kind in KINDS}
            _flush_inventory()
        else:
            deleted = {}
            # Children first; each is one DELETE statement (Django's collector
            # would load every row to emulate cascades that cannot occur here).
            for kind in reversed(KINDS):
                queryset = MODELS[kind].objects.filter(**scope)
                deleted[kind] = queryset._raw_delete(queryset.db)
            if not any(MODELS[kind].objects.exists() for kind in KINDS):
                _flush_inventory()
        runs = SeedRun.objects.filter(pk=run.pk) if run is not None else SeedRun.objects.filter(cleared_at=None)
        runs.update(cleared_at=timezone.now())
    logger.info("Cleared demo data%s: %s", f" of {run}" if run else "", deleted)
    return ClearResult(deleted={kind: deleted[kind] for kind in KINDS})


def _existing_parents(plan: SeedPlan) -> dict[str, int]:
    """Row counts of the parent kinds the plan needs but does not write itself."""
    needed = set()
    if plan.deployments:
        needed |= {"applications", "assets"}
    if plan.events:
        needed.add("assets")
    return {kind: MODELS[kind].objects.count() for kind in needed if not plan.count(kind)}


def _flush_inventory() -> None:
    """Empty the inventory tables and restart their id counters (Django's own
    ``flush`` SQL: TRUNCATE on PostgreSQL). Only called when no row in them was
    entered by people. With counters back at 1, seeding the same plan, seed and
    base time again reproduces the earlier rows exactly, keys and host names included."""
    tables = [MODELS[kind]._meta.db_table for kind in KINDS]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
    connection.ops.execute_sql_flush(statements)


def _refuse_if_real_rows_depend_on(scope: dict) -> None:
    checks = [
        (Deployment, "application", Application),
        (Deployment, "asset", Asset),
        (Event, "asset", Asset),
        (Event, "deployment", Deployment),
    ]
    for child, field, parent in checks:
        parent_scope = {f"{field}__{key}": value for key, value in scope.items()}
        dependants = child.objects.real().filter(**parent_scope).count()
        if dependants:
            raise ClearRefused(
                f"{dependants} {child._meta.verbose_name_plural} not written by seeding refer to demo "
                f"{parent._meta.verbose_name_plural}; delete or re-point them first. Nothing was deleted."
            )


# --- helpers --------------------------------------------------------------------


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


def _set_status(run: SeedRun, status: str, **fields) -> None:
    fields["status"] = status
    for name, value in fields.items():
        setattr(run, name, value)
    SeedRun.objects.filter(pk=run.pk).update(**fields, updated_at=timezone.now())


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


__all__ = [
    "ClearRefused",
    "ClearResult",
    "PlanError",
    "RunNotResumable",
    "SeedingError",
    "demo_data_clear",
    "plan_of",
    "plan_summary",
    "seed",
    "seed_chunk_write",
    "seed_run_cancel",
    "seed_run_create",
    "seed_run_execute",
    "seed_run_pending_chunks",
]
