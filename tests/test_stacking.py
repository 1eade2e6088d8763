"""A stacked plan costs what it writes: its view of the estate is a sample sized to the plan, widened only
when the sample cannot take the plan, so refusals stay exact and a plan of exactly the free pairs still fits."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Application, Asset, Deployment, Person
from seeding import services
from seeding.persistence.parent_view import recording
from tests.support.data import seed

pytestmark = pytest.mark.django_db(transaction=True)

#: What a stacked run of 5 deployments may record of each kind, with the floors below.
SMALL_FLOOR = 12
#: Where ``test_a_sampled_stack_writes_the_same_rows_on_sqlite_and_postgresql`` places its 5 deployments:
#: (application, asset) as offsets from the estate's first keys, and when.
PLACED = [
    (4, 272, "2026-05-20 00:18:48+00:00"),
    (8, 272, "2025-08-04 14:23:50+00:00"),
    (12, 272, "2026-02-16 14:12:11+00:00"),
    (20, 306, "2026-05-29 16:47:29+00:00"),
    (28, 306, "2026-09-07 19:19:36+00:00"),
]


@pytest.fixture
def small_floors(monkeypatch):
    """Sample floors small enough that a test estate is "large" (raising=False: a floor the code lacks is no
    error, so the assertions below are what fails on a view that records the estate whole)."""
    monkeypatch.setattr(recording, "PLACEMENT_MIN_ROWS", SMALL_FLOOR, raising=False)
    monkeypatch.setattr(recording, "VIEW_MIN_ROWS", SMALL_FLOOR)


def _free_pairs(make_plan, asked: int) -> int:
    """The free (application, host) pairs the estate has left, as the refusal of a plan of ``asked``
    deployments names them (fewer than applications x assets, so that the hosts' count refuses it)."""
    with pytest.raises(services.PlanError) as refused:
        seed(make_plan(applications=0, assets=0, deployments=asked, events=0, seed=5))
    found = re.search(r"at most ([\d,]+): each application is deployed at most once per host", str(refused.value))
    return int(found.group(1).replace(",", ""))


def _content(run) -> list[tuple]:
    return list(
        Deployment.objects.filter(seed_run=run)
        .order_by("pk")
        .values_list("application", "asset", "version", "environment", "status", "deployed_at")
    )


def test_a_small_stacked_plan_records_rows_in_proportion_to_the_plan_not_the_estate(make_plan, small_floors):
    """Recording every application and asset a run places deployments on made 5 deployments onto plan 10L's
    estate take 8.5 s; the view of a 5-deployment plan is bounded by the plan, whatever the estate's size."""
    seed(make_plan(applications=40, assets=400, deployments=300, events=0))
    stack = make_plan(applications=0, assets=0, deployments=5, events=0, seed=11)
    small = seed(stack)
    seed(make_plan(applications=360, assets=3_600, deployments=2_700, events=0, seed=2))  # ten times the estate
    large = seed(stack)
    for run in (small, large):
        counts = run.parent_counts
        assert 0 < counts["applications"] <= SMALL_FLOOR and 0 < counts["assets"] <= SMALL_FLOOR, counts
        # Pairs and counts only among the sampled rows: at most every pair of the sample.
        assert counts.get("taken", 0) <= counts["applications"], counts
        assert counts.get("pairs", 0) <= counts["applications"] * counts["assets"], counts
        assert len(_content(run)) == 5
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(pairs) == len(set(pairs))


def test_a_sampled_stack_is_deterministic_and_lands_on_the_sample(make_plan, small_floors):
    seed(make_plan(applications=40, assets=400, deployments=300, events=0))
    plan = make_plan(applications=0, assets=0, deployments=5, events=0, seed=11)
    first = seed(plan)
    rows = _content(first)
    services.demo_data_clear(run=first)
    assert _content(seed(plan)) == rows  # the same plan on the same estate: the same sample, the same rows
    # Every 34th asset of 400 in key order (a 12-row sample): the deployments are on those.
    sampled = set(list(Asset.objects.order_by("pk").values_list("pk", flat=True))[::34])
    assert {asset for _, asset, *_ in rows} <= sampled


def test_a_sample_too_small_for_the_plan_is_widened_so_refusals_stay_exact(make_plan, monkeypatch):
    """The free pairs of a sample are a lower bound: a plan of exactly the estate's free pairs still fits
    (the sample widened to the whole estate), and one more is refused with the whole estate's figure."""
    seed(make_plan(applications=3, assets=80, deployments=0, events=0))
    estate_free = _free_pairs(make_plan, 200)  # of 3 x 80 pairs
    seed(make_plan(applications=0, assets=0, deployments=estate_free - 14, events=0, seed=3))
    whole_refusal = _free_pairs(make_plan, 100)  # recorded whole: the estate is smaller than the default floors
    assert whole_refusal == 14

    monkeypatch.setattr(recording, "PLACEMENT_MIN_ROWS", 4, raising=False)
    monkeypatch.setattr(recording, "VIEW_MIN_ROWS", 4)
    assert _free_pairs(make_plan, 100) == 14
    with pytest.raises(services.PlanError, match="at most 14: each application is deployed at most once per host"):
        seed(make_plan(applications=0, assets=0, deployments=15, events=0, seed=5))
    # 14 deployments: a first sample of 28 assets (every 3rd) cannot take them all; the view that took them
    # is wider than the first sample.
    run = seed(make_plan(applications=0, assets=0, deployments=14, events=0, seed=5))
    assert run.parent_counts["assets"] > 80 // 3 + 1
    assert len(_content(run)) == 14
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(pairs) == len(set(pairs))
    with pytest.raises(services.PlanError, match="at most 0: each application is deployed at most once per host"):
        seed(make_plan(applications=0, assets=0, deployments=1, events=0, seed=6))


@pytest.mark.postgres
def test_a_small_stacked_run_leaves_the_planner_statistics_alone(make_plan):
    """ANALYZE of the inventory took a second of a 5-deployment stack onto plan 10L's estate: a run that adds
    less than a tenth of every table leaves their statistics as good as they were; seeding from empty
    refreshes them as before."""

    def analyzed(plan) -> bool:
        with CaptureQueriesContext(connection) as queries:
            seed(plan)
        return any(re.match(r"ANALYZE .*inventory_deployment", query["sql"]) for query in queries.captured_queries)

    assert analyzed(make_plan(applications=10, assets=200, deployments=200, events=0))
    assert not analyzed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))


