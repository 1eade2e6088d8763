"""What the scripts share: where the repository is, how to run its manage.py, the named plans
(backend/seeding/named_plans.py) and the fixed figures every benchmark writes with.

Scripts run as `.venv/bin/python scripts/NAME.py`, so this folder is on their import path; the backend
is put there too, for the Django-free modules the scripts read (the plans) and for those that start Django.
No script imports another script: what two of them need lives here or in a small module beside this one
(processes.py, databases.py, servers.py, api_session.py).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"
if str(BACKEND) not in sys.path:
    sys.path.insert(0, str(BACKEND))

from seeding.named_plans import PLANS  # noqa: E402  (needs BACKEND on the path)

#: The project's manage.py, run by this interpreter (the venv's, as every script is).
MANAGE = [sys.executable, str(BACKEND / "manage.py")]
#: Where the benchmarks keep their logs, scratch SQLite files and JSON results.
BENCH_DIR = REPO / "var" / "bench"
#: Write order; children come after their parents (the same as ``seeding.models.KINDS``).
KINDS: tuple[str, ...] = tuple(PLANS["L"])
#: A fixed base time and seed, so every benchmark run generates exactly the same rows.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SEED = 1
#: Rows per transaction of bench_child.py's raw paths (and per COPY statement on PostgreSQL); bench.py names it.
RAW_BATCH_ROWS = 50_000
#: Chromium's flags for the screenshot scripts: headless in a container, no first-run or background noise.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def setup_django(database_url: str) -> None:
    """Configure Django in this process for ``database_url`` exactly as ``manage.py`` would."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    """The value ``share`` of the way up ``values`` (nearest rank): p95 is ``percentile(values, 0.95)``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


__all__ = [
    "AS_OF",
    "BACKEND",
    "BENCH_DIR",
    "CHROMIUM_FLAGS",
    "KINDS",
    "MANAGE",
    "PLANS",
    "RAW_BATCH_ROWS",
    "REPO",
    "SEED",
    "percentile",
    "setup_django",
]
