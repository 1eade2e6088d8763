"""Live streams: the estate keeps moving while a demo runs.

A live stream is a run (``SeedRun.Mode.LIVE``) whose event window lies ahead of
it: from its start, for its duration, at a chosen mean rate. What it writes is
a pure function of its seed, its start and the second (``generation.live``); it
is written second by second as time passes, in ticks of SEED_LIVE_TICK_SECONDS.
Each tick's rows commit together with the stream's checkpoint
(``SeedRun.written_until``), moved by a conditional update from exactly where
the tick begins, so no tick is written twice and none is lost, whoever writes
(this process, a worker, a worker that took over from a dead one). A stream
that fell more than SEED_LIVE_MAX_LAG_SECONDS behind (its process was gone a
while) skips ahead to now and records the gap (``SeedRun.gaps``).

Like any run, a stream is created ``queued`` (keys reserved for every event it
may write, its view of the estate recorded), then ``running``; it ends
``succeeded`` at the end of its window, ``cancelled`` when stopped, or
``failed``. The one-active-run rule holds: no seeding while a stream runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.services import row_count_deltas_compact
from seeding.catalogs import active_catalog, active_scenario
from seeding.generation.catalog import CatalogError
from seeding.generation.columns import Parents
from seeding.generation.effects import Effect
from seeding.generation.live import stretch_events
from seeding.generation.spec import RunSpec
from seeding.generation.timeline import first_event_in_slot, timeline_of
from seeding.messaging import queue
from seeding.models import PendingEvent, SeedChunk, SeedRun
from seeding.persistence.effects import apply_effects
from seeding.persistence.parent_view.reading import parents_of
from seeding.persistence.tables import MODELS
from seeding.persistence.writers import write_rows
from seeding.plan import DEFAULT_SEED, PER_KIND_MAX, SEED_MAX, PlanError, SeedPlan, validate_plan
from seeding.services.audit import Requester
from seeding.services.chunk_transaction import writer_name
from seeding.services.errors import RunNotActive
from seeding.services.runs import (
    seed_run_cancel,
    seed_run_claim,
    seed_run_create,
    seed_run_fail,
    seed_run_succeed,
)

logger = logging.getLogger("seeding.services")

#: Bounds of a stream: events per second (mean), and its duration in seconds.
RATE_MIN, RATE_MAX = 0.01, 5_000.0
DURATION_MIN, DURATION_MAX = 60, 7 * 86_400
DEFAULT_RATE, DEFAULT_DURATION = 10.0, 3_600
#: Ticks one transaction at most catches up with at a time (a stream that fell behind writes its
#: backlog in a few large commits instead of many small ones).
CATCH_UP_TICKS = 30

Clock = Callable[[], float]


def live_stream_start(
    *,
    rate: float = DEFAULT_RATE,
    duration: int = DEFAULT_DURATION,
    seed: int = DEFAULT_SEED,
    source: str = SeedRun.Source.COMMAND,
    executor: str = SeedRun.Executor.INLINE,
    requested_by=None,
    requested_by_label: str = "",
    start: datetime | None = None,
    scenario: str | None = None,
) -> SeedRun:
    """Validate and record a queued live stream of ``rate`` events a second (on average, by the sites'
    rhythm) for ``duration`` seconds from ``start`` (now), shaped by the ``scenario`` pack. Raises PlanError
    (per field: rate, duration, seed, scenario, estate) or RunAlreadyActive, writing nothing."""
    events = live_stream_validate(rate=rate, duration=duration, seed=seed, scenario=scenario)
    start = (start or timezone.now()).astimezone(UTC).replace(microsecond=0)
    as_of = start + timedelta(seconds=duration)
    plan = SeedPlan(events=events, seed=seed, as_of=as_of, chunk_size=1_000, scenario=scenario)
    try:
        return seed_run_create(
            plan=plan,
            source=source,
            executor=executor,
            requested_by=requested_by,
            requested_by_label=requested_by_label,
            live_window=duration,
        )
    except PlanError as exc:  # what the plan's checks say of its events, said of the stream
        if "events" in exc.errors:
            needs = "a live stream needs assets in service to happen to: seed an estate first"
            raise PlanError({"estate": needs}) from None
        raise


def live_stream_run_here(
    *, run: SeedRun, resume: bool = False, by: Requester | None = None, on_tick: Callable[[SeedRun], None] | None = None
) -> SeedRun:
    """Write a stream in this process until it ends or is stopped: a new inline stream, or (``resume``) one
    that failed or was stopped, from its checkpoint. Ctrl-C stops it. Returns the run as it then is;
    ``on_tick`` is a display, called after each tick's commit. Raises RunNotResumable as a resume does."""
    claim = seed_run_claim(run=run, resume=resume, by=by)
    if claim is None:
        return run  # stopped before it started
    try:
        live_stream_follow(run=run, claim=claim, on_tick=on_tick)
    except KeyboardInterrupt:
        with contextlib.suppress(RunNotActive):
            live_stream_stop(run=run, by=by)
        raise
    except Exception as exc:
        seed_run_fail(run=run, error=f"the live stream stopped: {type(exc).__name__}", detail=str(exc), claim=claim)
        raise
    run.refresh_from_db()
    return run


