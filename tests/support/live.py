"""What the live stream tests share: a stream's rows as they compare, and taking a stream back to its start
so that the same run (the same keys, so the same ticket numbers) can be written another way."""

from __future__ import annotations

from inventory.models import Asset, Event
from seeding.models import PendingEvent, SeedChunk, SeedRun

EVENT_FIELDS = ("id", "asset_id", "deployment_id", "kind", "severity", "source", "message", "occurred_at")


def rows(run: SeedRun) -> list[tuple]:
    """Every column of the stream's events, in key order."""
    return list(Event.objects.filter(seed_run=run).order_by("pk").values_list(*EVENT_FIELDS))


def lifecycles() -> dict[int, str]:
    """Every asset's lifecycle, by key: what a stream's moves change (``generation.moves``)."""
    return dict(Asset.objects.values_list("pk", "lifecycle_status"))


def rewind(run: SeedRun, *, lifecycles: dict[int, str] | None = None) -> int:
    """Take the stream back to its start, its keys kept, running, as if nothing had been written; returns its
    claim (a writer holding it may write the stream from the start). ``lifecycles``: the assets' as they
    were before the stream (``lifecycles()``), to undo its moves."""
    for pk, lifecycle in (lifecycles or {}).items():
        Asset.objects.filter(pk=pk).exclude(lifecycle_status=lifecycle).update(lifecycle_status=lifecycle)
    Event.objects.filter(seed_run=run).delete()
    PendingEvent.objects.filter(run=run).delete()
    SeedChunk.objects.filter(run=run).delete()
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, is_active=True, written_until=run.window_start, events_done=0, gaps=[]
    )
    run.refresh_from_db()
    return run.claim
