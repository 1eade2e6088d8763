#!/usr/bin/env python
"""Django's command-line utility for demoseed (run from anywhere: `python backend/manage.py ...`)."""

import os
import sys
from pathlib import Path


def main() -> None:
    # The project lives under backend/. Putting it on sys.path lets manage.py run
    # from anywhere; exporting it in PYTHONPATH does the same for the `dramatiq`
    # worker processes that `rundramatiq` starts (they would otherwise fail with
    # "No module named 'config'" when started from the repo root).
    backend = str(Path(__file__).resolve().parent)
    sys.path.insert(0, backend)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if backend not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([backend, *paths])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
