"""What the fault tests (tests/test_faults.py, tests/test_fault_kills.py) share: the plan a fault
interrupts, how long recovery may take with the default settings, and how the cost is measured
(the longest stretch without a chunk commit)."""

from __future__ import annotations

import itertools
from datetime import datetime

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from seeding import services
from seeding.messaging import queue
from seeding.models import SeedChunk, SeedRun
from seeding.plan import SeedPlan
from tests.support.plans import AS_OF

FAULT_PLAN = {"applications": 40, "assets": 4_000, "deployments": 6_000, "events": 400_000}
#: With the default settings, no single fault may cost more than this.
RECOVERY_LIMIT_SECONDS = 30


def queue_through(redis_url: str, settings) -> SeedRun:
    """Create a worker run of FAULT_PLAN and send its start message through ``redis_url`` (the workers' broker)."""
    run = services.seed_run_create(
        plan=SeedPlan(**FAULT_PLAN, seed=11, as_of=AS_OF, chunk_size=10_000), executor=SeedRun.Executor.WORKERS
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
    return longest_pause_in(times)


def longest_pause_in(times: list[datetime]) -> float:
    return max(((later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)), default=0.0)
