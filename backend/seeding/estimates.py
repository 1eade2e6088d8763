"""How long a plan, or what is left of a run, will take: from this database's recent runs on the same path.

Why it is not one rate: the same rows take up to three times longer by one path than by another, so
an estimate must know which path the rows will take, and learn from runs that took it.

- Paths (``SeedRun.Path``, recorded by each run): inline; inline into nearly empty SQLite tables,
  whose secondary indexes are dropped for the load and built after it (``seeding.persistence.indexes``: plan L
  took 7 s that way and 21 s stacked onto a plan L already there); the embedded in-process worker;
  worker processes over Redis, by how many share the run. Which of the inline two a plan takes is
  predicted with the rule ``seeding.persistence.indexes`` applies (more rows pending than the table holds), by the
  kinds holding most of its rows.
- Worker processes: a past run's are those that wrote its chunks (distinct ``SeedChunk.written_by``):
  who actually served it, whatever was alive before or since. A queued plan's are those alive now
  (``seeding.messaging.broker_state``): the run is shared among them as soon as it is sent.
- Not linear: a run pays a fixed start-up cost (catalog tables, the parent view, the queue's round
  trips between phases) and then a rate per row. Rates are learned only from runs of at least
  LEARN_MIN_ROWS rows, with the fixed cost taken off first and weighted by rows (sum of rows over
  sum of seconds): a small run's start-up cost does not pass for a slow rate.
- A run's time is creation to finish, what its requester waits. Resumed runs teach nothing (their
  span includes the pause), and neither do queued runs that waited for a worker to start.
- With no run on the path, the measured default for the path and backend, scaled by how this
  machine did on its recent runs of other paths against their own defaults (the same machine ran
  twice as slowly on some days); with no run at all, the default as it is.

Every estimate says which of these it used (``Estimate.basis``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dramatiq
from django.db import connection
from django.db.models import Count, F
from dramatiq.brokers.redis import RedisBroker

from seeding.generation.kinds import KINDS, Chunk, rows_by_kind
from seeding.messaging import broker_state
from seeding.models import AuditEntry, SeedChunk, SeedRun
from seeding.persistence.tables import MODELS

#: Runs with fewer rows teach no rate: their time is mostly start-up.
LEARN_MIN_ROWS = 50_000
#: How many of the latest runs on a path an estimate learns from.
SAMPLE = 3
#: A queued run whose first chunk waited longer than this for a worker says nothing about the rate.
STARTED_WITHIN_SECONDS = 10.0
#: How far other paths' runs may scale a default: beyond this they describe something else.
SCALE_LIMITS = (0.25, 4.0)

VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Cost:
    """Seconds for a run of ``rows``: ``fixed`` start-up, then ``rate`` rows per second, then ``after``."""

    fixed: float
    rate: float
    #: What the requester still waits once the run is recorded finished: an inline run on PostgreSQL
    #: analyzes the tables it wrote (``inventory_statistics_refresh``), about the same at any size.
    #: Not in a run's recorded time, so never learned; workers do it after the run shows succeeded.
    after: float = 0.0

    def recorded_seconds(self, rows: int) -> float:
        """From the run's creation to its recorded finish."""
        return self.fixed + rows / self.rate

    def seconds(self, rows: int) -> float:
        return self.recorded_seconds(rows) + self.after


