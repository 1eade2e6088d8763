"""The shapes of the API's bodies, declared once: the parser, the answers and the OpenAPI document come from here.

Requests are validated strictly, the way JSON Schema reads the document: a count
is an integer (``162.0`` is one, ``"162"``, ``true`` and ``1.5`` are not), every
field is checked and every bad one named at once, and a field the document does
not list is refused. The rules a JSON Schema cannot state (the total cap across
fields, and what depends on the data: parents to point at, free pairs, a base
time not before an existing asset) are the services' to check, the same way for
every entry point; the document names them in the request's description.

Answers are validated on the way out too (django-ninja does it), so a view
cannot send a body the document does not describe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from seeding.catalogs import scenario_choices
from seeding.generation.kinds import KINDS
from seeding.models import SeedRun
from seeding.named_plans import PLANS, plans_described
from seeding.plan import (
    AS_OF_EXAMPLE,
    AS_OF_MIN,
    DEFAULT_SEED,
    PER_KIND_MAX,
    SEED_MAX,
    as_of_out_of_range,
    parse_as_of,
)
from seeding.services.live import DEFAULT_DURATION as LIVE_DEFAULT_DURATION
from seeding.services.live import DEFAULT_RATE as LIVE_DEFAULT_RATE
from seeding.services.live import DURATION_MAX as LIVE_DURATION_MAX
from seeding.services.live import DURATION_MIN as LIVE_DURATION_MIN
from seeding.services.live import RATE_MAX as LIVE_RATE_MAX
from seeding.services.live import RATE_MIN as LIVE_RATE_MIN

#: Every error code the API gives; each operation's document says which of them it can answer.
ERROR_CODES = (
    "invalid",
    "bad_request",
    "not_authenticated",
    "invalid_token",
    "permission_denied",
    "csrf_failed",
    "not_found",
    "method_not_allowed",
    "run_active",
    "run_not_active",
    "too_large",
    "seed_failed",
    "broker_unavailable",
    "database_busy",
    "database_unavailable",
    "internal",
)


def _integer(value: Any) -> int:
    """An integer as JSON Schema reads one: ``162`` or ``162.0``, never ``"162"``, ``true`` or ``1.5``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, not {json_type(value)}")
    return value


def _number(value: Any) -> float:
    """A JSON number (``10`` or ``2.5``), never ``"10"`` or ``true``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {json_type(value)}")
    return float(value)


def _as_of(value: Any) -> datetime:
    """An ISO 8601 date or date-time string within the documented range, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 date-time string, not {json_type(value)}")
    as_of = parse_as_of(value)  # its ValueError says what was wrong
    if problem := as_of_out_of_range(as_of):
        raise ValueError(problem)
    return as_of


#: A count of rows (the strict check after ``_integer`` keeps pydantic from coercing anything it let through).
Count = Annotated[int, Field(strict=True, ge=0, le=PER_KIND_MAX), BeforeValidator(_integer)]
AsOf = Annotated[
    datetime,
    BeforeValidator(_as_of),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
            "description": "Base time: the newest timestamp any row may carry; a date means its midnight UTC, "
            f"a date-time without an offset is UTC. From {AS_OF_MIN:%Y-%m-%d} to one year after now (a range "
            "JSON Schema cannot state: outside it, 400 invalid naming as_of). Defaults to now.",
            "examples": [AS_OF_EXAMPLE],
        }
    ),
]

#: A scenario pack of this server's catalog (its scenarios/ directory, read when the server starts).
Scenario = Annotated[
    Literal[tuple(scenario_choices())] if scenario_choices() else Literal["none"],  # type: ignore[valid-type]
    Field(
        description="A scenario pack of the server's catalog that shapes what happens (scenarios/*.toml): "
        + (", ".join(scenario_choices()) or "none")
        + ". Absent: none."
    ),
]

#: "A named plan or at least one count above zero", which JSON Schema can state.
_SOMETHING_TO_WRITE = [
    {"required": ["plan"]},
    *({"required": [kind], "properties": {kind: {"minimum": 1}}} for kind in KINDS),
]


