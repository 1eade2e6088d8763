"""What the live stream tests share: a stream's rows as they compare, and taking a stream back to its start
so that the same run (the same keys, so the same ticket numbers) can be written another way."""

from __future__ import annotations

from datetime import datetime

from inventory.models import Application, Asset, Deployment, Event
from seeding.models import PendingEvent, SeedChunk, SeedRun
from seeding.services import live

EVENT_FIELDS = ("id", "asset_id", "deployment_id", "kind", "severity", "source", "message", "occurred_at")


def rows(run: SeedRun) -> list[tuple]:
    """Every column of the stream's events, in key order."""
    return list(Event.objects.filter(seed_run=run).order_by("pk").values_list(*EVENT_FIELDS))


#: What a stream changes besides writing events (``generation.happenings``), by model: the fields it moves.
MOVING = {
    Asset: ("lifecycle_status", "hostname", "ip_address", "location", "assigned_to"),
    Deployment: ("status", "version"),
    Application: ("version",),
}


def estate_state() -> dict[str, dict[int, tuple]]:
    """Every asset's lifecycle, every deployment's status and version, every application's version, by key:
    what a stream's lifecycle moves and releases change."""
    return {
        model.__name__: {pk: tuple(values) for pk, *values in model.objects.values_list("pk", *fields)}
        for model, fields in MOVING.items()
    }


def rewind(run: SeedRun, *, state: dict[str, dict[int, tuple]] | None = None) -> int:
    """Take the stream back to its start, its keys kept, running, as if nothing had been written; returns its
    claim (a writer holding it may write the stream from the start). ``state``: the estate's as it was before
    the stream (``estate_state()``), to undo what the stream changed in it."""
    now = estate_state() if state else {}
    for model, fields in MOVING.items():
        for pk, values in (state or {}).get(model.__name__, {}).items():
            if now[model.__name__].get(pk) != values:
                model.objects.filter(pk=pk).update(**dict(zip(fields, values)))
    Event.objects.filter(seed_run=run).delete()
    PendingEvent.objects.filter(run=run).delete()
    SeedChunk.objects.filter(run=run).delete()
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, is_active=True, written_until=run.window_start, events_done=0, gaps=[]
    )
    run.refresh_from_db()
    return run.claim


def write_stream(run: SeedRun, claim: int, start: datetime, *, until: int, step: int, since: int | None = None) -> None:
    """Write ``run`` as its writer would with a clock that moves ``step`` seconds at a time, from ``since`` (its
    checkpoint) to ``until`` seconds after ``start``."""
    second = since if since is not None else int((run.written_until - run.window_start).total_seconds())
    while second < until:
        second = min(until, second + step)
        assert live.live_stream_catch_up(run=run, claim=claim, now=start.timestamp() + second)
