"""Make the backend's Django project importable and set up, once per process.

The monitor reads through the backend's own models and selectors (see
docs/architecture.md, The monitor), so it needs Django configured exactly as the
web app is: the same settings module, the same ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"


def setup_django() -> None:
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
