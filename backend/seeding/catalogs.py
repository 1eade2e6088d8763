"""The catalog this process draws from: ``SEED_CATALOG_DIR`` (see docs/catalogs.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from inventory.models import Asset
from seeding.generation.catalog import Catalog, CatalogError, load_catalog
from seeding.generation.scenarios import Scenario, load_scenario, scenario_names


def active_catalog() -> Catalog:
    """The configured catalog, validated (cached while its files do not change). Raises CatalogError."""
    return load_catalog(settings.SEED_CATALOG_DIR)


def active_scenario(name: str) -> Scenario:
    """The scenario pack ``name`` of the configured catalog, validated. Raises CatalogError (unknown, or
    wrong: file, line and column)."""
    return load_scenario(settings.SEED_CATALOG_DIR, name, active_catalog())


def scenario_choices() -> list[str]:
    """The names of the configured catalog's scenario packs."""
    return scenario_names(settings.SEED_CATALOG_DIR)


@register()
def catalog_check(app_configs, **kwargs) -> list[Error]:
    """``manage.py check`` (and every command, server and worker start) reports a broken catalog."""
    try:
        catalog = active_catalog()
    except CatalogError as exc:
        return [Error(str(exc), hint="Fix the file, or point SEED_CATALOG_DIR at another catalog.", id="seeding.E001")]
    for name in scenario_choices():
        try:
            active_scenario(name)
        except CatalogError as exc:
            return [Error(str(exc), hint="Fix the scenario pack, or remove it.", id="seeding.E003")]
    unknown = sorted({asset_type.value for asset_type in catalog.asset_types} - set(Asset.Type.values))
    if unknown:
        return [
            Error(
                f"{settings.SEED_CATALOG_DIR}/asset_types.csv: unknown asset types {', '.join(unknown)}",
                hint=f"Asset types are {', '.join(Asset.Type.values)}.",
                id="seeding.E002",
            )
        ]
    return []
