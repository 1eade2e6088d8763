"""Deferred secondary indexes during bulk loads (seeding/indexes.py).

SQLite drops a big, nearly empty table's non-unique indexes while a run writes
it (inline or on workers) and rebuilds them afterwards; PostgreSQL never does. Either way the
schema a run leaves behind, however it ends, is the schema it found.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.test import RequestFactory
from django.utils import timezone

from inventory.models import Event
from seeding import indexes, services, tasks
from seeding.models import SeedRun
from seeding.services import chunks as chunk_service
from tests.conftest import SMALL

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_SECONDARY = {"occurred_at", "asset_id", "deployment_id", "seed_run_id"}
#: With chunk size 100: parents of one chunk each (kept indexed), 25 chunks of events (deferred).
ONLY_EVENTS_DEFERRED = {"applications": 30, "assets": 100, "deployments": 100}


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
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {spec["columns"][0] for spec in constraints.values() if spec["index"] and spec["columns"]}


@pytest.fixture(autouse=True)
def schema_guard():
    """Schema changes survive the test database's flush: a test that leaves an index
    dropped would hide the damage from every later test. Put it back, and fail."""
    before = index_sql()
    yield before
    missing = {name: sql for name, sql in before.items() if name not in index_sql()}
    with connection.cursor() as cursor:
        for sql in missing.values():
            cursor.execute(sql)
    assert not missing, f"the test left indexes dropped: {sorted(missing)}"


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("indexes are deferred on SQLite only; PostgreSQL keeps them (tested above)")


def not_of_events(index_definitions: dict[str, str]) -> dict[str, str]:
    return {name: sql for name, sql in index_definitions.items() if '"inventory_event"' not in sql}


def fail_in_events_chunk(run, index: int, error: Exception):
    """A write_rows that fails on events chunk ``index`` (chunk size 100) and writes everything else."""
    real_write = chunk_service.write_rows

    def write(model, columns, **kwargs):
        if model is Event and columns["id"][0] == run.events_id_base + 100 * index:
            raise error
        return real_write(model, columns, **kwargs)

    return write


def test_a_bulk_load_leaves_the_schema_as_it_found_it(make_plan, schema_guard):
    seen_while_writing_events: set[str] = set()

    def note_indexes(run, chunk):
        if chunk.kind == "events":
            seen_while_writing_events.update(indexed_columns(Event))

    run = services.seed(plan=make_plan(), on_progress=note_indexes)

    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []
    if connection.vendor == "sqlite":
        assert not seen_while_writing_events & EVENT_SECONDARY
    else:
        assert seen_while_writing_events >= EVENT_SECONDARY


def test_a_failed_load_still_rebuilds_its_indexes(make_plan, monkeypatch, schema_guard):
    run = services.seed_run_create(plan=make_plan())
    monkeypatch.setattr(chunk_service, "write_rows", fail_in_events_chunk(run, 3, RuntimeError("disk on fire")))
    seen_while_writing_events: set[str] = set()

    def note_indexes(run, chunk):
        if chunk.kind == "events":
            seen_while_writing_events.update(indexed_columns(Event))

    with pytest.raises(services.SeedingError, match="events chunk 3"):
        services.seed_run_execute(run=run, on_progress=note_indexes)

    if connection.vendor == "sqlite":
        assert not seen_while_writing_events & EVENT_SECONDARY, "the indexes were dropped for chunks 0 to 2"
    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("next_step", ["new run", "resume", "clear"])
def test_indexes_a_dead_process_dropped_are_rebuilt_by_the_next_run_resume_or_clear(
    make_plan, monkeypatch, schema_guard, next_step
):
    run = services.seed_run_create(plan=make_plan(**ONLY_EVENTS_DEFERRED))
    # The process dies while writing events chunk 3: no rebuild, no status change.
    monkeypatch.setattr(indexes, "restore_indexes", lambda run: 0)
    monkeypatch.setattr(chunk_service, "write_rows", fail_in_events_chunk(run, 3, RuntimeError("killed")))
    with pytest.raises(services.SeedingError):
        services.seed_run_execute(run=run)
    monkeypatch.undo()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, is_active=True, finished_at=None, error="", updated_at=an_hour_ago
    )
    recorded = {name for name, _sql in SeedRun.objects.get(pk=run.pk).deferred_indexes}
    event_indexes = {name for name, sql in schema_guard.items() if '"inventory_event"' in sql}
    assert recorded == event_indexes == set(schema_guard) - set(index_sql())
    assert len(recorded) == len(EVENT_SECONDARY)

    if next_step == "new run":
        services.seed(plan=make_plan(applications=1, assets=0, deployments=0, events=0))
    elif next_step == "resume":
        services.seed_run_execute(run=run)
        assert Event.objects.count() == SMALL["events"]
    else:
        services.demo_data_clear()

    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.mark.usefixtures("sqlite_only")
def test_a_failed_rebuild_fails_the_run_keeps_the_recipe_and_is_retried(make_plan, monkeypatch, schema_guard):
    real_restore = indexes.restore_indexes

    def rebuild_fails(run):
        if not SeedRun.objects.get(pk=run.pk).deferred_indexes:
            return real_restore(run)  # nothing to build after the parents' phases
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr(indexes, "restore_indexes", rebuild_fails)
    with pytest.raises(services.SeedingError, match="while rebuilding deferred indexes"):
        services.seed(plan=make_plan(**ONLY_EVENTS_DEFERRED, events=250))
    monkeypatch.undo()
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.FAILED and "disk is full" in run.error
    assert run.events_done == 250, "every row was written; only the indexes are missing"
    assert {name for name, _sql in run.deferred_indexes} == set(schema_guard) - set(index_sql())

    services.demo_data_clear()

    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.mark.usefixtures("sqlite_only")
def test_a_failed_rebuild_does_not_hide_the_chunk_error(make_plan, monkeypatch):
    run = services.seed_run_create(plan=make_plan(**ONLY_EVENTS_DEFERRED))
    monkeypatch.setattr(chunk_service, "write_rows", fail_in_events_chunk(run, 3, RuntimeError("disk on fire")))
    real_restore = indexes.restore_indexes

    def rebuild_fails_once(run):
        if not SeedRun.objects.get(pk=run.pk).deferred_indexes:
            return real_restore(run)  # nothing to build after the parents' phases
        monkeypatch.setattr(indexes, "restore_indexes", real_restore)  # the clear below succeeds
        raise DatabaseError("database is locked")

    monkeypatch.setattr(indexes, "restore_indexes", rebuild_fails_once)
    with pytest.raises(services.SeedingError, match="events chunk 3: RuntimeError: disk on fire"):
        services.seed_run_execute(run=run)
    run.refresh_from_db()
    assert "disk on fire" in run.error and run.deferred_indexes
    services.demo_data_clear()  # rebuilds, and leaves the schema as found for the guard


@pytest.mark.usefixtures("sqlite_only")
def test_a_writer_that_lost_its_run_drops_nothing(make_plan, schema_guard):
    run = services.seed_run_create(plan=make_plan())
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)
    with indexes.indexes_deferred(run, {"events": 10_000}, claim=run.claim + 1) as dropped:
        assert dropped == []
        assert index_sql() == schema_guard
    with indexes.indexes_deferred(run, {"events": 10_000}, claim=run.claim) as dropped:
        assert len(dropped) == len(EVENT_SECONDARY)
    assert index_sql() == schema_guard


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


def test_a_plan_of_one_chunk_per_kind_defers_nothing(make_plan, schema_guard):
    run = services.seed_run_create(plan=make_plan(chunk_size=5_000))
    seen: set[str] = set()
    services.seed_run_execute(run=run, on_progress=lambda run, chunk: seen.update(indexed_columns(Event)))
    assert seen >= EVENT_SECONDARY
    assert index_sql() == schema_guard


@pytest.mark.usefixtures("sqlite_only")
def test_only_explicit_non_unique_indexes_are_deferrable():
    statements = [
        "CREATE TABLE scratch_idx (id integer PRIMARY KEY, a integer UNIQUE, b integer, c integer, d integer)",
        "CREATE INDEX scratch_b ON scratch_idx (b)",
        "CREATE INDEX scratch_c_partial ON scratch_idx (c) WHERE c > 0",
        "CREATE UNIQUE INDEX scratch_d_unique ON scratch_idx (d)",
        "CREATE UNIQUE INDEX scratch_bc_partial_unique ON scratch_idx (b, c) WHERE d IS NOT NULL",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        try:
            found = dict(indexes._non_unique_indexes(cursor, "scratch_idx"))
        finally:
            cursor.execute("DROP TABLE scratch_idx")
    assert found == {"scratch_b": statements[1], "scratch_c_partial": statements[2]}


@pytest.mark.usefixtures("sqlite_only")
def test_the_admin_keeps_a_run_that_holds_a_recipe(make_plan, monkeypatch):
    run = services.seed_run_create(plan=make_plan(applications=30, assets=0, deployments=0, events=0))
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.FAILED, is_active=None, deferred_indexes=[["some_index", "CREATE INDEX ..."]]
    )
    run.refresh_from_db()
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    run_admin = admin.site._registry[SeedRun]

    assert not run_admin.has_delete_permission(request, run)
    SeedRun.objects.filter(pk=run.pk).update(deferred_indexes=[])
    run.refresh_from_db()
    assert run_admin.has_delete_permission(request, run)


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_worker_run_defers_per_phase_and_leaves_the_schema_as_found(make_plan, settings, stub_broker, schema_guard):
    """The actors driven by hand from the stub queue, as the embedded worker would run them."""
    outcome = services.seed_request(plan=make_plan(), source=SeedRun.Source.API, mode="queued")
    queue = stub_broker.queues[settings.SEED_QUEUE]
    actors = {"start_seed_run": tasks.start_seed_run, "write_seed_chunk": tasks.write_seed_chunk}
    event_indexes_while_writing_events: list[set[str]] = []
    parents_indexes_while_writing_events: list[dict[str, str]] = []
    while not queue.empty():
        message = json.loads(queue.get())
        if message["args"][1:2] == ["events"]:
            event_indexes_while_writing_events.append(indexed_columns(Event) & EVENT_SECONDARY)
            parents_indexes_while_writing_events.append(not_of_events(index_sql()))
        actors[message["actor_name"]].fn(*message["args"])

    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.SUCCEEDED and run.executor == SeedRun.Executor.WORKERS
    assert len(event_indexes_while_writing_events) == 25
    assert not any(event_indexes_while_writing_events), "dropped while the events phase was written"
    # ... while the parents' phases had rebuilt theirs before the events were sent.
    assert all(found == not_of_events(schema_guard) for found in parents_indexes_while_writing_events)
    assert index_sql() == schema_guard
    assert run.deferred_indexes == []


@pytest.mark.usefixtures("sqlite_only")
def test_the_sweeper_rebuilds_what_a_cancelled_worker_run_dropped(make_plan, schema_guard):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)
    run.refresh_from_db()
    assert indexes.defer_indexes(run, {"events": 2_500}, claim=run.claim)  # as send_phase does
    services.seed_run_cancel(run=run)

    services.seed_runs_sweep()

    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_worker_run_whose_final_rebuild_keeps_failing_ends_failed_and_blocks_nothing(
    make_plan, settings, stub_broker, monkeypatch, schema_guard
):
    outcome = services.seed_request(plan=make_plan(), source=SeedRun.Source.API, mode="queued")
    queue = stub_broker.queues[settings.SEED_QUEUE]
    actors = {"start_seed_run": tasks.start_seed_run, "write_seed_chunk": tasks.write_seed_chunk}
    real_restore = indexes.restore_indexes

    def events_rebuild_fails(run, **kwargs):
        if any('"inventory_event"' in sql for _name, sql in SeedRun.objects.get(pk=run.pk).deferred_indexes):
            raise DatabaseError("database or disk is full")
        return real_restore(run, **kwargs)

    monkeypatch.setattr(indexes, "restore_indexes", events_rebuild_fails)
    for module in (chunk_service, services.dispatch):
        monkeypatch.setattr(module, "restore_indexes", events_rebuild_fails)
    while not queue.empty():
        message = json.loads(queue.get())
        if message["args"][1:] == ["events", 24]:
            with pytest.raises(DatabaseError):  # the broker would retry it, then give up
                actors[message["actor_name"]].fn(*message["args"])
        else:
            actors[message["actor_name"]].fn(*message["args"])
    assert SeedRun.objects.get(pk=outcome.run.pk).status == SeedRun.Status.RUNNING

    # The sweeper's way back in finds every chunk written and the rebuild still failing.
    assert services.seed_run_start(run_id=outcome.run.pk) == "failed"
    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.FAILED and run.is_active is None
    assert "rebuilding deferred indexes" in run.error and run.events_done == SMALL["events"]
    assert run.deferred_indexes

    monkeypatch.undo()
    services.seed_runs_sweep()  # the disk has room again
    assert index_sql() == schema_guard
    assert SeedRun.objects.get(pk=run.pk).deferred_indexes == []
