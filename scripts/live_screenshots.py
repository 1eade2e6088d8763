"""Photograph live streams as a viewer sees them: the admin's Live stream page, event list and deployments
deploying (releases rolling out), and the monitor's Overview, during a stream of each scenario pack (steady,
incident-storm, patch-wave, quiet-weekend, datacenter-migration).

    python scripts/live_screenshots.py [OUT]      (default OUT: var/screenshots/live/)

A scratch SQLite database of its own (var/screenshots/live.sqlite3) with no Redis, as a fresh clone's
``make demo`` and ``make serve`` give: the demo plan seeded up to now, a web process (runserver) and the
monitor. Each pack's stream (10 events a second for an hour) is written by ``seed_demo_data --live`` in a
process of its own, started as if twenty minutes ago (it catches up at once, then keeps time), so that
each is photographed where its pack is most telling: in the storm, in the maintenance window. The admin
pages are taken at 1440 px with the navigation sidebar open, and for steady at 1280 and 1920 px and with
the sidebar closed too; the monitor at 1440 px. Each pack's Live stream page and monitor also go to
docs/screenshots/live/ (``<pack>-admin.png``, ``<pack>-monitor.png``, and where a pack's story shows best:
the migration waves' events for datacenter-migration); ``live-stream.png`` and ``monitor-live.png`` (the
incident storm) are the README's. Needs Chromium (``apt-get install chromium``); nothing else but the venv.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from api_session import ApiSession  # scripts/ is this script's import path
from common import CHROMIUM_FLAGS, MANAGE, REPO
from photographing import admin_page, chromium_path, scratch_env, streamlit_command
from processes import free_port, process, wait_for_port

SCRATCH = REPO / "var" / "screenshots"
USER, PASSWORD = "viewer", "live-screenshots"
WIDTHS, README_WIDTH, HEIGHT = (1280, 1440, 1920), 1440, 1000
PACKS = ("steady", "incident-storm", "patch-wave", "quiet-weekend", "datacenter-migration")
ADMIN_PAGES = {
    "live-stream": "/admin/seeding/seedrun/live/",
    "events": "/admin/inventory/event/",
    # Releases rolling out: the hosts a wave has not yet brought up are deploying its version.
    "deploying": "/admin/inventory/deployment/?status__exact=deploying",
}
#: What a pack's own page is: where its story shows best (its Live stream page besides).
PACK_PAGES = {"datacenter-migration": {"moving": "/admin/inventory/event/?q=to+Amsterdam"}}
#: A stream of an hour at 10 events a second, begun this long ago: 0.33 of its window, in every pack's
#: most telling phase.
BEGUN_MINUTES = 20
STREAM = """
from datetime import timedelta
from django.utils import timezone
from seeding import services
from seeding.models import SeedRun
services.live_stream_request(rate=10, duration=3600, seed=3, scenario="{pack}", source=SeedRun.Source.COMMAND,
    here=True, start=timezone.now() - timedelta(minutes={minutes}))
"""


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([*MANAGE, *args], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default=str(SCRATCH / "live"), help="PNGs go here")
    parser.add_argument("--readme", default=str(REPO / "docs" / "screenshots"), help="the README's pictures")
    args = parser.parse_args(argv)
    out, readme = Path(args.out), Path(args.readme)
    out.mkdir(parents=True, exist_ok=True)
    (readme / "live").mkdir(parents=True, exist_ok=True)
    chromium = chromium_path()
    env = scratch_env(SCRATCH / "live.sqlite3", PASSWORD)
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "createsuperuser", "--noinput", "--username", USER, "--email", "viewer@example.com")
    print("seeding the demo plan up to now ...", flush=True)
    manage(env, "seed_demo_data", "--sync", "--plan=demo", "--seed", "1")
    web_port, monitor_port = free_port(), free_port()
    web, monitor = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{monitor_port}"
    streamlit = streamlit_command(monitor_port)
    written = []
    with (
        process([*MANAGE, "runserver", "--noreload", f"127.0.0.1:{web_port}"], env, SCRATCH / "live-web.log"),
        process(streamlit, {**env, "MONITOR_ADMIN_URL": f"{web}/admin/"}, SCRATCH / "live-streamlit.log"),
    ):
        wait_for_port(web_port)
        wait_for_port(monitor_port, timeout=60)
        client = ApiSession(web)
        client.login(USER, PASSWORD)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            for pack in PACKS:
                code = STREAM.format(pack=pack, minutes=BEGUN_MINUTES)
                writer_env = {**env, "SEED_LIVE_MAX_LAG_SECONDS": str(BEGUN_MINUTES * 60 + 120)}
                with process([*MANAGE, "shell", "-c", code], writer_env, SCRATCH / f"live-{pack}.log"):
                    caught_up(client)
                    time.sleep(5)  # a few seconds of it live
                    written += photograph(browser, web, monitor, out, pack, readme)
                    client.call("POST", "/api/v1/admin/live-stream/stop")
            browser.close()
    for png in written:
        print(f"wrote {png.relative_to(REPO) if png.is_relative_to(REPO) else png}")
    return 0


def caught_up(client: ApiSession, timeout: float = 120) -> None:
    """Until the running stream is less than two seconds behind the clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stream = client.call("GET", "/api/v1/admin/live-stream")[1]["stream"]
        lag = stream["live"]["lag_seconds"] if stream and stream["status"] == "running" else None
        if lag is not None and lag < 2:
            return
        time.sleep(0.5)
    raise SystemExit("the stream did not catch up within two minutes")


def photograph(browser, web: str, monitor: str, out: Path, pack: str, readme: Path) -> list[Path]:
    written = []
    for sidebar_open in (True, False) if pack == "steady" else (True,):
        page = admin_page(browser, web, USER, PASSWORD, sidebar_open=sidebar_open, width=README_WIDTH, height=HEIGHT)
        state = "open" if sidebar_open else "closed"
        for width in WIDTHS if pack == "steady" and sidebar_open else (README_WIDTH,):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            for name, path in {**ADMIN_PAGES, **PACK_PAGES.get(pack, {})}.items():
                page.goto(web + path)
                target = out / f"{pack}-{name}-{width}-{state}.png"
                page.screenshot(path=str(target))
                written.append(target)
                if name in PACK_PAGES.get(pack, {}) and width == README_WIDTH:
                    shutil.copy(target, readme / "live" / f"{pack}-{name}.png")
                if name == "live-stream" and width == README_WIDTH and sidebar_open:
                    shutil.copy(target, readme / "live" / f"{pack}-admin.png")
                    if pack == "incident-storm":
                        shutil.copy(target, readme / "live-stream.png")
        page.context.close()
    page = browser.new_page(viewport={"width": README_WIDTH, "height": 900})
    page.goto(monitor)
    page.get_by_text("Live stream #").wait_for(timeout=60_000)
    page.wait_for_timeout(3_000)
    target = out / f"{pack}-monitor-1440.png"
    page.screenshot(path=str(target), full_page=True)
    written.append(target)
    shutil.copy(target, readme / "live" / f"{pack}-monitor.png")
    if pack == "incident-storm":
        shutil.copy(target, readme / "monitor-live.png")
    page.close()
    return written


if __name__ == "__main__":
    sys.exit(main())
