"""Where the repository is, and `manage.py` as the documented commands run it: tests start processes
and read the repository's files from any working directory."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]
