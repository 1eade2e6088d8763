"""Recording a run's view of existing parents, inside its creating transaction, with SQL only.

Every kind is an even sample in key order sized to the plan; a sample too small
for the plan is recorded again, wider, up to whole (see the package's docstring).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from django.db import connection
from django.db.models import Count

from inventory.selectors import table_row_count
from seeding.generation.catalog import Catalog
from seeding.generation.spec import EVENT_WINDOW_DAYS, SECONDS_PER_DAY
from seeding.models import RunParent, SeedRun
from seeding.persistence.parent_view.capacity import Capacity, keyless_spec, run_capacity
from seeding.persistence.parent_view.device_people import record_device_people
from seeding.persistence.parent_view.reading import forget_cached_views, recorded_of, view_token
from seeding.persistence.parent_view.table import in_list, list_param, view_table
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan, needed_parents

#: A run that only points at existing parents (events stacked onto assets and
#: deployments) records at most this many of each, or twice its own rows if
#: that is more: an even sample in key order, so recording costs time in
#: proportion to the plan, not to the tables.
VIEW_MIN_ROWS = 20_000
VIEW_ROWS_PER_PLANNED_ROW = 2
#: Applications, and assets no event points at, are there for deployments to be placed on: a sample of at
#: least this many (or twice the plan's rows) has room for far more pairs than such a plan places, and
#: costs a stacked run a few milliseconds instead of a pass over the estate.
PLACEMENT_MIN_ROWS = 2_000


def record_parent_view(*, run: SeedRun, plan: SeedPlan, catalog: Catalog) -> dict[str, int]:
    """Record the existing parents ``run`` may point at; returns rows per view kind.

    Call inside the run's creating transaction (``run.pk`` and ``run.as_of``
    set), before anything that cannot be rolled back: a failed validation then
    takes the view with it. Every kind is an even sample in key order sized to
    the plan (``VIEW_MIN_ROWS``, or twice the plan's rows), applications and
    assets that deployments will be placed on included, with the pairs existing
    deployments take among them. When the sample cannot take the plan (fewer
    free pairs than its deployments, or no asset in service for its events) it
    is recorded again, wider, up to whole: the free pairs of a sample are a
    lower bound of the estate's, so a plan that fits a sample fits the estate,
    and one refused was refused against the whole estate, with its exact figures.
    """
    needed = needed_parents(plan)
    limits = _limits(plan)
    strides = {kind: _stride(MODELS[kind], limits[kind]) for kind in ("applications", "assets") if kind in needed}
    while True:
        counts = _record_sample(run, needed, strides, limits, catalog)
        sampled = any(every > 1 for every in strides.values())
        if not sampled or not (wider := _wider(strides, plan, run_capacity(run=run, catalog=catalog))):
            break
        # Rare (a plan near the estate's free pairs): drop this sample and its cached tables, record a wider one.
        RunParent.objects.filter(run=run).delete()
        forget_cached_views()
        strides = wider
    return counts


def _record_sample(
    run: SeedRun, needed: frozenset[str], strides: dict[str, int], limits: dict[str, int], catalog: Catalog
) -> dict[str, int]:
    """Record every ``strides[kind]``-th application and asset (and the deployments events need), with the
    pairs that deployments placed among them step over; sets and returns ``run.parent_counts``."""
    sql = _Sql(run)
    if "applications" in needed:
        sql.insert_positions(
            "applications",
            every=strides["applications"],
            limit=limits["applications"],
            version="src.version",
            label="src.name",
            lifecycle="src.lifecycle",
            retired_day=sql.epoch_day("src.retired_on"),
        )
    if "assets" in needed:
        sql.insert_positions(
            "assets",
            every=strides["assets"],
            limit=limits["assets"],
            day=sql.epoch_day("src.purchase_date"),
            label="src.operating_system",
            asset_type="src.asset_type",
            lifecycle="src.lifecycle_status",
            retired_day=sql.epoch_day("src.retired_on"),
            environment=sql.served_environment("src.id"),
            location="src.location",
        )
        if run.is_live:  # who a delivered laptop goes to (generation.moves)
            record_device_people(run, catalog)
    if "deployments" in needed:  # the deployments of the recorded assets (events only: see needed_parents)
        window_start_day = int(run.as_of.timestamp()) // SECONDS_PER_DAY - EVENT_WINDOW_DAYS
        every = _stride(MODELS["deployments"], limits["deployments"])
        sql.insert_deployments(every=every, undated_retirement_day=window_start_day - 1)
        if run.is_live and "applications" not in needed:  # what a stream's releases roll out (generation.releases)
            sql.insert_applications_of_deployments()
    occupied = {"applications", "assets"} <= needed  # placed among existing deployments
    whole_assets = strides.get("assets") == 1
    if connection.vendor == "postgresql" and ("deployments" in needed or (occupied and whole_assets)):
        # The view's rows are new: without fresh statistics the planner takes its
        # lookups by position for a few rows and turns them into scans of all of
        # them (minutes per chunk where autovacuum is off or late), and joins the
        # whole estate's occupancy to the recorded rows row by row against each
        # other. ANALYZE sees this transaction's rows and samples at most 30,000
        # of them (~50 ms, more where deleted views left dead rows). A sample's
        # occupancy needs none: it joins nothing to the view it just wrote.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {view_table()}")
    if occupied:
        _record_occupancy(run, catalog, whole_assets=whole_assets)
    counts = dict(RunParent.objects.filter(run=run).values_list("kind").annotate(rows=Count("pk")))
    run.parent_counts = counts
    SeedRun.objects.filter(pk=run.pk).update(parent_counts=counts)
    return counts


def _limits(plan: SeedPlan) -> dict[str, int]:
    """The most rows a first sample of each kind keeps: what events point at is spread over at least
    ``VIEW_MIN_ROWS``, what only deployments are placed on over at least ``PLACEMENT_MIN_ROWS``."""
    planned = VIEW_ROWS_PER_PLANNED_ROW * plan.total
    spread, placed = max(VIEW_MIN_ROWS, planned), max(PLACEMENT_MIN_ROWS, planned)
    return {"applications": placed, "assets": spread if plan.events else placed, "deployments": spread}


def _wider(strides: dict[str, int], plan: SeedPlan, capacity: Capacity) -> dict[str, int]:
    """The strides of a wider sample when the one recorded cannot take ``plan``; {} when it can, or is whole.

    Free pairs grow about in proportion to the rows recorded: each stride is
    divided by twice the shortfall (so one more recording is the rule), and
    assets are recorded whole when none in service was among them.
    """
    short_of_pairs = plan.deployments > capacity.deployments
    short_of_assets = bool(plan.events) and not capacity.event_assets
    if not (short_of_pairs or short_of_assets):
        return {}
    factor = -(-2 * plan.deployments // capacity.deployments) if short_of_pairs and capacity.deployments else 0
    wider = {kind: every // factor if factor else 1 for kind, every in strides.items()}
    if short_of_assets and "assets" in wider:
        wider["assets"] = 1
    return {kind: max(1, every) for kind, every in wider.items()}


def forget_parent_views(runs) -> None:
    """Drop the recorded views of ``runs`` (a queryset): they succeeded or were cleared."""
    RunParent.objects.filter(run__in=runs).delete()


def _stride(model, limit: int) -> int:
    """Keep every n-th row in key order so that at most ``limit`` rows are kept."""
    return max(1, -(-table_row_count(model) // limit))


#: A sample seeks at most this many times its limit of keys (where keys have gaps, it keeps fewer rows).
_SEEKS_PER_LIMIT = 4


@dataclasses.dataclass(frozen=True)
class _Keys:
    """Where a sample of a table seeks: ``steps`` keys ``first + k * every``."""

    first: int
    every: int
    steps: int


def _keys(model, every: int, limit: int) -> _Keys:
    """The seeks of an even sample of ``model`` in key space: every ``every``-th key from the first.

    Keys are dense where seeding wrote them, so the rows kept are every n-th in
    key order; where rows were deleted the sample seeks the next key, and the
    stride grows so that it never seeks more than ``_SEEKS_PER_LIMIT`` times
    ``limit`` (a sample of a table with wide gaps keeps fewer rows).
    """
    keys = model._default_manager.order_by("pk").values_list("pk", flat=True)
    first, last = keys.first(), keys.last()  # two seeks: SQLite scans the table for MIN and MAX in one query
    if first is None:
        return _Keys(first=0, every=every, steps=0)
    every = max(every, -(-(last - first + 1) // (_SEEKS_PER_LIMIT * limit)))
    return _Keys(first=first, every=every, steps=(last - first) // every + 1)


class _Sql:
    """INSERT ... SELECT statements that record a view without moving rows through Python.

    Positions come from ``ROW_NUMBER() OVER (ORDER BY id)``, the same on SQLite
    and PostgreSQL; ``every`` keeps one row in n and renumbers them.
    """

    def __init__(self, run: SeedRun):
        self.run = run
        self.quote = connection.ops.quote_name
        self.view = view_table()

    def epoch_day(self, column: str) -> str:
        if connection.vendor == "sqlite":
            return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
        return f"({column} - DATE '1970-01-01')::bigint"

    def epoch_second(self, column: str) -> str:
        if connection.vendor == "sqlite":
            return f"CAST(strftime('%%s', {column}) AS INTEGER)"
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"

    def greatest(self, a: str, b: str) -> str:
        return f"MAX({a}, {b})" if connection.vendor == "sqlite" else f"GREATEST({a}, {b})"

    def execute(self, sql: str, params: list) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def least(self, a: str, b: str) -> str:
        return f"MIN({a}, {b})" if connection.vendor == "sqlite" else f"LEAST({a}, {b})"

    def served_environment(self, asset_id: str) -> str:
        """The environment an existing host's deployments serve (the first, if they disagree)."""
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        return f"COALESCE((SELECT MIN(d.environment) FROM {deployments} d WHERE d.asset_id = {asset_id}), '')"

    def insert_positions(self, kind: str, *, every: int, limit: int, **columns: str) -> None:
        """Every ``every``-th row of ``kind`` (aliased ``src``; see ``_keys`` for ``limit``), positioned in key
        order, with ``columns`` (view column -> SQL expression over ``src``)."""
        defaults = {
            "version": "''",
            "label": "''",
            "asset_type": "''",
            "lifecycle": "''",
            "environment": "''",
            "location": "''",
        }
        selected = {**defaults, "day": "CAST(NULL AS INTEGER)", "retired_day": "CAST(NULL AS INTEGER)", **columns}
        names = ", ".join(selected)
        table = self.quote(MODELS[kind]._meta.db_table)
        if every == 1:
            expressions = ", ".join(selected.values())
            self.execute(
                f"INSERT INTO {self.view} (run_id, kind, position, ref, {names}) "
                f"SELECT %s, %s, ROW_NUMBER() OVER (ORDER BY src.id) - 1, src.id, {expressions} FROM {table} src",
                [self.run.pk, kind],
            )
            return
        # An index seek per kept row (the first key at or after each step), never a pass over the table:
        # a sample costs its own rows. Positions number the rows kept, in key order.
        keys = _keys(MODELS[kind], every, limit)
        expressions = ", ".join(f"{expression} AS {name}" for name, expression in selected.items())
        self.execute(
            f"WITH RECURSIVE steps(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM steps WHERE n + 1 < %s) "
            f"INSERT INTO {self.view} (run_id, kind, position, ref, {names}) "
            f"SELECT %s, %s, ROW_NUMBER() OVER (ORDER BY src.id) - 1, src.id, {expressions} FROM ("
            f"SELECT DISTINCT (SELECT MIN(id) FROM {table} WHERE id >= %s + steps.n * %s) AS id FROM steps"
            f") picked JOIN {table} src ON src.id = picked.id",
            [keys.steps, self.run.pk, kind, keys.first, keys.every],
        )

    def insert_deployments(self, *, every: int, undated_retirement_day: int) -> None:
        """Every ``every``-th deployment on the recorded assets, with when events may concern it (found from
        the recorded assets: a pass over every deployment took 0.35 s at 1,000,000 for a 20,000-asset sample).

        ``not_before``: deployed and its asset bought (never while the asset is on
        order or in stock); ``retired_day``: the earlier retirement of its asset
        and its application, ``undated_retirement_day`` for one retired without a date.
        """
        assets = self.quote(MODELS["assets"]._meta.db_table)
        applications = self.quote(MODELS["applications"]._meta.db_table)
        never = 1 << 30
        not_before = self.greatest(
            self.epoch_second("d.deployed_at"), f"{self.epoch_day('a.purchase_date')} * {SECONDS_PER_DAY}"
        )
        not_before = (
            f"CASE WHEN a.lifecycle_status IN ('ordered', 'in_stock') THEN {never * SECONDS_PER_DAY} "
            f"ELSE {not_before} END"
        )

        def retired(alias: str, lifecycle: str) -> str:
            return (
                f"COALESCE({self.epoch_day(f'{alias}.retired_on')}, "
                f"CASE WHEN {alias}.{lifecycle} = 'retired' THEN {int(undated_retirement_day)} ELSE {never} END)"
            )

        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, asset_ref, application_ref, "
            f"not_before, label, asset_type, lifecycle, environment, location, retired_day) "
            f"SELECT %s, 'deployments', rn / %s, id, version, asset_id, application_id, not_before, '', '', "
            f"status, environment, '', NULLIF(retired_day, {never}) FROM ("
            f"SELECT d.id, d.asset_id, d.application_id, d.version, d.status, d.environment, "
            f"{not_before} AS not_before, "
            f"{self.least(retired('a', 'lifecycle_status'), retired('p', 'lifecycle'))} AS retired_day, "
            f"ROW_NUMBER() OVER (ORDER BY d.id) - 1 AS rn "
            f"FROM {self.on_recorded_assets()} JOIN {assets} a ON a.id = d.asset_id "
            f"JOIN {applications} p ON p.id = d.application_id "
            f"WHERE sp.run_id = %s AND sp.kind = 'assets' AND d.asset_id = sp.ref) numbered WHERE rn %% %s = 0",
            [self.run.pk, every, self.run.pk, every],
        )

    def insert_applications_of_deployments(self) -> None:
        """The applications of the recorded deployments, positioned in key order, as ``insert_positions`` records
        applications: a live stream's releases roll them out (their current release, name and lifecycle, and
        whether a rollout of theirs is under way: the whole table's deployments, not the sample's)."""
        applications = self.quote(MODELS["applications"]._meta.db_table)
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        # In-house applications only (a product is never released past its current version, and an agent's
        # deployments are too many to look through): a few rows each, found through the (application, asset) index.
        rolling_out = (
            f"CASE WHEN p.vendor = 'In-house' THEN EXISTS (SELECT 1 FROM {deployments} d "
            f"WHERE d.application_id = p.id AND d.status = 'deploying') ELSE FALSE END"
        )
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, label, asset_type, lifecycle, "
            f"environment, location, retired_day, rolling_out) "
            f"SELECT %s, 'applications', ROW_NUMBER() OVER (ORDER BY p.id) - 1, p.id, p.version, p.name, '', "
            f"p.lifecycle, '', '', {self.epoch_day('p.retired_on')}, {rolling_out} FROM {applications} p WHERE p.id IN "
            f"(SELECT DISTINCT application_ref FROM {self.view} WHERE run_id = %s AND kind = 'deployments')",
            [self.run.pk, self.run.pk],
        )

    def on_recorded_assets(self) -> str:
        """``sp`` (the view's rows) and ``d``, the deployments on each (``d.asset_id = sp.ref`` still to say),
        found through the deployments' asset index, never by a pass over every deployment.

        SQLite walks a CROSS JOIN's left table first. PostgreSQL, once it knows
        how many rows the view holds, hashes every deployment instead (0.3 s at
        1,000,000 for the 4,000 on a 2,000-asset sample), unless made to look
        each asset up: a LATERAL subquery that OFFSET 0 keeps from being flattened.
        """
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        if connection.vendor == "sqlite":
            return f"{self.view} sp CROSS JOIN {deployments} d"
        return (
            f"{self.view} sp CROSS JOIN LATERAL (SELECT id, application_id, asset_id, deployed_at, version, status, "
            f"environment FROM {deployments} WHERE asset_id = sp.ref OFFSET 0) d"
        )

    def insert_taken_counts(self) -> None:
        """Per recorded application: how many deployments it has (ref: its position, asset_ref: the count),
        every asset recorded.

        Counted by the database on the unique (application, asset) index: no pair
        travels to Python, whatever the estate's size.
        """
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, asset_ref, version, label, asset_type, "
            f"lifecycle, environment, location) "
            f"SELECT %s, 'taken', ROW_NUMBER() OVER (ORDER BY ap.position) - 1, ap.position, c.taken, "
            f"'', '', '', '', '', '' "
            f"FROM (SELECT application_id, COUNT(*) AS taken FROM {deployments} GROUP BY application_id) c "
            f"JOIN {self.view} ap ON ap.run_id = %s AND ap.kind = 'applications' AND ap.ref = c.application_id",
            [self.run.pk, self.run.pk],
        )

    def insert_pairs(self, application_refs: np.ndarray) -> None:
        """The existing pairs of the given applications (by key) as (application position, asset position),
        every asset recorded."""
        if not len(application_refs):
            return
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, asset_ref, version, label, asset_type, "
            f"lifecycle, environment, location) "
            f"SELECT %s, 'pairs', ROW_NUMBER() OVER (ORDER BY d.id) - 1, ap.position, sp.position, "
            f"'', '', '', '', '', '' "
            f"FROM {deployments} d "
            f"JOIN {self.view} ap ON ap.run_id = %s AND ap.kind = 'applications' AND ap.ref = d.application_id "
            f"JOIN {self.view} sp ON sp.run_id = %s AND sp.kind = 'assets' AND sp.ref = d.asset_id "
            f"WHERE d.{in_list('application_id')}",
            [self.run.pk, self.run.pk, self.run.pk, list_param(application_refs)],
        )

    def record_sampled_taken_counts(self) -> None:
        """The same as ``insert_taken_counts`` when the assets are a sample: the deployments on each sampled
        asset, counted per application by the database through the deployments' asset index, then matched
        to the recorded applications' positions here (a row per application with deployments on the
        sample), so no join to the rows just written depends on the planner's figures for them."""
        counted = self.fetch(
            f"SELECT d.application_id AS application_id, COUNT(*) FROM {self.on_recorded_assets()} "
            f"WHERE sp.run_id = %s AND sp.kind = 'assets' AND d.asset_id = sp.ref GROUP BY application_id",
            [self.run.pk],
        )
        positions, known = self.positions_of("applications", counted[:, 0])
        order = np.argsort(positions[known], kind="stable")
        self.create("taken", positions[known][order], counted[known, 1][order])

    def record_sampled_pairs(self, application_refs: np.ndarray) -> None:
        """The same as ``insert_pairs`` when the assets are a sample: the given applications' deployments on
        the sampled assets, numbered by deployment key."""
        if not len(application_refs):
            return
        found = self.fetch(
            f"SELECT d.id, d.application_id, sp.position FROM {self.on_recorded_assets()} "
            f"WHERE d.{in_list('application_id')} AND sp.run_id = %s AND sp.kind = 'assets' AND d.asset_id = sp.ref",
            [list_param(application_refs), self.run.pk],
        )
        found = found[np.argsort(found[:, 0], kind="stable")]
        positions, known = self.positions_of("applications", found[:, 1])
        self.create("pairs", positions[known], found[known, 2])

    def fetch(self, sql: str, params: list) -> np.ndarray:
        """Integer rows as a 2-D array (no rows: shape (0, 3), which every caller's columns index)."""
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return np.array(rows, dtype=np.int64) if rows else np.zeros((0, 3), dtype=np.int64)

    def positions_of(self, kind: str, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of ``refs`` among the recorded rows of ``kind`` (in key order, so sorted by key), and
        which of them are recorded at all."""
        recorded = np.array(
            RunParent.objects.filter(run=self.run, kind=kind).order_by("position").values_list("ref", flat=True),
            dtype=np.int64,
        )
        if not len(recorded):
            return np.zeros(len(refs), dtype=np.int64), np.zeros(len(refs), dtype=bool)
        where = np.minimum(np.searchsorted(recorded, refs), len(recorded) - 1)
        return where, recorded[where] == refs

    def create(self, kind: str, refs: np.ndarray, asset_refs: np.ndarray) -> None:
        """``kind`` rows at positions 0, 1, ... with these ``ref`` and ``asset_ref`` values."""
        rows = [
            (self.run.pk, kind, position, ref, asset_ref)
            for position, (ref, asset_ref) in enumerate(zip(refs.tolist(), asset_refs.tolist()))
        ]
        with connection.cursor() as cursor:  # a few hundred rows: the ORM's bulk_create took 0.1 s over them
            cursor.executemany(
                f"INSERT INTO {self.view} (run_id, kind, position, ref, asset_ref, version, label, asset_type, "
                f"lifecycle, environment, location) VALUES (%s, %s, %s, %s, %s, '', '', '', '', '', '')",
                rows,
            )


# --- occupancy: existing deployments among recorded applications and assets -------------------


def _record_occupancy(run: SeedRun, catalog: Catalog, *, whole_assets: bool) -> None:
    """Record how many pairs each recorded application takes on the recorded assets, and the pairs of
    those the run places on.

    Counts come from the database (``_Sql.insert_taken_counts``, or from the
    sampled assets ``_Sql.record_sampled_taken_counts``), on the
    application's hosts or not: a pair a person entered on another asset
    lowers its room, so room is never overstated. The layout is then computed
    from the recorded counts, as every later one (in any process) is, and
    stays cached for the capacity check and the chunks; pairs are recorded
    only for the applications it gives a quota.
    """
    sql = _Sql(run)
    if whole_assets:
        sql.insert_taken_counts()
    else:
        sql.record_sampled_taken_counts()
    counts = {kind: run.planned(kind) for kind in MODELS}
    spec = keyless_spec(run.pk, run.seed, run.as_of, counts, catalog)
    recorded = dict(RunParent.objects.filter(run=run).values_list("kind").annotate(rows=Count("pk")))
    view = recorded_of(spec, recorded, view_token(run))
    if view.layout is not None:
        placed = view.applications.ids[np.flatnonzero(view.layout.quotas)]
        if whole_assets:
            sql.insert_pairs(placed)
        else:
            sql.record_sampled_pairs(placed)
