"""The company a plan's assets make: how many of each kind of asset, and how many people use them.

The shape comes from the catalog's profile (``asset_types.csv``: each type's
share of the assets; people with one or two end-user devices each,
``people``), never from the plan's counts alone: 5,000 assets make about 2,400
laptops and 800 desktops for some 2,000 people, 1,300 virtual machines on 250
servers, 200 network devices and 50 storage arrays, and ten times the assets
the same company ten times over. The dry run and the summary say so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.directory import run_directory
from seeding.generation.estate import asset_hardware, own_assets
from seeding.generation.events import maintenance_slots
from seeding.generation.spec import RunSpec


@dataclasses.dataclass(frozen=True)
class Shape:
    """The run's own assets by type (catalog order) and the people using its end-user devices."""

    assets: dict[str, int]
    people: int
    end_user: frozenset[str]  # the types people use (asset_types.csv ``end_user``)

    def describe(self, labels: dict[str, str]) -> str:
        """ "2,410 laptops, 790 desktops for 2,050 people; ..." with the types' plural labels."""
        parts = []
        endpoint = [f"{n:,} {labels[value]}" for value, n in self.assets.items() if value in self.end_user]
        if endpoint:
            parts.append(" and ".join(endpoint) + f" for {self.people:,} people")
        parts += [f"{n:,} {labels[value]}" for value, n in self.assets.items() if value not in self.end_user]
        return "; ".join(parts)


def estate_shape(spec: RunSpec) -> Shape:
    """The shape of ``spec``'s own assets (computed, nothing read: cheap even at plan 10L)."""
    catalog, count = spec.catalog, spec.count("assets")
    ordinals = np.arange(count, dtype=np.int64)
    type_idx, _, _ = asset_hardware(spec, ordinals)
    by_type = np.bincount(type_idx, minlength=len(catalog.asset_types))
    assets = {t.value: int(n) for t, n in zip(catalog.asset_types, by_type.tolist()) if n}
    end_user = frozenset(t.value for t in catalog.asset_types if t.end_user)
    if not count:
        return Shape(assets, 0, end_user)
    people = run_directory(spec, own_assets(spec, maintenance_slots(spec))).size
    return Shape(assets, people, end_user)
