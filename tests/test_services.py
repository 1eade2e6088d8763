"""The seeding service against the real database of the current pass (SQLite or PostgreSQL).

Tests use real transactions (``transaction=True``): chunk commits, deferred
foreign-key checks and rollbacks behave exactly as in production.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Application, Asset, Deployment, Event
from seeding import plan as seed_plan
from seeding import services, tasks
from seeding.generation.spec import EVENT_WINDOW_DAYS
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.selectors import inventory_counts, seed_run_digest
from seeding.services import chunk_transaction as chunk_service
from seeding.services import runs as run_service
from tests.conftest import AS_OF, SMALL
from tests.helpers import at_once, counts, own_asset_value, real_asset, seed, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_writes_exact_counts_and_records_the_run(make_plan):
    run = seed(make_plan())
    run.refresh_from_db()
    assert counts() == SMALL
    assert run.status == SeedRun.Status.SUCCEEDED
    assert {kind: run.done(kind) for kind in SMALL} == SMALL
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert run.as_of == AS_OF and run.seed == 7
    assert SeedChunk.objects.filter(run=run).count() == make_plan().chunk_count == 1 + 3 + 6 + 25
    assert all(
        model.objects.filter(seed_run=run).count() == n
        for model, n in zip((Application, Asset, Deployment, Event), SMALL.values())
    )


def test_every_reference_is_valid(make_plan):
    seed(make_plan())
    app_ids = set(Application.objects.values_list("pk", flat=True))
    asset_ids = set(Asset.objects.values_list("pk", flat=True))
    deployments = dict(Deployment.objects.values_list("pk", "asset_id"))
    assert set(Deployment.objects.values_list("application_id", flat=True)) <= app_ids
    assert set(deployments.values()) <= asset_ids
    hosts = set(deployments.values())
    tied = on_hosts = 0
    for asset_id, deployment_id in Event.objects.values_list("asset_id", "deployment_id"):
        assert asset_id in asset_ids
        on_hosts += asset_id in hosts
        if deployment_id is not None:
            tied += 1
            assert deployments[deployment_id] == asset_id  # an event about a deployment is on its asset
    assert 0.6 < tied / on_hosts < 0.9  # on a host with applications, most events concern one of them


def test_same_plan_seed_and_as_of_reproduce_every_row(make_plan):
    services.demo_data_clear()  # an empty inventory: keys restart at 1
    seed(make_plan())
    first = snapshot()
    services.demo_data_clear()
    assert counts() == dict.fromkeys(SMALL, 0)
    seed(make_plan())
    assert snapshot() == first  # keys, host names, timestamps: everything


def test_digest_depends_on_seed_and_as_of_but_not_on_chunk_size(make_plan):
    def digest_of_fresh(plan) -> str:
        services.demo_data_clear()
        return seed_run_digest(seed(plan))

    reference = digest_of_fresh(make_plan())
    assert digest_of_fresh(make_plan(chunk_size=1_000)) == reference
    assert digest_of_fresh(make_plan(chunk_size=137)) == reference
    assert digest_of_fresh(make_plan(seed=8)) != reference
    assert digest_of_fresh(make_plan(as_of=AS_OF - timedelta(days=1))) != reference


def test_stacked_runs_get_their_own_keys_and_unique_names(make_plan):
    first = seed(make_plan())
    second = seed(make_plan())  # same seed, on top of the first
    assert second.assets_id_base == first.assets_id_base + SMALL["assets"]
    assert Asset.objects.count() == 2 * SMALL["assets"]
    assert Asset.objects.values("hostname").distinct().count() == 2 * SMALL["assets"]


def test_a_failing_chunk_keeps_earlier_chunks_and_nothing_of_itself(make_plan, monkeypatch):
    services.demo_data_clear()
    clean_digest = seed_run_digest(seed(make_plan()))
    services.demo_data_clear()
    run = services.seed_run_create(plan=make_plan())
    real_write = chunk_service.write_rows

    def write_then_fail_on_fourth_event_chunk(model, columns, **kwargs):
        written = real_write(model, columns, **kwargs)  # the rows really reach the table...
        if model is Event and columns["id"][0] == run.events_id_base + 300:
            raise RuntimeError("disk on fire")  # ...then the chunk's transaction fails
        return written

    monkeypatch.setattr(chunk_service, "write_rows", write_then_fail_on_fourth_event_chunk)
    with pytest.raises(services.SeedingError, match="events chunk 3"):
        services.seed_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED
    assert run.error == "events chunk 3 failed (RuntimeError); committed chunks are kept"
    assert run.error_detail == "RuntimeError: disk on fire"
    committed = set(SeedChunk.objects.filter(run=run, kind="events").values_list("index", flat=True))
    # Every chunk before the failing one is committed, nothing of it; on PostgreSQL
    # the chunk a second writer had in flight may have committed too.
    assert {0, 1, 2} <= committed and 3 not in committed and committed <= {0, 1, 2, 4}
    assert counts() == {**SMALL, "events": 100 * len(committed)}
    assert run.events_done == 100 * len(committed)
    assert not Event.objects.filter(pk__gte=run.events_id_base + 300, pk__lt=run.events_id_base + 400).exists()

    monkeypatch.setattr(chunk_service, "write_rows", real_write)
    services.seed_run_execute(run=run, resume=True)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and run.error == ""
    assert counts() == SMALL
    assert run.events_done == SMALL["events"]
    assert seed_run_digest(run) == clean_digest  # no duplicates, nothing missing, same content


def test_rerunning_a_finished_chunk_is_a_no_op(make_plan):
    run = seed(make_plan())
    chunk = next(iter(make_plan().chunks()))
    assert services.seed_chunk_write(run=run, chunk=chunk) is False
    assert counts() == SMALL


def test_a_succeeded_run_cannot_be_resumed(make_plan):
    run = seed(make_plan())
    with pytest.raises(services.RunNotResumable, match="already succeeded"):
        services.seed_run_execute(run=run, resume=True)


def test_a_cleared_run_cannot_be_resumed(make_plan, monkeypatch):
    monkeypatch.setattr(chunk_service, "write_rows", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    run = services.seed_run_create(plan=make_plan())
    with pytest.raises(services.SeedingError):
        services.seed_run_execute(run=run)
    services.demo_data_clear(run=run)
    run.refresh_from_db()
    with pytest.raises(services.RunNotResumable, match="cleared"):
        services.seed_run_execute(run=run, resume=True)


def test_cancel_stops_at_a_chunk_boundary_and_keeps_committed_chunks(make_plan):
    run = services.seed_run_create(plan=make_plan())

    def cancel_after_two_asset_chunks(current, chunk):
        if chunk is not None and chunk.kind == "assets" and chunk.index == 1:
            services.seed_run_cancel(run=SeedRun.objects.get(pk=current.pk))

    services.seed_run_execute(run=run, on_progress=cancel_after_two_asset_chunks)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED
    # Asset chunks 0 and 1 committed when the cancel landed; on PostgreSQL a second
    # writer may already have chunk 2 in flight, which finishes. Nothing starts after.
    written = counts()
    assert written["assets"] in (200, 250) and written["deployments"] == written["events"] == 0
    assert written["assets"] == sum(SeedChunk.objects.filter(run=run, kind="assets").values_list("rows", flat=True))
    assert run.assets_done == written["assets"]


def test_children_can_reference_parents_already_in_the_database(make_plan):
    seed(make_plan(deployments=0, events=0))
    run = seed(make_plan(applications=0, assets=0, deployments=500, events=1_000, seed=9))
    assert Deployment.objects.filter(seed_run=run).count() == 500
    assert Event.objects.filter(seed_run=run).count() == 1_000
    assert Event.objects.filter(seed_run=run, asset__seed_run__isnull=False).count() == 1_000
    assert Deployment.objects.filter(seed_run=run).values("application", "asset").distinct().count() == 500


def test_events_respect_purchase_dates_deploy_times_and_the_window(make_plan):
    seed(make_plan(assets=400, events=6_000))
    events = Event.objects.all()
    assert not events.filter(occurred_at__date__lt=F("asset__purchase_date")).exists()
    assert not events.filter(deployment__isnull=False, occurred_at__lt=F("deployment__deployed_at")).exists()
    assert not events.filter(occurred_at__gt=AS_OF).exists()
    assert not events.filter(occurred_at__lt=AS_OF - timedelta(days=EVENT_WINDOW_DAYS)).exists()
    assert not Deployment.objects.filter(deployed_at__date__lt=F("asset__purchase_date")).exists()
    assert not Deployment.objects.filter(deployed_at__gt=AS_OF).exists()


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
    seed(make_plan())
    result = services.demo_data_clear()
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
    result = services.demo_data_clear(run=first)
    assert result.deleted == SMALL
    assert counts() == SMALL
    assert not Event.objects.filter(seed_run=first).exists()
    assert Event.objects.filter(seed_run=second).count() == SMALL["events"]
    first.refresh_from_db()
    assert first.cleared_at is not None


def test_clear_refuses_while_a_run_is_active(make_plan):
    services.seed_run_create(plan=make_plan())
    with pytest.raises(services.ClearRefused, match="is still queued"):
        services.demo_data_clear()


def test_events_are_chronological_by_key(make_plan):
    """Like a real event log: a later key never has an earlier minute."""
    seed(make_plan(events=5_000))
    minutes = [t.replace(second=0) for t in Event.objects.order_by("pk").values_list("occurred_at", flat=True)]
    assert minutes == sorted(minutes)
    assert minutes[0] < minutes[-1]


def test_a_run_being_written_elsewhere_cannot_be_resumed(make_plan):
    run = services.seed_run_create(plan=make_plan())
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)  # another process is on it
    run.refresh_from_db()
    with pytest.raises(services.RunNotResumable, match="is running in another process"):
        services.seed_run_execute(run=run, resume=True)
    assert counts() == dict.fromkeys(SMALL, 0)


def test_an_inline_run_whose_process_died_is_abandoned_then_resumable(make_plan, settings):
    run = services.seed_run_create(plan=make_plan())
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)
    settings.SEED_ABANDONED_AFTER_SECONDS = 0  # no progress "for too long"
    services.seed_run_execute(run=run, resume=True)  # marks it abandoned, then claims it
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and counts() == SMALL


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


def test_children_of_existing_assets_cannot_predate_them(make_plan):
    seed(make_plan(deployments=0, events=0))
    with pytest.raises(services.PlanError) as caught:
        services.seed_run_create(
            plan=make_plan(applications=0, assets=0, deployments=0, events=100, as_of=AS_OF - timedelta(days=400))
        )
    newest = Asset.objects.order_by("-purchase_date").values_list("purchase_date", flat=True).first()
    assert caught.value.errors["as_of"] == (
        f"is before {newest.isoformat()}, the purchase date of an asset already in the database that the plan "
        "would point at; use a later base time"
    )
    preview = services.seed_request_preview  # the dry run gives the same answer
    with pytest.raises(services.PlanError) as previewed:
        preview(plan=make_plan(applications=0, assets=0, deployments=0, events=100, as_of=AS_OF - timedelta(days=400)))
    assert previewed.value.errors == caught.value.errors


def test_a_cancelled_run_is_not_revived_by_a_late_start_message(make_plan):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_cancel(run=run)
    assert services.seed_run_start(run_id=run.pk) == "skipped"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and run.is_active is None


def test_upgrading_marks_finished_runs_inactive(make_plan):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("seeding.migrations.0002_async_runs")
    run = seed(make_plan())
    SeedRun.objects.filter(pk=run.pk).update(is_active=True)  # as AddField(default=True) leaves it
    migration.only_queued_or_running_runs_are_active(apps, None)
    run.refresh_from_db()
    assert run.is_active is None and run.status == SeedRun.Status.SUCCEEDED


def test_a_late_start_message_finishes_a_run_with_exact_counters(make_plan):
    """All chunks committed, then the worker died before counting them: the sweeper's
    start message marks the run succeeded with counters taken from the checkpoints."""
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)
    for chunk in make_plan().chunks():
        services.seed_chunk_write(run=run, chunk=chunk)
    assert services.seed_run_start(run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED
    assert {kind: run.done(kind) for kind in SMALL} == SMALL


def test_worker_messages_stand_down_once_a_run_is_resumed_inline(make_plan):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_fail(run=run, error="a poison chunk")
    services.seed_run_execute(run=run, resume=True)  # --resume: now written inline
    leftover = services.seed_chunk_process(run_id=run.pk, kind="events", index=0)
    assert leftover == "skipped"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and counts() == SMALL


def test_a_chunk_finishing_after_its_run_was_cleared_is_rolled_back(make_plan):
    run = services.seed_run_create(plan=make_plan())
    services.seed_run_cancel(run=run)
    services.demo_data_clear(run=run)
    chunk = next(iter(make_plan().chunks()))
    with pytest.raises(services.RunNotResumable, match="cleared while"):
        services.seed_chunk_write(run=run, chunk=chunk)
    assert counts() == dict.fromkeys(SMALL, 0)


# --- stacking onto existing parents --------------------------------------------------------------


def test_stacked_deployments_step_over_existing_pairs_and_stay_deterministic(make_plan):
    seed(make_plan(applications=6, assets=60, deployments=50, events=0))
    with pytest.raises(services.PlanError) as refused:  # the error names the free pairs left...
        seed(make_plan(applications=0, assets=0, deployments=300, events=0, seed=5))
    free = int(
        re.search(r"at most ([\d,]+): each application is deployed at most once per host", str(refused.value))
        .group(1)
        .replace(",", "")
    )
    assert free > 0
    stacked_plan = make_plan(applications=0, assets=0, deployments=free, events=0, seed=5)
    stacked = seed(stacked_plan)  # ...and exactly that many fit
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(pairs) == len(set(pairs)) == 50 + free

    def content(run) -> list[tuple]:
        return list(
            Deployment.objects.filter(seed_run=run)
            .order_by("pk")
            .values_list("application", "asset", "version", "environment", "status", "deployed_at")
        )

    first = content(stacked)
    services.demo_data_clear(run=stacked)
    assert content(seed(stacked_plan)) == first  # the same plan on the same inventory: the same rows
    with pytest.raises(services.PlanError, match="at most 0: each application is deployed at most once per host"):
        seed(make_plan(applications=0, assets=0, deployments=1, events=0))


def test_a_run_fixes_its_view_of_existing_parents_when_it_is_created(make_plan, settings):
    """A person editing the parents once the run exists changes nothing it writes, and no chunk reads them."""
    settings.SEED_WRITER_THREADS = 1  # every query on this connection, where the test can see it
    parents = seed(make_plan(deployments=0, events=0))
    plan = make_plan(applications=0, assets=0, deployments=0, events=2_000, seed=11)

    def events_of(run) -> list[tuple]:
        return list(
            Event.objects.filter(seed_run=run).order_by("pk").values_list("asset", "kind", "message", "occurred_at")
        )

    reference = seed(plan)
    expected = events_of(reference)
    services.demo_data_clear(run=reference)

    def person_edits_the_assets(run, chunk):
        if chunk is not None and chunk.index == 0:
            Asset.objects.filter(seed_run=parents).update(purchase_date=AS_OF.date())  # all bought "today"

    edited = services.seed_run_create(plan=plan)
    Asset.objects.filter(seed_run=parents).update(purchase_date=AS_OF.date() - timedelta(days=3))  # before it runs
    with CaptureQueriesContext(connection) as queries:  # writing, after the run was created
        services.seed_run_execute(run=edited, on_progress=person_edits_the_assets)  # ...and while it runs
    assert events_of(edited) == expected
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if '"inventory_asset"' in sql or '"inventory_deployment"' in sql]


def test_a_clear_just_before_a_run_is_created_is_a_plan_error_not_a_crash(make_plan, monkeypatch):
    seed(make_plan(deployments=0, events=0))
    real_record = run_service.record_parent_view

    # A clear committed by another process just before the view is taken: the rows are gone.
    def rows_vanish(**kwargs):
        Asset.objects.all().delete()
        Application.objects.all().delete()
        return real_record(**kwargs)

    monkeypatch.setattr(run_service, "record_parent_view", rows_vanish)
    with pytest.raises(services.PlanError) as caught:
        services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=100))
    assert caught.value.errors == {"events": "need assets: add some to the plan or to the database"}
    assert SeedRun.objects.count() == 1 and Asset.objects.count() == SMALL["assets"]  # all rolled back


# --- cancel ----------------------------------------------------------------------------------------


def test_a_chunk_that_commits_after_a_cancel_is_counted_and_ends_the_run(make_plan, monkeypatch):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_start(run_id=run.pk)
    assert services.seed_chunk_process(run_id=run.pk, kind="applications", index=0) == "written"
    answers = []
    real_write = chunk_service.write_rows

    def cancelled_while_in_flight(model, columns, **kwargs):
        answers.append(services.seed_run_cancel(run=SeedRun.objects.get(pk=run.pk)).total_done)
        return real_write(model, columns, **kwargs)

    monkeypatch.setattr(chunk_service, "write_rows", cancelled_while_in_flight)
    assert services.seed_chunk_process(run_id=run.pk, kind="assets", index=0) == "written"
    run.refresh_from_db()
    assert answers == [30]  # what the cancel answered...
    assert run.status == SeedRun.Status.CANCELLED and run.total_done == 130  # ...and what landed after it
    assert run.finished_at >= SeedChunk.objects.get(run=run, kind="assets", index=0).committed_at


# --- workers, without threads ------------------------------------------------------------------------


@pytest.mark.stub
def test_a_chunk_that_keeps_failing_fails_its_run_after_the_configured_attempts(make_plan, settings, stub_broker):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_start(run_id=run.pk)
    # A person's asset holds the host name asset ordinal 120 derives from its key.
    taken = own_asset_value(run, 120, "hostname")
    real_asset(hostname=taken)
    for attempt in (1, 2):
        with pytest.raises(IntegrityError):  # the broker would retry it
            tasks.write_seed_chunk.fn(run.pk, "assets", 1)
        assert SeedChunkAttempt.objects.get(run=run, kind="assets", index=1).attempts == attempt
    tasks.write_seed_chunk.fn(run.pk, "assets", 1)  # the third attempt gives up instead of raising
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED and run.is_active is None
    assert run.error == "assets chunk 1 failed 3 times (IntegrityError); committed chunks are kept"
    assert "hostname" in run.error_detail
    assert services.seed_chunk_process(run_id=run.pk, kind="assets", index=2) == "skipped"


@pytest.mark.postgres
def test_of_several_sweepers_exactly_one_resends_a_stalled_run(make_plan, settings, broker):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    SeedRun.objects.filter(pk=run.pk).update(
        status=SeedRun.Status.RUNNING, updated_at=timezone.now() - timedelta(minutes=10)
    )
    swept = at_once(6, services.seed_runs_sweep)
    assert sorted(swept) == [[]] * 5 + [[run.pk]]
    assert broker.client.llen(f"{broker.namespace}:{settings.SEED_QUEUE}") == 1  # one start message


def test_a_cancel_before_an_inline_run_starts_is_not_undone(make_plan):
    run = services.seed_run_create(plan=make_plan())
    services.seed_run_cancel(run=run)
    assert services.seed_run_execute(run=run).status == SeedRun.Status.CANCELLED
    assert counts() == dict.fromkeys(SMALL, 0)


def test_a_refused_plan_does_not_move_the_next_runs_keys(make_plan):
    """PostgreSQL never gives a sequence value back: a refused plan must not reserve any."""
    services.demo_data_clear()
    with pytest.raises(services.PlanError):
        services.seed_run_create(plan=make_plan(applications=0))  # deployments need applications
    run = seed(make_plan())
    assert (run.applications_id_base, run.assets_id_base, run.events_id_base) == (1, 1, 1)


def test_assets_bought_after_2038_do_not_overflow_the_view(make_plan, monkeypatch):
    # A base time in 2040 is more than a year ahead today: allowed as it will be once the clock gets there.
    monkeypatch.setattr(seed_plan, "AS_OF_MAX_AHEAD", timedelta(days=20 * 366))
    far = AS_OF.replace(year=2040)
    seed(make_plan(deployments=0, events=0, as_of=far))
    run = seed(make_plan(applications=0, assets=0, deployments=0, events=500, as_of=far.replace(month=12)))
    assert Event.objects.filter(seed_run=run).count() == 500


def test_runs_created_before_the_view_was_recorded_say_so_instead_of_resuming(make_plan):
    seed(make_plan(deployments=0, events=0))
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=100))
    services.seed_run_fail(run=run, error="stopped")
    SeedRun.objects.filter(pk=run.pk).update(parent_counts={})  # as migration 0004 leaves older runs
    run.refresh_from_db()
    with pytest.raises(services.RunNotResumable, match="created by an earlier version"):
        services.seed_run_execute(run=run, resume=True)


def test_events_stacked_onto_a_large_inventory_record_a_sample_of_it(make_plan, monkeypatch):
    from seeding.models import RunParent
    from seeding.persistence.parent_view import recording

    seed(make_plan(events=0))
    monkeypatch.setattr(recording, "VIEW_MIN_ROWS", 60)
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=20))
    counts = run.parent_counts
    refs = list(RunParent.objects.filter(run=run, kind="assets").order_by("position").values_list("ref", flat=True))
    assert counts["assets"] == 50 and refs == list(Asset.objects.order_by("pk").values_list("pk", flat=True))[::5]
    # The deployments recorded are those of the recorded assets, every 10th (600 in all, 60 at most).
    on_refs = list(Deployment.objects.filter(asset__in=refs).order_by("pk").values_list("pk", flat=True))
    recorded = RunParent.objects.filter(run=run, kind="deployments").order_by("position").values_list("ref", flat=True)
    assert list(recorded) == on_refs[::10] and counts["deployments"] == len(on_refs[::10])
    services.seed_run_execute(run=run)
    assert set(Event.objects.filter(seed_run=run).values_list("asset", flat=True)) <= set(refs)


@pytest.mark.postgres
def test_a_fresh_view_is_looked_up_by_position_through_its_index(make_plan):
    """Regression: with the view's rows not yet in the planner's statistics (autovacuum off or
    late), each chunk's lookup by position scanned the whole view per position: over a minute
    per chunk of an events-only run on plan 2xL's 200,000 deployments."""
    seed(make_plan(events=0))
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=2_000))
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT position, ref FROM seeding_runparent WHERE run_id = %s AND kind = 'deployments' "
            "AND position = ANY(%s::bigint[])",
            [run.pk, list(range(0, 200, 3))],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert re.search(r"Index Cond: .*position", plan), plan


