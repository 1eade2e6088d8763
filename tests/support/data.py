"""The data tests seed and compare: seeding a plan through the one request path every entry point
takes, the tables' contents and counts, rows entered by a person, and runs left in a given state
(cancelled, with failed attempts). The plan itself is in tests/support/plans.py."""

from __future__ import annotations

from inventory.models import Asset
from seeding import services
from seeding.models import AuditEntry, SeedChunkAttempt, SeedRun
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan


def table_rows(model) -> list[tuple]:
    """Every column of every row (except the run link), in key order."""
    names = [f.attname for f in model._meta.concrete_fields if f.name != "seed_run"]
    return list(model.objects.order_by("pk").values_list(*names))


def snapshot() -> dict[str, list[tuple]]:
    return {kind: table_rows(model) for kind, model in MODELS.items()}


def counts() -> dict[str, int]:
    return {kind: model.objects.count() for kind, model in MODELS.items()}


def real_asset(**fields) -> Asset:
    """An asset entered by a person (no seed run), with plausible defaults."""
    from datetime import date

    values = {
        "hostname": "real-host",
        "ip_address": "192.168.1.10",
        "serial_number": "REAL1",
        "asset_type": "server",
        "manufacturer": "Dell",
        "model": "R650",
        "operating_system": "Debian 12",
        "location": "HQ",
        "lifecycle_status": "in_use",
        "purchase_date": date(2026, 1, 1),
        "owner_team": "Platform Engineering",
        **fields,
    }
    return Asset.objects.create(**values)


def seed(plan: SeedPlan, **kwargs) -> SeedRun:
    """Write ``plan`` inline through the one request path every entry point takes."""
    return services.seed_request(plan=plan, source=SeedRun.Source.COMMAND, mode="inline", **kwargs).run


def at_once(times: int, call) -> list:
    """Run ``call()`` in ``times`` threads released together; return what each returned.

    Each thread has its own database connection, closed when it is done.
    """
    import threading

    from django.db import connection

    results: list = []
    barrier = threading.Barrier(times)

    def one() -> None:
        try:
            barrier.wait()
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def spec_of(run):
    """The generation spec of ``run``, with this process's catalog."""
    from seeding.catalogs import active_catalog
    from seeding.generation.spec import RunSpec

    return RunSpec.from_run(run, catalog=active_catalog())


def own_asset_value(run, ordinal: int, column: str):
    """The value of ``column`` the run's asset at ``ordinal`` will be written with."""
    from seeding.generation import rows
    from seeding.generation.estate import own_assets
    from seeding.generation.events import maintenance_slots

    spec = spec_of(run)
    return rows.assets(spec, ordinal, ordinal + 1, own_assets(spec, maintenance_slots(spec)))[column][0]


def record_failed_attempts(run: SeedRun, *, error: str) -> None:
    """As workers leave them: assets chunk 0 written at its second start after ``error``, and events
    chunk 9,999 started 3 times by workers that died without recording anything."""
    SeedChunkAttempt.objects.create(run=run, kind="assets", index=0, attempts=2, last_error=error)
    SeedChunkAttempt.objects.create(run=run, kind="events", index=9_999, attempts=3)


def cancelled_run(plan) -> SeedRun:
    """A run cancelled after its second assets chunk: applications and some assets committed, the rest left."""
    run = services.seed_run_create(plan=plan)

    def cancel_after_two_asset_chunks(current, chunk):
        if chunk is not None and chunk.kind == "assets" and chunk.index == 1:
            services.seed_run_cancel(run=SeedRun.objects.get(pk=current.pk))

    services.seed_run_execute(run=run, on_progress=cancel_after_two_asset_chunks)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and 0 < run.total_done < run.total_planned
    return run


def forget_estate() -> None:
    """Undo a module's estate, seeded outside the tests' transactions: its rows, its runs and the audit
    trail they left (a later test in the same process counts the entries it makes)."""
    services.demo_data_clear()
    SeedRun.objects.all().delete()
    AuditEntry.objects.all().delete()
