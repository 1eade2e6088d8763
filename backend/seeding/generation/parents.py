"""What a generated row may point at: the parents, addressed by position.

A run's children reference either the run's own parents (computed from their
ordinals, see ``own.py``) or parents that existed when the run was created (the
run's recorded view of them, read back chunk by chunk). Generation only sees
these protocols, so it is the same code either way and never queries by itself.

Positions run from 0 to ``size - 1``; ``take`` answers for any array of them,
repeats included, in the order asked.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np


@dataclasses.dataclass(frozen=True)
class ApplicationRows:
    ids: np.ndarray
    versions: np.ndarray  # current release, e.g. "4.12.7" (object array)


@dataclasses.dataclass(frozen=True)
class AssetRows:
    ids: np.ndarray
    purchase_days: np.ndarray  # epoch day


@dataclasses.dataclass(frozen=True)
class DeploymentRows:
    ids: np.ndarray
    asset_ids: np.ndarray
    not_before: np.ndarray  # epoch second: an event about it may not happen earlier


class Applications(Protocol):
    size: int

    def take(self, positions: np.ndarray) -> ApplicationRows: ...


class Assets(Protocol):
    size: int

    def take(self, positions: np.ndarray) -> AssetRows: ...

    def settled_count(self) -> int:
        """How many assets were bought before the run's event window opened."""
        ...

    def settled(self, ranks: np.ndarray) -> np.ndarray:
        """Positions of the settled assets of the given ranks (0 .. settled_count - 1)."""
        ...


class Deployments(Protocol):
    size: int

    def take(self, positions: np.ndarray) -> DeploymentRows: ...


class Occupancy(Protocol):
    """(application, asset) pairs already taken by deployments that existed when the run was created.

    Only relevant when a run places deployments among existing applications and
    existing assets; the run's own parents have no deployments yet.
    """

    def per_application(self) -> np.ndarray:
        """Taken pairs per application position (length: the applications' size)."""
        ...

    def asset_positions(self, application_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(application position, asset position) of every taken pair of the given applications."""
        ...
