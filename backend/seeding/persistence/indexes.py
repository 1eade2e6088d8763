"""Deferred secondary indexes: bulk loads into (nearly) empty SQLite tables.

Why: realistic events point at random assets and deployments, so every chunk
touches leaf pages all over the ``asset_id`` and ``deployment_id`` indexes, and
each commit writes all of those pages to the WAL again. Measured on plan L's
million events (2 cores, SQLite 3.40, 64 MB cache): 6.7 s with the indexes in
place, 2.8 s without them plus 1.2 s to build them afterwards from sorted keys.
Bulk loaders have long done the same (SQLite's docs, ``pg_restore``).

When: only on SQLite, and only for a kind with more than one chunk of rows
pending into a table that holds fewer rows than that: rebuilding then costs less
than maintaining. Inline runs (the command, small plans from the web) wrap each
phase in ``indexes_deferred``. Runs on workers (the embedded worker, Redis
workers) defer when a phase is sent and rebuild before the next phase is sent or
the run succeeds, in whichever process commits the phase's last chunk (the
sweeper's re-sent start message does it if that process dies first; the first
message a worker skips does it for a run cancelled meanwhile): without that, plan
L queued on SQLite took about twice as long as inline. Unique indexes are never
dropped: they back uniqueness by construction, and a replayed chunk must still
fail on them rather than duplicate rows.

Crash safety: the DROPs and their recipes (``DeferredIndex`` rows) commit in one
transaction, and only while the writer still owns the run. Indexes are rebuilt
when the phase ends, however it ends; if the process dies first, the recipes
survive and ``restore_orphaned_indexes`` rebuilds those of runs no longer
active: the run lifecycle calls it when it recovers abandoned runs (before a new
run, a resume or a clear). Until then the tables are correct, only slower to
search, and the recipe protects its run from deletion.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from seeding.models import DeferredIndex, SeedRun
from seeding.persistence.tables import MODELS

logger = logging.getLogger("seeding.services")

#: Page cache (and so sorter memory) while indexes are rebuilt, in KiB.
INDEX_BUILD_CACHE_KIB = 16 * 1024


class IndexRebuildFailed(DatabaseError):
    """The rows are all written, but rebuilding the indexes dropped for them failed.

    The recipes are kept, so a later run, resume or clear tries again.
    """


@contextmanager
def indexes_deferred(run: SeedRun, pending_rows: dict[str, int], *, claim: int) -> Iterator[list[str]]:
    """Drop the deferrable indexes of the kinds in ``pending_rows`` for the block, rebuild after.

    Yields the names of the dropped indexes (empty when nothing qualified or this
    writer no longer holds ``claim`` on the run). If the block raises, a failed
    rebuild is logged and the block's own exception goes on: it is the cause.
    """
    if connection.vendor != "sqlite":
        yield []
        return
    try:
        yield defer_indexes(run, pending_rows, claim=claim)
    except BaseException:
        try:
            restore_indexes(run)
        except DatabaseError:
            logger.exception("%s: rebuilding deferred indexes failed; the next run, resume or clear retries", run)
        raise
    # Read from the database rather than from what this block dropped: a Ctrl-C
    # between the DROPs' commit and the yield must not leave them behind either.
    try:
        restore_indexes(run)
    except DatabaseError as exc:
        raise IndexRebuildFailed(f"rebuilding deferred indexes failed: {exc}") from exc


def defer_indexes(run: SeedRun, pending_rows: dict[str, int], *, claim: int) -> list[str]:
    """Drop the deferrable indexes of the kinds in ``pending_rows``; ``restore_indexes`` rebuilds them.

    Returns the names dropped: none off SQLite, inside a caller's transaction
    (a rollback there would undo the rows too: nothing to gain), or when this
    writer no longer holds ``claim`` on a running run.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return []
    dropped: list[str] = []
    deferred_kinds: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if not SeedRun.objects.filter(pk=run.pk, status=SeedRun.Status.RUNNING, claim=claim).exists():
            return []  # cancelled, or claimed by another writer: leave the schema alone
        recorded = set(DeferredIndex.objects.values_list("name", flat=True))
        for kind, rows in pending_rows.items():
            model = MODELS[kind]
            if rows <= run.chunk_size or model.objects.count() >= rows:
                continue
            table = model._meta.db_table
            for name, sql in _non_unique_indexes(cursor, table):
                if name not in recorded:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                    DeferredIndex.objects.create(name=name, table=table, sql=sql, run=run)
                    dropped.append(name)
            deferred_kinds.append(kind)
    if dropped:
        logger.info("%s: deferred %d indexes until its %s are written", run, len(dropped), " and ".join(deferred_kinds))
    return dropped


