"""Status moves of a run, shared by the inline and the worker paths."""

from __future__ import annotations

import logging

from django.utils import timezone

from seeding.models import SeedRun

logger = logging.getLogger("seeding.services")


def set_status(run: SeedRun, status: str, **fields) -> None:
    """Move ``run`` to ``status``, keeping ``is_active`` (the one-active-run guard) in step."""
    fields.update(status=status, is_active=True if status in SeedRun.ACTIVE_STATUSES else None)
    for name, value in fields.items():
        setattr(run, name, value)
    SeedRun.objects.filter(pk=run.pk).update(**fields, updated_at=timezone.now())


def seed_run_fail(*, run: SeedRun, error: str) -> None:
    """Mark an active run failed with ``error`` (idempotent; a finished run is left alone)."""
    SeedRun.objects.filter(pk=run.pk, status__in=SeedRun.ACTIVE_STATUSES).update(
        status=SeedRun.Status.FAILED,
        is_active=None,
        error=error[:4000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    run.refresh_from_db()
    logger.warning("%s failed: %s", run, error)
