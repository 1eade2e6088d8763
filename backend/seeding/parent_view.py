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
- recording takes time in proportion to the plan: parents that only events
  point at are an even sample of at most ``VIEW_MIN_ROWS`` rows or twice the
  plan. Applications and assets a run places deployments on are recorded
  whole, so it can fill every free pair.

The run's own parents are not recorded: they are computed (``generation.own``).
"""

from __future__ import annotations

import functools
import json

import numpy as np
from django.db import connection
from django.db.models import Count, Max

from inventory.selectors import row_counts
from seeding.generation.chunks import Parents
from seeding.generation.own import OwnApplications, OwnAssets, OwnDeployments
from seeding.generation.parents import ApplicationRows, AssetRows, DeploymentRows
from seeding.generation.placement import deployment_layout
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


def record_parent_view(*, run: SeedRun, plan: SeedPlan) -> dict[str, int]:
    """Record the existing parents ``run`` may point at; returns rows per view kind.

    Call inside the run's creating transaction (``run.pk`` and ``run.as_of``
    set), before anything that cannot be rolled back: a failed validation then
    takes the view with it. Applications and assets that deployments will be
    placed on are recorded whole, with the pairs existing deployments take, so
    the run can fill every free pair; other parents are sampled
    (``VIEW_MIN_ROWS``).
    """
    needed = needed_parents(plan)
    limit = max(VIEW_MIN_ROWS, VIEW_ROWS_PER_PLANNED_ROW * plan.total)
    placing = plan.deployments > 0  # its deployments go onto these applications and assets
    sql = _Sql(run)
    if "applications" in needed:
        sql.insert_positions("applications", every=1, version="src.version")
    if "assets" in needed:
        every = 1 if placing else _stride(MODELS["assets"], limit)
        sql.insert_positions("assets", every=every, day=sql.epoch_day("src.purchase_date"))
        sql.insert_settled(window_start=int(run.as_of.timestamp()) - EVENT_WINDOW_DAYS * SECONDS_PER_DAY)
    if "deployments" in needed:
        sql.insert_deployments(every=_stride(MODELS["deployments"], limit))
    if {"applications", "assets"} <= needed:
        sql.insert_pairs()
    counts = dict(RunParent.objects.filter(run=run).values_list("kind").annotate(rows=Count("pk")))
    run.parent_counts = counts
    SeedRun.objects.filter(pk=run.pk).update(parent_counts=counts)
    return counts


def newest_recorded_purchase_day(run: SeedRun) -> int | None:
    """The latest purchase day (epoch day) among the assets ``run`` recorded, if any."""
    return RunParent.objects.filter(run=run, kind="assets").aggregate(newest=Max("day"))["newest"]


def forget_parent_views(runs) -> None:
    """Drop the recorded views of ``runs`` (a queryset): they succeeded or were cleared."""
    RunParent.objects.filter(run__in=runs).delete()


def parents_of(run: SeedRun, spec: RunSpec) -> Parents:
    """What the chunks of ``run`` (whose generation spec is ``spec``) may point at, the same in every process."""
    return _parents(spec, tuple(sorted(run.parent_counts.items())))


@functools.lru_cache(maxsize=4)
def _parents(spec: RunSpec, parent_counts: tuple[tuple[str, int], ...]) -> Parents:
    counts = dict(parent_counts)
    applications = OwnApplications(spec) if spec.count("applications") else _RecordedApplications(spec.run_id, counts)
    assets = OwnAssets(spec) if spec.count("assets") else _RecordedAssets(spec.run_id, counts)
    layout = deployments = None
    if spec.count("deployments"):
        occupancy = _RecordedPairs(spec.run_id, applications.size) if counts.get("pairs") else None
        layout = deployment_layout(spec, applications.size, assets.size, occupancy)
        deployments = OwnDeployments(spec, layout, assets)
    elif not spec.count("assets") and counts.get("deployments"):
        deployments = _RecordedDeployments(spec.run_id, counts)
    return Parents(applications=applications, assets=assets, deployments=deployments, layout=layout)


# --- reading the view back ------------------------------------------------------------


class _RecordedApplications:
    def __init__(self, run_id: int, counts: dict[str, int]):
        self.run_id, self.size = run_id, counts.get("applications", 0)

    def take(self, positions: np.ndarray) -> ApplicationRows:
        columns = _fetch(self.run_id, "applications", positions, ("ref", "version"))
        return ApplicationRows(ids=columns["ref"], versions=columns["version"])


class _RecordedAssets:
    def __init__(self, run_id: int, counts: dict[str, int]):
        self.run_id, self.size = run_id, counts.get("assets", 0)
        self._settled = counts.get("settled", 0)

    def take(self, positions: np.ndarray) -> AssetRows:
        columns = _fetch(self.run_id, "assets", positions, ("ref", "day"))
        return AssetRows(ids=columns["ref"], purchase_days=columns["day"])

    def settled_count(self) -> int:
        return self._settled

    def settled(self, ranks: np.ndarray) -> np.ndarray:
        return _fetch(self.run_id, "settled", ranks, ("ref",))["ref"]


class _RecordedDeployments:
    def __init__(self, run_id: int, counts: dict[str, int]):
        self.run_id, self.size = run_id, counts.get("deployments", 0)

    def take(self, positions: np.ndarray) -> DeploymentRows:
        columns = _fetch(self.run_id, "deployments", positions, ("ref", "asset_ref", "not_before"))
        return DeploymentRows(ids=columns["ref"], asset_ids=columns["asset_ref"], not_before=columns["not_before"])


class _RecordedPairs:
    """Existing deployments among the recorded applications and assets, by position."""

    def __init__(self, run_id: int, applications: int):
        self.run_id, self.applications = run_id, applications

    def per_application(self) -> np.ndarray:
        taken = np.zeros(self.applications, dtype=np.int64)
        rows = RunParent.objects.filter(run_id=self.run_id, kind="pairs").values_list("ref").annotate(n=Count("pk"))
        for application, count in rows:
            taken[application] = count
        return taken

    def asset_positions(self, application_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ref, asset_ref FROM {_table()} WHERE run_id = %s AND kind = 'pairs' AND ref IN {_any()}",
                [self.run_id, _array_param(application_positions)],
            )
            rows = cursor.fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pairs = np.array(rows, dtype=np.int64)
        return pairs[:, 0], pairs[:, 1]


def _fetch(run_id: int, kind: str, positions: np.ndarray, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The recorded ``columns`` at ``positions`` (repeats allowed), in the order asked."""
    unique = np.unique(positions)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position, {', '.join(columns)} FROM {_table()} "
            f"WHERE run_id = %s AND kind = %s AND position IN {_any()} ORDER BY position",
            [run_id, kind, _array_param(unique)],
        )
        rows = cursor.fetchall()
    if len(rows) != len(unique):
        raise RuntimeError(f"run #{run_id}'s recorded view of {kind} lacks positions it should hold")
    where = np.searchsorted(unique, positions)
    result = {}
    for number, column in enumerate(columns, start=1):
        values = [row[number] for row in rows]
        array = np.array(values, dtype=object if column == "version" else np.int64)
        result[column] = array[where]
    return result


