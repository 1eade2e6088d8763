"""Seed the demo plan into a scratch database and photograph the admin as a viewer sees it.

``make screenshots`` does two things. It photographs every admin list and page (the inventory's
applications, assets, deployments, events and people, an incident and its story, one a person reported, a
change wave; the seed runs, a run's page, the seed form, the audit entries and one of them) at
1280, 1440 and 1920 px with Django's
navigation sidebar open, its default, and the lists with it closed too, into var/screenshots/admin/
(``--out``), for a person to look at every width. And it re-takes the README's pictures in
docs/screenshots/ (``--readme``) at 1440 px with the sidebar open: what most people see first.
The data is reproducible (fixed seed and base time), so the pictures change only when the data or
the pages do. Needs Chromium (``apt-get install chromium``); nothing else but the venv.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from common import CHROMIUM_FLAGS, MANAGE, PLANS, REPO  # scripts/ is this script's import path
from photographing import admin_page, chromium_path
from processes import free_port, wait_for_port

AS_OF = "2026-11-01T12:00:00Z"
USER, PASSWORD = "viewer", "demo-screenshots"
#: The plan `make demo` seeds.
DEMO_PLAN = PLANS["demo"]
#: The widths people use, and the one the README's pictures are taken at.
WIDTHS = (1280, 1440, 1920)
README_WIDTH = 1440
HEIGHT = 1000


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*MANAGE, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, seed the demo plan and create the viewer; returns the ids of the rows whose pages are
    photographed: a busy server, an application's incident (its story from the first alert), a
    laptop's incident a person reported, a change wave's approval, a deployment, an application, the
    run and its audit entry; and a person with two devices (the directory's page) and the team owning
    most servers."""
    manage(env, "migrate", "--verbosity", "0")
    print("seeding the demo plan ...", flush=True)
    counts = ["--plan=demo"]
    manage(env, "seed_demo_data", "--sync", *counts, "--seed", "1", "--as-of", AS_OF)
    manage(env, "createsuperuser", "--noinput", "--username", USER, "--email", "viewer@example.com")
    pick = (
        "from django.db.models import Count\n"
        "from inventory.models import Application, Asset, Event, Person\n"
        "from seeding.models import AuditEntry, SeedRun\n"
        "asset = (Asset.objects.filter(asset_type='server', lifecycle_status='in_use')"
        ".annotate(d=Count('deployments', distinct=True), e=Count('events', distinct=True))"
        ".filter(d__gte=3).order_by('-e', 'pk').first())\n"
        "records = Event.objects.filter(kind='incident', message__regex=r'^INC[0-9]{7,}: ').order_by('pk')\n"
        "incident = records.filter(deployment__isnull=False)[3]\n"
        "call = records.filter(asset__asset_type='laptop')[1]\n"
        "change = Event.objects.filter(kind='change', message__regex=r'^CHG[0-9]{7,} approved: ').order_by('pk')[2]\n"
        "deployment = asset.deployments.order_by('pk').first()\n"
        "application = Application.objects.order_by('pk').first()\n"
        "run = SeedRun.objects.order_by('-pk').first()\n"
        "entry = AuditEntry.objects.order_by('-pk').first()\n"
        "person = (Asset.objects.exclude(assigned_to='').values('assigned_to').annotate(n=Count('pk'))"
        ".filter(n=2).order_by('assigned_to').first()['assigned_to'])\n"
        "team = (Asset.objects.filter(asset_type__in=['server', 'virtual_machine']).values('owner_team')"
        ".annotate(n=Count('pk')).exclude(owner_team='Platform Engineering').order_by('-n').first()['owner_team'])\n"
        "print(asset.pk, incident.pk, call.pk, change.pk, deployment.pk, application.pk, run.pk, entry.pk)\n"
        "print(person)\n"
        "print(Person.objects.get(name=person).pk)\n"
        "print(team)"
    )
    names = ("asset", "incident", "call", "change", "deployment", "application", "run", "entry")
    *_, keys, person, person_key, team = manage(env, "shell", "--command", pick).strip().splitlines()
    return {**dict(zip(names, keys.split(), strict=True)), "person": person, "person_key": person_key, "team": team}