def live_stream_hand_on(*, run: SeedRun) -> int:
    """Give a stream running on the workers to a new writer (its start, or the sweeper's takeover of a
    stalled one): its claim moves on, so a writer still holding the old one stands down at its next tick.
    Returns the new claim, or 0 if the stream is no longer running."""
    if not SeedRun.objects.filter(pk=run.pk, status=SeedRun.Status.RUNNING).update(
        claim=F("claim") + 1, updated_at=timezone.now()
    ):
        return 0
    run.refresh_from_db()
    queue.send_live_turn(run.pk, run.claim)
    return run.claim


def live_stream_turn(*, run_id: int, claim: int) -> str:
    """A worker's turn at a stream: write it for SEED_LIVE_TURN_SECONDS, then send the next turn. Returns
    what happened: "ended", "stood down", "skipped" (not running, or another writer's claim) or "paused"."""
    run = SeedRun.objects.filter(pk=run_id).first()
    if run is None or run.status != SeedRun.Status.RUNNING or run.claim != claim or not run.is_live:
        return "skipped"
    outcome = live_stream_follow(run=run, claim=claim, for_seconds=settings.SEED_LIVE_TURN_SECONDS)
    if outcome == "paused":
        queue.send_live_turn(run.pk, claim)
    return outcome


def live_stream_validate(*, rate: float, duration: int, seed: int, scenario: str | None = None) -> int:
    """Raise PlanError (per field: rate, duration, seed, scenario) unless a stream of ``rate`` events a
    second for ``duration`` seconds, shaped by the ``scenario`` pack, may be started; returns how many events
    it plans (a pack may ask for a share of the rate). Needs no database."""
    errors = {}
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not RATE_MIN <= rate <= RATE_MAX:
        errors["rate"] = f"must be a number of events per second from {RATE_MIN:g} to {RATE_MAX:,.0f}"
    if not isinstance(duration, int) or isinstance(duration, bool) or not DURATION_MIN <= duration <= DURATION_MAX:
        errors["duration"] = f"must be a whole number of seconds from {DURATION_MIN} to {DURATION_MAX:,} (7 days)"
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX:
        errors["seed"] = f"must be an integer from 0 to {SEED_MAX}"
    share = 1.0
    if scenario is not None:
        try:
            validate_plan(SeedPlan(events=1, scenario=scenario))  # the name, as for a plan
            share = active_scenario(scenario).rate
        except PlanError as exc:
            errors.update(exc.errors)
        except CatalogError as exc:
            errors["scenario"] = str(exc)
    if errors:
        raise PlanError(errors)
    # At least one event: the slowest stream a pack quiets (0.01 a second for a minute, a third of it) is
    # still a stream, and every rate the document allows is accepted.
    events = max(1, round(rate * share * duration))
    limit = min(settings.SEED_MAX_TOTAL, PER_KIND_MAX)
    if events > limit:
        raise PlanError(
            {
                "rate": f"{rate:g} events a second for {duration:,} s is {events:,} events; the limit is {limit:,} "
                "(SEED_MAX_TOTAL): lower the rate or the duration"
            }
        )
    return events


