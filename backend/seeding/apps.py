from django.apps import AppConfig


class SeedingConfig(AppConfig):
    """Demo-data seeding: plans, runs, chunked writers and their entry points."""

    name = "seeding"
    verbose_name = "Demo data seeding"
