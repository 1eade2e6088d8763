"""What a generated row may point at: the parents, addressed by position.

A run's children reference either the run's own parents (computed from their
ordinals, see ``estate`` and ``own``) or parents that existed when the run was
created (the run's recorded view of them, see ``parent_view``). Applications
and assets reach generation as whole tables of the few attributes that decide
placement and events (``estate.ApplicationTable``, ``estate.AssetTable``);
deployments, which can be many, are taken by position. Generation only sees
these shapes, so it is the same code either way and never queries by itself.

Positions run from 0 to ``size - 1``; ``take`` answers for any array of them,
repeats included, in the order asked.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

import numpy as np


@dataclasses.dataclass(frozen=True)
class DeploymentRows:
    ids: np.ndarray
    asset_ids: np.ndarray
    not_before: np.ndarray  # epoch second: an event about it may not happen earlier
    until: np.ndarray  # epoch second: nor later (its application or asset retired)


@dataclasses.dataclass(frozen=True, eq=False)
class DeploymentStates:
    """Deployments by position with what each runs and how: every one a live stream may roll a release out
    to or take down in a cascade; in a seeded history, those of the applications a cascade may concern."""

    ids: np.ndarray
    asset_ids: np.ndarray
    application: np.ndarray  # position in the stream's applications table; -1 when it is not there
    versions: np.ndarray  # object: the release each runs ("" in a seeded history's: releases are live only)
    status: np.ndarray  # object: "running", "stopped", ...
    environment: np.ndarray  # object: "production", ...
    #: A seeded history's: the epoch seconds between which an event may concern each (``DeploymentRows``). A
    #: live stream's deployments all exist for all of it: None.
    not_before: np.ndarray | None = None
    until: np.ndarray | None = None

    def by_application(self, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """``rows`` grouped by application, in application order: (application position, its rows in order)."""
        rows = rows[np.argsort(self.application[rows], kind="stable")]
        if not len(rows):
            return []
        groups = np.split(rows, np.flatnonzero(np.diff(self.application[rows]) != 0) + 1)
        return [(int(self.application[group[0]]), group) for group in groups]

    def serving(self, rows: np.ndarray, start: int, end: int) -> np.ndarray:
        """Those of ``rows`` an event may concern from second ``start`` to ``end``."""
        if self.not_before is None or self.until is None:
            return rows
        return rows[(self.not_before[rows] <= start) & (self.until[rows] >= end)]


class Deployments(Protocol):
    size: int

    def take(self, positions: np.ndarray) -> DeploymentRows: ...

    def by_asset(self, assets) -> tuple[np.ndarray, np.ndarray]:
        """Deployment positions grouped by the position of their asset in ``assets`` (an AssetTable):
        (positions, offsets), where asset a's deployments are positions[offsets[a]:offsets[a + 1]]."""
        ...


@runtime_checkable
class RecordedStates(Protocol):
    """Recorded deployments that also say what each runs and how (a live stream's view: releases and
    cascades change them)."""

    def states(self, applications) -> DeploymentStates:
        """Every recorded deployment, its application's position in ``applications`` (an ApplicationTable)."""
        ...


class Occupancy(Protocol):
    """(application, asset) pairs already taken by deployments that existed when the run was created.

    Only relevant when a run places deployments among existing applications and
    existing assets; the run's own parents have no deployments yet.
    """

    def taken_counts(self, host_lists: tuple[np.ndarray, ...], list_of: np.ndarray) -> np.ndarray:
        """Per application position: how many pairs it already takes, at least those on its own hosts
        (``list_of[a]`` indexes ``host_lists``). Counts, not pairs: the layout caps each quota with them, so a
        count that includes pairs off its hosts only makes the room smaller, never a taken pair reused."""
        ...

    def asset_positions(self, application_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(application position, asset position) of every taken pair of the given applications
        (only asked for the applications the run places deployments on)."""
        ...