def admin_pages(ids: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The lists, and the pages of one row (or a form), by the name their pictures get."""
    lists = {
        "applications": "/admin/inventory/application/",
        "assets": "/admin/inventory/asset/",
        "deployments": "/admin/inventory/deployment/",
        "events": "/admin/inventory/event/",
        "incidents": "/admin/inventory/event/?kind__exact=incident",
        "people": "/admin/inventory/person/",
        "devices": "/admin/inventory/asset/?" + urlencode({"person": ids["person"]}),
        "team": "/admin/inventory/asset/?" + urlencode({"owner_team": ids["team"]}),
        "seed-runs": "/admin/seeding/seedrun/",
        "audit-entries": "/admin/seeding/auditentry/",
    }
    pages = {
        "application": f"/admin/inventory/application/{ids['application']}/change/",
        "asset": f"/admin/inventory/asset/{ids['asset']}/change/",
        "deployment": f"/admin/inventory/deployment/{ids['deployment']}/change/",
        "person": f"/admin/inventory/person/{ids['person_key']}/change/",
        "incident": f"/admin/inventory/event/{ids['incident']}/change/",
        "reported-incident": f"/admin/inventory/event/{ids['call']}/change/",
        "change-wave": f"/admin/inventory/event/{ids['change']}/change/",
        "seed-run": f"/admin/seeding/seedrun/{ids['run']}/change/",
        "seed-form": "/admin/seeding/seedrun/seed/",
        "audit-entry": f"/admin/seeding/auditentry/{ids['entry']}/change/",
    }
    return lists, pages


def readme_pages(ids: dict[str, str]) -> dict[str, str]:
    """The README's pictures (docs/screenshots/, the file names it links to)."""
    lists, pages = admin_pages(ids)
    return {
        "assets.png": lists["assets"],
        "asset.png": pages["asset"],
        "events.png": lists["events"],
        "incidents.png": lists["incidents"],
        "incident.png": pages["incident"],
        "change.png": pages["change-wave"],
        "person.png": pages["person"],
        "people.png": lists["people"],
        "team.png": lists["team"],
        "applications.png": lists["applications"],
    }


def logged_in(browser, base: str, sidebar_open: bool):
    """A page logged in as the viewer with the navigation sidebar open or closed."""
    return admin_page(browser, base, USER, PASSWORD, sidebar_open=sidebar_open, width=README_WIDTH, height=HEIGHT)


def shoot(page, url: str, width: int, target: Path, *, whole: bool) -> Path:
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(url)
    page.screenshot(path=str(target), full_page=whole)
    return target


def photograph(base: str, ids: dict[str, str], out: Path | None, readme: Path | None) -> list[Path]:
    """Every list and page at every width into ``out``, the README's pictures into ``readme``. A list is
    taken as the window shows it (its top, where the columns are), a page whole."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    lists, pages = admin_pages(ids)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        for sidebar_open in (True, False):
            page = logged_in(browser, base, sidebar_open)
            state = "open" if sidebar_open else "closed"
            for width in WIDTHS if out is not None else ():
                for name, path in lists.items():
                    written.append(shoot(page, base + path, width, out / f"{name}-{width}-{state}.png", whole=False))
                for name, path in pages.items() if sidebar_open else ():
                    written.append(shoot(page, base + path, width, out / f"{name}-{width}-{state}.png", whole=True))
            if readme is not None and sidebar_open:
                for name, path in readme_pages(ids).items():
                    whole = name in ("asset.png", "incident.png", "change.png", "person.png")
                    written.append(shoot(page, base + path, README_WIDTH, readme / name, whole=whole))
            page.context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "var" / "screenshots" / "admin"), help="every page, every width")
    parser.add_argument("--readme", default=str(REPO / "docs" / "screenshots"), help="the README's pictures")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--no-readme", action="store_true", help="leave the README's pictures as they are")
    only.add_argument("--readme-only", action="store_true", help="take the README's pictures only")
    args = parser.parse_args(argv)
    out = None if args.readme_only else Path(args.out)
    readme = None if args.no_readme else Path(args.readme)
    for folder in (out, readme):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
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
    env.pop("REDIS_URL", None)  # the demo plan is written here, in this process
    ids = prepare(env)
    port = free_port()
    server = subprocess.Popen(
        [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        for path in photograph(f"http://127.0.0.1:{port}", ids, out, readme):
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
