"""The plans people name, defined once: `seed_demo_data --plan L`, `{"plan": "L"}`, the admin's seed page,
the Makefile and the benchmark scripts all take them from here.

Free of Django on purpose, so scripts that start no Django (the benchmarks' orchestrators) can import it.
"""

from __future__ import annotations

#: Plan L: an estate of a mid-size company (1,155,000 rows), the size the benchmarks measure.
_L: dict[str, int] = {"applications": 5_000, "assets": 50_000, "deployments": 100_000, "events": 1_000_000}

#: Each a multiple of L. "demo" is what `seed_demo_data` writes when no count is given and what the
#: admin's seed page offers: big enough to look real, small enough to finish in seconds.
PLANS: dict[str, dict[str, int]] = {
    "S": {kind: n // 100 for kind, n in _L.items()},
    "demo": {kind: n // 10 for kind, n in _L.items()},
    "L": dict(_L),
    "2xL": {kind: n * 2 for kind, n in _L.items()},
    "10L": {kind: n * 10 for kind, n in _L.items()},
}


def named_plan(name: str) -> dict[str, int]:
    """The counts of the plan called ``name``; ValueError naming the plans there are otherwise."""
    try:
        return dict(PLANS[name])
    except KeyError:
        raise ValueError(f"unknown plan {name!r}; the plans are {', '.join(PLANS)}") from None


def plans_described() -> str:
    """Every named plan and its counts, in one line for a help text or a schema."""
    return "; ".join(
        f"{name} = {', '.join(f'{n:,} {kind}' for kind, n in counts.items())}" for name, counts in PLANS.items()
    )
