"""A run's own deployments, computed from their ordinals: no query, no table held in memory.

Deployment k is the k-th slot of the run's layout (``placement``); its asset,
application and dates are a few arithmetic operations away, so "the deployment
at position 17" costs no more than generating it.
"""

from __future__ import annotations

import threading

import numpy as np

from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.parent_shapes import DeploymentRows
from seeding.generation.placement import Layout, Placement, deployment_placement
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec

#: Deployments per slice when all of them are placed at once (``by_asset``), bounding temporary arrays.
_SLICE = 50_000


class OwnDeployments:
    def __init__(self, spec: RunSpec, layout: Layout, applications: ApplicationTable, assets: AssetTable):
        self.spec, self.layout, self.applications, self.assets = spec, layout, applications, assets
        self.size = spec.count("deployments")
        self._by_asset: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()  # two writer threads ask at once: place everything once
        #: What others compute once per run from these deployments (episodes' candidate applications).
        self.memo: dict = {}

    def take(self, positions: np.ndarray) -> DeploymentRows:
        return self.placed(positions)[1]

    def placed(self, positions: np.ndarray) -> tuple[Placement, DeploymentRows]:
        """Where the deployments at ``positions`` are (application, asset, date) and their rows."""
        placement = deployment_placement(self.spec, positions, self.layout, self.applications, self.assets)
        hosts = placement.asset_idx
        retired = self.applications.retired_day[placement.app_idx] * SECONDS_PER_DAY
        return placement, DeploymentRows(
            ids=self.spec.id_base("deployments") + positions,
            asset_ids=self.assets.ids[hosts],
            not_before=np.maximum(placement.deployed_at, self.assets.purchase_day[hosts] * SECONDS_PER_DAY),
            until=np.minimum(self.assets.active_until(hosts), retired),
        )

    def of_applications(self, apps: np.ndarray) -> np.ndarray:
        """The positions of every deployment of the applications at ``apps`` (the layout gives each a range)."""
        ends, quotas = self.layout.ends[apps], self.layout.quotas[apps]
        return np.concatenate([np.arange(end - quota, end, dtype=np.int64) for end, quota in zip(ends, quotas)] or [[]])

    def by_asset(self, assets: AssetTable) -> tuple[np.ndarray, np.ndarray]:
        """The run's deployments grouped by asset: (positions asset after asset, offsets with one entry per
        asset position and a last one). ``assets`` is the table they were placed on (this one's own).
        Placed once per process, a few bytes per deployment."""
        with self._lock:
            if self._by_asset is None:
                self._by_asset = self._group_by_asset()
        return self._by_asset

    def _group_by_asset(self) -> tuple[np.ndarray, np.ndarray]:
        hosts = np.empty(self.size, dtype=np.int32)
        for start in range(0, self.size, _SLICE):
            ordinals = np.arange(start, min(start + _SLICE, self.size), dtype=np.int64)
            placement = deployment_placement(self.spec, ordinals, self.layout, self.applications, self.assets)
            hosts[start : start + len(ordinals)] = placement.asset_idx
        order = np.argsort(hosts, kind="stable").astype(np.int32)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(hosts, minlength=self.assets.size))]).astype(np.int64)
        return order, offsets
