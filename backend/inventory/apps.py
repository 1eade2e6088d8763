from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """The IT-inventory domain: applications, assets, deployments and events."""

    name = "inventory"
    verbose_name = "Inventory"
