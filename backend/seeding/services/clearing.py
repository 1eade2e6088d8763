"""Clearing demo data: every row seeding wrote, or one run's, and nothing else."""

from __future__ import annotations

import dataclasses
import logging

from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from inventory.models import Application, Asset, Deployment, Event
from inventory.services import inventory_statistics_refresh, row_count_deltas_compact
from seeding.generation.kinds import KINDS
from seeding.models import AuditEntry, PendingEvent, SeedRun
from seeding.persistence.parent_view.recording import forget_parent_views
from seeding.persistence.tables import COMPANION_MODELS, MODELS
from seeding.services.audit import Requester, audit_record
from seeding.services.errors import ClearRefused
from seeding.services.runs import recover_abandoned_runs, statistics_staled_by

logger = logging.getLogger("seeding.services")


@dataclasses.dataclass(frozen=True)
class ClearResult:
    deleted: dict[str, int]  # rows deleted per kind

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def demo_data_clear(*, run: SeedRun | None = None, by: Requester | None = None) -> ClearResult:
    """Delete the rows seeding wrote: all of them, or one run's. Never other rows.

    Refuses (ClearRefused, nothing deleted) while any run is active (it may be
    writing, or reading the very rows as parents), or when rows outside the scope
    (entered by people, or another run's) point at rows in it: deleting would then
    take those with them.
    """
    scope = _scope(run)
    recover_abandoned_runs()  # a dead process's run must not block clearing forever
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Hold off new runs until this clear is done, then wait for writes in
            # flight (a cancelled run's last chunk) to commit so they are deleted
            # too; chunks that start later see cleared_at and roll back. SQLite's
            # write lock, taken at BEGIN IMMEDIATE, already does both.
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {quote(SeedRun._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE")
                tables = ", ".join(quote(model._meta.db_table) for model in _cleared_models())
                cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
        _refuse_unless_clearable(scope)
        if run is None and not any(model.objects.real().exists() for model in _cleared_models()):
            deleted = {kind: MODELS[kind].objects.count() for kind in KINDS}
            _flush_inventory()
        else:
            deleted = {}
            # Children first; each is one DELETE statement (Django's collector
            # would load every row to emulate cascades that cannot occur here).
            # People go with their run, first. A later run's people who report to one of them (a team's
            # head: ``generation.directory``) are left reporting to nobody, not to a key that is gone.
            people = COMPANION_MODELS["people"].objects
            people.filter(manager__in=people.filter(**scope)).exclude(**scope).update(manager=None)
            for model in COMPANION_MODELS.values():
                model.objects.filter(**scope)._raw_delete(model.objects.db)
            for kind in reversed(KINDS):
                queryset = MODELS[kind].objects.filter(**scope)
                deleted[kind] = queryset._raw_delete(queryset.db)
            if not any(model.objects.exists() for model in _cleared_models()):
                _flush_inventory()
        runs = SeedRun.objects.filter(pk=run.pk) if run is not None else SeedRun.objects.filter(cleared_at=None)
        forget_parent_views(runs)  # a cleared run can never write again
        PendingEvent.objects.filter(run__in=runs).delete()  # a stopped stream's events still to come
        runs.update(cleared_at=timezone.now())
        row_count_deltas_compact()
        audit_record(
            action=AuditEntry.Action.CLEARED,
            by=by or Requester(SeedRun.Source.COMMAND),
            run=run,
            summary=("run's rows: " if run is not None else "all demo data: ")
            + ", ".join(f"{deleted[kind]:,} {kind}" for kind in KINDS),
        )
    try:
        # The estimates the admin shows must not count deleted rows (a run of a few rows among millions
        # leaves them as good as they were, and ANALYZE would take a second).
        if statistics_staled_by(deleted, deleted=True):
            inventory_statistics_refresh()
    except DatabaseError:  # the rows are gone and audited either way: the clear has succeeded
        logger.exception("Cleared demo data, but refreshing the tables' statistics failed")
    logger.info("Cleared demo data%s: %s", f" of {run}" if run else "", deleted)
    return ClearResult(deleted={kind: deleted[kind] for kind in KINDS})


def demo_data_clear_preview(*, run: SeedRun | None = None) -> ClearResult:
    """What ``demo_data_clear`` would delete, read-only. Raises ClearRefused for the same reasons."""
    scope = _scope(run)
    _refuse_unless_clearable(scope)
    return ClearResult(deleted={kind: MODELS[kind].objects.filter(**scope).count() for kind in KINDS})


def _scope(run: SeedRun | None) -> dict:
    return {"seed_run": run} if run is not None else {"seed_run__isnull": False}


def _refuse_unless_clearable(scope: dict) -> None:
    if active_run := SeedRun.objects.filter(is_active=True).first():
        raise ClearRefused(
            f"seed run #{active_run.pk} is still {active_run.status}; cancel it or wait for it to finish"
        )
    _refuse_if_rows_outside_depend_on(scope)


def _flush_inventory() -> None:
    """Empty the inventory tables and restart their id counters (Django's own
    ``flush`` SQL: TRUNCATE on PostgreSQL). Only called when no row in them was
    entered by people. With counters back at 1, seeding the same plan, seed and
    base time again reproduces the earlier rows exactly, keys and host names included."""
    tables = [model._meta.db_table for model in _cleared_models()]
    if connection.vendor == "postgresql":
        # TRUNCATE refuses a table with deferred foreign-key checks pending in this
        # transaction (rows written earlier in it): run those checks now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
    connection.ops.execute_sql_flush(statements)


def _cleared_models() -> list[type[Model]]:
    """The tables seeding writes: its kinds' and the rows written beside them (the people)."""
    return [MODELS[kind] for kind in KINDS] + list(COMPANION_MODELS.values())


def _refuse_if_rows_outside_depend_on(scope: dict) -> None:
    checks = [
        (Deployment, "application", Application),
        (Deployment, "asset", Asset),
        (Event, "asset", Asset),
        (Event, "deployment", Deployment),
    ]
    for child, field, parent in checks:
        parent_scope = {f"{field}__{key}": value for key, value in scope.items()}
        outside = child.objects.exclude(**scope).filter(**parent_scope)
        if dependants := outside.count():
            whose = "not written by seeding" if "seed_run__isnull" in scope else "of other runs or people"
            raise ClearRefused(
                f"{dependants} {child._meta.verbose_name_plural} {whose} refer to the "
                f"{parent._meta.verbose_name_plural} to delete; delete or re-point them first. Nothing was deleted."
            )
