"""The company a plan (or a run) makes: its assets by type and the people using them (``generation.shape``)."""

from __future__ import annotations

from datetime import datetime

from seeding.catalogs import active_catalog
from seeding.generation.shape import Shape, estate_shape
from seeding.generation.spec import RunSpec
from seeding.models import SeedRun
from seeding.persistence.parent_view.capacity import keyless_spec
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan


def plan_shape(*, plan: SeedPlan, as_of: datetime) -> Shape | None:
    """What a run of ``plan`` would make of its assets (None when it writes none). Host numbers are counted
    from 0 here, so the people may differ by one or two from the run's (a person at a site's edge)."""
    if not plan.assets:
        return None
    counts = {kind: plan.count(kind) for kind in MODELS}
    return estate_shape(keyless_spec(0, plan.seed, as_of, counts, active_catalog()))


def run_shape(*, run: SeedRun) -> Shape | None:
    """What ``run`` made of its assets (None when it wrote none)."""
    if not run.planned("assets"):
        return None
    return estate_shape(RunSpec.from_run(run, catalog=active_catalog()))
