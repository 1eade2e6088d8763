"""What stories and waves share: one event of an episode before it takes its row, the catalog rows an
episode of a scope is drawn from, and how every change wave is numbered and paced."""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from seeding.generation.effects import Effect
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import RunSpec
from seeding.generation.tickets import CHANGE, ticket


class EpisodeEvent(NamedTuple):
    stage: int  # its key, counted from the episode's first key
    at: int  # epoch second
    asset_id: int
    deployment_id: int | None  # None: about the host
    kind: str
    severity: str
    source: str
    message: str
    effects: tuple[Effect, ...] = ()  # what it changes in the estate, in order (a live stream's only)


@functools.lru_cache(maxsize=32)
def of_scope(rows: tuple, scope: str) -> tuple[tuple, WeightTable] | None:
    """The catalog rows (stories or waves) of ``scope`` and their weights; None when there are none."""
    chosen = tuple(row for row in rows if row.scope == scope)
    return (chosen, WeightTable([row.weight for row in chosen])) if chosen else None


@functools.lru_cache(maxsize=64)
def among(rows: tuple, names: frozenset[str] | None, field: str) -> tuple:
    """The catalog rows (stories or waves) whose ``field`` is one of ``names``; all of them for None."""
    return rows if names is None else tuple(row for row in rows if getattr(row, field) in names)


def drawn(choices: tuple[tuple, WeightTable], stream: Stream, key: int):
    """The row ``stream`` draws for ``key`` by the rows' weights."""
    rows, weights = choices
    return rows[int(stream.weighted(np.array([key], dtype=np.int64), weights)[0])]


#: However fast a scenario pack makes an episode, it takes at least this many minutes.
SHORTEST_MINUTES = 5


def paced(minutes: int, pace: float) -> int:
    """An episode's ``minutes`` at ``pace`` times the catalog's speed (1: unchanged)."""
    return minutes if pace == 1.0 else max(SHORTEST_MINUTES, round(minutes / pace))


def wave_fields(spec: RunSpec, first: int, hosts: int, minutes: int) -> dict[str, object]:
    """What every change wave's texts may say (a catalog wave, a release, a migration batch): its change
    number (from its first key), how many hosts, how long."""
    return {
        "change": ticket(CHANGE, spec, first),
        "hosts": hosts,
        "minutes": minutes,
        "hours": max(1, round(minutes / 60)),
    }


def step_times(spec: RunSpec, field: str, number: int, start: int, minutes: int, hosts: int) -> list[int]:
    """The seconds of a wave's steps, one per host: spread evenly between its opening at ``start`` and its
    closing ``minutes`` later, each up to a minute late (drawn by ``field`` and the episode's ``number``)."""
    second = Stream(spec.seed, field)
    return [
        start + step * minutes * 60 // (hosts + 1) + second.int(number * 16 + step, 60) for step in range(1, hosts + 1)
    ]
