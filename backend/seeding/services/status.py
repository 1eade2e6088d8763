"""Status moves of a run, shared by the inline and the worker paths.

Every move is a conditional UPDATE ("from these statuses to that one"), so two
processes racing on one run (a cancel and a worker, a resume and a sweeper) can
never undo each other: the loser's update matches no row and it stands down.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from seeding.models import KINDS, SeedChunk, SeedRun

logger = logging.getLogger("seeding.services")


def transition(run: SeedRun, to: str, *, only_from: Q | tuple[str, ...], **fields) -> bool:
    """Move ``run`` to status ``to`` if it is currently in ``only_from``; True if it moved.

    Keeps ``is_active`` (the one-active-run guard) in step and refreshes ``run``.
    May raise IntegrityError when the move would make a second run active.
    """
    condition = only_from if isinstance(only_from, Q) else Q(status__in=only_from)
    fields.update(status=to, is_active=True if to in SeedRun.ACTIVE_STATUSES else None, updated_at=timezone.now())
    moved = SeedRun.objects.filter(condition, pk=run.pk).update(**fields)
    run.refresh_from_db()
    return bool(moved)


def seed_run_fail(*, run: SeedRun, error: str) -> bool:
    """Mark an active run failed with ``error``; a run that already ended is left alone."""
    failed = transition(
        run, SeedRun.Status.FAILED, only_from=SeedRun.ACTIVE_STATUSES, error=error[:4000], finished_at=timezone.now()
    )
    if failed:
        logger.warning("%s failed: %s", run, error)
    return failed


def seed_run_succeed(*, run: SeedRun, claim: int | None = None) -> bool:
    """Mark a running run succeeded (not one that was cancelled, failed, or, with
    ``claim``, claimed by another inline writer meanwhile), with its counters
    recomputed from its checkpoints first."""
    refresh_progress(run)
    condition = Q(status=SeedRun.Status.RUNNING) & (Q(claim=claim) if claim is not None else Q())
    succeeded = transition(run, SeedRun.Status.SUCCEEDED, only_from=condition, finished_at=timezone.now())
    if succeeded:
        logger.info("%s succeeded: %s rows", run, run.total_done)
    return succeeded


def refresh_progress(run: SeedRun) -> None:
    """Set the run's rows-done counters from its committed chunks (and mark it alive).

    Derived from the checkpoints, so the counters are exact whatever crashed
    between a chunk's commit and this update.
    """
    committed = SeedChunk.objects.filter(run=OuterRef("pk"))
    counters = {
        f"{kind}_done": Coalesce(
            Subquery(committed.filter(kind=kind).values("run").annotate(total=Sum("rows")).values("total")), 0
        )
        for kind in KINDS
    }
    SeedRun.objects.filter(pk=run.pk).update(**counters, updated_at=timezone.now())
    for name, value in SeedRun.objects.filter(pk=run.pk).values(*counters, "updated_at").first().items():
        setattr(run, name, value)


def abandon_stale_inline_runs() -> None:
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
