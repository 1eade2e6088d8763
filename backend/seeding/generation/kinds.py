"""The kinds of inventory rows seeding writes, the order they are written in, and the chunks they are cut into.

Plain Python on purpose: generation, plans and every entry point share this
vocabulary, and generation must run (and be tested and profiled) without Django.
Which table a kind is written to is persistence's business
(``seeding.persistence.tables``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

#: Write order: rows of a kind only reference rows of kinds before it.
KINDS: tuple[str, ...] = ("applications", "assets", "deployments", "events")

#: Chunks of one phase only reference rows of earlier phases, so they can be
#: written in any order and in parallel; phases run one after the other.
PHASES: tuple[tuple[str, ...], ...] = (("applications", "assets"), ("deployments",), ("events",))


def phase_of(kind: str) -> int:
    return next(number for number, kinds in enumerate(PHASES) if kind in kinds)


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Rows ``start <= ordinal < stop`` of one kind within a run: the unit that is generated, written and retried."""

    kind: str
    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def chunks_of(kind: str, count: int, chunk_size: int) -> Iterator[Chunk]:
    for index, start in enumerate(range(0, count, chunk_size)):
        yield Chunk(kind=kind, index=index, start=start, stop=min(start + chunk_size, count))


def rows_by_kind(chunks: Iterable[Chunk]) -> dict[str, int]:
    """Total rows of ``chunks`` per kind (kinds without chunks are left out)."""
    totals: dict[str, int] = {}
    for chunk in chunks:
        totals[chunk.kind] = totals.get(chunk.kind, 0) + chunk.rows
    return totals
