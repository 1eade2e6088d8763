"""What a live stream makes happen to the estate beside its events, laid over its window once.

Three kinds of happening change state: lifecycle moves (``moves``: an asset
back from maintenance, delivered, put into service), releases (``releases``:
an application's release rolled out to its hosts) and, with a scenario pack
that says so, the waves of a migration (``relocations``: hosts moved to
another site). Each happens to its asset or application at most once per
stream. The candidates of each kind are put in a drawn order; of each, a share
per day of the stream is chosen; the chosen are put in one drawn order and
spread one per episode block over the stream's keys. A block holding a
happening tells it instead of its drawn episode (``episodes``), so every
stretch of the stream finds its happenings from its own keys, the same in
every process and after any restart.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.moves import SHARE_PER_DAY as MOVES_PER_DAY
from seeding.generation.moves import move_candidates
from seeding.generation.parent_shapes import DeploymentStates
from seeding.generation.releases import Release, release_candidates
from seeding.generation.relocations import Batch, migration_batches, settled
from seeding.generation.rng import Stream
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec

#: What a block holds: nothing, a lifecycle move (of an asset position), a release (of ``Happenings.releases``),
#: a migration wave (of ``Happenings.batches``).
NOTHING, MOVE, RELEASE, MIGRATION = -1, 0, 1, 2
#: Of the applications that may have a release, the share that has one per day of a stream.
RELEASES_PER_DAY = 1 / 2


@dataclasses.dataclass(frozen=True)
class Happenings:
    blocks: np.ndarray  # sorted, distinct episode block numbers
    what: np.ndarray  # MOVE, RELEASE or MIGRATION, per block
    item: np.ndarray  # the asset position (a move) or the index into ``releases`` or ``batches``
    releases: tuple[Release, ...]
    batches: tuple[Batch, ...] = ()
    #: The asset table incident stories and site waves pick from: without the hosts that move (``settled``).
    settled: AssetTable | None = None

    def at(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per episode number: (what happens in it, or NOTHING; its item)."""
        if not len(self.blocks):
            return np.full(len(numbers), NOTHING), np.full(len(numbers), -1)
        where = np.minimum(np.searchsorted(self.blocks, numbers), len(self.blocks) - 1)
        hit = self.blocks[where] == numbers
        return np.where(hit, self.what[where], NOTHING), np.where(hit, self.item[where], -1)


_NONE = Happenings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), ())


@functools.lru_cache(maxsize=8)
def happenings(
    spec: RunSpec,
    assets: AssetTable,
    applications: ApplicationTable | None,
    states: DeploymentStates | None,
    block: int,
    longest: int,
) -> Happenings:
    """The stream's happenings among its episode blocks of ``block`` keys, each at most ``longest`` keys (none
    for a seeded history). Cached per stream and view (a process keeps one view per run: ``parent_view``)."""
    if not spec.live:
        return _NONE
    days = spec.window_seconds / SECONDS_PER_DAY
    movers = move_candidates(spec, assets)
    releases = ()
    if applications is not None and states is not None:
        releases = release_candidates(spec, applications, states)
    released_apps = np.array([int(applications.ids[r.application]) for r in releases], dtype=np.int64)
    moves = _chosen(spec, "move", assets.ids[movers], days * MOVES_PER_DAY)
    released = _chosen(spec, "release", released_apps, days * RELEASES_PER_DAY)
    batches = migration_batches(spec, assets, longest)
    waves = np.arange(len(batches), dtype=np.int64)
    what = np.r_[np.full(len(moves), MOVE), np.full(len(released), RELEASE), np.full(len(batches), MIGRATION)]
    item = np.r_[movers[moves], released, waves].astype(np.int64)
    # What each is drawn by: its asset's or application's key, or its wave's number, each kind apart.
    keys = np.r_[assets.ids[movers[moves]] * 3, released_apps[released] * 3 + 1, waves * 3 + 2].astype(np.int64)
    blocks = spec.count("events") // block
    order = np.argsort(Stream(spec.seed, "happening.order").ints(keys, 1 << 40), kind="stable")
    order = order[:blocks]
    found = dataclasses.replace(_NONE, releases=releases, batches=batches, settled=settled(assets, batches))
    if not len(order):
        return found
    ranks = np.arange(len(order), dtype=np.int64)
    spread = Stream(spec.seed, "happening.block").ints(ranks, max(1, blocks // len(order)))
    return dataclasses.replace(
        found, blocks=ranks * blocks // len(order) + spread, what=what[order].astype(np.int64), item=item[order]
    )


def _chosen(spec: RunSpec, kind: str, keys: np.ndarray, share: float) -> np.ndarray:
    """Indexes into ``keys`` of the candidates chosen: the first ``share`` of them (at least one) in a drawn
    order."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    count = min(len(keys), -(-len(keys) * round(min(share, 1.0) * 1_000) // 1_000))
    return np.argsort(Stream(spec.seed, f"{kind}.order").ints(keys, 1 << 40), kind="stable")[:count]
