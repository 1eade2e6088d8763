"""Deferred secondary indexes: bulk loads into (nearly) empty SQLite tables.

Why: realistic events point at random assets and deployments, so every chunk
touches leaf pages all over the ``asset_id`` and ``deployment_id`` indexes, and
each commit writes all of those pages to the WAL again. Measured on plan L's
million events (2 cores, SQLite 3.40, 64 MB cache): 6.7 s with the indexes in
place, 2.8 s without them plus 1.2 s to build them afterwards from sorted keys.
Bulk loaders have long done the same (SQLite's docs, ``pg_restore``).

When: only on SQLite, and only for a kind with more than one chunk of rows
pending into a table that holds fewer rows than that: rebuilding then costs less
than maintaining. Inline runs drop around each phase (``indexes_deferred``);
worker runs drop when a phase's messages are sent and rebuild when the phase's
last chunk commits (``defer_indexes`` and ``restore_indexes``). Unique
indexes are never dropped: they back uniqueness by construction, and a replayed
chunk must still fail on them rather than duplicate rows.

Crash safety: the DROPs and the record of what was dropped
(``SeedRun.deferred_indexes``) commit in one transaction, and only while the
writer still owns the run. Indexes are rebuilt when the load ends, however it
ends; if the process dies first, the record survives and
``restore_orphaned_indexes`` rebuilds them once the run is no longer active: at
the next run, resume or clear (which first mark a dead inline process's run
abandoned) and at every sweep of the workers (cancelled or failed worker runs).
Until then the tables are correct, only slower to search.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from seeding.generation.chunks import MODELS
from seeding.models import SeedRun

logger = logging.getLogger("seeding.services")

#: Page cache (and so sorter memory) while indexes are rebuilt, in KiB.
INDEX_BUILD_CACHE_KIB = 16 * 1024

IndexRecipe = list[str]  # [index name, CREATE INDEX statement]


class IndexRebuildFailed(DatabaseError):
    """The rows are all written, but rebuilding the indexes dropped for them failed.

    The recipe is kept on the run, so a later run, resume or clear tries again.
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
    """Drop the deferrable indexes of the kinds in ``pending_rows``; the caller rebuilds them
    with ``restore_indexes``. Returns the names dropped (none off SQLite, or when this
    writer no longer holds ``claim`` on a running run)."""
    if connection.vendor != "sqlite":
        return []
    return [name for name, _sql in _drop_deferrable_indexes(run, pending_rows, claim)]


def restore_indexes(run: SeedRun, *, only_if_inactive: bool = False) -> int:
    """Rebuild the indexes ``run`` recorded as dropped and clear the record; returns how many were built.

    Idempotent: an index that exists again (a migration may have rebuilt its
    table) is skipped. All or nothing: a failure rolls back every index built
    here and keeps the record. ``only_if_inactive``: leave a run that became
    active again (resumed) since the caller looked to its own writer.
    """
    with transaction.atomic():
        runs = SeedRun.objects.filter(pk=run.pk)
        if only_if_inactive:
            runs = runs.filter(is_active__isnull=True)
        record = runs.values_list("deferred_indexes", flat=True).first()
        if not record:
            return 0
        present = _index_names()
        built = 0
        with connection.cursor() as cursor, _sort_memory_capped(cursor):
            for name, sql in record:
                if name not in present:
                    logger.info("%s: building index %s", run, name)
                    cursor.execute(sql)
                    present.add(name)
                    built += 1
        SeedRun.objects.filter(pk=run.pk).update(deferred_indexes=[])
    run.deferred_indexes = []
    return built


def restore_orphaned_indexes() -> int:
    """Rebuild what runs no longer active dropped and never rebuilt (their process died).

    A run whose recipe cannot be rebuilt (its table changed meanwhile, say) is
    logged and skipped, so it can never block new runs or clearing.
    """
    if connection.vendor != "sqlite":
        return 0
    built = 0
    for run in SeedRun.objects.filter(is_active__isnull=True).exclude(deferred_indexes=[]):
        try:
            built += restore_indexes(run, only_if_inactive=True)
        except DatabaseError:
            logger.exception("%s: could not rebuild its deferred indexes %s", run, run.deferred_indexes)
    return built


def _drop_deferrable_indexes(run: SeedRun, pending_rows: dict[str, int], claim: int) -> list[IndexRecipe]:
    if connection.in_atomic_block:
        # In a caller's transaction the rebuild would land in it too, and a
        # rollback there would also undo the rows the indexes were dropped for:
        # nothing to gain, and harder to reason about.
        return []
    dropped: list[IndexRecipe] = []
    deferred_kinds: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        owned = SeedRun.objects.filter(pk=run.pk, status=SeedRun.Status.RUNNING, claim=claim)
        record = owned.values_list("deferred_indexes", flat=True).first()
        if record is None:
            return []  # cancelled, or claimed by another writer: leave the schema alone
        recorded = {name for name, _sql in record}
        for kind, rows in pending_rows.items():
            model = MODELS[kind]
            if rows <= run.chunk_size or model.objects.count() >= rows:
                continue
            for name, sql in _non_unique_indexes(cursor, model._meta.db_table):
                if name not in recorded:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                    dropped.append([name, sql])
            deferred_kinds.append(kind)
        if dropped:
            owned.update(deferred_indexes=[*record, *dropped])
    if dropped:
        logger.info("%s: deferred %d indexes until its %s are written", run, len(dropped), " and ".join(deferred_kinds))
    return dropped


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
