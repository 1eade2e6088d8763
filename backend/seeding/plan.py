"""Seed plans: what to write, validated before anything touches the database.

A plan is a plain value object, shared by every entry point, with one set of
defaults. Validation returns errors keyed by plan field so each caller can name
its own spelling of the field (``--assets`` for the command, ``"assets"`` in a
JSON body, a form field in the admin).

Validation comes in two steps: ``validate_plan`` checks the plan on its own
(types, ranges, caps); ``validate_parents`` checks it against the parents that
exist for it, which only the run's creating transaction can know for sure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from seeding.generation.kinds import KINDS, Chunk, chunks_of
from seeding.generation.scenarios import scenario_names
from seeding.named_plans import PLANS

#: The widest per-kind count any plan may ask for, whatever SEED_MAX_TOTAL says.
PER_KIND_MAX = 20_000_000
#: Seeds are stored in a signed 64-bit column.
SEED_MAX = 2**63 - 1
CHUNK_SIZE_MIN = 100
CHUNK_SIZE_MAX = 200_000
#: The seed every entry point uses when none is given.
DEFAULT_SEED = 1
#: What `seed_demo_data` writes when no count is given, and what the admin's seed page offers.
DEMO_PLAN: dict[str, int] = PLANS["demo"]
AS_OF_EXAMPLE = "2026-01-31T12:00:00Z"
#: The earliest base time a plan may give: assets are bought up to six years before it, and every
#: date the data carries must fit both databases (PostgreSQL's and SQLite's, and Python's, from
#: year 1); nothing older makes a believable inventory either.
AS_OF_MIN = datetime(2000, 1, 1, tzinfo=UTC)
#: How far after now a base time may lie: a demo dated a little ahead is fine, but one asset dated in
#: year 9999 would refuse every later plan with the default base time (now), which is before it.
AS_OF_MAX_AHEAD = timedelta(days=366)


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
    seed: int = DEFAULT_SEED
    chunk_size: int = dataclasses.field(default_factory=lambda: settings.SEED_CHUNK_SIZE)
    #: The base time; None means "now", fixed when the run is created.
    as_of: datetime | None = None
    #: A scenario pack of the catalog (``generation.scenarios``) that shapes what happens; None: none.
    scenario: str | None = None

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


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; a value without an offset is UTC.

    Raises ValueError with a message fit for the caller to show.
    """
    try:
        parsed = parse_datetime(text)
        if parsed is None and (day := parse_date(text)) is not None:
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time (e.g. {AS_OF_EXAMPLE})")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def as_of_max() -> datetime:
    """The latest base time a plan may give now (``AS_OF_MAX_AHEAD`` after the current time)."""
    return datetime.now(UTC) + AS_OF_MAX_AHEAD


def as_of_out_of_range(as_of: datetime) -> str | None:
    """Why an aware base time is out of bounds (``AS_OF_MIN`` to ``as_of_max()``), or None if it is not."""
    if AS_OF_MIN <= as_of <= as_of_max():
        return None
    return f"must be from {AS_OF_MIN:%Y-%m-%d} to one year after now ({as_of_max():%Y-%m-%d})"


