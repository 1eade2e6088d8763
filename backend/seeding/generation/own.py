"""A run's own parents, computed from their ordinals: no query, no table held in memory.

Row k of a kind has key ``id_base + k``, and every attribute a child depends on
is a pure function of k (``attributes.py``), so "the asset at position 17" costs
a few arithmetic operations. Only the list of assets bought before the event
window is computed over the whole kind, once per process, in slices.
"""

from __future__ import annotations

import functools

import numpy as np

from seeding.generation import attributes
from seeding.generation.parents import ApplicationRows, AssetRows, Assets, DeploymentRows
from seeding.generation.placement import Layout, deployment_placement
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec

#: Ordinals per slice when a whole kind is scanned, bounding temporary arrays.
_SLICE = 20_000


class OwnApplications:
    def __init__(self, spec: RunSpec):
        self.spec, self.size = spec, spec.count("applications")

    def take(self, positions: np.ndarray) -> ApplicationRows:
        unique, inverse = np.unique(positions, return_inverse=True)
        versions = attributes.application_versions(self.spec, unique)[inverse]
        return ApplicationRows(ids=self.spec.id_base("applications") + positions, versions=versions)


class OwnAssets:
    def __init__(self, spec: RunSpec):
        self.spec, self.size = spec, spec.count("assets")

    def take(self, positions: np.ndarray) -> AssetRows:
        return AssetRows(
            ids=self.spec.id_base("assets") + positions,
            purchase_days=attributes.asset_purchase_days(self.spec, positions),
        )

    def settled_count(self) -> int:
        return len(self._settled)

    def settled(self, ranks: np.ndarray) -> np.ndarray:
        return self._settled[ranks]

    @functools.cached_property
    def _settled(self) -> np.ndarray:
        """Positions of the assets bought by the time the event window opens."""
        cutoff = self.spec.window_start
        found = []
        for start in range(0, self.size, _SLICE):
            ordinals = np.arange(start, min(start + _SLICE, self.size), dtype=np.int64)
            days = attributes.asset_purchase_days(self.spec, ordinals)
            found.append(ordinals[days * SECONDS_PER_DAY <= cutoff])
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


class OwnDeployments:
    def __init__(self, spec: RunSpec, layout: Layout, assets: Assets):
        self.spec, self.layout, self.assets = spec, layout, assets
        self.size = spec.count("deployments")

    def take(self, positions: np.ndarray) -> DeploymentRows:
        placement = deployment_placement(self.spec, positions, self.layout, self.assets)
        return DeploymentRows(
            ids=self.spec.id_base("deployments") + positions,
            asset_ids=placement.assets.ids,
            not_before=np.maximum(placement.deployed_at, placement.assets.purchase_days * SECONDS_PER_DAY),
        )