def _table() -> str:
    return connection.ops.quote_name(RunParent._meta.db_table)


def _any() -> str:
    """An IN list bound as one parameter (a JSON text on SQLite, an array on PostgreSQL)."""
    return "(SELECT value FROM json_each(%s))" if connection.vendor == "sqlite" else "(SELECT unnest(%s::bigint[]))"


def _array_param(values: np.ndarray):
    items = [int(v) for v in values.tolist()]
    return json.dumps(items) if connection.vendor == "sqlite" else items


# --- recording ----------------------------------------------------------------------------


def _stride(model, limit: int) -> int:
    """Keep every n-th row in key order so that at most ``limit`` rows are kept."""
    rows = row_counts()[model]["total"]
    return max(1, -(-rows // limit))


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

    def insert_positions(
        self, kind: str, *, every: int, version: str = "''", day: str = "CAST(NULL AS INTEGER)"
    ) -> None:
        """Every ``every``-th row of ``kind`` (aliased ``src``), positioned in key order."""
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, day) "
            f"SELECT %s, %s, rn / %s, id, version, day FROM ("
            f"SELECT src.id, {version} AS version, {day} AS day, ROW_NUMBER() OVER (ORDER BY src.id) - 1 AS rn "
            f"FROM {self.quote(MODELS[kind]._meta.db_table)} src) numbered WHERE rn %% %s = 0",
            [self.run.pk, kind, every, every],
        )

    def insert_settled(self, *, window_start: int) -> None:
        """The recorded assets bought by the time the event window opens, ranked by position."""
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version) "
            f"SELECT run_id, 'settled', ROW_NUMBER() OVER (ORDER BY position) - 1, position, '' "
            f"FROM {self.view} WHERE run_id = %s AND kind = 'assets' "
            f"AND CAST(day AS BIGINT) * {SECONDS_PER_DAY} <= %s",
            [self.run.pk, window_start],
        )

    def insert_deployments(self, *, every: int) -> None:
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        assets = self.quote(MODELS["assets"]._meta.db_table)
        not_before = self.greatest(
            self.epoch_second("d.deployed_at"), f"{self.epoch_day('a.purchase_date')} * {SECONDS_PER_DAY}"
        )
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, asset_ref, not_before) "
            f"SELECT %s, 'deployments', rn / %s, id, '', asset_id, not_before FROM ("
            f"SELECT d.id, d.asset_id, {not_before} AS not_before, ROW_NUMBER() OVER (ORDER BY d.id) - 1 AS rn "
            f"FROM {deployments} d JOIN {assets} a ON a.id = d.asset_id) numbered WHERE rn %% %s = 0",
            [self.run.pk, every, every],
        )

    def insert_pairs(self) -> None:
        """Existing deployments as (application position, asset position), both recorded whole."""
        deployments = self.quote(MODELS["deployments"]._meta.db_table)
        self.execute(
            f"INSERT INTO {self.view} (run_id, kind, position, ref, version, asset_ref) "
            f"SELECT %s, 'pairs', ROW_NUMBER() OVER (ORDER BY d.id) - 1, ap.position, '', sp.position "
            f"FROM {deployments} d "
            f"JOIN {self.view} ap ON ap.run_id = %s AND ap.kind = 'applications' AND ap.ref = d.application_id "
            f"JOIN {self.view} sp ON sp.run_id = %s AND sp.kind = 'assets' AND sp.ref = d.asset_id",
            [self.run.pk, self.run.pk, self.run.pk],
        )
