"""Workers on separate hosts: three network and UTS namespaces (scripts/hosts.py), each with its own
address and hostname, reaching PostgreSQL and Redis over a bridge. `make test-hosts` runs these (root,
iproute2 and socat); the PostgreSQL pass of `make test` deselects them.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings

from inventory.models import Event
from scripts.hosts import SERVICES_ADDRESS, Hosts
from seeding import services
from seeding.messaging.broker_state import broker_state
from seeding.models import SeedChunk, SeedRun
from seeding.plan import SeedPlan
from tests.support.data import counts
from tests.support.databases import database_url
from tests.support.paths import REPO
from tests.support.plans import AS_OF
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.hosts, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"applications": 40, "assets": 4_000, "deployments": 6_000, "events": 120_000}
HOSTNAMES = {"ds-host-1", "ds-host-2", "ds-host-3"}


def over_the_bridge(url: str) -> str:
    """``url`` with its host the bridge's address, where the hosts reach the servers."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}{SERVICES_ADDRESS}:{parts.port}"))


@pytest.fixture
def host_logs(tmp_path):
    """Three hosts, each running a worker, all ready; yields what their workers logged (a callable)."""
    with Hosts(3) as made:
        env = {
            **os.environ,
            "DATABASE_URL": over_the_bridge(database_url()),
            "REDIS_URL": over_the_bridge(django_settings.REDIS_URL),
            "SEED_STALL_AFTER_SECONDS": "3",
            "SEED_SWEEP_INTERVAL_SECONDS": "0.5",
        }
        for number in (1, 2, 3):
            made.run(
                number,
                [sys.executable, "backend/manage.py", "rundramatiq", "--processes", "1", "--threads", "2",
                 "--worker-shutdown-timeout", "3000"],
                env=env,
                log=open(tmp_path / f"host-{number}.log", "w"),  # noqa: SIM115 (closed with the process)
                cwd=REPO,
            )  # fmt: skip

        def logs() -> str:
            return "\n".join((tmp_path / f"host-{n}.log").read_text()[-3000:] for n in (1, 2, 3))

        wait_until(
            lambda: logs().count("Worker process is ready for action.") >= 3,
            timeout=60,
            interval=0.2,
            message=lambda: f"three hosts' workers ready\n{logs()}",
        )
        yield logs


def test_three_hosts_share_one_plan_with_exact_counts_and_are_named_where_people_look(host_logs, settings):
    settings.SEED_INLINE_THRESHOLD = 0
    plan = SeedPlan(**PLAN, seed=5, as_of=AS_OF, chunk_size=2_000)
    outcome = services.seed_request(plan=plan, source=SeedRun.Source.API)
    run = outcome.run

    def finished() -> bool:
        run.refresh_from_db()
        return not run.is_active

    wait_until(finished, timeout=180, interval=0.5, message=lambda: f"{run} to finish\n{host_logs()}")
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    writers = set(SeedChunk.objects.filter(run=run).values_list("written_by", flat=True))
    assert {writer.split(":")[0] for writer in writers} == HOSTNAMES  # the run's chunk table names them
    # The monitor's Workers page reads the broker's processes: one per host, by its own name.
    named = {process.process.split(":")[0] for process in broker_state().processes if process.alive}
    assert named >= HOSTNAMES, named