def restore_indexes(run: SeedRun, *, only_if_inactive: bool = False, keep: Collection[str] = ()) -> int:
    """Rebuild the indexes ``run`` dropped and forget their recipes; returns how many were built.

    Idempotent: an index that exists again (a migration may have rebuilt its
    table) is skipped. All or nothing: a failure rolls back every index built
    here and keeps the recipes. ``only_if_inactive``: leave a run that became
    active again (resumed) since the caller looked to its own writer. ``keep``:
    kinds whose indexes stay down (a phase on workers still writing them).
    """
    if not DeferredIndex.objects.filter(run=run).exists():
        return 0  # the usual case, answered without taking SQLite's write lock
    kept_tables = [MODELS[kind]._meta.db_table for kind in keep]
    with transaction.atomic():
        if only_if_inactive and SeedRun.objects.filter(pk=run.pk, is_active=True).exists():
            return 0
        recipes = list(DeferredIndex.objects.filter(run=run).exclude(table__in=kept_tables).order_by("name"))
        if not recipes:
            return 0
        present = _index_names()
        built = 0
        with connection.cursor() as cursor, _sort_memory_capped(cursor):
            for recipe in recipes:
                if recipe.name not in present:
                    logger.info("%s: building index %s", run, recipe.name)
                    cursor.execute(recipe.sql)
                    present.add(recipe.name)
                    built += 1
        DeferredIndex.objects.filter(pk__in=[recipe.pk for recipe in recipes]).delete()
    return built


def restore_orphaned_indexes() -> int:
    """Rebuild what runs no longer active dropped and never rebuilt (their process died).

    A run whose recipe cannot be rebuilt (its table changed meanwhile, say) is
    logged and skipped, so it can never block new runs or clearing.
    """
    if connection.vendor != "sqlite":
        return 0
    built = 0
    for run in SeedRun.objects.filter(is_active__isnull=True, pk__in=DeferredIndex.objects.values("run")):
        try:
            built += restore_indexes(run, only_if_inactive=True)
        except DatabaseError:
            logger.exception("%s: could not rebuild the indexes it deferred", run)
    return built


def _non_unique_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX sql) of ``table``'s explicit, non-unique indexes.

    Implicit indexes (primary key, inline UNIQUE) have no SQL and cannot be
    dropped; explicit unique ones, partial or not, are left alone on purpose.
    """
    cursor.execute(f"PRAGMA index_list({connection.ops.quote_name(table)})")
    non_unique = {row[1] for row in cursor.fetchall() if not row[2]}
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
        [table],
    )
    return [(name, sql) for name, sql in cursor.fetchall() if name in non_unique]


@contextmanager
def _sort_memory_capped(cursor) -> Iterator[None]:
    """Build indexes with a small page cache, so memory stays flat as tables grow.

    SQLite's sorter keeps up to a page cache's worth of keys in memory before it
    spills them to a temporary file: with the 64 MB cache the settings give, a
    million events' index keys sit in memory on top of the full cache, and twice
    as many take the whole 64 MB. Shrinking the cache for the build frees its
    pages and caps each sorted run at INDEX_BUILD_CACHE_KIB.
    """
    cursor.execute("PRAGMA cache_size")
    (configured,) = cursor.fetchone()
    cursor.execute(f"PRAGMA cache_size = {-INDEX_BUILD_CACHE_KIB}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(configured)}")


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {name for (name,) in cursor.fetchall()}
