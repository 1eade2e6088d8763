"""Read-only queries about demo data and seed runs: counts, a run's status as JSON-ready data, digests.

Nothing here writes. An inline run whose process was SIGKILLed is failed by
``services.seed_runs_settle``, which the entry points that show runs call first.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from inventory.models import Event
from inventory.selectors import row_counts
from seeding.generation.kinds import KINDS
from seeding.generation.tickets import TICKET_OFFSET
from seeding.models import PendingEvent, SeedChunk, SeedChunkAttempt, SeedRun
from seeding.persistence.tables import COMPANION_MODELS, MODELS


def inventory_counts() -> dict[str, dict[str, int]]:
    """Exact rows per kind, cheap at any size: ``{"assets": {"total": n, "demo": m}, ...}``."""
    counts = row_counts()
    return {kind: counts[model] for kind, model in MODELS.items()}


def seed_run_digest(run: SeedRun) -> str:
    """A SHA-256 over every column of every row the run wrote (its kinds', then its people), in key order.

    The same plan, seed, base time and starting keys give the same digest on any
    database. Keys are part of the data (host names and serial numbers derive from
    them), and they start at 1 on an inventory emptied with ``--clear``.
    """
    digest = hashlib.sha256()
    tables = [(kind, MODELS[kind]) for kind in KINDS] + list(COMPANION_MODELS.items())
    for kind, model in tables:
        names = [f.attname for f in model._meta.concrete_fields if f.name != "seed_run"]
        digest.update(f"{kind}:{','.join(names)}\n".encode())
        rows = model.objects.filter(seed_run=run).order_by("pk").values_list(*names)
        for row in rows.iterator(chunk_size=5_000):
            digest.update(("\t".join(_canonical(value) for value in row) + "\n").encode())
    return digest.hexdigest()


def _canonical(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def seed_run_status(run: SeedRun) -> dict:
    """A run as plain JSON-ready data: the shape the API, the admin and the monitor show.

    Rate and ETA are the current stretch of writing's (since the latest resume); ``active_seconds`` is
    the time spent writing over every stretch, without the pauses before a resume.
    """
    now = timezone.now()
    rate = run.rows_per_second(now=now)
    eta = run.eta_seconds(now=now)
    active = run.active_seconds(now=now)
    return {
        "id": run.pk,
        "status": run.status,
        "executor": run.executor,
        "source": run.source,
        "requested_by": run.requested_by_label,
        "seed": run.seed,
        "as_of": run.as_of,
        "chunk_size": run.chunk_size,
        "planned": {kind: run.planned(kind) for kind in KINDS},
        "done": {kind: run.done(kind) for kind in KINDS},
        "total_planned": run.total_planned,
        "total_done": run.total_done,
        "progress": round(run.progress, 4),
        "rows_per_second": round(rate, 1) if rate is not None else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "active_seconds": round(active, 1) if active is not None else None,
        "stretches": run.stretches,
        "task_id": run.task_id or None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "resumed_at": run.resumed_at,
        "finished_at": run.finished_at,
        "cleared_at": run.cleared_at,
        "error": run.error or None,
        "mode": run.mode,
        "scenario": run.scenario.get("name") if run.scenario else None,
        "live": live_stream_figures(run) if run.is_live else None,
    }


def live_stream_figures(run: SeedRun) -> dict:
    """What a live stream adds to its run: its rate and window, how far behind the clock it is, the
    stretches it skipped, its incidents still open (their record written, their resolution waiting among the
    stream's pending events, a table of a few rows whatever the stream's size) and its change waves rolling
    out (their closing waits there likewise)."""
    now = timezone.now()
    written_until = run.written_until or run.window_start
    lag = (min(now, run.as_of) - written_until).total_seconds() if run.status == SeedRun.Status.RUNNING else None
    closings = PendingEvent.objects.filter(run=run, kind=Event.Kind.CHANGE, message__regex=r"^CHG[0-9]+ closed")
    return {
        "rate": round(run.events / run.window_seconds, 3),
        "duration_seconds": run.window_seconds,
        "starts_at": run.window_start,
        "ends_at": run.as_of,
        "written_until": written_until,
        "lag_seconds": round(max(lag, 0.0), 1) if lag is not None else None,
        "open_incidents": _open_incidents(run),
        "open_changes": closings.count(),
        "gaps": [{"since": start, "until": end, "events": events} for start, end, events in run.gaps],
    }


#: An incident's number, at the start of each of its messages.
_INCIDENT = re.compile(r"^INC([0-9]+)")


def _open_incidents(run: SeedRun) -> int:
    """Incidents whose record is written and whose resolution is still to happen. Their numbers are among
    the stream's pending events (a table of a few rows); an incident's number is its record's key plus
    TICKET_OFFSET (``generation.tickets``), so whether its record is written is a lookup by key."""
    waiting = {
        int(match[1]) - TICKET_OFFSET
        for message in PendingEvent.objects.filter(run=run, kind=Event.Kind.INCIDENT).values_list("message", flat=True)
        if (match := _INCIDENT.match(message))
    }
    return Event.objects.filter(pk__in=waiting, seed_run=run, kind=Event.Kind.INCIDENT).count() if waiting else 0


def live_stream_latest() -> SeedRun | None:
    """The running live stream, else the latest one (None if there never was one)."""
    streams = SeedRun.objects.filter(mode=SeedRun.Mode.LIVE)
    return streams.filter(is_active=True).first() or streams.order_by("-created_at", "-id").first()


def live_stream_recent_events(run: SeedRun, *, limit: int = 20) -> list[dict]:
    """The stream's latest events, newest first, with their host: what the monitor shows as they arrive."""
    events = Event.objects.filter(seed_run=run).order_by("-occurred_at", "-id")[:limit]
    return list(events.values("id", "occurred_at", "kind", "severity", "source", "message", "asset__hostname"))


def seed_run_failed_attempts(run_id: int) -> list[dict]:
    """Chunks of a run that needed more than one start, or whose last start failed, in write order.

    ``starts`` counts every start, crashes included; ``committed`` says whether a
    later start wrote it after all. ``last_error`` may hold driver text: staff pages only.
    """
    attempts = (
        SeedChunkAttempt.objects.filter(run_id=run_id)
        .filter(Q(attempts__gt=1) | ~Q(last_error=""))
        .annotate(
            committed=Exists(SeedChunk.objects.filter(run_id=run_id, kind=OuterRef("kind"), index=OuterRef("index")))
        )
        .order_by("updated_at", "kind", "index")
    )
    return [
        {
            "kind": a.kind,
            "index": a.index,
            "starts": a.attempts,
            "committed": a.committed,
            "cause": a.cause,
            "last_error": a.last_error,
            "updated_at": a.updated_at,
        }
        for a in attempts
    ]


def active_seed_run() -> SeedRun | None:
    return SeedRun.objects.filter(is_active=True).first()


def recent_seed_runs(*, limit: int = 10) -> list[SeedRun]:
    return list(SeedRun.objects.order_by("-created_at", "-id")[:limit])
