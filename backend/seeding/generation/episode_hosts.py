"""Where an episode (an incident story or a change wave) happens: hosts in service for all of it.

Application episodes take consecutive slots of one server application's
deployments (its hosts); host episodes take assets of the types and families
their catalog row names, at one site (the team that runs them there). Either
way the hosts must be in service from the episode's start to its end, so that
no event lands on an asset before it was bought or after it was retired.
"""

from __future__ import annotations

import functools

import numpy as np

from seeding.generation.catalog import Catalog
from seeding.generation.estate import APP_RETIRED, PLANNED, ApplicationTable, AssetTable, application_reach
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import DeploymentRows
from seeding.generation.rng import Stream
from seeding.generation.sites import working_hours
from seeding.generation.spec import RunSpec

#: Candidates tried per episode before it is given up (its keys stay ordinary events).
TRIES = 4
#: Host episodes look this far along a site's fitting assets for ones in service.
LOOK_AHEAD = 64


def application_hosts(
    spec: RunSpec,
    field: str,
    number: int,
    window: tuple[int, int],
    wanted: int,
    deployments: OwnDeployments,
    applications: ApplicationTable,
) -> tuple[int, DeploymentRows] | None:
    """Up to ``wanted`` deployments of one business application on servers, active or deprecated, each running
    from the window's start to its end: (application position, their rows), or None.

    Business applications only (``application_reach`` 0): an incident or a change names what people work
    with, not the monitoring agent on every host, though agents hold most deployments.
    """
    chosen = _business_applications(spec.catalog, deployments, applications)
    if not len(chosen):
        return None
    layout, (start, end) = deployments.layout, window
    stream = Stream(spec.seed, f"{field}.application")
    for attempt in range(TRIES):
        app = int(chosen[stream.int(number * TRIES + attempt, len(chosen))])
        quota, low = int(layout.quotas[app]), int(layout.ends[app] - layout.quotas[app])
        first = stream.int(number * TRIES + attempt + (1 << 40), quota)
        positions = low + (first + np.arange(min(wanted, quota), dtype=np.int64)) % quota
        rows = deployments.take(positions)
        fits = (rows.not_before <= start) & (rows.until >= end)
        if fits.sum() < min(2, len(positions)) or not fits[0]:
            continue
        return app, DeploymentRows(
            ids=rows.ids[fits], asset_ids=rows.asset_ids[fits], not_before=rows.not_before[fits], until=rows.until[fits]
        )
    return None


def _business_applications(catalog: Catalog, deployments: OwnDeployments, applications: ApplicationTable) -> np.ndarray:
    """Positions of the run's active or deprecated business applications on servers with deployments
    (computed once per run and process)."""
    key = "business applications"
    if key not in deployments.memo:
        servers = _servers(catalog)
        deployments.memo[key] = np.array(
            [
                app
                for app in np.flatnonzero(
                    (deployments.layout.quotas > 0)
                    & (application_reach(catalog, applications) == 0)
                    & ~np.isin(applications.lifecycle, [PLANNED, APP_RETIRED])
                ).tolist()
                if applications.platforms[app] <= servers
            ],
            dtype=np.int64,
        )
    return deployments.memo[key]


def site_hosts(
    spec: RunSpec,
    field: str,
    number: int,
    window: tuple[int, int],
    wanted: int,
    assets: AssetTable,
    fits: tuple[frozenset[str] | None, frozenset[str] | None],
    *,
    awake: bool = False,
) -> np.ndarray | None:
    """Positions of up to ``wanted`` assets of one site that ``fits`` (asset types, families), each in
    service from the window's start to its end, or None. ``awake``: only at a site where the start falls
    in working hours (a person reports it)."""
    candidates, sites = fitting_assets(spec.catalog, assets, fits)
    if not len(candidates):
        return None
    start, end = window
    working = working_hours(spec)
    hour = min(max(0, (start - spec.window_start) // 3_600), len(working) - 1)
    stream = Stream(spec.seed, f"{field}.asset")
    for attempt in range(TRIES):
        at = stream.int(number * TRIES + attempt, len(candidates))
        site = sites[at]
        if awake and not working[hour, site]:
            continue
        low, high = np.searchsorted(sites, site, side="left"), np.searchsorted(sites, site, side="right")
        around = low + (at - low + np.arange(min(LOOK_AHEAD, high - low), dtype=np.int64)) % (high - low)
        positions = candidates[around]
        serving = (assets.active_from(positions) <= start) & (end <= assets.active_until(positions))
        if not serving[0]:
            continue
        return positions[serving][:wanted]
    return None


def fitting_assets(
    catalog: Catalog, assets: AssetTable, fits: tuple[frozenset[str] | None, frozenset[str] | None]
) -> tuple[np.ndarray, np.ndarray]:
    """The assets that were ever in service and fit (types, families), grouped by site: (positions, their
    sites). Computed once per table."""
    key = ("fitting", fits)
    if key not in assets._memo:
        types, families = fits
        chosen = assets.eventful[assets.site[assets.eventful] >= 0]
        if types is not None:
            wanted = [i for i, t in enumerate(catalog.asset_types) if t.value in types]
            chosen = chosen[np.isin(assets.type_idx[chosen], wanted)]
        if families is not None:
            wanted = [i for i, name in enumerate(catalog.family_names) if name in families]
            chosen = chosen[np.isin(assets.family[chosen], wanted)]
        order = np.argsort(assets.site[chosen], kind="stable")
        assets._memo[key] = (chosen[order], assets.site[chosen][order])
    return assets._memo[key]


@functools.lru_cache(maxsize=8)
def _servers(catalog: Catalog) -> frozenset[int]:
    return frozenset(i for i, name in enumerate(catalog.platforms) if name.startswith("server/"))
