"""The one request path every entry point takes: validate, decide inline or queued, and go.

The management command, the admin (its seed page and "Run again") and the JSON
API all call ``seed_request``, so there is one routing rule, one validation and
one set of defaults. ``seed_request_preview`` answers the same question without
writing anything (the command's ``--dry-run``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from seeding import estimates
from seeding.catalogs import active_catalog
from seeding.generation.kinds import KINDS
from seeding.models import SeedRun
from seeding.persistence.parent_view.capacity import plan_capacity
from seeding.persistence.tables import MODELS
from seeding.plan import (
    SeedPlan,
    needed_parents,
    refuse_as_of_before_assets,
    refuse_beyond_capacity,
    validate_parents,
    validate_plan,
)
from seeding.services.inline import ProgressCallback, seed_run_execute
from seeding.services.runs import application_positions, seed_run_create
from seeding.services.workers import broker_ensure_reachable, seed_run_enqueue

#: "auto": by size (SEED_INLINE_THRESHOLD); "inline" and "queued" force either way.
Mode = Literal["auto", "inline", "queued"]


@dataclasses.dataclass(frozen=True)
class SeedOutcome:
    run: SeedRun
    queued: bool
    task_id: str | None = None


@dataclasses.dataclass(frozen=True)
class SeedPreview:
    """What ``seed_request`` would do with a plan, as far as it can be known without writing."""

    plan: SeedPlan
    queued: bool
    existing_parents: dict[str, int]  # rows already in the database the plan's children would point at
    estimated_seconds: float
    #: Where the estimate comes from: "from the last 3 runs inline on this database", "default for SQLite, ...".
    estimate_basis: str


def runs_inline(*, plan: SeedPlan, mode: Mode = "auto") -> bool:
    """The routing rule: at or under SEED_INLINE_THRESHOLD items, inline; above, queued."""
    if mode == "auto":
        return plan.total <= settings.SEED_INLINE_THRESHOLD
    return mode == "inline"


def seed_request(
    *,
    plan: SeedPlan,
    source: str,
    requested_by=None,
    requested_by_label: str = "",
    mode: Mode = "auto",
    on_progress: ProgressCallback | None = None,
) -> SeedOutcome:
    """Seed ``plan``: inline (returns the finished run) or queued for workers (returns at once).

    Raises PlanError (nothing written), RunAlreadyActive, BrokerUnavailable (asked
    before anything is written; if the broker fails between that and the send,
    the run is marked failed, never left dangling) or RunFailed (an inline run
    failed; its committed chunks are kept). KeyboardInterrupt during an inline
    run marks it cancelled and goes on up.
    """
    inline = runs_inline(plan=plan, mode=mode)
    if not inline:
        validate_plan(plan)  # a bad plan says so (400), whatever the broker's state
        broker_ensure_reachable()  # nothing written yet, and nothing will be
    run = seed_run_create(
        plan=plan,
        source=source,
        executor=SeedRun.Executor.INLINE if inline else SeedRun.Executor.WORKERS,
        requested_by=requested_by,
        requested_by_label=requested_by_label,
    )
    if inline:
        return SeedOutcome(run=seed_run_execute(run=run, on_progress=on_progress), queued=False)
    return SeedOutcome(run=run, queued=True, task_id=seed_run_enqueue(run=run))


def seed_request_preview(*, plan: SeedPlan, mode: Mode = "auto", after_clear: bool = False) -> SeedPreview:
    """Validate ``plan`` as ``seed_request`` would, read-only, and say where it would run and how long.

    ``after_clear``: as it would be once all demo data is deleted (only rows
    people entered remain). Raises PlanError. The parents are counted, not
    recorded: a run created later checks again against the rows that exist then.
    """
    validate_plan(plan)
    needed = needed_parents(plan)

    def rows(kind: str) -> int:
        queryset = MODELS[kind].objects.all()
        return (queryset.real() if after_clear else queryset).count()

    existing = {kind: rows(kind) for kind in KINDS if kind in needed}
    # Every existing deployment joins an existing application to an existing asset.
    taken_pairs = rows("deployments") if {"applications", "assets"} <= needed else 0
    validate_parents(plan, existing=existing, taken_pairs=taken_pairs)
    if "assets" in needed:
        assets = MODELS["assets"].objects.all()
        newest = (assets.real() if after_clear else assets).aggregate(newest=Max("purchase_date"))["newest"]
        refuse_as_of_before_assets(as_of=plan.as_of or timezone.now(), newest_purchase_day=newest)
    if plan.deployments or plan.events:
        as_of = (plan.as_of or timezone.now()).replace(microsecond=0)
        positions = application_positions(plan, after_clear=after_clear)
        capacity = plan_capacity(plan=plan, as_of=as_of, catalog=active_catalog(), positions=positions)
        if capacity is not None:
            refuse_beyond_capacity(plan, capacity=capacity)
    queued = not runs_inline(plan=plan, mode=mode)
    estimate = estimates.estimate(
        {kind: plan.count(kind) for kind in KINDS}, queued=queued, chunk_size=plan.chunk_size, after_clear=after_clear
    )
    return SeedPreview(
        plan=plan,
        queued=queued,
        existing_parents=existing,
        estimated_seconds=estimate.seconds,
        estimate_basis=estimate.basis,
    )