def test_a_sampled_stack_writes_the_same_rows_on_sqlite_and_postgresql(make_plan, small_floors):
    """The sample, its occupancy and the placement are the same on both databases (run on each pass of
    `make test`): the stacked deployments, as offsets from the estate's first keys, are these."""
    seed(make_plan(applications=40, assets=400, deployments=300, events=0))
    first_app = Application.objects.order_by("pk").values_list("pk", flat=True).first()
    first_asset = Asset.objects.order_by("pk").values_list("pk", flat=True).first()
    run = seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))
    placed = [(app - first_app, asset - first_asset, str(at)) for app, asset, *_, at in _content(run)]
    assert placed == PLACED


@pytest.mark.postgres
def test_clearing_a_small_run_leaves_the_planner_statistics_alone(make_plan):
    """The same for a clear: deleting a tenth of a table or more refreshes its statistics, a few rows not."""

    def analyzed(run=None) -> bool:
        with CaptureQueriesContext(connection) as queries:
            services.demo_data_clear(run=run)
        return any(re.match(r"ANALYZE .*inventory_deployment", query["sql"]) for query in queries.captured_queries)

    seed(make_plan(applications=10, assets=200, deployments=200, events=0))
    assert not analyzed(seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11)))
    assert analyzed()  # everything


def test_tiny_stacked_runs_each_bring_people_of_their_own(make_plan):
    """Runs of a few assets each (as the API fuzzer sends them) number their people after the earlier runs':
    nobody is written twice, and every person's devices are in their own run, at their site."""
    for number, assets in enumerate((2, 5, 1, 7, 3, 2, 11), start=1):
        seed(make_plan(applications=0, assets=assets, deployments=0, events=0, seed=number))
    people = {p.name: p for p in Person.objects.all()}
    devices = Asset.objects.exclude(assigned_to="")
    assert people and set(devices.values_list("assigned_to", flat=True)) == set(people)
    for device in devices:
        person = people[device.assigned_to]
        assert (person.seed_run_id, person.location) == (device.seed_run_id, device.location)
