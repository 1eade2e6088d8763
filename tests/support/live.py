"""What the live stream tests share: a stream's rows as they compare, and taking a stream back to its start
so that the same run (the same keys, so the same ticket numbers) can be written another way."""

from __future__ import annotations

from inventory.models import Event
from seeding.models import PendingEvent, SeedChunk, SeedRun

EVENT_FIELDS = ("id", "asset_id", "deployment_id", "kind", "severity", "source", "message", "occurred_at")


def rows(run: SeedRun) -> list[tuple]:
    """Every column of the stream's events, in key order."""
    return list(Event.objects.filter(seed_run=run).order_by("pk").values_list(*EVENT_FIELDS))


def rewind(run: SeedRun) -> int:
    """Take the stream back to its start, its keys kept, running, as if nothing had been written; returns its
    claim (a writer holding it may write the stream from the start)."""
    Event.objects.filter(seed_run=run).delete()
    PendingEvent.objects.filter(run=run).delete()
    SeedChunk.objects.filter(run=run).delete()
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, is_active=True, written_until=run.window_start, events_done=0, gaps=[]
    )
    run.refresh_from_db()
    return run.claim
