"""Starting and restarting live streams, here or on the workers: the one path every entry point takes.

The command writes a stream in its own process by default (a live display, Ctrl-C
stops it) or queues it; the admin and the API always hand it to the workers (the
embedded worker without Redis), so no web request holds on to a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from seeding.models import SeedRun
from seeding.services.audit import Requester
from seeding.services.live import live_stream_run_here, live_stream_start, live_stream_validate
from seeding.services.runs import seed_run_claim
from seeding.services.workers import broker_ensure_reachable, seed_run_enqueue


def live_stream_request(
    *,
    rate: float,
    duration: int,
    seed: int,
    source: str,
    here: bool = False,
    requested_by=None,
    start: datetime | None = None,
    scenario: str | None = None,
    on_tick: Callable[[SeedRun], None] | None = None,
) -> SeedRun:
    """Start a stream: written here until it ends (``here``; returns the ended run), or queued for the
    workers (returns at once, the run queued and its start message sent). Raises PlanError,
    RunAlreadyActive or BrokerUnavailable (asked before anything is recorded)."""
    if not here:
        live_stream_validate(
            rate=rate, duration=duration, seed=seed, scenario=scenario
        )  # a bad request says so, broker or not
        broker_ensure_reachable()
    run = live_stream_start(
        rate=rate,
        duration=duration,
        seed=seed,
        source=source,
        executor=SeedRun.Executor.INLINE if here else SeedRun.Executor.WORKERS,
        requested_by=requested_by,
        start=start,
        scenario=scenario,
    )
    if here:
        return live_stream_run_here(run=run, on_tick=on_tick)
    seed_run_enqueue(run=run)
    return run


def live_stream_restart(
    *, run: SeedRun, by: Requester, here: bool = False, on_tick: Callable[[SeedRun], None] | None = None
) -> SeedRun:
    """Continue a stream that failed or was stopped, from its checkpoint: the seconds it missed are
    written at once (or skipped and recorded, past SEED_LIVE_MAX_LAG_SECONDS), then it keeps time.
    Raises RunNotResumable, RunAlreadyActive or BrokerUnavailable."""
    if here:
        return live_stream_run_here(run=run, resume=True, by=by, on_tick=on_tick)
    broker_ensure_reachable()
    seed_run_claim(run=run, resume=True, by=by, executor=SeedRun.Executor.WORKERS)
    seed_run_enqueue(run=run)
    return run
