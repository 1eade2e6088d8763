"""An inline run (the command) on one host, seen from another: not taken for abandoned there.

A process can tell that an inline run's writer died only when it shares the writer's kernel and PID
namespace (``common.process_identity``); from another host it cannot tell, and the time threshold
(SEED_ABANDONED_AFTER_SECONDS) decides. Each host here has a PID namespace of its own, so a process on
host 2 does not see host 1's processes, exactly as on another machine.
"""

from __future__ import annotations

import os
import signal

import pytest

from seeding.models import SeedRun
from tests.support.paths import MANAGE
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.hosts, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LONG = ["--applications", "40", "--assets", "20000", "--deployments", "30000", "--events", "2000000"]
SMALL = ["--applications", "2", "--assets", "10", "--deployments", "2", "--events", "10"]


def test_an_inline_run_on_one_host_is_not_taken_for_abandoned_by_a_process_on_another(on_hosts):
    writer = on_hosts.start("inline-writer", 1, [*MANAGE, "seed_demo_data", "--sync", *LONG])

    def running() -> SeedRun | None:
        return SeedRun.objects.filter(status=SeedRun.Status.RUNNING, assets_done__gt=0).first()

    run = wait_until(running, timeout=60, interval=0.2, message=lambda: on_hosts.log("inline-writer"))
    assert run.writer_process.startswith("ds-host-1:")

    # Host 2 asks for a run while host 1 writes: refused, and host 1's run is left alone.
    refused = on_hosts.manage(2, "seed_demo_data", "--sync", *SMALL)
    assert refused.returncode == 1 and f"seed run #{run.pk} is running" in refused.stdout, refused.stdout
    run.refresh_from_db()
    assert run.status == SeedRun.Status.RUNNING and writer.poll() is None

    # Host 1's writer dies. Host 2 still cannot tell (another machine's process) and keeps waiting ...
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    refused = on_hosts.manage(2, "seed_demo_data", "--sync", *SMALL)
    assert refused.returncode == 1 and f"seed run #{run.pk} is running" in refused.stdout, refused.stdout
    # ... while a process on host 1 itself knows at once that the writer is gone, and goes ahead.
    started = on_hosts.manage(1, "seed_demo_data", "--sync", *SMALL)
    assert started.returncode == 0, started.stdout
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED and "is gone" in run.error_detail, (run.error, run.error_detail)