class SeedRequest(Schema):
    """A plan to seed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A named plan, or at least one count above zero (counts default to 0, or to the "
            "plan's; seed to 1, as_of to now). "
            "Refused with 400 invalid, naming the field, beyond what the schema states: a total over the "
            "server's SEED_MAX_TOTAL (12,000,000 by default; errors.total); deployments or events with nothing "
            "to point at, more deployments than free (application, asset) pairs, more events than assets in "
            "service can carry (errors.deployments, errors.events); a base time before an existing asset's "
            "purchase date that the plan's rows would point at (errors.as_of).",
            "anyOf": _SOMETHING_TO_WRITE,
        },
    )

    plan: Literal[tuple(PLANS)] = Field(  # type: ignore[valid-type]
        default=None,
        description=f"A named plan: {plans_described()}. A count given beside it changes that count only.",
    )
    applications: Count = 0
    assets: Count = 0
    deployments: Count = 0
    events: Count = 0
    seed: Annotated[int, Field(strict=True, ge=0, le=SEED_MAX), BeforeValidator(_integer)] = DEFAULT_SEED
    as_of: AsOf = None  # type: ignore[assignment]  # absent means now; null is refused
    scenario: Scenario = None  # type: ignore[assignment]  # absent means none; null is refused


class Counts(Schema):
    """Rows per kind."""

    applications: int = Field(ge=0)
    assets: int = Field(ge=0)
    deployments: int = Field(ge=0)
    events: int = Field(ge=0)


class SeedAnswer(Schema):
    status: Literal["success", "queued", "cancelled"]
    message: str
    run_id: int
    task_id: str | None
    status_url: str = Field(json_schema_extra={"format": "uri"})
    counts: Counts
    planned: Counts


class Gap(Schema):
    """A stretch a live stream skipped: it fell further behind the clock than SEED_LIVE_MAX_LAG_SECONDS."""

    since: datetime
    until: datetime
    events: int = Field(ge=0, description="About how many events it would have written.")


class LiveFigures(Schema):
    """What a live stream adds to its run."""

    rate: float = Field(gt=0, description="Mean events per second it was started with.")
    duration_seconds: int = Field(gt=0)
    starts_at: datetime
    ends_at: datetime
    written_until: datetime = Field(description="Every event before this moment is written, none after it.")
    lag_seconds: float | None = Field(description="How far behind the clock it is while it runs; null otherwise.")
    open_incidents: int = Field(ge=0, description="Incidents opened whose resolution has not happened yet.")
    open_changes: int = Field(
        ge=0, description="Change waves rolling out (a release, a patch round, a migration wave): opened, not closed."
    )
    gaps: list[Gap]


class Run(Schema):
    """A run as the API, the admin and the monitor show it (``selectors.seed_run_status``)."""

    id: int
    status: SeedRun.Status
    executor: SeedRun.Executor
    source: SeedRun.Source
    requested_by: str
    seed: int
    as_of: datetime
    chunk_size: int
    planned: Counts
    done: Counts
    total_planned: int
    total_done: int
    progress: float = Field(ge=0, le=1)
    rows_per_second: float | None = Field(
        description="Rows per second of the current stretch of writing (since the latest resume)."
    )
    eta_seconds: float | None = Field(description="Seconds left at the current stretch's rate.")
    active_seconds: float | None = Field(
        description="Seconds spent writing, every stretch added up: the pauses before resumes are not counted."
    )
    stretches: int = Field(ge=1, description="Stretches of writing: 1, plus 1 per resume.")
    task_id: str | None
    created_at: datetime
    started_at: datetime | None
    resumed_at: datetime | None = Field(description="When the current stretch of writing began: the latest resume.")
    finished_at: datetime | None
    cleared_at: datetime | None
    error: str | None = Field(description="Short and stable; no driver text.")
    mode: SeedRun.Mode = Field(description="seed: a history up to as_of; live: a live stream up to as_of.")
    scenario: str | None = Field(description="The scenario pack that shapes what happens in it; null for none.")
    live: LiveFigures | None = Field(description="A live stream's figures; null for a seed run.")
    status_url: str = Field(json_schema_extra={"format": "uri"})


class FailedAttempt(Schema):
    """A chunk that needed another start, and why in a few words."""

    kind: Literal[KINDS]  # type: ignore[valid-type]
    index: int
    starts: int
    committed: bool
    cause: str


class RunDetail(Run):
    failed_attempts: list[FailedAttempt] = Field(description="Chunks that needed another start, and why.")


class CancelAnswer(Run):
    message: str


class LiveRequest(Schema):
    """A live stream to start."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Events as they happen, on top of the estate, for duration seconds at a mean rate "
            "that follows each site's office hours in its own time zone. Refused with 400 invalid beyond what "
            "the schema states: rate x duration over SEED_MAX_TOTAL (errors.rate); no asset in service "
            "(errors.estate)."
        },
    )

    rate: Annotated[float, Field(ge=LIVE_RATE_MIN, le=LIVE_RATE_MAX), BeforeValidator(_number)] = Field(
        default=LIVE_DEFAULT_RATE, description="Mean events per second."
    )
    duration: Annotated[
        int, Field(strict=True, ge=LIVE_DURATION_MIN, le=LIVE_DURATION_MAX), BeforeValidator(_integer)
    ] = Field(default=LIVE_DEFAULT_DURATION, description="Seconds the stream lasts.")
    seed: Annotated[int, Field(strict=True, ge=0, le=SEED_MAX), BeforeValidator(_integer)] = DEFAULT_SEED
    scenario: Scenario = None  # type: ignore[assignment]  # absent means none; null is refused


class LiveAnswer(Run):
    message: str


class LiveEvent(Schema):
    """One of a stream's latest events."""

    id: int
    occurred_at: datetime
    kind: str
    severity: str
    source: str
    message: str
    hostname: str


class LiveStatus(Schema):
    stream: Run | None = Field(description="The running live stream, else the latest one; null if none ever ran.")
    recent_events: list[LiveEvent] = Field(max_length=20, description="Its latest events, newest first.")


class KindCounts(Schema):
    total: int
    demo: int


class InventoryCounts(Schema):
    applications: KindCounts
    assets: KindCounts
    deployments: KindCounts
    events: KindCounts


class Stats(Schema):
    counts: InventoryCounts
    active_run: Run | None
    recent_runs: list[Run] = Field(max_length=10)


class Error(Schema):
    """Every error: a stable code for programs, a message for people, and what the code adds."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["error"]
    code: Literal[ERROR_CODES]  # type: ignore[valid-type]
    message: str
    errors: dict[str, str] | None = Field(default=None, description="invalid: a message per bad field (or 'body').")
    active_run_id: int | None = Field(default=None, description="run_active: the run in the way.")
    active_run_status_url: str | None = Field(default=None, json_schema_extra={"format": "uri"})
    error: str | None = Field(default=None, description="seed_failed: the run's short error.")
    run_id: int | None = None
    status_url: str | None = Field(default=None, json_schema_extra={"format": "uri"})


def json_type(value: Any) -> str:
    """How a JSON value's type reads in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
