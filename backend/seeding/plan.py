"""Seed plans: what to write, validated before anything touches the database.

A plan is a plain value object, shared by every entry point. Validation returns
errors keyed by plan field so each caller can name its own spelling of the field
(``--assets`` for the command, ``"assets"`` in a JSON body).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from django.conf import settings

from seeding.models import KINDS

#: The widest per-kind count any plan may ask for, whatever SEED_MAX_TOTAL says.
PER_KIND_MAX = 5_000_000
#: Seeds are stored in a signed 64-bit column.
SEED_MAX = 2**63 - 1
CHUNK_SIZE_MIN = 100
CHUNK_SIZE_MAX = 200_000


class PlanError(ValueError):
    """A plan was rejected. ``errors`` maps each offending field to a message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


@dataclasses.dataclass(frozen=True)
class SeedPlan:
    """Counts per kind plus everything that makes the output reproducible."""

    applications: int = 0
    assets: int = 0
    deployments: int = 0
    events: int = 0
    seed: int = 0
    chunk_size: int = dataclasses.field(default_factory=lambda: settings.SEED_CHUNK_SIZE)
    as_of: datetime | None = None

    def count(self, kind: str) -> int:
        return getattr(self, kind)

    @property
    def total(self) -> int:
        return sum(self.count(kind) for kind in KINDS)

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk of the plan, in write order (parents before children)."""
        for kind in KINDS:
            yield from chunks_of(kind, self.count(kind), self.chunk_size)

    @property
    def chunk_count(self) -> int:
        return sum(-(-self.count(kind) // self.chunk_size) for kind in KINDS)


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Rows ``start <= ordinal < stop`` of one kind within a run."""

    kind: str
    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def rows_by_kind(chunks: Iterable[Chunk]) -> dict[str, int]:
    """Total rows of ``chunks`` per kind (kinds without chunks are left out)."""
    totals: dict[str, int] = {}
    for chunk in chunks:
        totals[chunk.kind] = totals.get(chunk.kind, 0) + chunk.rows
    return totals


def chunks_of(kind: str, count: int, chunk_size: int) -> Iterator[Chunk]:
    for index, start in enumerate(range(0, count, chunk_size)):
        yield Chunk(kind=kind, index=index, start=start, stop=min(start + chunk_size, count))


def validate_plan(plan: SeedPlan, *, existing: Mapping[str, int] | None = None) -> None:
    """Raise PlanError unless the plan can be written as a whole.

    ``existing`` gives the rows of each kind already in the database, which can
    stand in as parents when the plan itself writes none of a kind.
    """
    errors: dict[str, str] = {}
    for kind in KINDS:
        value = plan.count(kind)
        if not _is_int(value) or value < 0:
            errors[kind] = "must be a non-negative integer"
        elif value > PER_KIND_MAX:
            errors[kind] = f"must be at most {PER_KIND_MAX:,}"
    if not _is_int(plan.seed) or not 0 <= plan.seed <= SEED_MAX:
        errors["seed"] = f"must be an integer from 0 to {SEED_MAX}"
    if not _is_int(plan.chunk_size) or not CHUNK_SIZE_MIN <= plan.chunk_size <= CHUNK_SIZE_MAX:
        errors["chunk_size"] = f"must be an integer from {CHUNK_SIZE_MIN:,} to {CHUNK_SIZE_MAX:,}"
    if plan.as_of is not None and (plan.as_of.tzinfo is None or plan.as_of.utcoffset() is None):
        errors["as_of"] = "must be timezone-aware"
    if errors:
        raise PlanError(errors)

    max_total = settings.SEED_MAX_TOTAL
    if plan.total > max_total:
        raise PlanError(
            {"total": f"the plan asks for {plan.total:,} items; the limit is {max_total:,} (SEED_MAX_TOTAL)"}
        )

    existing = existing or {}

    def available(kind: str) -> int:
        return plan.count(kind) or existing.get(kind, 0)

    if plan.deployments:
        if not available("applications"):
            errors["deployments"] = "need applications: add some to the plan or to the database"
        elif not available("assets"):
            errors["deployments"] = "need assets: add some to the plan or to the database"
        elif plan.deployments > available("applications") * available("assets"):
            errors["deployments"] = (
                f"at most {available('applications') * available('assets'):,}: "
                "each application is deployed at most once per asset"
            )
    if plan.events and not available("assets"):
        errors["events"] = "need assets: add some to the plan or to the database"
    if errors:
        raise PlanError(errors)


def _is_int(value: object) -> bool:
    # bool is an int subclass; True assets is a bug in the caller, not a count.
    return isinstance(value, int) and not isinstance(value, bool)