def live_stream_stop(*, run: SeedRun, by: Requester | None = None) -> SeedRun:
    """Stop a live stream: no tick commits after this. Raises RunNotActive for one that has ended."""
    try:
        return seed_run_cancel(
            run=run,
            by=by,
            reason="stopped on request; what it wrote is kept",
            audit=f"live stream stopped at {run.events_done:,} of {run.events:,} events",
        )
    except RunNotActive:
        raise RunNotActive(f"live stream #{run.pk} has already ended ({run.status})") from None


def live_stream_follow(
    *,
    run: SeedRun,
    claim: int,
    clock: Clock | None = None,
    sleep: Callable[[float], None] | None = None,
    for_seconds: float | None = None,
    on_tick: Callable[[SeedRun], None] | None = None,
) -> str:
    """Write ``run``'s stream as time passes, tick by tick, until it ends ("ended"), is stopped or taken
    over ("stood down"), or ``for_seconds`` have gone by ("paused": a worker's turn is over).

    ``claim``: the run's claim this writer holds; a writer that finds another stands down.
    """
    clock, sleep = clock or time.time, sleep or time.sleep  # looked up now: a test may stand in for the clock
    spec = RunSpec.from_run(run, catalog=active_catalog())
    parents = parents_of(run, spec)
    began = clock()
    while True:
        if not live_stream_catch_up(run=run, claim=claim, now=clock(), spec=spec, parents=parents):
            return "stood down"
        if on_tick is not None:
            on_tick(run)
        if run.written_until >= run.as_of:
            seed_run_succeed(run=run, claim=claim)
            row_count_deltas_compact()
            return "ended"
        if for_seconds is not None and clock() - began >= for_seconds:
            return "paused"
        tick = settings.SEED_LIVE_TICK_SECONDS
        next_tick = run.written_until.timestamp() + tick
        sleep(max(0.0, min(next_tick - clock(), tick)) + 0.01)


