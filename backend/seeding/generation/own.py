"""A run's own deployments, computed from their ordinals: no query, no table held in memory.

Deployment k is the k-th slot of the run's layout (``placement``); its asset,
application and dates are a few arithmetic operations away, so "the deployment
at position 17" costs no more than generating it.
"""

from __future__ import annotations

import numpy as np

from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.parents import DeploymentRows
from seeding.generation.placement import Layout, deployment_placement
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec


class OwnDeployments:
    def __init__(self, spec: RunSpec, layout: Layout, applications: ApplicationTable, assets: AssetTable):
        self.spec, self.layout, self.applications, self.assets = spec, layout, applications, assets
        self.size = spec.count("deployments")

    def take(self, positions: np.ndarray) -> DeploymentRows:
        placement = deployment_placement(self.spec, positions, self.layout, self.applications, self.assets)
        hosts = placement.asset_idx
        retired = self.applications.retired_day[placement.app_idx] * SECONDS_PER_DAY
        return DeploymentRows(
            ids=self.spec.id_base("deployments") + positions,
            asset_ids=self.assets.ids[hosts],
            asset_types=self.assets.type_idx[hosts],
            families=self.assets.family[hosts],
            not_before=np.maximum(placement.deployed_at, self.assets.purchase_day[hosts] * SECONDS_PER_DAY),
            until=np.minimum(self.assets.active_until(hosts), retired),
        )
