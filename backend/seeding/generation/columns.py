"""From (run spec, chunk, parents) to the columns to write: the one entry into generation."""

from __future__ import annotations

import dataclasses

from seeding.generation import directory, events, rows
from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.kinds import Chunk
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import Deployments
from seeding.generation.placement import Layout
from seeding.generation.spec import RunSpec


@dataclasses.dataclass(frozen=True)
class Parents:
    """Everything a run's chunks may point at; kinds the run does not need are None.

    ``assets`` is the run's own asset table when it writes assets (their
    lifecycles are decided there). ``layout`` is where the run's own
    deployments go (None when it writes none).
    """

    applications: ApplicationTable | None
    assets: AssetTable | None
    deployments: Deployments | None
    layout: Layout | None


def generate_chunk(spec: RunSpec, chunk: Chunk, parents: Parents) -> rows.Columns:
    if chunk.kind == "applications":
        return rows.applications(spec, chunk.start, chunk.stop)
    if chunk.kind == "assets":
        own = parents.deployments if isinstance(parents.deployments, OwnDeployments) else None
        return rows.assets(spec, chunk.start, chunk.stop, parents.assets, own, parents.applications)
    if chunk.kind == "deployments":
        return rows.deployments(spec, chunk.start, chunk.stop, parents.layout, parents.applications, parents.assets)
    if chunk.kind == "events":
        return events.events(spec, chunk.start, chunk.stop, parents.assets, parents.deployments, parents.applications)
    raise ValueError(f"unknown kind {chunk.kind!r}")


def companion_rows(spec: RunSpec, chunk: Chunk, parents: Parents) -> dict[str, rows.Columns]:
    """Rows the chunk writes beside its own, by table: an assets chunk writes the people whose first
    device it holds (``directory``)."""
    if chunk.kind == "assets":
        people = directory.people(spec, chunk.start, chunk.stop, parents.assets)
        return {"people": people} if people else {}
    return {}
