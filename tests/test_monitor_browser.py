"""The monitor as a person sees it: the real Streamlit server (started as ``make monitor`` starts it)
in headless Chromium, while a real worker writes a queued run on PostgreSQL and Redis. The
overview's progress must move between two screenshots; both are kept in test-artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from seeding import services
from seeding.models import SeedRun
from seeding.plan import SeedPlan
from tests.support.browser import ARTIFACTS, CHROMIUM_FLAGS, chromium_path
from tests.support.data import counts
from tests.support.databases import database_url
from tests.support.paths import REPO
from tests.support.plans import AS_OF
from tests.support.ports import free_port, http_body
from tests.support.processes import Workers
from tests.support.runs import finished, wait_for
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

PLAN = {"applications": 100, "assets": 10_000, "deployments": 20_000, "events": 600_000}
PROGRESS = re.compile(r"([\d,]+) of ([\d,]+) rows")


def start_monitor(port: int, log: Path, redis_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url}
    env.pop("MONITOR_PASSWORD", None)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "monitor/streamlit_app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--client.toolbarMode", "minimal"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(
            lambda: http_body(f"http://127.0.0.1:{port}/_stcore/health") is not None,
            timeout=60,
            interval=0.3,
            message=lambda: f"the monitor's health check\n{log.read_text()[-3000:]}",
        )
    except AssertionError:
        process.kill()
        raise
    return process


def shown_progress(page) -> tuple[int, int]:
    match = PROGRESS.search(page.locator("[data-testid='stMain']").inner_text())
    assert match, "no run progress on the overview"
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def test_the_overview_shows_a_queued_runs_progress_moving(settings, tmp_path):
    settings.SEED_INLINE_THRESHOLD = 0
    workers = Workers(tmp_path)
    workers.start(threads=1)
    monitor = start_monitor(port := free_port(), tmp_path / "monitor.log", settings.REDIS_URL)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        workers.wait_ready(1)
        run = services.seed_request(
            plan=SeedPlan(**PLAN, seed=9, as_of=AS_OF, chunk_size=10_000), source=SeedRun.Source.API
        ).run
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # A freshly started monitor opened straight on another page than the overview
            # (a bookmark) still runs through the app's navigation and setup.
            page.goto(f"http://127.0.0.1:{port}/workers")
            page.get_by_role("heading", name="Workers and queue").wait_for(timeout=60_000)
            page.get_by_text("Worker processes", exact=True).wait_for()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text(PROGRESS).first.wait_for(timeout=60_000)
            first = shown_progress(page)
            page.screenshot(path=str(ARTIFACTS / "monitor-run-1.png"), full_page=True)
            second = wait_until(  # the live fragment refreshes every 2 s
                lambda: (shown := shown_progress(page))[0] != first[0] and shown,
                timeout=60,
                interval=0.5,
                message=f"the overview's progress to move from {first[0]:,} rows",
            )
            page.screenshot(path=str(ARTIFACTS / "monitor-run-2.png"), full_page=True)
            browser.close()
        assert first[1] == second[1] == sum(PLAN.values())
        assert first[0] < second[0], (first, second)
        wait_for(run, finished, workers, timeout=120)
        assert SeedRun.objects.get(pk=run.pk).status == SeedRun.Status.SUCCEEDED, workers.logs()
        assert counts() == PLAN
    finally:
        workers.stop_all()
        monitor.terminate()
        monitor.wait(timeout=15)
    assert "Traceback" not in (tmp_path / "monitor.log").read_text()
