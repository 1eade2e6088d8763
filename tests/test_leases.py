"""Chunk leases: a copy of a chunk message finding the chunk in flight elsewhere stands down, a lapsed lease
is taken over, an attempt taken over before it commits is fenced off, and a chunk's time limit fails it, or
not when it lands just after the commit.

Tests use real transactions (``transaction=True``), as in tests/test_runs.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Application
from seeding import services
from seeding.generation.kinds import Chunk, chunks_of
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.services.leases import lease_acquire
from tests.support.data import at_once

pytestmark = pytest.mark.django_db(transaction=True)


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


# --- fencing: a taken-over attempt cannot commit late ------------------------------------------------------


def first_chunk(run: SeedRun) -> Chunk:
    return next(iter(chunks_of("applications", run.planned("applications"), run.chunk_size)))


def in_another_thread(call):
    """``call()`` in a thread of its own (another lease holder, with its own database connection)."""
    return at_once(1, call)[0]


def take_over(run: SeedRun, chunk) -> int:
    """What the sweeper and another worker do when a lease lapses: the chunk started again elsewhere (in a
    thread of its own, outside any transaction of the caller's)."""

    def lapse_and_start_again() -> int:
        lapsed = timezone.now() - timedelta(seconds=1)
        SeedChunkAttempt.objects.filter(run=run, kind=chunk.kind, index=chunk.index).update(lease_until=lapsed)
        return lease_acquire(run=run, chunk=chunk)

    return in_another_thread(lapse_and_start_again)


def test_an_attempt_taken_over_before_it_commits_is_refused_and_the_newer_one_writes(make_plan):
    """Fencing: the attempt number is checked in the commit's transaction. The older attempt's rows are
    rolled back (on a build without the check it commits them, and this test fails); the newer attempt
    writes the chunk, once."""
    run = started_worker_run(make_plan)
    chunk = first_chunk(run)
    first = lease_acquire(run=run, chunk=chunk)
    newer = take_over(run, chunk)
    assert (first, newer) == (1, 2)
    with pytest.raises(services.ChunkFenced, match=r"attempt 1 was taken over by attempt 2 before it wrote its rows"):
        services.seed_chunk_write(run=run, chunk=chunk, attempt=first)
    assert not SeedChunk.objects.filter(run=run).exists() and not Application.objects.filter(seed_run=run)
    assert in_another_thread(lambda: services.seed_chunk_write(run=run, chunk=chunk, attempt=newer))
    assert Application.objects.filter(seed_run=run).count() == chunk.rows


@pytest.mark.postgres
def test_a_worker_taken_over_mid_chunk_is_fenced_off_logs_it_and_is_not_retried(make_plan, monkeypatch, caplog):
    """Through the worker protocol: while a worker generates its chunk, its lease lapses and another worker
    starts the chunk again; the first one's commit is refused ("fenced"), logged, not raised for a retry."""
    from seeding.services import chunk_transaction

    run = started_worker_run(make_plan)
    chunk = first_chunk(run)
    real = chunk_transaction.generate_chunk
    taken = []

    def generate_while_taken_over(*args, **kwargs):
        if not taken:
            taken.append(take_over(run, chunk))
        return real(*args, **kwargs)

    monkeypatch.setattr(chunk_transaction, "generate_chunk", generate_while_taken_over)
    assert services.seed_chunk_process(run_id=run.pk, kind="applications", index=0) == "fenced"
    assert taken == [2] and not SeedChunk.objects.filter(run=run).exists()
    assert "fenced off, not retried" in caplog.text
    monkeypatch.setattr(chunk_transaction, "generate_chunk", real)
    assert in_another_thread(lambda: services.seed_chunk_write(run=run, chunk=chunk, attempt=2))
    assert SeedChunk.objects.filter(run=run).count() == 1
