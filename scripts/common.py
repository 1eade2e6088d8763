"""What the scripts share: where the repository is, and the named plans (backend/seeding/named_plans.py).

Scripts run as `.venv/bin/python scripts/NAME.py`, so this folder is on their import path; the backend
is put there too, for the Django-free modules the scripts read (the plans) and for those that start Django.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"
if str(BACKEND) not in sys.path:
    sys.path.insert(0, str(BACKEND))

from seeding.named_plans import PLANS  # noqa: E402  (needs BACKEND on the path)

__all__ = ["BACKEND", "PLANS", "REPO"]
