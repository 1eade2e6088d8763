"""Which run (and chunk) the current code works for, attached to every log record it writes.

Set by the worker protocol and the inline executor around their work
(``about``); read by ``RunContext``, a filter on the log handler, so that
JSON log lines (``LOG_FORMAT=json``) carry ``run_id`` and ``chunk`` fields that
a log system can index, whoever wrote the line (a service, Dramatiq, Django).
Context variables: each thread and task sees its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_run_id: ContextVar[int | None] = ContextVar("seed_run_id", default=None)
_chunk: ContextVar[str | None] = ContextVar("seed_chunk", default=None)


@contextmanager
def about(run_id: int, kind: str | None = None, index: int | None = None) -> Iterator[None]:
    """Within this block, log records name run ``run_id`` (and chunk ``kind[index]``)."""
    run_token = _run_id.set(run_id)
    chunk_token = _chunk.set(f"{kind}[{index}]" if kind is not None else None)
    try:
        yield
    finally:
        _chunk.reset(chunk_token)
        _run_id.reset(run_token)


class RunContext(logging.Filter):
    """Adds ``run_id`` and ``chunk`` to every record (None outside a run), unless the caller set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_id"):
            record.run_id = _run_id.get()
        if not hasattr(record, "chunk"):
            record.chunk = _chunk.get()
        return True
