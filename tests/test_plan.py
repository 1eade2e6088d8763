"""Plan validation: every bad value is reported against its field, before any write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seeding.generation.kinds import chunks_of
from seeding.plan import PER_KIND_MAX, PlanError, SeedPlan, needed_parents, parse_as_of, validate_parents, validate_plan


def errors_of(plan: SeedPlan, **kwargs) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        validate_plan(plan)
        validate_parents(plan, existing=kwargs.pop("existing", {}), **kwargs)
    return caught.value.errors


@pytest.mark.parametrize("value", [-1, True, 1.5, "10", None])
@pytest.mark.parametrize("field", ["applications", "assets", "deployments", "events"])
def test_counts_must_be_non_negative_integers(field, value):
    assert "non-negative integer" in errors_of(SeedPlan(**{field: value}))[field]


def test_per_kind_cap():
    assert "at most" in errors_of(SeedPlan(events=PER_KIND_MAX + 1))["events"]


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
    validate_parents(SeedPlan(deployments=1), existing={"applications": 1, "assets": 1})


def test_deployments_fit_one_per_application_and_asset():
    assert "at most 6" in errors_of(SeedPlan(applications=2, assets=3, deployments=7))["deployments"]
    validate_parents(SeedPlan(applications=2, assets=3, deployments=6), existing={})


def test_pairs_that_already_have_a_deployment_are_not_free():
    plan = SeedPlan(deployments=5)
    message = errors_of(plan, existing={"applications": 2, "assets": 3}, taken_pairs=2)["deployments"]
    assert "at most 4" in message and "2 of those pairs already have one" in message
    validate_parents(SeedPlan(deployments=4), existing={"applications": 2, "assets": 3}, taken_pairs=2)


def test_events_need_assets():
    assert "assets" in errors_of(SeedPlan(events=1))["events"]
    validate_parents(SeedPlan(events=1), existing={"assets": 1})


def test_a_plan_that_writes_nothing_is_refused_with_one_answer():
    assert set(errors_of(SeedPlan(applications=0, assets=0, deployments=0, events=0))) == {"total"}


def test_the_parents_a_plan_points_at_are_the_kinds_it_does_not_write():
    assert needed_parents(SeedPlan(events=5)) == {"assets", "deployments"}
    assert needed_parents(SeedPlan(assets=5, events=5)) == set()
    assert needed_parents(SeedPlan(deployments=5, events=5)) == {"applications", "assets"}
    assert needed_parents(SeedPlan(applications=1, deployments=5)) == {"assets"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T00:00:00+05:00", datetime(2026, 10, 31, 19, tzinfo=UTC)),
        ("2026-11-01T00:00:00Z", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01 08:30", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_as_of_is_read_as_utc(text, expected):
    parsed = parse_as_of(text)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", ["yesterday", "2026-13-45", ""])
def test_as_of_that_is_not_iso_8601_is_refused(text):
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_as_of(text)


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
