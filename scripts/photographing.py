"""What the screenshot scripts share: Chromium, a scratch SQLite database with the embedded worker (as a
fresh clone's ``make demo`` and ``make serve`` give), the monitor's command, and an admin page logged in."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def chromium_path() -> str:
    """Where Chromium is; stops the script, saying how to install it, when it is not."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    return found


def scratch_env(database: Path, password: str) -> dict[str, str]:
    """The environment of processes on a new SQLite file ``database`` (its leftovers deleted) with no Redis:
    the embedded worker writes what is queued; ``password`` is the superuser's the script creates."""
    database.parent.mkdir(parents=True, exist_ok=True)
    for leftover in database.parent.glob(f"{database.name}*"):
        leftover.unlink()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MONITOR_PASSWORD")}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SUPERUSER_PASSWORD=password,
        SEED_EMBEDDED_WORKER="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def streamlit_command(port: int) -> list[str]:
    """The monitor on ``port`` of the loopback, headless."""
    return [sys.executable, "-m", "streamlit", "run", "monitor/streamlit_app.py", "--server.address",
            "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]  # fmt: skip


def admin_page(browser, base: str, user: str, password: str, *, sidebar_open: bool, width: int, height: int):
    """A page logged in to the admin with the navigation sidebar open or closed (the admin keeps the choice in
    localStorage and applies it as each page loads)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(f"localStorage.setItem('django.admin.navSidebarIsOpen', '{str(sidebar_open).lower()}')")
    page = context.new_page()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return page
