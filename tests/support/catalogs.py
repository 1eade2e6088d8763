"""A copy of the built-in catalog with one file replaced: how the tests give loading a mistake to find."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings


def catalog_with(tmp_path: Path, name: str, text: str) -> Path:
    """The built-in catalog copied under ``tmp_path``, its file ``name`` (``scenarios/x.toml`` too) ``text``."""
    catalog = tmp_path / "catalog"
    shutil.copytree(settings.SEED_CATALOG_DIR, catalog)
    (catalog / name).write_text(text, encoding="utf-8")
    return catalog
