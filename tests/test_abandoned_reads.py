"""An inline run whose process was SIGKILLed is shown failed (abandoned) by whoever reads it next.

No one has to start, resume or clear a run first: the status URL, demo-data-stats
the admin's run pages and the monitor's queries call ``services.seed_runs_settle``
first, which sees the dead writer (same host, pid gone) and fails the run through
``recover_abandoned_runs``. Runs on both passes: the command
process writes the test's own database (an SQLite file or PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitor import queries
from seeding.common.process_identity import this_process
from seeding.models import SeedRun
from tests.support.api import STATS_URL, logged_in_client, make_user
from tests.support.databases import own_database_url
from tests.support.paths import REPO
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def killed_inline_run() -> SeedRun:
    """A real `seed_demo_data` process, SIGKILLed while its inline run is writing."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["DATABASE_URL"] = own_database_url()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "backend" / "manage.py"), "seed_demo_data", "--assets=2000",
         "--events=2000000", "--chunk-size=2000", "--as-of=2026-11-01"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def writing() -> bool:
            assert process.poll() is None, process.communicate()
            return SeedRun.objects.filter(status=SeedRun.Status.RUNNING, events_done__gt=0).exists()

        wait_until(writing, timeout=60, interval=0.05, message="the command's run to write its first events")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    run = SeedRun.objects.get()
    assert run.is_active and run.executor == SeedRun.Executor.INLINE and run.status == SeedRun.Status.RUNNING
    return run


@pytest.fixture
def viewer_api(django_user_model) -> Client:
    """Staff who may look at runs only: reading is enough to settle a dead writer's run."""
    return logged_in_client(make_user(django_user_model, "viewer", staff=True, perms=("view_seedrun",)))


def assert_abandoned(body: dict) -> None:
    assert body["status"] == SeedRun.Status.FAILED
    assert body["error"].startswith("abandoned: the process writing it stopped")


@pytest.mark.slow
def test_the_status_url_shows_a_killed_inline_run_failed(killed_inline_run, viewer_api):
    response = viewer_api.get(f"/api/v1/admin/seed-runs/{killed_inline_run.pk}")
    assert response.status_code == 200
    assert_abandoned(response.json())
    run = SeedRun.objects.get(pk=killed_inline_run.pk)
    assert not run.is_active and run.status == SeedRun.Status.FAILED


@pytest.mark.slow
def test_demo_data_stats_show_no_active_run_and_the_killed_one_failed(killed_inline_run, viewer_api):
    body = viewer_api.get(STATS_URL).json()
    assert body["active_run"] is None
    assert_abandoned(body["recent_runs"][0])


@pytest.mark.slow
def test_the_monitor_shows_a_killed_inline_run_failed(killed_inline_run):
    assert queries.active_run() is None
    assert_abandoned(queries.run(killed_inline_run.pk))


def test_reading_a_live_inline_run_writes_nothing(viewer_api):
    """A run whose writer is alive (this process) is read as it is: a read writes only for a dead writer."""
    run = SeedRun.objects.create(
        status=SeedRun.Status.RUNNING, is_active=True, executor=SeedRun.Executor.INLINE, events=10,
        writer_process=this_process(), seed=1, as_of="2026-11-01T00:00:00Z", chunk_size=10,
    )  # fmt: skip
    before = run.updated_at
    assert viewer_api.get(f"/api/v1/admin/seed-runs/{run.pk}").json()["status"] == SeedRun.Status.RUNNING
    assert SeedRun.objects.get(pk=run.pk).updated_at == before


def test_a_silent_inline_run_of_another_host_is_shown_failed_past_the_abandon_threshold(viewer_api, settings):
    """Where the writer cannot be checked (another machine), readers use the same silence rule as the actions."""
    run = SeedRun.objects.create(
        status=SeedRun.Status.RUNNING, is_active=True, executor=SeedRun.Executor.INLINE, events=10, seed=1,
        writer_process="elsewhere:4242:boot:ns:123", as_of="2026-11-01T00:00:00Z", chunk_size=10,
    )  # fmt: skip
    assert viewer_api.get(f"/api/v1/admin/seed-runs/{run.pk}").json()["status"] == SeedRun.Status.RUNNING
    SeedRun.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.SEED_ABANDONED_AFTER_SECONDS + 1)
    )
    assert_abandoned(viewer_api.get(f"/api/v1/admin/seed-runs/{run.pk}").json())


@pytest.mark.slow
def test_the_admins_run_pages_show_a_killed_inline_run_failed(killed_inline_run, admin_client):
    page = admin_client.get(reverse("admin:seeding_seedrun_change", args=[killed_inline_run.pk]))
    assert page.status_code == 200
    assert SeedRun.objects.get(pk=killed_inline_run.pk).status == SeedRun.Status.FAILED
    assert "abandoned: the process writing it stopped" in page.content.decode()