#: Measured defaults on the 2-core development machine (README, Performance), set about 1.5 times
#: slower than its good days' figures: the same machine ran twice as slowly on others, and a run
#: that ends early disappoints nobody. Plan L = 1,155,000 rows.
DEFAULTS: dict[tuple[str, str], Cost] = {
    # 130,000 rows/s (plan L in 8.85 s; 7.4 s on 2026-12-06)
    ("sqlite", SeedRun.Path.INLINE_BULK): Cost(0.3, 90_000.0),
    # plan L stacked onto plan L: 21.4 s, 54,000 rows/s (2026-12-06)
    ("sqlite", SeedRun.Path.INLINE): Cost(0.3, 36_000.0),
    # plan L in 7.9 s on the embedded worker, 11.3 s on one Redis worker, side by side with 7.7 s inline
    # (scripts/bench_queued_sqlite.py, 2026-12-06): queued runs defer indexes too; one writer whatever serves it
    ("sqlite", SeedRun.Path.EMBEDDED): Cost(1.0, 90_000.0),
    ("sqlite", SeedRun.Path.WORKERS): Cost(1.5, 65_000.0),
    # 87,000 rows/s (plan L in 13.2 s)
    ("postgresql", SeedRun.Path.INLINE): Cost(0.5, 58_000.0, after=0.5),
    # one thread, like one worker process
    ("postgresql", SeedRun.Path.EMBEDDED): Cost(1.0, 39_000.0),
}
#: PostgreSQL's worker processes, by how many share a run: plan L in 19.9 s with one, 12.6 s with two;
#: four gained nothing more on two cores (README, "Scaling with workers").
POSTGRES_WORKERS = {1: Cost(1.5, 39_000.0), 2: Cost(1.5, 60_000.0)}
#: Any other database: a guess, said to be one.
FALLBACK = Cost(1.0, 20_000.0)


@dataclass(frozen=True)
class Path:
    """The way a plan's rows will be (or a past run's were) written, as far as it changes the time."""

    route: str  # a SeedRun.Path value
    workers: int = 0  # worker processes sharing the run (WORKERS only)

    def describe(self) -> str:
        """As it reads after "runs": "inline", "on 2 worker processes"."""
        if self.route == SeedRun.Path.WORKERS:
            return f"on {self.workers} worker process{'es' if self.workers != 1 else ''}"
        return {
            SeedRun.Path.INLINE: "inline",
            SeedRun.Path.INLINE_BULK: "inline into nearly empty tables",
            SeedRun.Path.EMBEDDED: "on the embedded worker",
        }[self.route]


@dataclass(frozen=True)
class Estimate:
    seconds: float
    path: Path
    #: What the figure comes from, for people: "from the last 3 inline runs on this database".
    basis: str


@dataclass(frozen=True)
class Measured:
    """A finished run an estimate can learn from."""

    path: Path
    rows: int
    seconds: float


def estimate(rows_by_kind: Mapping[str, int], *, queued: bool, chunk_size: int, after_clear: bool = False) -> Estimate:
    """How long writing ``rows_by_kind`` (a plan's counts, or a run's pending rows) will take.

    ``queued``: on the workers (or the embedded worker) rather than in this process. ``after_clear``:
    once all demo data is deleted (only rows people entered remain).
    """
    path = (
        queued_path()
        if queued
        else inline_path(rows_by_kind, chunk_size=chunk_size, after_clear=after_clear, vendor=connection.vendor)
    )
    return estimate_on(sum(rows_by_kind.values()), path, vendor=connection.vendor, history=recent_runs())


def estimate_pending(chunks: Iterable[Chunk], *, queued: bool, chunk_size: int) -> Estimate:
    """How long writing what is left of a run (its pending ``chunks``) will take: a resume."""
    return estimate(rows_by_kind(chunks), queued=queued, chunk_size=chunk_size)


def estimate_on(rows: int, path: Path, *, vendor: str, history: list[Measured]) -> Estimate:
    """Seconds for ``rows`` on ``path``: from ``history`` (newest first) on the same path, else the default
    scaled by the rest of ``history``, else the default."""
    default = default_cost(vendor, path)
    same = [run for run in history if run.path == path][:SAMPLE]
    if same:
        # The fixed cost off first, never more than half of the quickest run: the default's may not be this
        # machine's (an embedded worker on a warm process starts in well under its 1 s). The same fixed cost
        # is taken off and put back, so a plan the size of the runs learned from is estimated at their time.
        fixed = min(default.fixed, min(run.seconds for run in same) / 2)
        writing = sum(run.seconds - fixed for run in same)
        learned = Cost(fixed, sum(run.rows for run in same) / writing, default.after)
        return Estimate(learned.seconds(rows), path, f"from {_last(same)} {path.describe()} on this database")
    where = f"default for {VENDOR_NAMES.get(vendor, vendor)}, {path.describe()}"
    others = history[:SAMPLE]
    if not others:
        return Estimate(default.seconds(rows), path, where)
    low, high = SCALE_LIMITS
    expected = sum(default_cost(vendor, run.path).recorded_seconds(run.rows) for run in others)
    scale = min(high, max(low, sum(run.seconds for run in others) / expected))
    return Estimate(
        default.seconds(rows) * scale,
        path,
        f"{where}, times {scale:.2f} as measured on {_last(others)} on this database "
        f"({', '.join(sorted({run.path.describe() for run in others}))})",
    )


