"""How demoseed writes numbers, durations and times for people, the same in every entry point."""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC, e.g. 2026-01-31T12:00:00Z, whatever offset ``moment`` carries."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def plural(count: int, noun: str) -> str:
    """ "1 chunk", "2 chunks", "20,000 rows"."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def duration(seconds: float) -> str:
    """ "under 0.1 s", "4.2 s", "3 min 05 s", "2 h 10 min"."""
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
