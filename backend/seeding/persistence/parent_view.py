"""A run's view of the parents that existed when it was created: recorded once, read back by position.

A run that points at rows already in the database (events on the assets a
person entered, deployments of existing applications onto existing assets)
records, inside its creating transaction, exactly which rows it may point at
and the columns its generation depends on (``RunParent``). From then on:

- the plan is validated against that view, in the same transaction, so a clear
  that lands between a request and its run cannot leave the run with nothing
  to point at;
- every chunk, in any process, sees the same parents in the same positions: a
  row a person edits or deletes mid-run cannot change what the run writes
  (a deleted parent makes the chunks that point at it fail, loudly);
- a chunk reads back only the positions it needs (and, when it places
  deployments among existing ones, the pairs its applications already take),
  so memory stays proportional to the chunk, not to the tables;
- recording takes time in proportion to the plan, not the estate: every kind
  is an even sample in key order, one index seek per row kept, of at most
  twice the plan's rows or a floor (``VIEW_MIN_ROWS`` for what events point
  at, ``PLACEMENT_MIN_ROWS`` for what only deployments are placed on). Of the
  existing deployments on the sampled assets it records how many each sampled
  application has ("taken") and the pairs of only the applications it places
  deployments on ("pairs"), found from the sampled assets, never every pair of
  the estate. A sample too small for the plan is recorded again, wider, up to
  whole (``_wider``): a sample's free pairs are some of the estate's, so the
  plan is refused only against the whole estate, with its exact figures;
- a process reads the recorded applications and assets back once per run: the
  layout computed while recording serves the capacity check and, in the same
  process, the run's chunks.

The run's own parents are not recorded: they are computed (``generation.own``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Sum

from inventory.selectors import table_row_count
from seeding.generation.catalog import Catalog
from seeding.generation.chunks import Parents
from seeding.generation.estate import (
    APP_LIFECYCLES,
    APP_RETIRED,
    APP_RETIRED_WITHIN_DAYS,
    ASSET_LIFECYCLES,
    ENVIRONMENTS,
    IN_USE,
    NEVER,
    RETIRED,
    ApplicationTable,
    AssetTable,
    asset_environments,
    empty_asset_table,
    in_house_platforms,
    own_applications,
    own_assets,
    platform_table,
    software_platforms,
)
from seeding.generation.events import maintenance_slots
from seeding.generation.own import OwnDeployments
from seeding.generation.parents import DeploymentRows
from seeding.generation.placement import Layout, deployment_layout
from seeding.generation.spec import EVENT_WINDOW_DAYS, SECONDS_PER_DAY, RunSpec
from seeding.kinds import MODELS
from seeding.models import RunParent, SeedRun
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
        _recorded.cache_clear()
        _parents.cache_clear()
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
    if "deployments" in needed:  # the deployments of the recorded assets (events only: see needed_parents)
        window_start_day = int(run.as_of.timestamp()) // SECONDS_PER_DAY - EVENT_WINDOW_DAYS
        every = _stride(MODELS["deployments"], limits["deployments"])
        sql.insert_deployments(every=every, undated_retirement_day=window_start_day - 1)
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
            cursor.execute(f"ANALYZE {_table()}")
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


def recorded_taken_pairs(run: SeedRun) -> int:
    """How many (application, asset) pairs existing deployments took among the parents ``run`` recorded."""
    return RunParent.objects.filter(run=run, kind="taken").aggregate(taken=Sum("asset_ref"))["taken"] or 0


def newest_recorded_purchase_day(run: SeedRun) -> int | None:
    """The latest purchase day (epoch day) among the assets ``run`` recorded, if any."""
    return RunParent.objects.filter(run=run, kind="assets").aggregate(newest=Max("day"))["newest"]


def forget_parent_views(runs) -> None:
    """Drop the recorded views of ``runs`` (a queryset): they succeeded or were cleared."""
    RunParent.objects.filter(run__in=runs).delete()


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
    return _capacity(run.pk, run.seed, run.as_of, counts, run.parent_counts, catalog, _token(run))


def plan_capacity(*, plan: SeedPlan, as_of: datetime, catalog: Catalog) -> Capacity | None:
    """The same for a plan that brings its own applications and assets (no run, no view needed);
    None when it would point at existing ones (only a run's view can tell)."""
    if needed_parents(plan) & {"applications", "assets"}:
        return None
    counts = {kind: plan.count(kind) for kind in MODELS}
    return _capacity(0, plan.seed, as_of, counts, {}, catalog, "")


def _keyless_spec(run_id: int, seed: int, as_of: datetime, counts: dict, catalog: Catalog) -> RunSpec:
    """A generation spec before keys are reserved: placement does not depend on them."""
    return RunSpec(
        run_id=run_id,
        seed=seed,
        as_of=int(as_of.timestamp()),
        counts=tuple(counts.items()),
        id_bases=tuple((kind, 0) for kind in MODELS),
        catalog=catalog,
    )


def _capacity(
    run_id: int, seed: int, as_of: datetime, counts: dict, parent_counts: dict, catalog: Catalog, token: str
) -> Capacity:
    spec = _keyless_spec(run_id, seed, as_of, counts, catalog)
    # The recorded tables and layout come from the cache the recording filled (``_recorded``).
    parents = _build_parents(spec, dict(parent_counts), token)
    return Capacity(
        deployments=parents.layout.room if parents.layout is not None else 0,
        event_assets=len(parents.assets.eventful),
    )


def parents_of(run: SeedRun, spec: RunSpec) -> Parents:
    """What the chunks of ``run`` (whose generation spec is ``spec``) may point at, the same in every process."""
    return _parents(spec, tuple(sorted(run.parent_counts.items())), _token(run))


def _token(run: SeedRun) -> str:
    """What tells a run's cached view from another's: its creation time (SQLite gives a refused run's key to
    the next run, whose view may differ)."""
    return run.created_at.isoformat()


@functools.lru_cache(maxsize=4)
def _parents(spec: RunSpec, parent_counts: tuple[tuple[str, int], ...], token: str) -> Parents:
    """Cached per process by run and ``token``."""
    return _build_parents(spec, dict(parent_counts), token)


@dataclasses.dataclass(frozen=True)
class _Recorded:
    """What a run reads back of its view: the same for every spec of the run (keys are not in it)."""

    applications: ApplicationTable | None
    assets: AssetTable | None
    layout: Layout | None  # where deployments go among recorded applications and assets, if they do


def _recorded_of(spec: RunSpec, counts: dict[str, int], token: str) -> _Recorded:
    """The recorded tables of ``spec``'s run, from the per-process cache keyed by what they depend on."""
    view_spec = dataclasses.replace(spec, id_bases=tuple((kind, 0) for kind in MODELS), site_host_bases=())
    sizes = tuple((kind, counts.get(kind, 0)) for kind in ("applications", "assets", "taken"))
    return _recorded(view_spec, sizes, token)


@functools.lru_cache(maxsize=4)
def _recorded(spec: RunSpec, sizes: tuple[tuple[str, int], ...], token: str) -> _Recorded:
    """Read once per process and run: the recorded assets grow with the estate, and the layout built while
    recording serves the capacity check and the chunks that follow in the same process."""
    counts = dict(sizes)
    applications = None
    if not spec.count("applications") and counts["applications"]:
        applications = _recorded_applications(spec, counts["applications"])
    assets = None
    if not spec.count("assets") and counts["assets"]:
        assets = _recorded_assets(spec, counts["assets"])
    layout = None
    if spec.count("deployments") and applications is not None and assets is not None:
        layout = deployment_layout_of(spec, applications, assets, counts)
    return _Recorded(applications=applications, assets=assets, layout=layout)


def _build_parents(spec: RunSpec, counts: dict[str, int], token: str) -> Parents:
    recorded = _recorded_of(spec, counts, token)
    applications = own_applications(spec) if spec.count("applications") else recorded.applications
    if spec.count("assets"):
        assets = own_assets(spec, maintenance_slots(spec))
    else:
        assets = recorded.assets if recorded.assets is not None else empty_asset_table(spec.catalog)
    layout = deployments = None
    if spec.count("deployments"):
        layout = recorded.layout or deployment_layout_of(spec, applications, assets, counts)
        deployments = OwnDeployments(spec, layout, applications, assets)
    elif not spec.count("assets") and counts.get("deployments"):
        deployments = _RecordedDeployments(spec, counts)
    return Parents(applications=applications, assets=assets, deployments=deployments, layout=layout)


def deployment_layout_of(
    spec: RunSpec, applications: ApplicationTable, assets: AssetTable, counts: dict[str, int]
) -> Layout:
    """Where the run's deployments go, stepping over the pairs existing deployments take."""
    occupancy = _RecordedPairs(spec.run_id) if counts.get("taken") else None
    return deployment_layout(spec, applications, assets, occupancy)


# --- reading the view back ------------------------------------------------------------


def _recorded_applications(spec: RunSpec, size: int) -> ApplicationTable:
    """The recorded applications as a table: software the catalog knows runs where the catalog says;
    anything else is taken for an in-house service that may run on any server."""
    catalog = spec.catalog
    columns = _fetch(spec.run_id, "applications", None, ("ref", "version", "label", "lifecycle", "retired_day"), size)
    software_index = {item.name: number for number, item in enumerate(catalog.software)}
    software = np.array([software_index.get(name, -1) for name in columns["label"].tolist()], dtype=np.int64)
    servers = in_house_platforms(catalog)
    runs_on = software_platforms(catalog)
    platforms = tuple(runs_on[sw] if sw >= 0 else servers for sw in software.tolist())
    lifecycle = np.array([_index(APP_LIFECYCLES, value, 1) for value in columns["lifecycle"].tolist()], dtype=np.int8)
    retired_day = columns["retired_day"]
    # Retired without a date (entered by a person): as if retired before the event window.
    retired_day = np.where(
        (lifecycle == APP_RETIRED) & (retired_day >= NEVER), spec.as_of_day - APP_RETIRED_WITHIN_DAYS, retired_day
    )
    return ApplicationTable(
        ids=columns["ref"],
        platforms=platforms,
        lifecycle=lifecycle,
        retired_day=retired_day,
        versions=columns["version"],
        software=software,
        names=columns["label"],
    )


def _recorded_assets(spec: RunSpec, size: int) -> AssetTable:
    """The recorded assets as a table; a host keeps the environment its existing deployments serve."""
    catalog = spec.catalog
    columns = _fetch(
        spec.run_id,
        "assets",
        None,
        ("ref", "day", "asset_type", "label", "lifecycle", "retired_day", "environment", "location"),
        size,
    )
    type_index = {t.value: number for number, t in enumerate(catalog.asset_types)}
    type_idx = np.array([type_index.get(value, -1) for value in columns["asset_type"].tolist()], dtype=np.int16)
    family = np.array([_family(catalog, name) for name in columns["label"].tolist()], dtype=np.int16)
    platform = platform_table(catalog)[type_idx, family]
    drawn = asset_environments(spec.seed, columns["ref"], platform, catalog)
    served = np.array([_index(ENVIRONMENTS, value, -1) for value in columns["environment"].tolist()], dtype=np.int8)
    lifecycle = np.array(
        [_index(ASSET_LIFECYCLES, value, IN_USE) for value in columns["lifecycle"].tolist()], dtype=np.int8
    )
    # Retired without a date (entered by a person): as if retired before the event window.
    retired_day = np.where(
        (lifecycle == RETIRED) & (columns["retired_day"] >= NEVER),
        spec.window_start // SECONDS_PER_DAY - 1,
        columns["retired_day"],
    )
    sites = {site.location: number for number, site in enumerate(catalog.sites)}
    return AssetTable(
        ids=columns["ref"],
        sites=len(catalog.sites),
        type_idx=type_idx,
        family=family,
        platform=platform,
        lifecycle=lifecycle,
        environment=np.where(served >= 0, served, drawn).astype(np.int8),
        purchase_day=columns["day"],
        retired_day=retired_day,
        site=np.array([sites.get(location, -1) for location in columns["location"].tolist()], dtype=np.int16),
    )


def _family(catalog: Catalog, system: str) -> int:
    """The catalog family of an operating system, by name; a guess from its first word for one it lacks."""
    family = catalog.families.get(system)
    if family is None:
        first = system.lower().split(" ")[0] if system else ""
        family = {
            "windows": "windows",
            "macos": "macos",
            "ubuntu": "linux",
            "debian": "linux",
            "red": "linux",
            "rocky": "linux",
            "almalinux": "linux",
            "centos": "linux",
            "suse": "linux",
            "linux": "linux",
        }.get(first)
    return catalog.family_names.index(family) if family in catalog.family_names else -1


def _index(values: tuple[str, ...], value: str, default: int) -> int:
    return values.index(value) if value in values else default


class _RecordedDeployments:
    def __init__(self, spec: RunSpec, counts: dict[str, int]):
        self.spec, self.size = spec, counts.get("deployments", 0)
        self._by_asset: tuple[np.ndarray, np.ndarray] | None = None

    def by_asset(self, assets: AssetTable) -> tuple[np.ndarray, np.ndarray]:
        """The recorded deployments grouped by their asset's position in the recorded assets (they were
        recorded as the deployments of those assets; see ``_Sql.insert_deployments``)."""
        if self._by_asset is None:
            refs = _fetch(self.spec.run_id, "deployments", None, ("asset_ref",), self.size)["asset_ref"]
            where = np.minimum(np.searchsorted(assets.ids, refs), max(assets.size - 1, 0))
            known = assets.ids[where] == refs if assets.size else np.zeros(len(refs), dtype=bool)
            hosts = np.where(known, where, assets.size)  # unknown assets sort last, beyond every offset
            order = np.argsort(hosts, kind="stable").astype(np.int32)
            counts = np.bincount(hosts, minlength=assets.size + 1)[: assets.size]
            self._by_asset = (order, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        return self._by_asset

    def take(self, positions: np.ndarray) -> DeploymentRows:
        columns = _fetch(self.spec.run_id, "deployments", positions, ("ref", "asset_ref", "not_before", "retired_day"))
        return DeploymentRows(
            ids=columns["ref"],
            asset_ids=columns["asset_ref"],
            not_before=columns["not_before"],
            until=columns["retired_day"] * SECONDS_PER_DAY + SECONDS_PER_DAY - 1,
        )


class _RecordedPairs:
    """Existing deployments among the recorded applications and assets, by position."""

    def __init__(self, run_id: int):
        self.run_id = run_id

    def taken_counts(self, host_lists: tuple[np.ndarray, ...], list_of: np.ndarray) -> np.ndarray:
        applications = len(list_of)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ref, asset_ref FROM {_table()} WHERE run_id = %s AND kind = 'taken'", [self.run_id])
            rows = cursor.fetchall()
        return _per_position(rows, applications)

    def asset_positions(self, application_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ref, asset_ref FROM {_table()} WHERE run_id = %s AND kind = 'pairs' AND {_in('ref')}",
                [self.run_id, _array_param(application_positions)],
            )
            rows = cursor.fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pairs = np.array(rows, dtype=np.int64)
        return pairs[:, 0], pairs[:, 1]


def _fetch(
    run_id: int, kind: str, positions: np.ndarray | None, columns: tuple[str, ...], size: int = 0
) -> dict[str, np.ndarray]:
    """The recorded ``columns`` at ``positions`` (repeats allowed), in the order asked; all ``size`` of them
    in position order when ``positions`` is None."""
    unique = np.unique(positions) if positions is not None else np.arange(size, dtype=np.int64)
    where_positions, params = (f"AND {_in('position')}", [_array_param(unique)]) if positions is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position, {', '.join(columns)} FROM {_table()} "
            f"WHERE run_id = %s AND kind = %s {where_positions} ORDER BY position",
            [run_id, kind, *params],
        )
        rows = cursor.fetchall()
    positions = unique if positions is None else positions
    if len(rows) != len(unique):
        raise RuntimeError(f"run #{run_id}'s recorded view of {kind} lacks positions it should hold")
    where = np.searchsorted(unique, positions)
    result = {}
    for number, column in enumerate(columns, start=1):
        values = [row[number] for row in rows]
        if column in _TEXT_COLUMNS:
            array = np.array(values, dtype=object)
        else:  # a missing retirement day: never retired
            array = np.array([int(NEVER) if value is None else value for value in values], dtype=np.int64)
        result[column] = array[where]
    return result


_TEXT_COLUMNS = frozenset({"version", "label", "asset_type", "lifecycle", "environment", "location"})


def _table() -> str:
    return connection.ops.quote_name(RunParent._meta.db_table)


def _in(column: str) -> str:
    """``column`` in a list bound as one parameter (a JSON text on SQLite, an array on PostgreSQL).

    On PostgreSQL ``= ANY(array)`` is an index condition whatever the planner
    believes; ``IN (SELECT unnest(...))`` was planned as a nested loop over the
    whole view while the table's statistics still said it was empty (a view
    recorded moments before), which took minutes per chunk on a 200,000-row view.
    """
    if connection.vendor == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(%s))"
    return f"{column} = ANY(%s::bigint[])"


