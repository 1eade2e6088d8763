"""Photograph every page of the monitor during a queued run and after it, as a viewer at 1440 px sees it.

    python scripts/monitor_screenshots.py [OUT]      (default OUT: var/screenshots/monitor/)

Everything runs in a scratch SQLite database of its own (var/screenshots/monitor.sqlite3)
with no Redis: the demo plan is seeded twice through the command, a clear and a
reseed in the same minute as ``make demo`` twice does, then a web process
(runserver) takes a queued plan through the JSON API and its embedded worker
writes it while the monitor is photographed. SQLite and the embedded worker
because that is what a fresh clone's ``make demo`` and ``make serve`` give, and it
needs nothing but the venv and Chromium, so anyone can run it; the run is large
enough (4 million events) to be caught halfway (queued SQLite runs defer their indexes, so they are quick).

Each page is taken whole (the viewport is stretched to the page's height) into
``<page>-during.png`` and ``<page>-after.png``; ``readme-overview.png`` is the
Overview after the run at 1440x900, for the README. The script fails if a page
shows "None", a negative count or a skeleton box it did not replace.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from api_session import ApiSession  # scripts/ is this script's import path
from common import CHROMIUM_FLAGS, MANAGE, PLANS, REPO
from photographing import chromium_path, scratch_env, streamlit_command
from processes import free_port, process, wait_for_port

SCRATCH = REPO / "var" / "screenshots"
AS_OF = "2026-11-01T12:00:00Z"
USER, PASSWORD = "viewer", "monitor-screenshots"
DEMO_PLAN = PLANS["demo"]
#: Stacked onto the demo data and queued (over SEED_INLINE_THRESHOLD), so the embedded worker writes it.
QUEUED_PLAN = {"applications": 500, "assets": 20_000, "deployments": 40_000, "events": 4_000_000}
PAGES = {"overview": "", "runs": "runs", "workers": "workers", "estate": "estate"}
WIDTH = 1440
NEGATIVE = re.compile(r"(?<![\w.:-])-\d[\d,]*(?![\w:])")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([*MANAGE, *args], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def photograph(page, base: str, name: str, path: str, target: Path) -> list[str]:
    """Open a monitor page, wait until it has drawn, take it whole; returns what looks wrong on it
    (a chart Vega could not draw leaves only its grid, and says so on the console)."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.text.startswith("ERROR"):  # Vega's own errors; a missing favicon and the like are not
            errors.append(message.text)

    page.on("console", on_console)
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"{base}/{path}")
    main = page.locator("[data-testid='stMain']")
    main.get_by_role("heading").first.wait_for(timeout=60_000)
    page.wait_for_function(  # every element drawn and every chart rendered, or 20 s
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]') && [...document.querySelectorAll("
        "'[data-testid=\"stVegaLiteChart\"]')].every(c => c.querySelector('svg, canvas'))",
        timeout=20_000,
    )
    page.wait_for_timeout(1_500)  # charts finish their layout
    height = page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], [data-testid="stMain"] > *\')]'
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": WIDTH, "height": max(900, height + 40)})
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(target))
    text = main.inner_text()
    problems = [f"{name}: shows 'None'" for _ in [0] if re.search(r"\bNone\b", text)]
    problems += [f"{name}: shows a negative number {match!r}" for match in NEGATIVE.findall(text)]
    if page.locator("[data-testid='stSkeleton']").count():
        problems.append(f"{name}: still shows skeleton boxes")
    overflowing = page.evaluate(
        "() => [...document.querySelectorAll('.dvn-scroller')].filter(s => s.scrollWidth > s.clientWidth + 1).length"
    )
    if overflowing:
        problems.append(f"{name}: {overflowing} table(s) wider than the page")
    page.remove_listener("console", on_console)
    problems += [f"{name}: the browser says {error[:200]!r}" for error in errors]
    return problems


def run_status(client: ApiSession, run_id: int) -> dict:
    return client.call("GET", f"/api/v1/admin/seed-runs/{run_id}")[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default=str(REPO / "var" / "screenshots" / "monitor"), help="PNGs go here")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = chromium_path()
    env = scratch_env(SCRATCH / "monitor.sqlite3", PASSWORD)
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "createsuperuser", "--noinput", "--username", USER, "--email", "viewer@example.com")
    print("seeding the demo plan twice, as `make demo` twice does ...", flush=True)
    counts = ["--plan=demo"]
    for _ in range(2):
        manage(env, "seed_demo_data", "--sync", "--clear", *counts, "--seed", "1", "--as-of", AS_OF)

    web_port, monitor_port = free_port(), free_port()
    web, monitor = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{monitor_port}"
    streamlit = streamlit_command(monitor_port)
    problems: list[str] = []
    with (
        process([*MANAGE, "runserver", "--noreload", f"127.0.0.1:{web_port}"], env, SCRATCH / "monitor-web.log"),
        process(streamlit, {**env, "MONITOR_ADMIN_URL": f"{web}/admin/"}, SCRATCH / "monitor-streamlit.log"),
    ):
        wait_for_port(web_port)
        wait_for_port(monitor_port, timeout=60)
        client = ApiSession(web)
        client.login(USER, PASSWORD)  # the first request also starts the embedded worker
        status, body, _ = client.call("POST", "/api/v1/admin/seed-demo-data", {**QUEUED_PLAN, "seed": 2})
        if status != 202:
            raise SystemExit(f"the queued plan was not queued ({status}): {body}")
        run_id = body["run_id"]
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            deadline = time.monotonic() + 120
            while run_status(client, run_id)["total_done"] < sum(QUEUED_PLAN.values()) // 10:
                if time.monotonic() > deadline:
                    raise SystemExit("the queued run did not get going within two minutes")
                time.sleep(0.3)
            print(f"run #{run_id} under way: photographing ...", flush=True)
            for name, path in PAGES.items():
                problems += photograph(page, monitor, name, path, out / f"{name}-during.png")
            if run_status(client, run_id)["status"] not in ("queued", "running"):
                problems.append("the run ended before every page was taken during it: raise QUEUED_PLAN")
            while (run := run_status(client, run_id))["status"] in ("queued", "running"):
                time.sleep(0.5)
            if run["status"] != "succeeded":
                raise SystemExit(f"run #{run_id} ended {run['status']}: {run['error']}")
            print(f"run #{run_id} succeeded: photographing ...", flush=True)
            for name, path in PAGES.items():
                problems += photograph(page, monitor, name, path, out / f"{name}-after.png")
            page.set_viewport_size({"width": WIDTH, "height": 900})
            page.goto(monitor)
            page.get_by_text("Seeded rows over time").wait_for(timeout=60_000)
            page.wait_for_timeout(2_500)
            page.screenshot(path=str(out / "readme-overview.png"))
            browser.close()
    for png in sorted(out.glob("*.png")):
        print(f"wrote {png.relative_to(REPO) if png.is_relative_to(REPO) else png}")
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
