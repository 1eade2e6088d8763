"""Where deployments go: which application on which asset, and when.

Deployment ordinals are laid out application by application. How many each
application gets follows a Zipf-like curve (a few applications on thousands of
hosts, a long tail on a handful). The i-th deployment of an application lands
on the i-th free asset along a walk ``(offset + step * stride) mod N`` with a
prime stride, which visits every asset once: no application is deployed twice
on one asset, and pairs taken by deployments that existed before the run are
stepped over. Everything is a pure function of the run spec and the ordinal.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.parents import AssetRows, Assets, Occupancy
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
    """The run's deployments cut into per-application runs of ordinals."""

    quotas: np.ndarray  # deployments per application position
    ends: np.ndarray  # cumulative quotas: application a owns ordinals [ends[a] - quotas[a], ends[a])
    assets_size: int
    occupancy: Occupancy | None


def deployment_layout(spec: RunSpec, applications_size: int, assets_size: int, occupancy: Occupancy | None) -> Layout:
    taken = occupancy.per_application() if occupancy is not None else np.zeros(applications_size, dtype=np.int64)
    quotas = application_quotas(spec.count("deployments"), assets_size - taken)
    return Layout(quotas=quotas, ends=np.cumsum(quotas), assets_size=assets_size, occupancy=occupancy)


@dataclasses.dataclass(frozen=True)
class Placement:
    app_idx: np.ndarray
    asset_idx: np.ndarray
    deployed_at: np.ndarray  # epoch seconds
    assets: AssetRows  # the placed assets, in the same order


def deployment_placement(spec: RunSpec, ordinals: np.ndarray, layout: Layout, assets: Assets) -> Placement:
    n = layout.assets_size
    app_idx = np.searchsorted(layout.ends, ordinals, side="right")
    nth = ordinals - (layout.ends[app_idx] - layout.quotas[app_idx])
    offset = Stream(spec.seed, "deployment.asset.offset").ints(app_idx, n)
    stride = STRIDES[Stream(spec.seed, "deployment.asset.stride").ints(app_idx, len(STRIDES))] % n
    step = _skip_taken_steps(spec, app_idx, nth, layout) if layout.occupancy is not None else nth
    asset_idx = (offset + step * stride) % n
    placed = assets.take(asset_idx)
    earliest = np.maximum(
        placed.purchase_days * SECONDS_PER_DAY, spec.as_of - DEPLOYMENT_HISTORY_DAYS * SECONDS_PER_DAY
    )
    deployed_at = earliest + Stream(spec.seed, "deployment.time").ints(ordinals, 1 << 40) % (spec.as_of - earliest + 1)
    return Placement(app_idx=app_idx, asset_idx=asset_idx, deployed_at=deployed_at, assets=placed)


def _skip_taken_steps(spec: RunSpec, app_idx: np.ndarray, nth: np.ndarray, layout: Layout) -> np.ndarray:
    """The walk step of each deployment's application's nth free asset, stepping over pairs already taken.

    Vectorised over the whole chunk: the taken steps of every application are
    sorted into one array of keys ``application * (n + 1) + free steps before
    it``, so one sorted search counts, for every deployment, the taken steps it
    must pass.
    """
    n = layout.assets_size
    taken_apps, taken_assets = layout.occupancy.asset_positions(np.unique(app_idx))
    if not len(taken_apps):
        return nth
    apps = np.unique(taken_apps)
    offsets = Stream(spec.seed, "deployment.asset.offset").ints(apps, n)
    strides = STRIDES[Stream(spec.seed, "deployment.asset.stride").ints(apps, len(STRIDES))] % n
    # stride is invertible mod n (a prime larger than n): the walk reaches every asset once,
    # the taken one at step (asset - offset) / stride.
    inverses = np.array([pow(int(stride), -1, n) if n > 1 else 0 for stride in strides.tolist()], dtype=np.int64)
    which = np.searchsorted(apps, taken_apps)
    steps = (taken_assets - offsets[which]) % n * inverses[which] % n
    order = np.lexsort((steps, taken_apps))
    taken_apps, steps = taken_apps[order], steps[order]
    first_of_app = np.searchsorted(taken_apps, taken_apps, side="left")
    free_before = steps - (np.arange(len(steps)) - first_of_app)  # free steps before each taken one
    keys = taken_apps * (n + 1) + free_before
    passed = np.searchsorted(keys, app_idx * (n + 1) + nth, side="right") - np.searchsorted(
        taken_apps, app_idx, side="left"
    )
    return nth + passed
