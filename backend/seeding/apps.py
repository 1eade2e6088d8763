import dramatiq
from django.apps import AppConfig


class SeedingConfig(AppConfig):
    """Demo-data seeding: plans, runs, chunked writers and their entry points."""

    name = "seeding"
    verbose_name = "Demo data seeding"

    def ready(self) -> None:
        # The sweeper calls the services, which need the models: it joins the
        # broker django-dramatiq built from DRAMATIQ_BROKER once the app is ready.
        # Every process gets it; it only runs where a worker boots (rundramatiq,
        # or the embedded worker of a web process without Redis).
        from seeding import catalogs  # noqa: F401 (registers the catalog's system check)
        from seeding.runtime.sweeper import StalledRunSweeper

        broker = dramatiq.get_broker()
        if not any(isinstance(middleware, StalledRunSweeper) for middleware in broker.middleware):
            broker.add_middleware(StalledRunSweeper())
