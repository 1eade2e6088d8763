"""Clearing demo data: every row seeding wrote, or one run's, and nothing else."""

from __future__ import annotations

import dataclasses
import logging

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from inventory.models import Application, Asset, Deployment, Event
from seeding.generation.chunks import MODELS
from seeding.models import KINDS, SeedRun
from seeding.services.errors import ClearRefused

logger = logging.getLogger("seeding.services")


@dataclasses.dataclass(frozen=True)
class ClearResult:
    deleted: dict[str, int]  # rows deleted per kind

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def demo_data_clear(*, run: SeedRun | None = None) -> ClearResult:
    """Delete the rows seeding wrote: all of them, or one run's. Never other rows.

    Refuses (ClearRefused, nothing deleted) while a run is active, or when rows
    that seeding did not write point at demo rows: deleting the demo rows would
    then take real data with them.
    """
    active = SeedRun.objects.filter(is_active=True)
    if run is not None:
        active = active.filter(pk=run.pk)
    if active_run := active.first():
        raise ClearRefused(f"{active_run} is still active; cancel it or wait for it to finish")

    scope = {"seed_run": run} if run is not None else {"seed_run__isnull": False}
    _refuse_if_real_rows_depend_on(scope)
    with transaction.atomic():
        if run is None and not any(MODELS[kind].objects.real().exists() for kind in KINDS):
            deleted = {kind: MODELS[kind].objects.count() for kind in KINDS}
            _flush_inventory()
        else:
            deleted = {}
            # Children first; each is one DELETE statement (Django's collector
            # would load every row to emulate cascades that cannot occur here).
            for kind in reversed(KINDS):
                queryset = MODELS[kind].objects.filter(**scope)
                deleted[kind] = queryset._raw_delete(queryset.db)
            if not any(MODELS[kind].objects.exists() for kind in KINDS):
                _flush_inventory()
        runs = SeedRun.objects.filter(pk=run.pk) if run is not None else SeedRun.objects.filter(cleared_at=None)
        runs.update(cleared_at=timezone.now())
    logger.info("Cleared demo data%s: %s", f" of {run}" if run else "", deleted)
    return ClearResult(deleted={kind: deleted[kind] for kind in KINDS})


def _flush_inventory() -> None:
    """Empty the inventory tables and restart their id counters (Django's own
    ``flush`` SQL: TRUNCATE on PostgreSQL). Only called when no row in them was
    entered by people. With counters back at 1, seeding the same plan, seed and
    base time again reproduces the earlier rows exactly, keys and host names included."""
    tables = [MODELS[kind]._meta.db_table for kind in KINDS]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
    connection.ops.execute_sql_flush(statements)


def _refuse_if_real_rows_depend_on(scope: dict) -> None:
    checks = [
        (Deployment, "application", Application),
        (Deployment, "asset", Asset),
        (Event, "asset", Asset),
        (Event, "deployment", Deployment),
    ]
    for child, field, parent in checks:
        parent_scope = {f"{field}__{key}": value for key, value in scope.items()}
        dependants = child.objects.real().filter(**parent_scope).count()
        if dependants:
            raise ClearRefused(
                f"{dependants} {child._meta.verbose_name_plural} not written by seeding refer to demo "
                f"{parent._meta.verbose_name_plural}; delete or re-point them first. Nothing was deleted."
            )
