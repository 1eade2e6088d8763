#!/usr/bin/env python
"""Django's command-line utility for demoseed (run from anywhere: `python backend/manage.py ...`)."""

import os
import sys
from pathlib import Path


def main() -> None:
    # The project lives under backend/; putting it on sys.path lets the command
    # (and worker processes it spawns) be started from the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
