"""Plan validation: every bad value is reported against its field, before any write."""

from __future__ import annotations

from datetime import datetime

import pytest

from seeding.plan import PlanError, SeedPlan, chunks_of, validate_plan


def errors_of(plan: SeedPlan, **kwargs) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        validate_plan(plan, **kwargs)
    return caught.value.errors


@pytest.mark.parametrize("value", [-1, True, 1.5, "10", None])
@pytest.mark.parametrize("field", ["applications", "assets", "deployments", "events"])
def test_counts_must_be_non_negative_integers(field, value):
    assert "non-negative integer" in errors_of(SeedPlan(**{field: value}))[field]


def test_per_kind_cap():
    assert "at most" in errors_of(SeedPlan(events=5_000_001))["events"]


def test_total_cap_comes_from_settings(settings):
    settings.SEED_MAX_TOTAL = 1_000
    errors = errors_of(SeedPlan(assets=600, events=401))
    assert set(errors) == {"total"}
    assert "1,001" in errors["total"] and "1,000" in errors["total"]
    validate_plan(SeedPlan(assets=600, events=400))  # exactly at the cap is fine


@pytest.mark.parametrize("seed", [-1, 2**63, True])
def test_seed_range(seed):
    assert "seed" in errors_of(SeedPlan(assets=1, seed=seed))


@pytest.mark.parametrize("size", [0, 99, 200_001])
def test_chunk_size_range(size):
    assert "chunk_size" in errors_of(SeedPlan(assets=1, chunk_size=size))


def test_as_of_must_be_aware():
    assert "as_of" in errors_of(SeedPlan(assets=1, as_of=datetime(2026, 1, 1)))


def test_deployments_need_applications_and_assets():
    assert "applications" in errors_of(SeedPlan(assets=5, deployments=1))["deployments"]
    assert "assets" in errors_of(SeedPlan(applications=5, deployments=1))["deployments"]
    # Parents already in the database count.
    validate_plan(SeedPlan(deployments=1), existing={"applications": 1, "assets": 1})


def test_deployments_fit_one_per_application_and_asset():
    assert "at most 6" in errors_of(SeedPlan(applications=2, assets=3, deployments=7))["deployments"]
    validate_plan(SeedPlan(applications=2, assets=3, deployments=6))


def test_events_need_assets():
    assert "assets" in errors_of(SeedPlan(events=1))["events"]
    validate_plan(SeedPlan(events=1), existing={"assets": 1})


def test_chunks_cover_every_ordinal_once_in_dependency_order():
    plan = SeedPlan(applications=150, assets=100, deployments=0, events=250, chunk_size=100)
    chunks = list(plan.chunks())
    assert [(c.kind, c.index, c.start, c.stop) for c in chunks] == [
        ("applications", 0, 0, 100),
        ("applications", 1, 100, 150),
        ("assets", 0, 0, 100),
        ("events", 0, 0, 100),
        ("events", 1, 100, 200),
        ("events", 2, 200, 250),
    ]
    assert plan.chunk_count == len(chunks)
    assert list(chunks_of("events", 0, 100)) == []
