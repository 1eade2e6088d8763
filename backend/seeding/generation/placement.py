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

from seeding.generation.estate import APP_RETIRED, PLANNED, VETERAN_DAYS, ApplicationTable, AssetTable
from seeding.generation.parent_shapes import Occupancy
from seeding.generation.rng import Stream
from seeding.generation.spec import DEPLOYMENT_HISTORY_DAYS, SECONDS_PER_DAY, RunSpec

#: Primes above any pool size: stepping by one of them visits every asset once.
STRIDES = np.array([1_000_000_007, 998_244_353, 1_000_000_009, 2_147_483_647], dtype=np.int64)


def application_quotas(deployments: int, room: np.ndarray) -> np.ndarray:
    """Deployments per application: Zipf-skewed, each at most ``room[a]`` (its free assets).

    Integer water-filling, so identical on every machine.
    """
    applications = len(room)
    weights = (np.int64(1) << 32) // np.arange(1, applications + 1, dtype=np.int64)
    quotas = np.zeros(applications, dtype=np.int64)
    remaining = deployments
    while remaining > 0:
        free = room - quotas
        open_weights = np.where(free > 0, weights, 0)
        add = np.minimum(free, remaining * open_weights // int(open_weights.sum()))
        if not add.any():
            add = np.zeros_like(quotas)
            add[np.flatnonzero(free > 0)[:remaining]] = 1
        quotas += add
        remaining -= int(add.sum())
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

    Planned applications stay out of production. A retired one goes on hosts
    bought a month or more before its retirement (and ``VETERAN_DAYS`` before the
    base time), so each deployment predates the retirement; one retired before
    the deployment history begins goes nowhere.
    """
    if lifecycle == PLANNED:
        return (platforms, "nonprod", 0)
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
    room = sizes[list_of] if len(list_of) else np.zeros(0, dtype=np.int64)
    if occupancy is not None and apps.size:
        # Counts may include pairs off an application's hosts (a person's entry): never below zero.
        room = np.maximum(room - occupancy.taken_counts(host_lists, list_of), 0)
    total = int(room.sum())
    quotas = application_quotas(min(spec.count("deployments"), total), room)
    return Layout(
        quotas=quotas,
        ends=np.cumsum(quotas),
        host_lists=host_lists,
        list_of=list_of,
        occupancy=occupancy,
        room=total,
    )


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
