"""Where deployments go: which application on which asset, and when.

Deployment ordinals are laid out application by application. How many each
application gets follows a Zipf-like curve (a few applications on thousands of
hosts, a long tail on a handful). An application goes only on its hosts: the
assets in service whose platform it runs on (server software on Linux or
Windows servers and virtual machines, end-user software on laptops and
desktops; never on network gear, storage arrays or hypervisors), outside
production while it is planned. The i-th deployment of an application lands on
the i-th free host along a walk ``(offset + step * stride) mod N`` over its
hosts with a prime stride, which visits every host once: no application is
deployed twice on one asset, and pairs taken by deployments that existed before
the run are stepped over. Everything is a pure function of the run spec and the
ordinal.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.estate import (
    APP_RETIRED,
    DEPRECATED,
    PLANNED,
    VETERAN_DAYS,
    ApplicationTable,
    AssetTable,
    application_reach,
)
from seeding.generation.parent_shapes import Occupancy
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import DEPLOYMENT_HISTORY_DAYS, SECONDS_PER_DAY, RunSpec

#: Primes above any pool size: stepping by one of them visits every asset once.
STRIDES = np.array([1_000_000_007, 998_244_353, 1_000_000_009, 2_147_483_647], dtype=np.int64)
#: A business application's replicas: a heavy-tailed draw (most on one to four hosts, a few on dozens)...
REPLICAS = np.array([1, 2, 3, 4, 5, 6, 8, 10, 14, 20, 30], dtype=np.int64)
REPLICA_WEIGHTS = WeightTable([280, 240, 150, 100, 70, 50, 40, 30, 20, 12, 8])
#: ...times its tier's factor (tier 1, 2, 3; the last for applications read back, whose tier is not known).
TIER_FACTORS = np.array([4, 2, 1, 2], dtype=np.int64)
#: A deprecated application keeps half of what it would have; a retired one this many at most (stopped).
RETIRED_REPLICAS = 4
#: A product's reach varies by estate: this many per mille of the catalog's figure, up to a thousand.
REACH_JITTER_FROM = 850


def fill(total: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """``total`` spread over the entries in proportion to ``weights``, each at most ``caps[a]``.

    Integer water-filling, so identical on every machine; ``total`` must not exceed ``caps.sum()``.
    What proportions cannot split goes, one each, to the heaviest entries with room (ties: first).
    """
    quotas = np.zeros(len(caps), dtype=np.int64)
    remaining = int(total)
    while remaining > 0:
        free = caps - quotas
        open_weights = np.where(free > 0, np.maximum(weights, 1), 0)
        add = np.minimum(free, remaining * open_weights // int(open_weights.sum()))
        if not add.any():
            heaviest = np.argsort(-open_weights, kind="stable")
            add = np.zeros_like(quotas)
            add[heaviest[: min(remaining, int((free > 0).sum()))]] = 1
        quotas += add
        remaining -= int(add.sum())
    return quotas


def application_quotas(
    deployments: int, room: np.ndarray, handful: np.ndarray, demand: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Deployments per application, each at most ``room[a]`` (its free hosts), ``deployments`` in all.

    ``handful``: the hosts each application wants at least (a business
    application: a few); ``demand``: those a product with a reach wants (an
    agent: most hosts of its platforms), and ``reach`` its share of them (per
    mille). In turn: every application its handful (at most half the
    deployments, while products with a reach want the rest); then the products
    with a reach up to their demand, in proportion to demand times reach, so
    when the plan has fewer deployments than they all want the widest keep the
    most of theirs (an endpoint agent stays on most laptops, a database is cut
    to fewer hosts); then, when the plan has more deployments than all that,
    everyone more, in proportion to what it wanted, up to its room.
    """
    handful = np.minimum(handful, room)
    demand = np.minimum(np.maximum(demand, handful), room)
    wanted = int((demand - handful).sum())
    first = min(int(handful.sum()), max(deployments // 2, deployments - wanted))
    quotas = fill(first, handful, handful)
    more = demand - quotas
    quotas += fill(min(deployments - first, int(more.sum())), more * reach * reach // 1000, more)
    rest = deployments - int(quotas.sum())
    if rest:
        quotas += fill(rest, demand, room - quotas)
    return quotas


@dataclasses.dataclass(frozen=True)
class Layout:
    """The run's deployments cut into per-application runs of ordinals, and where each application may go."""

    quotas: np.ndarray  # deployments per application position
    ends: np.ndarray  # cumulative quotas: application a owns ordinals [ends[a] - quotas[a], ends[a])
    host_lists: tuple[np.ndarray, ...]  # distinct sorted lists of asset positions
    list_of: np.ndarray  # per application: the index of its list in host_lists
    occupancy: Occupancy | None
    room: int  # free (application, host) pairs: the most deployments the parents can take


def host_key(spec: RunSpec, platforms: frozenset[int], lifecycle: int, retired_day: int) -> tuple:
    """Which hosts an application may go on: (platforms, mode, the last purchase day of a host).

    Planned applications are deployed nowhere yet. A retired one goes on hosts
    bought a month or more before its retirement (and ``VETERAN_DAYS`` before the
    base time), so each deployment predates the retirement; one retired before
    the deployment history begins goes nowhere.
    """
    if lifecycle == PLANNED:
        return (platforms, "none", 0)
    if lifecycle == APP_RETIRED:
        if retired_day * SECONDS_PER_DAY <= spec.as_of - DEPLOYMENT_HISTORY_DAYS * SECONDS_PER_DAY:
            return (platforms, "none", 0)
        last = min(spec.as_of_day - VETERAN_DAYS, int(retired_day) - 30)
        return (platforms, "veteran", last - last % 30)  # in steps of 30 days: few distinct lists
    return (platforms, "all", 0)


def deployment_layout(spec: RunSpec, apps: ApplicationTable, assets: AssetTable, occupancy: Occupancy | None) -> Layout:
    """Each application's hosts (the assets that can run it) and its quota, capped at its free hosts."""
    keys = [
        host_key(spec, platforms, life, day)
        for platforms, life, day in zip(apps.platforms, apps.lifecycle.tolist(), apps.retired_day.tolist())
    ]
    distinct = sorted(set(keys), key=lambda key: (sorted(key[0]), key[1], key[2]))
    host_lists = tuple(assets.hosts(platforms, mode, last_day) for platforms, mode, last_day in distinct)
    index = {key: number for number, key in enumerate(distinct)}
    list_of = np.array([index[key] for key in keys], dtype=np.int64)
    sizes = np.array([len(hosts) for hosts in host_lists], dtype=np.int64)
    hosts = sizes[list_of] if len(list_of) else np.zeros(0, dtype=np.int64)
    room = hosts
    if occupancy is not None and apps.size:
        # Counts may include pairs off an application's hosts (a person's entry): never below zero.
        room = np.maximum(room - occupancy.taken_counts(host_lists, list_of), 0)
    total = int(room.sum())
    handful, demand, reach = application_wants(spec, apps, hosts, room)
    quotas = application_quotas(min(spec.count("deployments"), total), room, handful, demand, reach)
    return Layout(
        quotas=quotas,
        ends=np.cumsum(quotas),
        host_lists=host_lists,
        list_of=list_of,
        occupancy=occupancy,
        room=total,
    )


def application_wants(
    spec: RunSpec, apps: ApplicationTable, hosts: np.ndarray, room: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each application is deployed on, by what it is: (handful, demand, reach per mille).

    A business application (in-house, or a catalog product without a reach)
    wants a handful of hosts: a heavy-tailed seeded draw times its tier's
    factor. A product with a reach (software.csv: an agent on most hosts of its
    platforms, a database on a few per cent) wants that share of its ``hosts``,
    less the pairs it already takes (``hosts - room``). Deprecated applications
    want half, retired ones a few (their deployments are stopped), and planned
    ones have no hosts at all. Never the key: which applications are the most
    deployed is the catalog's and the seed's doing.
    """
    positions = np.arange(apps.size, dtype=np.int64)
    tier = apps.tier if apps.tier is not None else np.full(apps.size, len(TIER_FACTORS) - 1, dtype=np.int8)
    handful = REPLICAS[Stream(spec.seed, "application.replicas").weighted(positions, REPLICA_WEIGHTS)]
    handful = handful * TIER_FACTORS[tier]
    reaches = application_reach(spec.catalog, apps)
    reach = reaches * (
        REACH_JITTER_FROM + Stream(spec.seed, "application.reach").ints(positions, 1001 - REACH_JITTER_FROM)
    )
    reach = np.minimum(reach // 100, 1000)
    deprecated, retired = apps.lifecycle == DEPRECATED, apps.lifecycle == APP_RETIRED
    handful = np.where(deprecated, (handful + 1) // 2, handful)
    handful = np.where(retired, np.minimum((handful + 1) // 2, RETIRED_REPLICAS), handful)
    reach = np.where(deprecated, reach // 2, np.where(retired, 0, reach))
    demand = np.maximum(hosts * reach // 1000 - (hosts - room), 0)
    return handful, demand, reach


def taken_on_hosts(
    taken_apps: np.ndarray, taken_assets: np.ndarray, host_lists: tuple[np.ndarray, ...], list_of: np.ndarray
) -> np.ndarray:
    """Per application position: how many of the given taken pairs fall on its own hosts."""
    keep_apps, _ = _on_hosts(taken_apps, taken_assets, host_lists, list_of)
    return np.bincount(keep_apps, minlength=len(list_of)).astype(np.int64)


def _taken_in_lists(
    occupancy: Occupancy, applications: np.ndarray, host_lists: tuple[np.ndarray, ...], list_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The taken pairs of ``applications`` that fall on their own hosts: (application, index in its list)."""
    return _on_hosts(*occupancy.asset_positions(applications), host_lists, list_of)


def _on_hosts(
    taken_apps: np.ndarray, taken_assets: np.ndarray, host_lists: tuple[np.ndarray, ...], list_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    keep_apps, keep_idx = [], []
    for number, hosts in enumerate(host_lists):
        mine = list_of[taken_apps] == number
        if not mine.any() or not len(hosts):
            continue
        where = np.minimum(np.searchsorted(hosts, taken_assets[mine]), len(hosts) - 1)
        found = hosts[where] == taken_assets[mine]
        keep_apps.append(taken_apps[mine][found])
        keep_idx.append(where[found])
    if not keep_apps:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(keep_apps), np.concatenate(keep_idx)


@dataclasses.dataclass(frozen=True)
class Placement:
    app_idx: np.ndarray
    asset_idx: np.ndarray
    deployed_at: np.ndarray  # epoch seconds


def deployment_placement(
    spec: RunSpec, ordinals: np.ndarray, layout: Layout, apps: ApplicationTable, assets: AssetTable
) -> Placement:
    app_idx = np.searchsorted(layout.ends, ordinals, side="right")
    nth = ordinals - (layout.ends[app_idx] - layout.quotas[app_idx])
    sizes = np.array([len(hosts) for hosts in layout.host_lists], dtype=np.int64)[layout.list_of[app_idx]]
    offset, stride = _walk(spec, app_idx, sizes)
    step = _skip_taken_steps(spec, app_idx, nth, layout) if layout.occupancy is not None else nth
    local = (offset + step * stride) % np.maximum(sizes, 1)
    asset_idx = np.empty(len(ordinals), dtype=np.int64)
    for number in np.unique(layout.list_of[app_idx]).tolist():
        rows = layout.list_of[app_idx] == number
        asset_idx[rows] = layout.host_lists[number][local[rows]]
    purchase = assets.purchase_day[asset_idx] * SECONDS_PER_DAY
    earliest = np.maximum(purchase, spec.as_of - DEPLOYMENT_HISTORY_DAYS * SECONDS_PER_DAY)
    latest = np.minimum(spec.as_of, apps.retired_day[app_idx] * SECONDS_PER_DAY - SECONDS_PER_DAY)
    latest = np.maximum(latest, earliest)
    deployed_at = earliest + Stream(spec.seed, "deployment.time").ints(ordinals, 1 << 40) % (latest - earliest + 1)
    return Placement(app_idx=app_idx, asset_idx=asset_idx, deployed_at=deployed_at)


def _walk(spec: RunSpec, app_idx: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each application's start and prime stride along its list of hosts."""
    n = np.maximum(sizes, 1)
    offset = Stream(spec.seed, "deployment.asset.offset").ints(app_idx, 1 << 40) % n
    stride = STRIDES[Stream(spec.seed, "deployment.asset.stride").ints(app_idx, len(STRIDES))] % n
    return offset, stride


def _skip_taken_steps(spec: RunSpec, app_idx: np.ndarray, nth: np.ndarray, layout: Layout) -> np.ndarray:
    """The walk step of each deployment's application's nth free host, stepping over pairs already taken.

    Vectorised over the whole chunk: the taken steps of every application are
    sorted into one array of keys ``application * (N + 1) + free steps before
    it`` (N: the longest list), so one sorted search counts, for every
    deployment, the taken steps it must pass.
    """
    taken_apps, taken_idx = _taken_in_lists(layout.occupancy, np.unique(app_idx), layout.host_lists, layout.list_of)
    if not len(taken_apps):
        return nth
    sizes_all = np.array([len(hosts) for hosts in layout.host_lists], dtype=np.int64)
    big = int(sizes_all.max()) + 1
    apps = np.unique(taken_apps)
    sizes = sizes_all[layout.list_of[apps]]
    offsets, strides = _walk(spec, apps, sizes)
    # stride is invertible mod n (a prime larger than n): the walk reaches every host once,
    # the taken one at step (index - offset) / stride.
    inverses = np.array(
        [pow(int(stride), -1, int(n)) if n > 1 else 0 for stride, n in zip(strides.tolist(), sizes.tolist())],
        dtype=np.int64,
    )
    which = np.searchsorted(apps, taken_apps)
    n = sizes[which]
    steps = (taken_idx - offsets[which]) % n * inverses[which] % n
    order = np.lexsort((steps, taken_apps))
    taken_apps, steps = taken_apps[order], steps[order]
    first_of_app = np.searchsorted(taken_apps, taken_apps, side="left")
    free_before = steps - (np.arange(len(steps)) - first_of_app)  # free steps before each taken one
    keys = taken_apps * big + free_before
    passed = np.searchsorted(keys, app_idx * big + nth, side="right") - np.searchsorted(
        taken_apps, app_idx, side="left"
    )
    return nth + passed
