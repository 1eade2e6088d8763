"""Events per hour and severity, kept cheap however many events there are.

Counting 2 million events by hour takes about a second on PostgreSQL, too slow
to repeat every refresh. But seeded events only ever arrive a chunk at a time,
and a committed chunk's rows never change until its run is cleared: a chunk
covers the primary keys ``events_id_base + start`` to ``+ stop`` of its run
(``seeding.persistence.keys``). So each chunk is counted once, through its primary-key
range (about 10 ms for 20,000 events), and its counts are kept in this process
under the chunk's identity, (run, index), never under its key range: a full
clear restarts the keys, so the next run's chunks cover the same ranges with
other rows. A refresh counts only the chunks committed since the last one and
drops what it kept of chunks that are gone (a cleared run's). The first count
of many chunks runs ``PARALLEL`` queries at once on PostgreSQL (one connection
each), which brings plan 2xL's 100 chunks from 1.7 s to about 1 s here. Events written
by anything else than a seed run (``seed_run`` empty) are counted directly,
again only when their number changes.

Known limit: seeded events deleted by hand (not by a clear) stay in the counts
until the monitor restarts.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import pandas as pd
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncHour

from inventory.models import Event
from seeding.models import SeedChunk

COLUMNS = ["hour", "severity", "events"]
#: Chunks counted at once when many are new (PostgreSQL; SQLite counts one at a time).
PARALLEL = 4

#: A committed events chunk: (run id, chunk index).
ChunkId = tuple[int, int]
#: Each live events chunk -> its events per (hour, severity).
_chunks: dict[ChunkId, pd.DataFrame] = {}
#: One refresh at a time: a second viewer waits for the first's counts instead of counting the same chunks
#: again, and pruning never takes a chunk from under another refresh.
_lock = threading.Lock()
#: The last answer and the chunks it sums: a refresh that finds only new chunks adds them to it.
_last: tuple[frozenset[ChunkId], pd.DataFrame] = (frozenset(), pd.DataFrame(columns=COLUMNS))


def event_cells(unseeded_events: int) -> pd.DataFrame:
    """Events per (hour, severity), for every event in the database: columns ``hour``, ``severity``, ``events``.

    ``unseeded_events`` is how many events no seed run wrote (from the cheap
    counts): it keys the cache of their part.
    """
    with _lock:
        seeded = _seeded_cells()
    return _sum([seeded, _unseeded_cells(unseeded_events)]) if unseeded_events else seeded


def _seeded_cells() -> pd.DataFrame:
    global _last
    chunks = (
        SeedChunk.objects.filter(kind="events", run__cleared_at__isnull=True)
        .values_list("run_id", "index", "rows", "run__events_id_base", "run__chunk_size")
        .order_by()
    )
    live = {
        (run_id, index): (base + index * size, base + index * size + rows) for run_id, index, rows, base, size in chunks
    }
    for gone in _chunks.keys() - live.keys():  # a cleared run's: its key range may hold another run's rows now
        del _chunks[gone]
    _count_new({chunk: pk_range for chunk, pk_range in live.items() if chunk not in _chunks})
    summed, total = _last
    if summed <= live.keys():  # only new chunks since the last answer: add them to it
        seeded = _sum([total, *(_chunks[chunk] for chunk in live.keys() - summed)])
    else:  # a run was cleared: sum again from the kept chunks
        seeded = _sum([_chunks[chunk] for chunk in live])
    _last = (frozenset(live), seeded)
    return seeded


def _sum(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts).groupby(["hour", "severity"], as_index=False)["events"].sum()


def _count_new(new: dict[ChunkId, tuple[int, int]]) -> None:
    """Count each new chunk through its key range; on PostgreSQL ``PARALLEL`` at a time, one connection each."""
    chunks = sorted(new)
    if len(chunks) > 1 and connection.vendor == "postgresql":
        batches = [chunks[start::PARALLEL] for start in range(PARALLEL)]
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            counted = pool.map(_count_in_own_connection, [[new[chunk] for chunk in batch] for batch in batches])
            for batch, cells in zip(batches, counted, strict=True):
                _chunks.update(zip(batch, cells, strict=True))
    else:
        _chunks.update((chunk, _count_chunk(new[chunk])) for chunk in chunks)


def _count_chunk(pk_range: tuple[int, int]) -> pd.DataFrame:
    return _cells(Q(pk__gte=pk_range[0], pk__lt=pk_range[1]))


def _count_in_own_connection(batch: list[tuple[int, int]]) -> list[pd.DataFrame]:
    try:
        return [_count_chunk(pk_range) for pk_range in batch]
    finally:
        connection.close()  # this thread's own connection: a pool thread ends with it


@lru_cache(maxsize=1)
def _unseeded_cells(count: int) -> pd.DataFrame:
    return _cells(Q(seed_run__isnull=True))


def _cells(where: Q) -> pd.DataFrame:
    rows = (
        Event.objects.filter(where)
        .order_by()
        .annotate(hour=TruncHour("occurred_at"))
        .values_list("hour", "severity")
        .annotate(events=Count("id"))
    )
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame


def forget() -> None:
    """Drop every kept count (tests; a database swapped under a running monitor)."""
    global _last
    with _lock:
        _chunks.clear()
        _last = (frozenset(), pd.DataFrame(columns=COLUMNS))
    _unseeded_cells.cache_clear()