def default_cost(vendor: str, path: Path) -> Cost:
    if vendor == "postgresql" and path.route == SeedRun.Path.WORKERS:
        return POSTGRES_WORKERS[min(max(path.workers, 1), max(POSTGRES_WORKERS))]
    if vendor == "postgresql" and path.route == SeedRun.Path.INLINE_BULK:  # never recorded there
        path = Path(SeedRun.Path.INLINE)
    return DEFAULTS.get((vendor, path.route), FALLBACK)


def inline_path(rows_by_kind: Mapping[str, int], *, chunk_size: int, after_clear: bool, vendor: str) -> Path:
    """Inline, and on SQLite whether most rows go in with their indexes deferred: the rule
    ``seeding.persistence.indexes.defer_indexes`` applies to each kind (more than a chunk pending, and more rows
    pending than its table holds)."""
    if vendor != "sqlite":
        return Path(SeedRun.Path.INLINE)

    def held(kind: str) -> int:
        rows = MODELS[kind].objects.all()
        return (rows.real() if after_clear else rows).count()

    bulk = sum(n for kind, n in rows_by_kind.items() if n > chunk_size and held(kind) < n)
    return Path(SeedRun.Path.INLINE_BULK if bulk * 2 > sum(rows_by_kind.values()) else SeedRun.Path.INLINE)


def queued_path() -> Path:
    """The embedded worker without Redis; else the worker processes alive now (none: estimated for the
    one the run waits for)."""
    if not isinstance(dramatiq.get_broker(), RedisBroker):
        return Path(SeedRun.Path.EMBEDDED)
    try:
        alive = len(broker_state.broker_state().live_workers)
    except broker_state.BrokerUnreachable:
        alive = 0
    return Path(SeedRun.Path.WORKERS, workers=max(alive, 1))


def recent_runs(*, limit: int = 50) -> list[Measured]:
    """The latest runs an estimate may learn from, newest first (see the module's docstring)."""
    rows = sum((F(f"{kind}_done") for kind in KINDS[1:]), F(f"{KINDS[0]}_done"))
    runs = list(
        SeedRun.objects.filter(status=SeedRun.Status.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False)
        .exclude(path="")
        .exclude(audit_entries__action=AuditEntry.Action.RESUMED)
        .annotate(rows=rows)
        .filter(rows__gte=LEARN_MIN_ROWS)
        .order_by("-finished_at")[:limit]
    )
    writers = dict(
        SeedChunk.objects.filter(run__in=[run.pk for run in runs if run.path == SeedRun.Path.WORKERS])
        .values("run")
        .annotate(writers=Count("written_by", distinct=True))
        .values_list("run", "writers")
    )
    return [
        Measured(
            path=Path(run.path, writers.get(run.pk, 0) if run.path == SeedRun.Path.WORKERS else 0),
            rows=run.rows,
            seconds=(run.finished_at - run.created_at).total_seconds(),
        )
        for run in runs
        if (run.started_at - run.created_at).total_seconds() <= STARTED_WITHIN_SECONDS
    ]


def _last(runs: list[Measured]) -> str:
    """ "the last run", "the last 3 runs"."""
    return "the last run" if len(runs) == 1 else f"the last {len(runs)} runs"
