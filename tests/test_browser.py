"""A person in a real browser: log in, open "Seed demo data", submit a queued plan,
and watch the run page until it says succeeded. Headless Chromium (Debian's, since
Playwright's own browser download is not available here) driven by Playwright,
against the live test server and a real worker. The screenshot is kept in
test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from seeding.models import SeedRun
from tests.support.browser import ARTIFACTS, CHROMIUM_FLAGS, chromium_path
from tests.support.data import counts
from tests.support.processes import Workers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_seed_a_queued_plan_from_the_admin_and_watch_it_succeed(live_server, settings, django_user_model, tmp_path):
    settings.SEED_INLINE_THRESHOLD = 1_000
    settings.SEED_CHUNK_SIZE = 2_000
    django_user_model.objects.create_superuser("admin", "admin@example.com", "a-long-test-password")
    workers = Workers(tmp_path)
    workers.start(threads=2)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/admin/login/?next=/admin/seeding/seedrun/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "a-long-test-password")
            page.click("input[type=submit]")
            page.click("text=Seed demo data")
            expect(page.locator("h1")).to_have_text("Seed demo data")
            for field, value in {"applications": 50, "assets": 2_000, "deployments": 3_000, "events": 30_000}.items():
                page.fill(f"#id_{field}", str(value))
            page.click("input[name=_seed]")
            expect(page.locator(".messagelist")).to_contain_text("is queued")
            # The run page refreshes itself every 2 s while the run is active.
            expect(page.locator("#run-status")).to_have_text("succeeded", timeout=90_000)
            page.screenshot(path=str(ARTIFACTS / "seed-run-succeeded.png"), full_page=True)
            browser.close()
    finally:
        workers.stop_all()
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.SUCCEEDED and run.source == SeedRun.Source.ADMIN
    assert run.executor == SeedRun.Executor.WORKERS
    assert counts() == {"applications": 50, "assets": 2_000, "deployments": 3_000, "events": 30_000}
