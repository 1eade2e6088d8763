"""Faults on real services with real worker processes and the default recovery settings (issue 10).

Each test that stops a service starts its own throwaway instance. Each asserts
exact counts, no duplicates and the final status, and prints how long recovery took.
"""

from __future__ import annotations

import itertools
import time

import dramatiq
import pytest
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker

from inventory.models import Event
from seeding import queue, services
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.plan import SeedPlan, chunks_of
from tests.conftest import AS_OF
from tests.helpers import counts
from tests.processes import RedisServer, Workers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"applications": 40, "assets": 4_000, "deployments": 6_000, "events": 400_000}
#: With the default settings, no single fault may cost more than this.
RECOVERY_LIMIT_SECONDS = 30


def queue_through(redis_url: str, settings) -> SeedRun:
    """Create a worker run and send its start message through ``redis_url`` (the workers' broker)."""
    run = services.seed_run_create(
        plan=SeedPlan(**PLAN, seed=11, as_of=AS_OF, chunk_size=10_000), executor=SeedRun.Executor.WORKERS
    )
    broker = RedisBroker(url=redis_url)
    try:
        message = dramatiq.Message(
            queue_name=settings.SEED_QUEUE, actor_name=queue.START_RUN, args=(run.pk,), kwargs={}, options={}
        )
        broker.enqueue(message)
    finally:
        broker.close()
    return run


def longest_pause(run: SeedRun, since) -> float:
    """The longest time without a chunk commit from ``since`` to the run's last commit: what the fault cost."""
    times = [since, *SeedChunk.objects.filter(run=run, committed_at__gt=since).order_by("committed_at")
             .values_list("committed_at", flat=True)]  # fmt: skip
    return max(((later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)), default=0.0)


def wait_until(predicate, timeout: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")


@pytest.mark.parametrize("aof", [False, True], ids=["no-persistence", "aof"])
def test_redis_stopped_mid_run_and_restarted(settings, tmp_path, aof):
    redis = RedisServer(tmp_path, aof=aof)
    redis.start()
    workers = Workers(tmp_path)
    try:
        workers.start(threads=2, default_settings=True, redis_url=redis.url)
        workers.wait_ready(1)
        run = queue_through(redis.url, settings)
        wait_until(lambda: SeedRun.objects.get(pk=run.pk).events_done >= 100_000, 90, "events", workers)
        redis.stop()
        stopped = timezone.now()
        time.sleep(3)  # down for a few seconds: the workers' connections fail
        redis.start()
        wait_until(lambda: not SeedRun.objects.get(pk=run.pk).is_active, 120, "the run to end", workers)
    finally:
        workers.stop_all()
        redis.stop()
    stall = longest_pause(run, since=stopped)
    print(f"\nRedis restart ({'AOF' if aof else 'no persistence'}): longest pause between chunks {stall:.1f} s")
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert stall <= RECOVERY_LIMIT_SECONDS, workers.logs()
    log = (tmp_path / "worker-0.log").read_text()
    # The outage, said once when it starts and once when it ends, instead of every 3 s per queue.
    assert log.count("the message broker is unreachable") == 1, log[-4000:]
    assert log.count("the message broker is reachable again after") == 1, log[-4000:]
    assert "Consumer encountered a connection error" not in log and "Restarting consumer" not in log


def test_a_chunk_over_its_time_limit_fails_its_run_saying_so(settings, tmp_path):
    """A real worker, a 0.1 s time limit (Dramatiq checks once a second), a 200,000-event chunk: the error says so."""
    workers = Workers(tmp_path)
    try:
        workers.start(
            threads=1, default_settings=True, env={"SEED_CHUNK_TIME_LIMIT_MS": "100", "SEED_CHUNK_MAX_ATTEMPTS": "2"}
        )
        workers.wait_ready(1)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(assets=2_000, events=200_000, seed=3, as_of=AS_OF, chunk_size=200_000)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_until(lambda: not SeedRun.objects.get(pk=run.pk).is_active, 120, "the run to end", workers)
    finally:
        workers.stop_all()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED, (run.status, workers.logs())
    assert run.error == "events chunk 0 failed 2 times (time limit); committed chunks are kept"
    assert "SEED_CHUNK_TIME_LIMIT_MS (0.1 s)" in run.error_detail
    assert counts()["events"] == 0 and counts()["assets"] == 2_000  # the committed chunk is kept


def test_many_copies_of_a_chunk_message_across_worker_processes_burn_no_attempts(settings, tmp_path):
    """12 copies of one chunk message (as redeliveries and re-sends make them) to 2 processes x 4 threads."""
    workers = Workers(tmp_path)
    try:
        for _ in range(2):
            workers.start(threads=4, default_settings=True)
        workers.wait_ready(2)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(**PLAN, seed=5, as_of=AS_OF, chunk_size=10_000)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_until(lambda: SeedRun.objects.get(pk=run.pk).events_done > 0, 90, "the events phase", workers)
        last = list(chunks_of("events", PLAN["events"], 10_000))[-1]
        queue.send_chunks(run.pk, [last] * 12)
        wait_until(lambda: not SeedRun.objects.get(pk=run.pk).is_active, 120, "the run to end", workers)
    finally:
        workers.stop_all()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert SeedChunkAttempt.objects.get(run=run, kind="events", index=last.index).attempts == 1
    assert SeedChunkAttempt.objects.filter(run=run, attempts__gt=1).count() == 0
    stood_down = workers.logs().count("this copy stands down")
    print(f"\n{stood_down} of 12 copies found the chunk being written and stood down; the others found it written")
