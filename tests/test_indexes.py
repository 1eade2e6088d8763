"""Deferred secondary indexes during bulk loads (seeding/indexes.py).

SQLite drops a big, nearly empty table's non-unique indexes while a run writes
it and rebuilds them afterwards; PostgreSQL never does. Either way the schema a
run leaves behind is the schema it found.
"""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import Deployment, Event
from seeding import indexes, services
from seeding.models import SeedRun
from seeding.services import chunks as chunk_service
from tests.conftest import SMALL

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_SECONDARY = {"occurred_at", "asset_id", "deployment_id", "seed_run_id"}


def index_sql() -> dict[str, str]:
    """Every explicit index of the inventory tables: name -> its definition."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                " AND tbl_name LIKE 'inventory_%%'"
            )
        else:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'inventory_%%'")
        return dict(cursor.fetchall())


def indexed_columns(model) -> set[str]:
    """Columns of ``model``'s table that lead some index, per the database's own catalogue."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {spec["columns"][0] for spec in constraints.values() if spec["index"] and spec["columns"]}


def test_a_bulk_load_leaves_the_schema_as_it_found_it(make_plan):
    before = index_sql()
    seen: dict[str, set[str]] = {"events": set()}
    unique_pair_while_deploying: list[bool] = []

    def note_indexes(run, chunk):
        if chunk.kind == "events":
            seen["events"].update(indexed_columns(Event))
        elif chunk.kind == "deployments":
            pairs = [c for c in _constraints(Deployment).values() if c["unique"] and len(c["columns"]) == 2]
            unique_pair_while_deploying.append(bool(pairs))

    run = services.seed(plan=make_plan(), on_progress=note_indexes)

    assert index_sql() == before
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []
    if connection.vendor == "sqlite":
        # While events were written, none of their secondary indexes existed ...
        assert not seen["events"] & EVENT_SECONDARY
        # ... but deployments kept their unique (application, asset) index throughout.
        assert unique_pair_while_deploying and all(unique_pair_while_deploying)
    else:
        assert seen["events"] >= EVENT_SECONDARY


def test_a_failed_load_still_rebuilds_its_indexes(make_plan, monkeypatch):
    before = index_sql()
    run = services.seed_run_create(plan=make_plan())
    real_write = chunk_service.write_rows

    def fail_on_fourth_event_chunk(model, columns, **kwargs):
        if model is Event and columns["id"][0] == run.events_id_base + 300:
            raise RuntimeError("disk on fire")
        return real_write(model, columns, **kwargs)

    monkeypatch.setattr(chunk_service, "write_rows", fail_on_fourth_event_chunk)
    with pytest.raises(services.SeedingError, match="events chunk 3"):
        services.seed_run_execute(run=run)

    assert index_sql() == before
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("indexes are deferred on SQLite only; PostgreSQL keeps them (tested above)")


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("next_step", ["new run", "clear"])
def test_indexes_a_dead_process_dropped_are_rebuilt_by_the_next_run_or_clear(make_plan, monkeypatch, next_step):
    before = index_sql()
    run = services.seed_run_create(plan=make_plan())
    # The process "dies" in the middle of the events: its rebuild never runs.
    monkeypatch.setattr(indexes, "restore_indexes", lambda run: 0)
    monkeypatch.setattr(
        chunk_service, "write_rows", lambda model, *a, **k: (_ for _ in ()).throw(RuntimeError("killed"))
    )
    with pytest.raises(services.SeedingError):
        services.seed_run_execute(run=run)
    monkeypatch.undo()

    recorded = SeedRun.objects.get(pk=run.pk).deferred_indexes
    assert recorded and {name for name, _sql in recorded} == set(before) - set(index_sql())
    if next_step == "new run":
        services.seed(plan=make_plan(applications=1, assets=0, deployments=0, events=0))
    else:
        services.demo_data_clear()

    assert index_sql() == before
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.mark.usefixtures("sqlite_only")
def test_a_table_already_holding_more_rows_keeps_its_indexes(make_plan):
    services.seed(plan=make_plan())
    seen: set[str] = set()

    def note_event_indexes(run, chunk):
        if chunk.kind == "events":
            seen.update(indexed_columns(Event))

    services.seed(plan=make_plan(applications=0, assets=0, deployments=0, events=500), on_progress=note_event_indexes)

    assert seen >= EVENT_SECONDARY  # 500 new rows into 2,500: maintaining is cheaper than rebuilding
    assert Event.objects.count() == SMALL["events"] + 500


def test_a_plan_of_one_chunk_per_kind_defers_nothing(make_plan):
    before = index_sql()
    run = services.seed_run_create(plan=make_plan(chunk_size=5_000))
    seen: set[str] = set()
    services.seed_run_execute(run=run, on_progress=lambda run, chunk: seen.update(indexed_columns(Event)))
    assert seen >= EVENT_SECONDARY
    assert index_sql() == before


def _constraints(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)
