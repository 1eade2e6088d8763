"""Status moves of a run, shared by the inline and the worker paths.

Every move is a conditional UPDATE ("from these statuses to that one"), so two
processes racing on one run (a cancel and a worker, a resume and a sweeper) can
never undo each other: the loser's update matches no row and it stands down.
"""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from seeding.models import SeedRun

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


def seed_run_succeed(*, run: SeedRun) -> bool:
    """Mark a running run succeeded (not one that was cancelled or failed meanwhile)."""
    succeeded = transition(
        run, SeedRun.Status.SUCCEEDED, only_from=(SeedRun.Status.RUNNING,), finished_at=timezone.now()
    )
    if succeeded:
        logger.info("%s succeeded: %s rows", run, run.total_done)
    return succeeded
