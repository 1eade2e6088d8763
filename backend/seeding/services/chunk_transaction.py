"""The chunk transaction: a chunk's rows and its checkpoint, committed together.

Both executors write through ``seed_chunk_write``: the inline one (a command, a
small web request) and the worker protocol (one message per chunk).
"""

from __future__ import annotations

import os
import socket
import time

from django.conf import settings
from django.db import connection, transaction

from seeding.catalogs import active_catalog
from seeding.generation.columns import companion_rows, generate_chunk
from seeding.generation.kinds import Chunk
from seeding.generation.spec import RunSpec
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.persistence.parent_view.reading import parents_of
from seeding.persistence.tables import COMPANION_MODELS, MODELS
from seeding.persistence.writers import write_rows
from seeding.services.errors import CatalogMismatch, ChunkFenced, RunCleared


def seed_chunk_write(*, run: SeedRun, chunk: Chunk, attempt: int | None = None) -> bool:
    """Write one chunk and its checkpoint (the SeedChunk row) atomically; False if it was already written.

    The run row is deliberately not touched here: a lock on it would be held
    through the commit, where PostgreSQL runs the chunk's deferred foreign-key
    checks, and parallel writers would queue behind each other. The caller
    derives the run's counters afterwards (``runs.refresh_progress``).

    ``attempt``: a worker's attempt number (``leases.lease_acquire``), its fencing token. Once the rows
    are generated, and before any is written, the transaction checks that no later attempt began, and
    keeps a lock on the chunk's attempt row until it commits: a worker cut off from the database while
    its lease lapsed and another took the chunk over cannot write late, and none can take the chunk over
    between the check and the commit. Raises ChunkFenced (nothing written).
    """
    catalog = active_catalog()
    if run.catalog_digest and catalog.digest != run.catalog_digest:
        # The same plan, seed and base time give the same rows only from the same catalog.
        raise CatalogMismatch(
            f"seed run #{run.pk} was created with another catalog than this process's "
            f"(SEED_CATALOG_DIR={settings.SEED_CATALOG_DIR}); give every process the same catalog files"
        )
    started = time.perf_counter()
    with transaction.atomic():
        if SeedChunk.objects.filter(run=run, kind=chunk.kind, index=chunk.index).exists():
            return False
        spec = RunSpec.from_run(run, catalog=catalog)
        parents = parents_of(run, spec)
        rows, companions = generate_chunk(spec, chunk, parents), companion_rows(spec, chunk, parents)
        if attempt is not None:  # generated, the long part; nothing written yet
            _fence(run, chunk, attempt)
        write_rows(MODELS[chunk.kind], rows, seed_run_id=run.pk)
        for table, columns in companions.items():
            write_rows(COMPANION_MODELS[table], columns, seed_run_id=run.pk)
        if SeedRun.objects.filter(pk=run.pk, cleared_at__isnull=False).exists():
            # A clear of this run committed while the chunk was being written (it
            # waits for writes in flight): these rows must not outlive it.
            raise RunCleared(
                f"seed run #{run.pk}'s rows were cleared while {chunk.kind} chunk {chunk.index} was written"
            )
        SeedChunk.objects.create(
            run=run,
            kind=chunk.kind,
            index=chunk.index,
            rows=chunk.rows,
            written_by=writer_name(),
            seconds=round(time.perf_counter() - started, 3),
        )
    return True


def _fence(run: SeedRun, chunk: Chunk, attempt: int) -> None:
    """Refuse to write if an attempt later than ``attempt`` began. The lock on the attempt row is held
    until this transaction ends: a worker taking the chunk over (``lease_acquire`` locks the same row)
    waits for this commit and then finds the chunk written, so no attempt can begin between check and
    commit, and the two never write the same keys at once.
    """
    _end_if_worker_lost(seconds=settings.SEED_CHUNK_LEASE_SECONDS)
    latest = (
        SeedChunkAttempt.objects.select_for_update()
        .filter(run=run, kind=chunk.kind, index=chunk.index)
        .values_list("attempts", flat=True)
        .first()
    )
    if latest != attempt:
        raise ChunkFenced(
            f"seed run #{run.pk} {chunk.kind} chunk {chunk.index}: attempt {attempt} was taken over by attempt "
            f"{latest} before it wrote its rows; it writes none"
        )


def _end_if_worker_lost(*, seconds: float) -> None:
    """Have PostgreSQL end this transaction about ``seconds`` after it stops hearing from this worker.

    From the fence to the commit the transaction holds the chunk's attempt row, which the worker taking
    the chunk over must lock. If the network between this worker and the server breaks now, the server
    hears nothing (a dropped packet says nothing) and by its defaults would keep the session, and the
    lock, for hours (TCP keepalives after two hours, retransmissions for some fifteen minutes). So for
    this transaction only (``set_config(..., true)``, like SET LOCAL): keepalive probes from half of
    ``seconds`` without traffic, and no unacknowledged answer for longer than ``seconds``. A worker cut
    off before the fence keeps its session (it holds no lock then), meets the fence when the network
    heals, and writes nothing.
    """
    if connection.vendor != "postgresql":
        return
    idle, count = max(1, round(seconds / 2)), 5
    interval = max(1, round((seconds - idle) / count))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('tcp_keepalives_idle', %s, true), set_config('tcp_keepalives_interval', %s, true),"
            " set_config('tcp_keepalives_count', %s, true), set_config('tcp_user_timeout', %s, true)",
            [str(idle), str(interval), str(count), str(round(seconds * 1000))],
        )


def writer_name() -> str:
    """host:pid of this process (looked up per call: worker processes are forked)."""
    return f"{socket.gethostname()}:{os.getpid()}"
