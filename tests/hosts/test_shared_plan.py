"""Three worker hosts share one queued plan: exact counts, and each host named where people look."""

from __future__ import annotations

import pytest

from inventory.models import Event
from seeding import services
from seeding.messaging.broker_state import broker_state
from seeding.models import SeedChunk, SeedRun
from seeding.plan import SeedPlan
from tests.support.data import counts
from tests.support.plans import AS_OF
from tests.support.runs import finished, wait_for

pytestmark = [pytest.mark.hosts, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"applications": 40, "assets": 4_000, "deployments": 6_000, "events": 120_000}
HOSTNAMES = {"ds-host-1", "ds-host-2", "ds-host-3"}


def test_three_hosts_share_one_plan_with_exact_counts_and_are_named_where_people_look(host_workers, settings):
    settings.SEED_INLINE_THRESHOLD = 0
    plan = SeedPlan(**PLAN, seed=5, as_of=AS_OF, chunk_size=2_000)
    run = services.seed_request(plan=plan, source=SeedRun.Source.API).run

    wait_for(run, finished, host_workers, timeout=180)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    writers = set(SeedChunk.objects.filter(run=run).values_list("written_by", flat=True))
    assert {writer.split(":")[0] for writer in writers} == HOSTNAMES  # the run's chunk table names them
    # The monitor's Workers page reads the broker's processes: one per host, by its own name.
    named = {process.process.split(":")[0] for process in broker_state().processes if process.alive}
    assert named >= HOSTNAMES, named
