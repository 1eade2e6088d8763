"""What a run's parents can take: the free (application, host) pairs and the assets events can concern.

Checked while the run is created, from the same tables and layout its chunks
will read (``reading``), so a plan is refused against exactly what it would
have been written onto.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from seeding.generation.catalog import Catalog
from seeding.generation.spec import RunSpec, application_bases
from seeding.models import SeedRun
from seeding.persistence.parent_view.reading import build_parents, view_token
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan, needed_parents


@dataclasses.dataclass(frozen=True)
class Capacity:
    """What a run's parents can take, checked when it is created."""

    deployments: int  # free (application, host) pairs: the most deployments it can place
    event_assets: int  # assets that are or were in service: the ones events can concern


def run_capacity(*, run: SeedRun, catalog: Catalog) -> Capacity:
    """The capacity of ``run``'s parents (its own and its recorded view).

    Called while the run is created, before its keys are reserved: placement
    does not depend on keys, so a spec with zero key bases answers.
    """
    counts = {kind: run.planned(kind) for kind in MODELS}
    return _capacity(
        run.pk, run.seed, run.as_of, counts, run.parent_counts, catalog, view_token(run), run.application_positions
    )


def plan_capacity(*, plan: SeedPlan, as_of: datetime, catalog: Catalog, positions: dict) -> Capacity | None:
    """The same for a plan that brings its own applications and assets (no run, no view needed), at the
    ``positions`` a run of it would take (``runs.application_positions``); None when it would point at
    existing ones (only a run's view can tell)."""
    if needed_parents(plan) & {"applications", "assets"}:
        return None
    counts = {kind: plan.count(kind) for kind in MODELS}
    return _capacity(0, plan.seed, as_of, counts, {}, catalog, "", positions)


def keyless_spec(
    run_id: int, seed: int, as_of: datetime, counts: dict, catalog: Catalog, positions: dict | None = None
) -> RunSpec:
    """A generation spec before keys are reserved: placement does not depend on them (it does on which
    products the run's applications are: its ``positions``, ``SeedRun.application_positions``)."""
    return RunSpec(
        run_id=run_id,
        seed=seed,
        as_of=int(as_of.timestamp()),
        counts=tuple(counts.items()),
        id_bases=tuple((kind, 0) for kind in MODELS),
        catalog=catalog,
        **application_bases(positions or {}),
    )


def _capacity(
    run_id: int,
    seed: int,
    as_of: datetime,
    counts: dict,
    parent_counts: dict,
    catalog: Catalog,
    token: str,
    positions: dict,
) -> Capacity:
    spec = keyless_spec(run_id, seed, as_of, counts, catalog, positions)
    # The recorded tables and layout come from the cache the recording filled (``_recorded``).
    parents = build_parents(spec, dict(parent_counts), token)
    return Capacity(
        deployments=parents.layout.room if parents.layout is not None else 0,
        event_assets=len(parents.assets.eventful),
    )