# --- chunk leases ------------------------------------------------------------------------------------


def started_worker_run(make_plan) -> SeedRun:
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_start(run_id=run.pk)
    return run


@pytest.mark.postgres
def test_copies_of_a_chunk_in_flight_stand_down_without_counting_an_attempt(make_plan):
    run = started_worker_run(make_plan)
    answers = at_once(8, lambda: services.seed_chunk_process(run_id=run.pk, kind="applications", index=0))
    assert answers.count("written") == 1, answers
    assert set(answers) <= {"written", "in flight elsewhere", "already written"}, answers
    attempt = SeedChunkAttempt.objects.get(run=run, kind="applications", index=0)
    assert attempt.attempts == 1 and attempt.lease_until is None and attempt.lease_holder == ""
    assert SeedChunk.objects.filter(run=run, kind="applications", index=0).count() == 1


def test_a_copy_finding_a_live_lease_stands_down_and_a_lapsed_one_is_taken_over(make_plan, monkeypatch):
    from seeding.messaging import queue

    run = started_worker_run(make_plan)
    SeedChunkAttempt.objects.create(
        run=run, kind="assets", index=1, attempts=1, lease_holder="elsewhere:1:1",
        lease_until=timezone.now() + timedelta(seconds=10),
    )  # fmt: skip
    assert services.seed_chunk_process(run_id=run.pk, kind="assets", index=1) == "in flight elsewhere"
    assert SeedChunkAttempt.objects.get(run=run, kind="assets", index=1).attempts == 1  # not counted
    sent = []
    monkeypatch.setattr(queue, "send_chunks", lambda run_id, chunks: sent.extend((run_id, c) for c in chunks))
    SeedRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert services.seed_runs_sweep() == []  # a live lease: neither taken over nor a stalled run
    SeedChunkAttempt.objects.filter(run=run).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.seed_runs_sweep() == [run.pk]
    assert [(run_id, chunk.kind, chunk.index) for run_id, chunk in sent] == [(run.pk, "assets", 1)]
    assert services.seed_chunk_process(run_id=run.pk, kind="assets", index=1) == "written"
    assert SeedChunkAttempt.objects.get(run=run, kind="assets", index=1).attempts == 2  # the dead one counted