def live_stream_catch_up(
    *, run: SeedRun, claim: int, now: float, spec: RunSpec | None = None, parents: Parents | None = None
) -> bool:
    """Write every tick of ``run`` that has passed by ``now`` (epoch seconds); False if this writer must
    stand down (the stream was stopped, failed, or another writer holds it). ``run`` is refreshed.
    ``spec`` and ``parents``: the run's, when the caller has them at hand."""
    spec = spec or RunSpec.from_run(run, catalog=active_catalog())
    parents = parents or parents_of(run, spec)
    tick = settings.SEED_LIVE_TICK_SECONDS
    run.refresh_from_db()
    if run.status != SeedRun.Status.RUNNING or run.claim != claim or run.cleared_at is not None:
        return False
    start, end = int(run.window_start.timestamp()), int(run.as_of.timestamp())
    written = int(run.written_until.timestamp())
    due = min(end, start + (int(now) - start) // tick * tick)
    if due - written > settings.SEED_LIVE_MAX_LAG_SECONDS:
        if not _skip_ahead(run, claim, spec, written, due - tick):
            return False
        written = due - tick
    while written < due:
        until = min(due, written + CATCH_UP_TICKS * tick)
        if not _write_ticks(run, claim, spec, parents, written, until):
            return False
        written = until
    run.refresh_from_db()
    return run.status == SeedRun.Status.RUNNING or run.written_until >= run.as_of


def _write_ticks(run: SeedRun, claim: int, spec: RunSpec, parents: Parents, since: int, until: int) -> bool:
    """The events of seconds [since, until) and the checkpoint moved from ``since`` to ``until``, in one
    transaction; False (nothing written) if the checkpoint is no longer at ``since`` or the writer lost
    its claim. Episode events that happen later are kept as pending events; those that happen in these
    seconds are written with the rest, and what they change in the estate is changed with them, in the
    order it happened."""
    started = time.perf_counter()
    stretch = stretch_events(spec, since, until, parents)  # before the transaction: it stays short
    due = dict(stretch.due)
    effects = [
        (at, key, order, effect)
        for at, key, told in zip(due["occurred_at"], due["id"], due.pop("effects"))
        for order, effect in enumerate(told)
    ]
    tick = settings.SEED_LIVE_TICK_SECONDS
    with transaction.atomic():
        moved = SeedRun.objects.filter(
            pk=run.pk,
            status=SeedRun.Status.RUNNING,
            claim=claim,
            cleared_at__isnull=True,
            written_until=_moment(since),
        ).update(written_until=_moment(until), updated_at=timezone.now())
        if not moved:
            return False
        rows = write_rows(MODELS["events"], due, seed_run_id=run.pk)
        pending, pending_effects = _write_pending_due(run, until)
        rows += pending
        _keep_pending(run, stretch.later)
        apply_effects(effect for *_, effect in sorted(effects + pending_effects))
        if rows:
            SeedRun.objects.filter(pk=run.pk).update(events_done=F("events_done") + rows)
            SeedChunk.objects.create(
                run=run,
                kind="events",
                index=(since - int(run.window_start.timestamp())) // tick,
                rows=rows,
                written_by=writer_name(),
                seconds=round(time.perf_counter() - started, 3),
            )
    return True


_EVENT_FIELDS = ("id", "asset", "deployment", "kind", "severity", "source", "message", "occurred_at")
_PENDING_FIELDS = ("event_id", "asset_id", "deployment_id", "kind", "severity", "source", "message", "occurred_at")


def _keep_pending(run: SeedRun, later: dict[str, list]) -> None:
    rows = zip(*(later[name] for name in _EVENT_FIELDS), later["effects"])
    PendingEvent.objects.bulk_create(
        PendingEvent(
            run=run,
            **dict(zip(_PENDING_FIELDS, values[:-2])),
            occurred_at=_parsed(values[-2]),
            effects=[effect.as_json() for effect in values[-1]] or None,
        )
        for values in rows
    )


def _write_pending_due(run: SeedRun, until: int) -> tuple[int, list[tuple[str, int, int, Effect]]]:
    """Move the pending events that happen before ``until`` into the inventory; returns how many, and what
    they change (as (time, key, order, effect), the time as generated)."""
    due = PendingEvent.objects.filter(run=run, occurred_at__lt=_moment(until))
    rows = list(due.order_by("event_id").values_list(*_PENDING_FIELDS, "effects"))
    if not rows:
        return 0, []
    columns = {name: [row[i] for row in rows] for i, name in enumerate(_EVENT_FIELDS)}
    # As generated: SQLite stores the text it is given, and an aware datetime would add "+00:00" to these
    # rows only (ordering and comparing them as text against the others' would then be off by a second).
    columns["occurred_at"] = [_text(at) for at in columns["occurred_at"]]
    write_rows(MODELS["events"], columns, seed_run_id=run.pk)
    due.delete()
    effects = [
        (_text(row[-2]), row[0], order, Effect.from_json(effect))
        for row in rows
        for order, effect in enumerate(row[-1] or ())
    ]
    return len(rows), effects


def _text(moment: datetime) -> str:
    """An aware datetime as generation writes times: 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _parsed(text: str) -> datetime:
    """A generated 'YYYY-MM-DD HH:MM:SS' (UTC) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _skip_ahead(run: SeedRun, claim: int, spec: RunSpec, since: int, until: int) -> bool:
    """Move the checkpoint over [since, until) without writing it, and record the gap: the stream fell
    further behind than SEED_LIVE_MAX_LAG_SECONDS allows."""
    timeline = timeline_of(spec)
    skipped = first_event_in_slot(spec, until - timeline.start, timeline) - first_event_in_slot(
        spec, since - timeline.start, timeline
    )
    gap = [_moment(since).isoformat(), _moment(until).isoformat(), skipped]
    with transaction.atomic():
        moved = SeedRun.objects.filter(
            pk=run.pk, status=SeedRun.Status.RUNNING, claim=claim, written_until=_moment(since)
        ).update(written_until=_moment(until), gaps=[*run.gaps, gap], updated_at=timezone.now())
        if moved:  # what would have happened meanwhile did not
            PendingEvent.objects.filter(run=run, occurred_at__lt=_moment(until)).delete()
    if moved:
        logger.warning("%s fell %d s behind: skipped to %s (about %d events)", run, until - since, gap[1], skipped)
    return bool(moved)


def _moment(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)
