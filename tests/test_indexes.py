"""Deferred secondary indexes during bulk loads (seeding/indexes.py).

SQLite drops a big, nearly empty table's non-unique indexes while a run writes it
(inline, or on workers) and rebuilds them afterwards; PostgreSQL never does.
Either way the schema a run leaves behind, however it ends, is the schema it found.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Event
from seeding import services, tasks
from seeding.models import DeferredIndex, SeedRun
from seeding.persistence import indexes
from seeding.services import chunk_transaction as chunk_service
from seeding.services import workers
from tests.support.data import seed
from tests.support.faults import failing_writes
from tests.support.plans import SMALL

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


def recipes(run) -> set[str]:
    """Names of the indexes ``run`` dropped and has not rebuilt."""
    return set(DeferredIndex.objects.filter(run=run).values_list("name", flat=True))


def test_a_bulk_load_leaves_the_schema_as_it_found_it(make_plan, schema_guard):
    seen_while_writing_events: set[str] = set()

    def note_indexes(run, chunk):
        if chunk is not None and chunk.kind == "events":
            seen_while_writing_events.update(indexed_columns(Event))

    run = seed(make_plan(), on_progress=note_indexes)

    assert index_sql() == schema_guard
    assert recipes(run) == set()
    if connection.vendor == "sqlite":
        assert not seen_while_writing_events & EVENT_SECONDARY
    else:
        assert seen_while_writing_events >= EVENT_SECONDARY


def test_a_failed_load_still_rebuilds_its_indexes(make_plan, monkeypatch, schema_guard):
    run = services.seed_run_create(plan=make_plan())
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("disk on fire", first_id=run.events_id_base + 300))
    seen_while_writing_events: set[str] = set()

    def note_indexes(run, chunk):
        if chunk is not None and chunk.kind == "events":
            seen_while_writing_events.update(indexed_columns(Event))

    with pytest.raises(services.SeedingError, match="events chunk 3"):
        services.seed_run_execute(run=run, on_progress=note_indexes)

    if connection.vendor == "sqlite":
        assert not seen_while_writing_events & EVENT_SECONDARY, "the indexes were dropped for chunks 0 to 2"
    assert index_sql() == schema_guard
    assert recipes(run) == set()


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("next_step", ["new run", "resume", "clear"])
def test_indexes_a_dead_process_dropped_are_rebuilt_by_the_next_run_resume_or_clear(
    make_plan, monkeypatch, schema_guard, next_step
):
    run = services.seed_run_create(plan=make_plan(**ONLY_EVENTS_DEFERRED))
    # The process dies while writing events chunk 3: no rebuild, no status change.
    monkeypatch.setattr(indexes, "restore_indexes", lambda run, **kwargs: 0)
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("killed", first_id=run.events_id_base + 300))
    with pytest.raises(services.SeedingError):
        services.seed_run_execute(run=run)
    monkeypatch.undo()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, is_active=True, finished_at=None, error="", updated_at=an_hour_ago
    )
    recorded = recipes(run)
    event_indexes = {name for name, sql in schema_guard.items() if '"inventory_event"' in sql}
    assert recorded == event_indexes == set(schema_guard) - set(index_sql())
    assert len(recorded) == len(EVENT_SECONDARY)

    if next_step == "new run":
        seed(make_plan(applications=1, assets=0, deployments=0, events=0))
    elif next_step == "resume":
        services.seed_run_execute(run=run, resume=True)
        assert Event.objects.count() == SMALL["events"]
    else:
        services.demo_data_clear()

    assert index_sql() == schema_guard
    assert recipes(run) == set()


@pytest.mark.usefixtures("sqlite_only")
def test_a_failed_rebuild_fails_the_run_keeps_the_recipe_and_is_retried(make_plan, monkeypatch, schema_guard):
    real_restore = indexes.restore_indexes

    def rebuild_fails(run, **kwargs):
        if not recipes(run):
            return real_restore(run, **kwargs)  # nothing to build after the parents' phases
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr(indexes, "restore_indexes", rebuild_fails)
    with pytest.raises(services.RunFailed, match="rebuilding deferred indexes after every row was written failed"):
        seed(make_plan(**ONLY_EVENTS_DEFERRED, events=250))
    monkeypatch.undo()
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.FAILED and "disk is full" in run.error_detail
    assert run.events_done == 250, "every row was written; only the indexes are missing"
    assert recipes(run) == set(schema_guard) - set(index_sql())

    services.demo_data_clear()

    assert index_sql() == schema_guard
    assert recipes(run) == set()


@pytest.mark.usefixtures("sqlite_only")
def test_a_failed_rebuild_does_not_hide_the_chunk_error(make_plan, monkeypatch):
    run = services.seed_run_create(plan=make_plan(**ONLY_EVENTS_DEFERRED))
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("disk on fire", first_id=run.events_id_base + 300))
    real_restore = indexes.restore_indexes

    def rebuild_fails_once(run, **kwargs):
        if not recipes(run):
            return real_restore(run, **kwargs)  # nothing to build after the parents' phases
        monkeypatch.setattr(indexes, "restore_indexes", real_restore)  # the clear below succeeds
        raise DatabaseError("database is locked")

    monkeypatch.setattr(indexes, "restore_indexes", rebuild_fails_once)
    with pytest.raises(services.RunFailed, match="events chunk 3 failed"):
        services.seed_run_execute(run=run)
    run.refresh_from_db()
    assert run.error_detail == "RuntimeError: disk on fire" and recipes(run)
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
    seed(make_plan())
    seen: set[str] = set()

    def note_event_indexes(run, chunk):
        if chunk is not None and chunk.kind == "events":
            seen.update(indexed_columns(Event))

    seed(make_plan(applications=0, assets=0, deployments=0, events=500), on_progress=note_event_indexes)

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
def test_a_run_that_holds_a_recipe_cannot_be_deleted(make_plan, admin_client):
    run = services.seed_run_create(plan=make_plan(applications=30, assets=0, deployments=0, events=0))
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.FAILED, is_active=None)
    DeferredIndex.objects.create(name="some_index", table="inventory_event", sql="CREATE INDEX ...", run=run)
    page = admin_client.get(f"/admin/seeding/seedrun/{run.pk}/delete/").content.decode()
    assert "would require deleting the following protected related objects" in page
    admin_client.post(f"/admin/seeding/seedrun/{run.pk}/delete/", {"post": "yes"})
    assert SeedRun.objects.filter(pk=run.pk).exists()
    DeferredIndex.objects.filter(run=run).delete()
    admin_client.post(f"/admin/seeding/seedrun/{run.pk}/delete/", {"post": "yes"})
    assert not SeedRun.objects.filter(pk=run.pk).exists()


class Killed(BaseException):
    """Stands for a worker process dying (SIGKILL) at the point it is raised."""


def drive(queue, *, on_message=None) -> None:
    """Run the queued actors by hand, as the embedded worker would; a Killed message is lost, like its process."""
    actors = {"start_seed_run": tasks.start_seed_run, "write_seed_chunk": tasks.write_seed_chunk}
    while not queue.empty():
        message = json.loads(queue.get())
        queue.task_done()  # the stub broker's queues outlive the test: a later join() must not wait for this one
        if on_message:
            on_message(message)
        with suppress(Killed):
            actors[message["actor_name"]].fn(*message["args"])


def index_builds(queries) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].startswith("CREATE INDEX")]


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_worker_run_into_empty_tables_defers_its_indexes_and_rebuilds_each_once(
    make_plan, settings, stub_broker, schema_guard
):
    """Queued plans on SQLite load like inline ones: each big kind's phase goes in without its secondary
    indexes, and the commit that ends the phase rebuilds them, once, before the next phase is sent."""
    outcome = services.seed_request(plan=make_plan(), source=SeedRun.Source.API, mode="queued")
    seen_while_writing_events: set[str] = set()

    def note(message):
        if message["actor_name"] == "write_seed_chunk" and message["args"][1] == "events":
            seen_while_writing_events.update(indexed_columns(Event))

    with CaptureQueriesContext(connection) as queries:
        drive(stub_broker.queues[settings.SEED_QUEUE], on_message=note)

    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.SUCCEEDED and run.executor == SeedRun.Executor.WORKERS
    assert not seen_while_writing_events & EVENT_SECONDARY
    builds = index_builds(queries.captured_queries)
    dropped = {name: sql for name, sql in schema_guard.items() if sql in builds}
    assert sorted(builds) == sorted(dropped.values()), "each dropped index is built exactly once"
    assert {name for name, sql in dropped.items() if '"inventory_event"' in sql} == {
        name for name, sql in schema_guard.items() if '"inventory_event"' in sql
    }
    assert index_sql() == schema_guard and not DeferredIndex.objects.exists()


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_worker_run_keeps_the_indexes_of_a_table_already_holding_more_rows(make_plan, settings, stub_broker):
    seed(make_plan())
    services.seed_request(
        plan=make_plan(applications=0, assets=0, deployments=0, events=500), source=SeedRun.Source.API, mode="queued"
    )
    seen: set[str] = set()
    drive(stub_broker.queues[settings.SEED_QUEUE], on_message=lambda message: seen.update(indexed_columns(Event)))
    assert seen >= EVENT_SECONDARY
    assert Event.objects.count() == SMALL["events"] + 500


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("dies_at", ["end of a phase", "end of the run"])
def test_a_worker_that_dies_before_rebuilding_leaves_it_to_the_sweeper(
    make_plan, settings, stub_broker, schema_guard, monkeypatch, dies_at
):
    """The commit that ends a phase is followed by the rebuild; if its process dies in between, the run
    stalls with its recipes, and the sweeper's re-sent start message rebuilds them and moves the run on."""
    plan = make_plan(**ONLY_EVENTS_DEFERRED) if dies_at == "end of the run" else make_plan()
    outcome = services.seed_request(plan=plan, source=SeedRun.Source.API, mode="queued")
    real_restore = workers.restore_indexes
    dying_phase = 2 if dies_at == "end of the run" else 1

    def dies_once(run, **kwargs):
        if recipes(run) and SeedRun.objects.filter(pk=run.pk, phase_sent=dying_phase).exists():
            monkeypatch.setattr(workers, "restore_indexes", real_restore)
            raise Killed
        return real_restore(run, **kwargs)

    monkeypatch.setattr(workers, "restore_indexes", dies_once)
    queue = stub_broker.queues[settings.SEED_QUEUE]
    drive(queue)
    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.RUNNING and recipes(run), "stalled, its indexes still down"
    assert set(schema_guard) - set(index_sql()) == recipes(run)

    assert workers.seed_runs_sweep(stall_after=0) == [run.pk]
    drive(queue)

    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and run.total_done == sum(
        getattr(plan, kind) for kind in ("applications", "assets", "deployments", "events")
    )
    assert index_sql() == schema_guard and recipes(run) == set()


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_worker_run_whose_rebuild_fails_fails_and_keeps_its_recipes(make_plan, settings, stub_broker, monkeypatch):
    outcome = services.seed_request(plan=make_plan(**ONLY_EVENTS_DEFERRED), source=SeedRun.Source.API, mode="queued")
    real_restore = workers.restore_indexes

    def rebuild_fails(run, **kwargs):
        if recipes(run):
            raise DatabaseError("database or disk is full")
        return real_restore(run, **kwargs)

    monkeypatch.setattr(workers, "restore_indexes", rebuild_fails)
    drive(stub_broker.queues[settings.SEED_QUEUE])
    monkeypatch.undo()
    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.FAILED and "rebuilding deferred indexes" in run.error
    assert "disk is full" in run.error_detail and run.events_done == SMALL["events"]
    assert recipes(run)

    services.demo_data_clear()  # the next run, resume or clear rebuilds them

    assert recipes(run) == set()


@pytest.mark.stub
@pytest.mark.usefixtures("sqlite_only")
def test_a_cancelled_worker_run_has_its_indexes_rebuilt_by_its_next_chunk_message(
    make_plan, settings, stub_broker, schema_guard
):
    """No process would ever finish a cancelled run: the first of its messages that a worker skips rebuilds
    what it deferred, rather than leaving the tables slow until the next run, resume or clear."""
    outcome = services.seed_request(plan=make_plan(**ONLY_EVENTS_DEFERRED), source=SeedRun.Source.API, mode="queued")

    def cancel_after_events_chunk_2(message):
        if message["args"][1:] == ["events", 3]:
            assert recipes(outcome.run), "the events' indexes are down while they are written"
            services.seed_run_cancel(run=SeedRun.objects.get(pk=outcome.run.pk))

    drive(stub_broker.queues[settings.SEED_QUEUE], on_message=cancel_after_events_chunk_2)

    run = SeedRun.objects.get(pk=outcome.run.pk)
    assert run.status == SeedRun.Status.CANCELLED and run.events_done == 300
    assert index_sql() == schema_guard and recipes(run) == set()
