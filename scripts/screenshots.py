"""Seed the demo plan into a scratch database and photograph the admin as a viewer sees it.

``make screenshots`` writes PNGs under docs/screenshots/ (the README shows them):
the asset list, one server with its deployments and latest events, the event
list, the incidents, one incident with its story, and the applications. The data is reproducible (fixed seed
and base time), so the pictures change only when the data or the pages do.
Needs Chromium (``apt-get install chromium``); nothing else but the venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]
AS_OF = "2026-11-01T12:00:00Z"
USER, PASSWORD = "viewer", "demo-screenshots"
#: The plan `make demo` seeds (seeding.plan.DEMO_PLAN).
DEMO_PLAN = {"applications": 500, "assets": 5_000, "deployments": 10_000, "events": 100_000}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start on port {port}")


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([*MANAGE, *args], env=env, check=True, capture_output=True, text=True).stdout


def prepare(env: dict[str, str]) -> tuple[str, str]:
    """Migrate, seed the demo plan and create the viewer; returns the ids of a busy server and of an
    incident that is part of a story."""
    manage(env, "migrate", "--verbosity", "0")
    print("seeding the demo plan ...", flush=True)
    counts = [f"--{kind}={count}" for kind, count in DEMO_PLAN.items()]
    manage(env, "seed_demo_data", "--sync", *counts, "--seed", "1", "--as-of", AS_OF)
    manage(env, "createsuperuser", "--noinput", "--username", USER, "--email", "viewer@example.com")
    pick = (
        "from django.db.models import Count\n"
        "from inventory.models import Asset\n"
        "asset = (Asset.objects.filter(asset_type='server', lifecycle_status='in_use')"
        ".annotate(d=Count('deployments', distinct=True), e=Count('events', distinct=True))"
        ".filter(d__gte=3).order_by('-e', 'pk').first())\n"
        "from inventory.models import Event\n"
        "incident = Event.objects.filter(kind='incident', message__regex=r'^INC[1-9][0-9]{6}: ').order_by('pk')[3]\n"
        "print(asset.pk, incident.pk)"
    )
    asset_id, incident_id = manage(env, "shell", "--command", pick).strip().splitlines()[-1].split()
    return asset_id, incident_id


def photograph(base: str, asset_id: str, incident_id: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    pages = {
        "assets.png": "/admin/inventory/asset/",
        "asset.png": f"/admin/inventory/asset/{asset_id}/change/",
        "events.png": "/admin/inventory/event/",
        "incidents.png": "/admin/inventory/event/?kind__exact=incident",
        "incident.png": f"/admin/inventory/event/{incident_id}/change/",
        "applications.png": "/admin/inventory/application/",
    }
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1680, "height": 1000})
        # The admin's navigation sidebar closed, as a viewer would once the page is familiar.
        page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", USER)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        for name, path in pages.items():
            page.goto(base + path)
            target = out / name
            page.screenshot(path=str(target), full_page=name in ("asset.png", "incident.png"))
            written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"), help="where the PNGs go")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = REPO / "var" / "screenshots"
    scratch.mkdir(parents=True, exist_ok=True)
    database = scratch / "demo.sqlite3"
    for leftover in scratch.glob("demo.sqlite3*"):
        leftover.unlink()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "SEED_EMBEDDED_WORKER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    asset_id, incident_id = prepare(env)
    port = free_port()
    server = subprocess.Popen(
        [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        for path in photograph(f"http://127.0.0.1:{port}", asset_id, incident_id, out):
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
