"""The messages workers act on, called as the actors call them but without threads or processes: start
messages that come late, chunk messages of a run resumed inline, a chunk that keeps failing, the sweeper.

Tests use real transactions (``transaction=True``), as in tests/test_runs.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from seeding import services, tasks
from seeding.models import SeedChunkAttempt, SeedRun
from tests.support.data import at_once, counts, own_asset_value, real_asset
from tests.support.plans import SMALL

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cancelled_run_is_not_revived_by_a_late_start_message(make_plan):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    services.seed_run_cancel(run=run)
    assert services.seed_run_start(run_id=run.pk) == "skipped"
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and run.is_active is None


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
