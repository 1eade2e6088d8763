"""Parents that generated rows point at, addressed by position.

A pool answers "the k-th possible parent": its primary key and the times a child
must not precede. Parents written by the same run are computed from their
ordinals (no query); parents already in the database are loaded once, in key
order, from rows that existed when the run was created (id below the run's base).
"""

from __future__ import annotations

import re

import numpy as np
from django.db.models import F

from inventory.models import Application, Asset, Deployment
from seeding.generation import rows
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec

_EPOCH = np.datetime64("1970-01-01")
#: Rows per slice when a whole pool is computed, bounding temporary arrays.
_SLICE = 20_000
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class ApplicationPool:
    def __init__(self, ids: np.ndarray, versions: np.ndarray):
        self._ids, self._versions = ids, versions
        self.size = len(ids)

    def ids(self, idx: np.ndarray) -> np.ndarray:
        return self._ids[idx]

    def versions(self, idx: np.ndarray) -> np.ndarray:
        return self._versions[idx]


class AssetPool:
    def __init__(self, ids: np.ndarray, purchase_days: np.ndarray):
        self._ids, self._purchase_days = ids, purchase_days
        self.size = len(ids)
        self._bought_by: dict[int, np.ndarray] = {}

    def bought_by(self, moment: int) -> np.ndarray:
        """Positions of the assets purchased on or before ``moment`` (epoch seconds)."""
        if moment not in self._bought_by:
            self._bought_by[moment] = np.flatnonzero(self._purchase_days * SECONDS_PER_DAY <= moment)
        return self._bought_by[moment]

    def ids(self, idx: np.ndarray) -> np.ndarray:
        return self._ids[idx]

    def purchase_days(self, idx: np.ndarray) -> np.ndarray:
        return self._purchase_days[idx]


class DeploymentPool:
    """Deployments as (id, asset id, earliest moment an event about it may happen)."""

    def __init__(self, ids: np.ndarray, asset_ids: np.ndarray, not_before: np.ndarray):
        self._ids, self._asset_ids, self._not_before = ids, asset_ids, not_before
        self.size = len(ids)

    def ids(self, idx: np.ndarray) -> np.ndarray:
        return self._ids[idx]

    def asset_ids(self, idx: np.ndarray) -> np.ndarray:
        return self._asset_ids[idx]

    def not_before(self, idx: np.ndarray) -> np.ndarray:
        return self._not_before[idx]


def application_pool(spec: RunSpec) -> ApplicationPool:
    count = spec.count("applications")
    if count:
        ordinals = np.arange(count, dtype=np.int64)
        return ApplicationPool(spec.id_base("applications") + ordinals, rows.application_versions(spec, ordinals))
    existing = list(
        Application.objects.filter(id__lt=spec.id_base("applications")).order_by("id").values_list("id", "version")
    )
    return ApplicationPool(
        np.array([pk for pk, _ in existing], dtype=np.int64),
        np.array([version for _, version in existing], dtype=object),
    )


def asset_pool(spec: RunSpec) -> AssetPool:
    count = spec.count("assets")
    if count:
        ordinals = np.arange(count, dtype=np.int64)
        return AssetPool(spec.id_base("assets") + ordinals, rows.asset_purchase_days(spec, ordinals))
    existing = list(
        Asset.objects.filter(id__lt=spec.id_base("assets")).order_by("id").values_list("id", "purchase_date")
    )
    return AssetPool(
        np.array([pk for pk, _ in existing], dtype=np.int64),
        _epoch_days([day for _, day in existing]),
    )


def deployment_pool(spec: RunSpec, apps: ApplicationPool, assets: AssetPool) -> DeploymentPool:
    """Deployments that events may refer to.

    Events only tie to deployments on the assets they can pick from: the run's own
    deployments, or, when the run writes neither assets nor deployments, the ones
    already in the database.
    """
    count = spec.count("deployments")
    if count:
        ids = spec.id_base("deployments") + np.arange(count, dtype=np.int64)
        asset_ids = np.empty(count, dtype=np.int64)
        not_before = np.empty(count, dtype=np.int64)
        # In slices: the placement's temporaries would otherwise grow with the plan.
        for start in range(0, count, _SLICE):
            ordinals = np.arange(start, min(start + _SLICE, count), dtype=np.int64)
            placement = rows.deployment_placement(spec, ordinals, apps, assets)
            asset_ids[start : start + len(ordinals)] = assets.ids(placement.asset_idx)
            not_before[start : start + len(ordinals)] = np.maximum(
                placement.deployed_at, assets.purchase_days(placement.asset_idx) * SECONDS_PER_DAY
            )
        return DeploymentPool(ids, asset_ids, not_before)
    if spec.count("assets"):
        return DeploymentPool(*(np.zeros(0, dtype=np.int64) for _ in range(3)))
    existing = list(
        Deployment.objects.filter(id__lt=spec.id_base("deployments"))
        .order_by("id")
        .values_list("id", "asset_id", "deployed_at", F("asset__purchase_date"))
    )
    deployed = np.array([int(at.timestamp()) for _, _, at, _ in existing], dtype=np.int64)
    bought = _epoch_days([day for *_, day in existing]) * SECONDS_PER_DAY
    return DeploymentPool(
        np.array([pk for pk, *_ in existing], dtype=np.int64),
        np.array([asset_id for _, asset_id, *_ in existing], dtype=np.int64),
        np.maximum(deployed, bought),
    )


def _epoch_days(dates: list) -> np.ndarray:
    if not dates:
        return np.zeros(0, dtype=np.int64)
    return (np.array(dates, dtype="datetime64[D]") - _EPOCH).astype(np.int64)


def older_version(version: str, steps: int) -> str:
    """A plausible earlier release of ``version`` (unchanged if it is not x.y.z)."""
    match = _SEMVER.match(version)
    if not match:
        return version
    major, minor, patch = (int(part) for part in match.groups())
    if minor >= steps:
        return f"{major}.{minor - steps}.{(patch * 7 + steps) % 13}"
    if major > 1:
        return f"{major - 1}.{minor + 9 - steps}.{(patch * 5 + steps) % 11}"
    return version
