"""Who owns each host: the team whose application runs on it.

A viewer who opens a server checks that its owner has something to do with
what runs there: the ESXi host or the database server of the Payments
application belongs to the Payments team, not to Supply Chain. So a server or
virtual machine of the run's own belongs to the owner of the main business
application deployed on it (tier 1 before tier 2 before tier 3; agents, on
every host, decide nothing), else to its asset type's team in
``asset_types.csv`` (the team that runs bare hosts), else to one drawn from the
catalog's infrastructure teams (``teams.csv``). Network devices, storage arrays and end-user devices keep
their type's team.

It is decided when the host is written, from where the run's own deployments
go (``placement``): a host that receives deployments only from a later run
keeps the owner it was written with.
"""

from __future__ import annotations

import numpy as np

from seeding.generation.estate import ApplicationTable, AssetTable, application_reach
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.rng import Stream
from seeding.generation.spec import RunSpec

#: What ranks below every tier: an application whose tier is unknown.
_NO_TIER = 9


def host_teams(
    spec: RunSpec,
    ordinals: np.ndarray,
    assets: AssetTable,
    deployments: OwnDeployments | None,
    applications: ApplicationTable | None,
) -> list[str]:
    """The owner team of the run's assets at ``ordinals`` (positions in ``assets``, the run's own table)."""
    catalog = spec.catalog
    types = assets.type_idx[ordinals]
    owning = [team for team in catalog.teams if team.kind != "business"]  # business teams own nothing
    running = [team.name for team in owning if team.kind == "infrastructure"] or [team.name for team in owning]
    drawn = np.array(running, dtype=object)[Stream(spec.seed, "asset.team").ints(ordinals, len(running))]
    # Per catalog type, and a last entry for a type the catalog does not know (index -1).
    type_teams = np.array([t.owner_team for t in catalog.asset_types] + [""], dtype=object)
    hosts_servers = np.array([t.hosts == "server" for t in catalog.asset_types] + [False], dtype=bool)
    teams = np.where(type_teams[types] == "", drawn, type_teams[types])
    if deployments is None or applications is None or applications.teams is None or not deployments.size:
        return teams.tolist()
    main = _main_application(ordinals, assets, deployments, applications, application_reach(catalog, applications))
    hosting = (main >= 0) & hosts_servers[types]
    teams[hosting] = applications.teams[main[hosting]]
    return teams.tolist()


def _main_application(
    ordinals: np.ndarray,
    assets: AssetTable,
    deployments: OwnDeployments,
    applications: ApplicationTable,
    reach: np.ndarray,
) -> np.ndarray:
    """Per asset, the position of its main business application (reach 0, highest tier, lowest key), or -1."""
    order, offsets = deployments.by_asset(assets)
    counts = offsets[ordinals + 1] - offsets[ordinals]
    owner = np.repeat(np.arange(len(ordinals)), counts)
    starts = np.repeat(offsets[ordinals], counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = order[starts + within].astype(np.int64)
    apps = np.searchsorted(deployments.layout.ends, positions, side="right")
    business = reach[apps] == 0
    owner, apps = owner[business], apps[business]
    tiers = applications.tier[apps] if applications.tier is not None else np.full(len(apps), _NO_TIER)
    rank = np.lexsort((apps, tiers, owner))  # by asset, then tier, then key
    owner, apps = owner[rank], apps[rank]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    main = np.full(len(ordinals), -1, dtype=np.int64)
    main[owner[first]] = apps[first]
    return main
