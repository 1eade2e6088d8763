"""Following a run that real worker processes write: awaiting its progress, and which chunks a
process holds the lease of (the one sign, from outside, of what a worker is writing right now)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from seeding.models import SeedChunkAttempt, SeedRun
from tests.support.waiting import wait_until


class Logged(Protocol):
    """What started the processes writing a run: their logs go into a timeout's message."""

    def logs(self) -> str: ...


def wait_for(run: SeedRun, predicate: Callable[[SeedRun], bool], workers: Logged, timeout: float = 90.0) -> SeedRun:
    """``run``, read again until ``predicate`` holds for it; on a timeout the message has its progress and the logs."""

    def holds() -> bool:
        run.refresh_from_db()
        return predicate(run)

    wait_until(
        holds,
        timeout=timeout,
        interval=0.2,
        message=lambda: f"{run} at {run.total_done}/{run.total_planned}, error={run.error!r}\n{workers.logs()}",
    )
    return run


def finished(run: SeedRun) -> bool:
    return not run.is_active


def leased_by(run: SeedRun, pids: set[str], within: float | None = None) -> list[tuple[str, int]]:
    """Chunks of ``run`` whose live lease a thread of one of ``pids`` holds (taken in the last ``within`` s)."""
    leases = SeedChunkAttempt.objects.filter(run=run, lease_until__isnull=False)
    if within is not None:
        lease = timedelta(seconds=settings.SEED_CHUNK_LEASE_SECONDS)
        leases = leases.filter(lease_until__gt=timezone.now() + lease - timedelta(seconds=within))
    return [(a.kind, a.index) for a in leases if a.lease_holder.split(":")[1] in pids]