def _array_param(values: np.ndarray):
    items = [int(v) for v in values.tolist()]
    return json.dumps(items) if connection.vendor == "sqlite" else items


# --- recording ----------------------------------------------------------------------------


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
        self.view = _table()

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
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, asset_ref, not_before, label, "
            f"asset_type, lifecycle, environment, location, retired_day) "
            f"SELECT %s, 'deployments', rn / %s, id, '', asset_id, not_before, '', '', '', '', '', "
            f"NULLIF(retired_day, {never}) FROM ("
            f"SELECT d.id, d.asset_id, {not_before} AS not_before, "
            f"{self.least(retired('a', 'lifecycle_status'), retired('p', 'lifecycle'))} AS retired_day, "
            f"ROW_NUMBER() OVER (ORDER BY d.id) - 1 AS rn "
            f"FROM {self.on_recorded_assets()} JOIN {assets} a ON a.id = d.asset_id "
            f"JOIN {applications} p ON p.id = d.application_id "
            f"WHERE sp.run_id = %s AND sp.kind = 'assets' AND d.asset_id = sp.ref) numbered WHERE rn %% %s = 0",
            [self.run.pk, every, self.run.pk, every],
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
            f"{self.view} sp CROSS JOIN LATERAL (SELECT id, application_id, asset_id, deployed_at FROM {deployments} "
            f"WHERE asset_id = sp.ref OFFSET 0) d"
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
            f"WHERE d.{_in('application_id')}",
            [self.run.pk, self.run.pk, self.run.pk, _array_param(application_refs)],
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
            f"WHERE d.{_in('application_id')} AND sp.run_id = %s AND sp.kind = 'assets' AND d.asset_id = sp.ref",
            [_array_param(application_refs), self.run.pk],
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


def _per_position(rows: list[tuple[int, int]], size: int) -> np.ndarray:
    counts = np.zeros(size, dtype=np.int64)
    if rows:
        pairs = np.array(rows, dtype=np.int64)
        counts[pairs[:, 0]] = pairs[:, 1]
    return counts


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
    spec = _keyless_spec(run.pk, run.seed, run.as_of, counts, catalog)
    recorded = dict(RunParent.objects.filter(run=run).values_list("kind").annotate(rows=Count("pk")))
    view = _recorded_of(spec, recorded, _token(run))
    if view.layout is not None:
        placed = view.applications.ids[np.flatnonzero(view.layout.quotas)]
        if whole_assets:
            sql.insert_pairs(placed)
        else:
            sql.record_sampled_pairs(placed)