def test_a_chunk_over_its_time_limit_says_so_and_fails_its_run_after_the_attempts(make_plan, settings, monkeypatch):
    from dramatiq.middleware.time_limit import TimeLimitExceeded

    from seeding.services import workers

    def too_slow(**kwargs):
        raise TimeLimitExceeded()

    monkeypatch.setattr(workers, "seed_chunk_write", too_slow)
    settings.SEED_CHUNK_MAX_ATTEMPTS = 2
    run = started_worker_run(make_plan)
    with pytest.raises(TimeLimitExceeded):  # Dramatiq retries it
        services.seed_chunk_process(run_id=run.pk, kind="applications", index=0)
    attempt = SeedChunkAttempt.objects.get(run=run, kind="applications", index=0)
    assert attempt.last_error.startswith("time limit: the chunk ran longer than SEED_CHUNK_TIME_LIMIT_MS (60 s)")
    assert attempt.lease_until is None  # released however the attempt ended
    assert services.seed_chunk_process(run_id=run.pk, kind="applications", index=0) == "failed"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED
    assert run.error == "applications chunk 0 failed 2 times (time limit); committed chunks are kept"
    assert "SEED_CHUNK_TIME_LIMIT_MS" in run.error_detail


def test_a_time_limit_landing_just_after_the_commit_keeps_the_chunk_and_moves_on(make_plan, monkeypatch):
    from dramatiq.middleware.time_limit import TimeLimitExceeded

    from seeding.services import workers

    real_write = workers.seed_chunk_write

    def committed_then_interrupted(**kwargs):
        real_write(**kwargs)
        raise TimeLimitExceeded()  # Dramatiq's async exception, once the COMMIT call returned

    monkeypatch.setattr(workers, "seed_chunk_write", committed_then_interrupted)
    run = started_worker_run(make_plan)
    assert services.seed_chunk_process(run_id=run.pk, kind="applications", index=0) == "already written"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.RUNNING and run.applications_done == make_plan().applications
    assert SeedChunkAttempt.objects.get(run=run, kind="applications", index=0).last_error == ""
