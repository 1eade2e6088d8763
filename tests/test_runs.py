"""A seed run through the service, start to end, against the real database of the current pass (SQLite or
PostgreSQL): exact counts, valid references, reproducible rows, failing and cancelled chunks, resuming.

Tests use real transactions (``transaction=True``): chunk commits, deferred
foreign-key checks and rollbacks behave exactly as in production.
"""

from __future__ import annotations

import bisect
from datetime import timedelta

import pytest
from django.db.models import F

from inventory.models import Application, Asset, Deployment, Event
from seeding import services
from seeding.generation.episodes import EPISODE_EVERY, EPISODE_LEN
from seeding.generation.spec import EVENT_WINDOW_DAYS
from seeding.models import SeedChunk, SeedRun
from seeding.selectors import seed_run_digest
from seeding.services import chunk_transaction as chunk_service
from tests.support.data import counts, seed, snapshot
from tests.support.faults import failing_writes
from tests.support.plans import AS_OF, SMALL

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
    # The fourth events chunk's rows really reach the table, then its transaction fails.
    failing = failing_writes("disk on fire", first_id=run.events_id_base + 300, after_writing=True)
    monkeypatch.setattr(chunk_service, "write_rows", failing)
    with pytest.raises(services.SeedingError, match="events chunk 3"):
        services.seed_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED
    assert run.error == "events chunk 3 failed (RuntimeError); committed chunks are kept"
    assert run.error_detail == "RuntimeError: disk on fire"
    committed = set(SeedChunk.objects.filter(run=run, kind="events").values_list("index", flat=True))
    # Every chunk before the failing one is committed, nothing of it. On PostgreSQL a second writer
    # works beside it: whatever it committed while the failing chunk was in flight (chunk 4, or 4 and
    # 5 when the failing one was slow) stays, and the resume below writes only what is missing.
    assert {0, 1, 2} <= committed and 3 not in committed
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


def test_events_are_chronological_by_key(make_plan):
    """Like a real event log: a later key never has an earlier minute, but for the few consecutive keys each
    incident story or change wave takes for events that unfold over hours (``episodes.EPISODE_LEN`` per
    ``EPISODE_EVERY`` events at most): the longest run of keys in time order leaves out no more than those."""
    seed(make_plan(events=5_000))
    minutes = [t.replace(second=0) for t in Event.objects.order_by("pk").values_list("occurred_at", flat=True)]
    in_order: list = []  # patience sorting: in_order[k] is the smallest last minute of an ordered run of k + 1
    for minute in minutes:
        at = bisect.bisect_right(in_order, minute)
        in_order[at : at + 1] = [minute]
    episodes = len(minutes) // EPISODE_EVERY + 1
    assert len(in_order) >= len(minutes) - episodes * EPISODE_LEN
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


def test_upgrading_marks_finished_runs_inactive(make_plan):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("seeding.migrations.0002_async_runs")
    run = seed(make_plan())
    SeedRun.objects.filter(pk=run.pk).update(is_active=True)  # as AddField(default=True) leaves it
    migration.only_queued_or_running_runs_are_active(apps, None)
    run.refresh_from_db()
    assert run.is_active is None and run.status == SeedRun.Status.SUCCEEDED


def test_a_chunk_that_commits_after_a_cancel_is_counted_and_ends_the_run(make_plan, monkeypatch):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_start(run_id=run.pk)
    assert services.seed_chunk_process(run_id=run.pk, kind="applications", index=0) == "written"
    answers = []
    real_write = chunk_service.write_rows

    def cancelled_while_in_flight(model, columns, **kwargs):
        if not answers:  # once, while the chunk's first rows are written (an assets chunk writes its people too)
            answers.append(services.seed_run_cancel(run=SeedRun.objects.get(pk=run.pk)).total_done)
        return real_write(model, columns, **kwargs)

    monkeypatch.setattr(chunk_service, "write_rows", cancelled_while_in_flight)
    assert services.seed_chunk_process(run_id=run.pk, kind="assets", index=0) == "written"
    run.refresh_from_db()
    assert answers == [30]  # what the cancel answered...
    assert run.status == SeedRun.Status.CANCELLED and run.total_done == 130  # ...and what landed after it
    assert run.finished_at >= SeedChunk.objects.get(run=run, kind="assets", index=0).committed_at


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
