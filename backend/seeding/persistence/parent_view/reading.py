"""Reading a run's recorded view back: the parents its chunks point at, by position, the same in every process.

A process reads the recorded applications and assets once per run (cached by
run and creation time); deployments and the pairs existing deployments take
are read by position, only those a chunk needs.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from django.db import connection
from django.db.models import Max, Sum

from seeding.generation.catalog import Catalog
from seeding.generation.columns import Parents
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
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import DeploymentRows, DeploymentStates
from seeding.generation.placement import Layout, deployment_layout
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec
from seeding.models import RunParent, SeedRun
from seeding.persistence.parent_view.table import in_list, list_param, per_position, view_table
from seeding.persistence.tables import MODELS


def recorded_taken_pairs(run: SeedRun) -> int:
    """How many (application, asset) pairs existing deployments took among the parents ``run`` recorded."""
    return RunParent.objects.filter(run=run, kind="taken").aggregate(taken=Sum("asset_ref"))["taken"] or 0


def newest_recorded_purchase_day(run: SeedRun) -> int | None:
    """The latest purchase day (epoch day) among the assets ``run`` recorded, if any."""
    return RunParent.objects.filter(run=run, kind="assets").aggregate(newest=Max("day"))["newest"]


def recorded_in_use(run: SeedRun, *, location: str, asset_types: frozenset[str]) -> int:
    """How many of the assets ``run`` recorded are in use at ``location``, of ``asset_types``."""
    recorded = RunParent.objects.filter(run=run, kind="assets", location=location, asset_type__in=asset_types)
    return recorded.filter(lifecycle="in_use").count()


def parents_of(run: SeedRun, spec: RunSpec) -> Parents:
    """What the chunks of ``run`` (whose generation spec is ``spec``) may point at, the same in every process."""
    return _parents(spec, tuple(sorted(run.parent_counts.items())), view_token(run))


def forget_cached_views() -> None:
    """Drop this process's cached tables of every run (a view was recorded again, wider)."""
    _recorded.cache_clear()
    _parents.cache_clear()


def view_token(run: SeedRun) -> str:
    """What tells a run's cached view from another's: its creation time (SQLite gives a refused run's key to
    the next run, whose view may differ)."""
    return run.created_at.isoformat()


@functools.lru_cache(maxsize=4)
def _parents(spec: RunSpec, parent_counts: tuple[tuple[str, int], ...], token: str) -> Parents:
    """Cached per process by run and ``token``."""
    return build_parents(spec, dict(parent_counts), token)


@dataclasses.dataclass(frozen=True)
class _Recorded:
    """What a run reads back of its view: the same for every spec of the run (keys are not in it)."""

    applications: ApplicationTable | None
    assets: AssetTable | None
    layout: Layout | None  # where deployments go among recorded applications and assets, if they do


def recorded_of(spec: RunSpec, counts: dict[str, int], token: str) -> _Recorded:
    """The recorded tables of ``spec``'s run, from the per-process cache keyed by what they depend on."""
    # Neither keys nor where the run's own applications are in the estate change what was recorded.
    view_spec = dataclasses.replace(
        spec,
        id_bases=tuple((kind, 0) for kind in MODELS),
        site_host_bases=(),
        site_person_bases=(),
        names_seed=None,
        software_from=0,
        in_house_from=0,
        people_id_base=None,
        team_heads=(),
    )
    sizes = tuple((kind, counts.get(kind, 0)) for kind in ("applications", "assets", "taken", "people"))
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
        assets = _recorded_assets(spec, counts["assets"], counts["people"])
    layout = None
    if spec.count("deployments") and applications is not None and assets is not None:
        layout = deployment_layout_of(spec, applications, assets, counts)
    return _Recorded(applications=applications, assets=assets, layout=layout)


def build_parents(spec: RunSpec, counts: dict[str, int], token: str) -> Parents:
    recorded = recorded_of(spec, counts, token)
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


def _recorded_applications(spec: RunSpec, size: int) -> ApplicationTable:
    """The recorded applications as a table: software the catalog knows runs where the catalog says;
    anything else is taken for an in-house service that may run on any server."""
    catalog = spec.catalog
    names = ("ref", "version", "label", "lifecycle", "retired_day", "rolling_out")
    columns = _fetch(spec.run_id, "applications", None, names, size)
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
        rolling_out=columns["rolling_out"] == 1,  # recorded for a live stream only (None elsewhere)
    )


def _recorded_assets(spec: RunSpec, size: int, people: int) -> AssetTable:
    """The recorded assets as a table; a host keeps the environment its existing deployments serve, and a
    live stream's waiting laptops and desktops the person they would be issued to (``people`` of them)."""
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
    person = None
    if spec.live:
        person = np.full(size, "", dtype=object)
        issued = _fetch(spec.run_id, "people", None, ("asset_ref", "label"), people)
        person[issued["asset_ref"]] = issued["label"]
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
        person=person,
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
        self._states: DeploymentStates | None = None

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

    def states(self, applications: ApplicationTable) -> DeploymentStates:
        """Every recorded deployment with its application's position in ``applications`` and what it runs (a
        live stream's releases: ``generation.releases``). Read once per process and run."""
        if self._states is None:
            columns = _fetch(
                self.spec.run_id,
                "deployments",
                None,
                ("ref", "asset_ref", "application_ref", "version", "lifecycle", "environment"),
                self.size,
            )
            refs = columns["application_ref"]
            where = np.minimum(np.searchsorted(applications.ids, refs), max(applications.size - 1, 0))
            known = (applications.ids[where] == refs) if applications.size else np.zeros(len(refs), dtype=bool)
            self._states = DeploymentStates(
                ids=columns["ref"],
                asset_ids=columns["asset_ref"],
                application=np.where(known, where, -1),
                versions=columns["version"],
                status=columns["lifecycle"],
                environment=columns["environment"],
            )
        return self._states

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
            cursor.execute(
                f"SELECT ref, asset_ref FROM {view_table()} WHERE run_id = %s AND kind = 'taken'", [self.run_id]
            )
            rows = cursor.fetchall()
        return per_position(rows, applications)

    def asset_positions(self, application_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ref, asset_ref FROM {view_table()} WHERE run_id = %s AND kind = 'pairs' AND {in_list('ref')}",
                [self.run_id, list_param(application_positions)],
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
    where_positions, params = (
        (f"AND {in_list('position')}", [list_param(unique)]) if positions is not None else ("", [])
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position, {', '.join(columns)} FROM {view_table()} "
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
