"""Deferred secondary indexes: bulk loads into (nearly) empty SQLite tables.

Why: realistic events point at random assets and deployments, so every chunk
touches leaf pages all over the ``asset_id`` and ``deployment_id`` indexes, and
each commit writes all of those pages to the WAL again. Measured on plan L's
million events (2 cores, SQLite 3.x, 64 MB cache): 6.7 s with the indexes in
place, 2.8 s without them plus 1.2 s to build them afterwards from sorted data.
Bulk loaders have long done the same (SQLite's docs, ``pg_restore``).

When: only on SQLite, only for a run written inline (one process, one writer),
and only for a kind with at least two chunks pending into a table that holds
fewer rows than that: rebuilding then costs less than maintaining. Unique
indexes are never dropped: they back uniqueness by construction, and a replayed
chunk must still fail on them rather than duplicate rows.

Crash safety: the DROPs and the record of what was dropped
(``SeedRun.deferred_indexes``) commit in one transaction. Indexes are rebuilt
when the load ends, however it ends; if the process dies first, the record
survives and ``restore_orphaned_indexes`` rebuilds them the next time a run is
created, resumed or cleared. Until then the tables are correct, only slower to
search.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from seeding.generation.chunks import MODELS
from seeding.models import SeedRun

logger = logging.getLogger("seeding.services")

#: A kind needs at least this many chunks pending for its indexes to be deferred:
#: a single chunk is a single transaction anyway.
MIN_CHUNKS_TO_DEFER = 2

#: Page cache (and so sorter memory) while indexes are rebuilt, in KiB.
INDEX_BUILD_CACHE_KIB = 16 * 1024

IndexRecipe = list[str]  # [index name, CREATE INDEX statement]


@contextmanager
def indexes_deferred(run: SeedRun, pending_rows: dict[str, int]) -> Iterator[list[str]]:
    """Drop the deferrable indexes of the kinds in ``pending_rows`` for the block, rebuild after.

    Yields the names of the dropped indexes (empty when nothing qualified).
    """
    dropped = _drop_deferrable_indexes(run, pending_rows)
    try:
        yield [name for name, _sql in dropped]
    finally:
        if dropped:
            restore_indexes(run)


def restore_indexes(run: SeedRun) -> int:
    """Rebuild the indexes ``run`` recorded as dropped and clear the record; returns how many were built.

    Idempotent: an index that exists again (a migration may have rebuilt its table) is skipped.
    """
    with transaction.atomic():
        recipes = SeedRun.objects.select_for_update().filter(pk=run.pk).values_list("deferred_indexes", flat=True)
        recipes = next(iter(recipes), None) or []
        present = _index_names() if recipes else set()
        built = 0
        with connection.cursor() as cursor, _sort_memory_capped(cursor):
            for name, sql in recipes:
                if name not in present:
                    cursor.execute(sql)
                    built += 1
        SeedRun.objects.filter(pk=run.pk).update(deferred_indexes=[])
    run.deferred_indexes = []
    if built:
        logger.info("Rebuilt %d deferred indexes of %s", built, run)
    return built


def restore_orphaned_indexes() -> int:
    """Rebuild indexes that runs no longer active dropped and never rebuilt (their process died)."""
    built = 0
    for run in SeedRun.objects.filter(is_active__isnull=True).exclude(deferred_indexes=[]):
        built += restore_indexes(run)
    return built


def _drop_deferrable_indexes(run: SeedRun, pending_rows: dict[str, int]) -> list[IndexRecipe]:
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        # In a caller's transaction the rebuild would land in it too, and a
        # rollback there would also undo the rows the indexes were dropped for:
        # nothing to gain, and harder to reason about.
        return []
    dropped: list[IndexRecipe] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, rows in pending_rows.items():
            model = MODELS[kind]
            if rows < MIN_CHUNKS_TO_DEFER * run.chunk_size or model.objects.count() >= rows:
                continue
            for name, sql in _non_unique_indexes(cursor, model._meta.db_table):
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append([name, sql])
        if dropped:
            SeedRun.objects.filter(pk=run.pk).update(deferred_indexes=[*run.deferred_indexes, *dropped])
            run.deferred_indexes = [*run.deferred_indexes, *dropped]
    if dropped:
        logger.info("%s: deferred %d indexes until its %s are written", run, len(dropped), " and ".join(pending_rows))
    return dropped


def _non_unique_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX sql) of ``table``'s explicit, non-unique indexes."""
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
    if connection.vendor != "sqlite":
        yield
        return
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
