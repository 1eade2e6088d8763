"""Shared fixtures. The suite runs twice (see scripts/run_tests.py): once on SQLite
and once on PostgreSQL, so every database test here is exercised on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seeding.plan import SeedPlan

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
#: Small enough to be quick, big enough to span several chunks of every kind.
SMALL = {"applications": 30, "assets": 250, "deployments": 600, "events": 2_500}


@pytest.fixture
def make_plan():
    def make(**overrides) -> SeedPlan:
        values = {**SMALL, "seed": 7, "as_of": AS_OF, "chunk_size": 100, **overrides}
        return SeedPlan(**values)

    return make