def validate_plan(plan: SeedPlan) -> None:
    """Raise PlanError unless the plan is well formed: types, ranges and caps.

    Needs no database; ``validate_parents`` adds what depends on existing rows.
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
    elif plan.as_of is not None and (problem := as_of_out_of_range(plan.as_of)):
        errors["as_of"] = problem
    if plan.scenario is not None and plan.scenario not in scenario_names(settings.SEED_CATALOG_DIR):
        known = ", ".join(scenario_names(settings.SEED_CATALOG_DIR)) or "none in this catalog"
        errors["scenario"] = f"{plan.scenario!r} is not a scenario pack of the catalog ({known})"
    if errors:
        raise PlanError(errors)
    if plan.total == 0:
        raise PlanError({"total": "the plan writes nothing: give at least one positive count"})
    max_total = settings.SEED_MAX_TOTAL
    if plan.total > max_total:
        raise PlanError(
            {"total": f"the plan asks for {plan.total:,} items; the limit is {max_total:,} (SEED_MAX_TOTAL)"}
        )


def needed_parents(plan: SeedPlan) -> frozenset[str]:
    """Kinds whose existing rows the plan's children would point at (it writes none of them itself).

    Events tie to existing deployments only when the run writes neither assets
    nor deployments: a deployment must be on the event's asset.
    """
    needed = set()
    if plan.deployments and not plan.applications:
        needed.add("applications")
    if (plan.deployments or plan.events) and not plan.assets:
        needed.add("assets")
    if plan.events and not plan.deployments and not plan.assets:
        needed.add("deployments")
    return frozenset(needed)


def validate_parents(plan: SeedPlan, *, existing: Mapping[str, int], taken_pairs: int = 0) -> None:
    """Raise PlanError unless every child of the plan has a parent to point at.

    ``existing`` gives the rows of each kind in ``needed_parents(plan)`` that the
    run may point at; ``taken_pairs`` the (application, asset) pairs among them
    that already have a deployment (each application is deployed once per asset).
    """
    errors: dict[str, str] = {}

    def available(kind: str) -> int:
        return plan.count(kind) or existing.get(kind, 0)

    if plan.deployments:
        if not available("applications"):
            errors["deployments"] = "need applications: add some to the plan or to the database"
        elif not available("assets"):
            errors["deployments"] = "need assets: add some to the plan or to the database"
        elif plan.deployments > (room := available("applications") * available("assets") - taken_pairs):
            taken = f", {taken_pairs:,} of those pairs already have one" if taken_pairs else ""
            errors["deployments"] = (
                f"at most {room:,}: each application is deployed at most once per asset"
                f" ({available('applications'):,} applications x {available('assets'):,} assets{taken})"
            )
    if plan.events and not available("assets"):
        errors["events"] = "need assets: add some to the plan or to the database"
    if errors:
        raise PlanError(errors)


def refuse_beyond_capacity(plan: SeedPlan, *, capacity) -> None:
    """Raise PlanError when the parents cannot take the plan's children.

    ``capacity`` (a ``parent_view.capacity.Capacity``): the free (application, host)
    pairs, where a host is an asset in service on a platform the application
    runs on (outside production for a planned application); and the assets that
    are or were in service, which events can concern.
    """
    errors = {}
    if plan.deployments > capacity.deployments:
        errors["deployments"] = (
            f"at most {capacity.deployments:,}: each application is deployed at most once per host that can "
            "run it (an asset in use or in maintenance on its platform: server software on servers and "
            "virtual machines, end-user software on laptops and desktops); add assets or applications"
        )
    if plan.events and not capacity.event_assets:
        errors["events"] = "need an asset that is or was in service: every asset is on order or in stock; add assets"
    if errors:
        raise PlanError(errors)


def refuse_as_of_before_assets(*, as_of: datetime, newest_purchase_day: int | date | None) -> None:
    """Raise PlanError when the base time precedes the newest existing asset the plan's children point at.

    ``newest_purchase_day``: an epoch day or a date; None when there is none.
    """
    if newest_purchase_day is None:
        return
    if isinstance(newest_purchase_day, date):
        newest_purchase_day = (newest_purchase_day - date(1970, 1, 1)).days
    if newest_purchase_day * 86_400 > as_of.timestamp():
        newest = date(1970, 1, 1) + timedelta(days=newest_purchase_day)
        raise PlanError(
            {
                "as_of": f"is before {newest.isoformat()}, the purchase date of an asset already in the database "
                "that the plan would point at; use a later base time"
            }
        )


def _is_int(value: object) -> bool:
    # bool is an int subclass; True assets is a bug in the caller, not a count.
    return isinstance(value, int) and not isinstance(value, bool)
