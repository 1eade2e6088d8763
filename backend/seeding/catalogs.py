"""The catalog this process draws from: ``SEED_CATALOG_DIR`` (see docs/catalogs.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from inventory.models import Asset
from seeding.generation.catalog import Catalog, CatalogError, load_catalog


def active_catalog() -> Catalog:
    """The configured catalog, validated (cached while its files do not change). Raises CatalogError."""
    return load_catalog(settings.SEED_CATALOG_DIR)


@register()
def catalog_check(app_configs, **kwargs) -> list[Error]:
    """``manage.py check`` (and every command, server and worker start) reports a broken catalog."""
    try:
        catalog = active_catalog()
    except CatalogError as exc:
        return [Error(str(exc), hint="Fix the file, or point SEED_CATALOG_DIR at another catalog.", id="seeding.E001")]
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
