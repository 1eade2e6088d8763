"""Time estimates for a plan, from this database's own history when it has one."""

from __future__ import annotations

from django.db.models import F

from seeding.kinds import KINDS
from seeding.models import SeedRun

#: Rows per second measured with `make bench` on a 2-core machine (whole plan L,
#: median of three), rounded down. SQLite's 210,000 is for loads into empty
#: tables (indexes built afterwards); loads into fuller tables are slower.
DEFAULT_RATES = {"postgresql": 115_000.0, "sqlite": 150_000.0}
FALLBACK_RATE = 20_000.0


def recent_rate(*, sample: int = 5, min_rows: int = 10_000) -> float | None:
    """Mean rows/s of the last successful runs big enough to measure, if any."""
    runs = (
        SeedRun.objects.filter(status=SeedRun.Status.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False)
        .annotate(rows=sum((F(f"{kind}_done") for kind in KINDS[1:]), F(f"{KINDS[0]}_done")))
        .filter(rows__gte=min_rows)
        .order_by("-finished_at")[:sample]
    )
    rates = [run.rows / seconds for run in runs if (seconds := (run.finished_at - run.started_at).total_seconds()) > 0]
    return sum(rates) / len(rates) if rates else None


def estimate_seconds(rows: int, *, vendor: str) -> float:
    """Seconds to write ``rows``: at the recent runs' rate, or this machine kind's measured default."""
    rate = recent_rate() or DEFAULT_RATES.get(vendor, FALLBACK_RATE)
    return rows / rate
