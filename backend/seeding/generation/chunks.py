"""From (run spec, chunk) to the model and the columns to write."""

from __future__ import annotations

import functools

from django.db.models import Model

from inventory.models import Application, Asset, Deployment, Event
from seeding.generation import pools, rows
from seeding.generation.spec import RunSpec
from seeding.plan import Chunk

MODELS: dict[str, type[Model]] = {
    "applications": Application,
    "assets": Asset,
    "deployments": Deployment,
    "events": Event,
}


class _Parents:
    """Lazily built parent pools of one run; built at most once per process."""

    def __init__(self, spec: RunSpec):
        self.spec = spec

    @functools.cached_property
    def applications(self) -> pools.ApplicationPool:
        return pools.application_pool(self.spec)

    @functools.cached_property
    def assets(self) -> pools.AssetPool:
        return pools.asset_pool(self.spec)

    @functools.cached_property
    def deployments(self) -> pools.DeploymentPool:
        return pools.deployment_pool(self.spec, self.applications, self.assets)


@functools.lru_cache(maxsize=2)
def _parents(spec: RunSpec) -> _Parents:
    return _Parents(spec)


def generate_chunk(spec: RunSpec, chunk: Chunk) -> tuple[type[Model], rows.Columns]:
    parents = _parents(spec)
    if chunk.kind == "applications":
        columns = rows.applications(spec, chunk.start, chunk.stop)
    elif chunk.kind == "assets":
        columns = rows.assets(spec, chunk.start, chunk.stop)
    elif chunk.kind == "deployments":
        columns = rows.deployments(spec, chunk.start, chunk.stop, parents.applications, parents.assets)
    elif chunk.kind == "events":
        columns = rows.events(spec, chunk.start, chunk.stop, parents.assets, parents.deployments)
    else:
        raise ValueError(f"unknown kind {chunk.kind!r}")
    return MODELS[chunk.kind], columns
