"""Clearing demo data through the service: only demo rows go, never rows a person's rows point at, never
while a run is active, and a run cleared under a chunk in flight keeps nothing of it.

Tests use real transactions (``transaction=True``), as in tests/test_runs.py.
"""

from __future__ import annotations

import pytest

from inventory.models import Application, Asset, Event, Person
from seeding import services
from seeding.selectors import inventory_counts
from seeding.services import chunk_transaction as chunk_service
from tests.support.data import counts, real_asset, seed
from tests.support.faults import failing_writes
from tests.support.plans import AS_OF, SMALL

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cleared_run_cannot_be_resumed(make_plan, monkeypatch):
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("boom", model=None))
    run = services.seed_run_create(plan=make_plan())
    with pytest.raises(services.SeedingError):
        services.seed_run_execute(run=run)
    services.demo_data_clear(run=run)
    run.refresh_from_db()
    with pytest.raises(services.RunNotResumable, match="cleared"):
        services.seed_run_execute(run=run, resume=True)


def test_clear_removes_only_demo_rows(make_plan):
    app = Application.objects.create(
        code="REAL001",
        name="Real app",
        vendor="Us",
        category="Finance",
        version="1.0.0",
        owner_team="Finance Systems",
        tier="tier_1",
    )
    asset = real_asset()
    Event.objects.create(asset=asset, kind="alert", severity="info", source="me", message="hi", occurred_at=AS_OF)
    colleague = Person.objects.create(
        name="Real Person", email="real.person@example.org", title="CFO", team="Finance", department="Finance"
    )
    seed(make_plan())
    assert Person.objects.demo().exists()
    result = services.demo_data_clear()
    assert list(Person.objects.all()) == [colleague]  # the run's people went with it, the real one stayed
    assert result.deleted == SMALL
    assert counts() == {"applications": 1, "assets": 1, "deployments": 0, "events": 1}
    assert Application.objects.get().pk == app.pk and Asset.objects.get().pk == asset.pk
    assert inventory_counts()["events"] == {"total": 1, "demo": 0}


def test_clear_refuses_when_real_rows_point_at_demo_rows(make_plan):
    seed(make_plan())
    demo_asset = Asset.objects.demo().first()
    Event.objects.create(asset=demo_asset, kind="alert", severity="info", source="me", message="x", occurred_at=AS_OF)
    with pytest.raises(services.ClearRefused, match="not written by seeding"):
        services.demo_data_clear()
    assert counts() == {**SMALL, "events": SMALL["events"] + 1}


def test_clear_one_run_leaves_other_runs(make_plan):
    first = seed(make_plan())
    second = seed(make_plan(seed=8))
    people = Person.objects.filter(seed_run=second).count()
    under_first = Person.objects.filter(seed_run=second, manager__seed_run=first).count()
    result = services.demo_data_clear(run=first)
    assert result.deleted == SMALL
    assert counts() == SMALL
    assert people and Person.objects.count() == Person.objects.filter(seed_run=second).count() == people
    # The second run's people reported to the first run's heads: now to nobody, never to a missing key.
    assert under_first and not Person.objects.exclude(manager=None).exclude(manager__in=Person.objects.all())
    assert not Event.objects.filter(seed_run=first).exists()
    assert Event.objects.filter(seed_run=second).count() == SMALL["events"]
    first.refresh_from_db()
    assert first.cleared_at is not None


def test_clear_refuses_while_a_run_is_active(make_plan):
    services.seed_run_create(plan=make_plan())
    with pytest.raises(services.ClearRefused, match="is still queued"):
        services.demo_data_clear()


def test_clear_refuses_while_any_run_is_active_even_for_another_run(make_plan):
    finished = seed(make_plan())
    services.seed_run_create(plan=make_plan(seed=3))
    with pytest.raises(services.ClearRefused, match="is still queued"):
        services.demo_data_clear(run=finished)
    assert counts() == SMALL


def test_clearing_one_run_refuses_when_another_runs_rows_point_at_it(make_plan):
    parents = seed(make_plan(deployments=0, events=0))
    seed(make_plan(applications=0, assets=0, deployments=0, events=500, seed=4))
    with pytest.raises(services.ClearRefused, match="of other runs or people"):
        services.demo_data_clear(run=parents)
    assert Asset.objects.filter(seed_run=parents).count() == SMALL["assets"]


def test_a_chunk_finishing_after_its_run_was_cleared_is_rolled_back(make_plan):
    run = services.seed_run_create(plan=make_plan())
    services.seed_run_cancel(run=run)
    services.demo_data_clear(run=run)
    chunk = next(iter(make_plan().chunks()))
    with pytest.raises(services.RunNotResumable, match="cleared while"):
        services.seed_chunk_write(run=run, chunk=chunk)
    assert counts() == dict.fromkeys(SMALL, 0)
