"""Fault-injecting stand-ins for ``chunks.write_rows``, the one call every chunk's rows go through:
a failure where a disk, a constraint or the database would fail, at the chunk a test names."""

from __future__ import annotations

from collections.abc import Callable

from inventory.models import Event
from seeding.services import chunk_transaction as chunk_service


def failing_writes(
    error: Exception | str,
    *,
    model=Event,
    first_id: int | None = None,
    after_writing: bool = False,
) -> Callable:
    """A ``write_rows`` that raises ``error`` for ``model``'s rows (any model's if None) and writes everything else.

    ``first_id``: only the chunk whose first row has that key fails (``run.events_id_base + chunk_size *
    index``); otherwise every chunk of ``model``. ``after_writing``: the rows reach the table first and
    the chunk's transaction fails after, as a commit that fails does. A string is a RuntimeError's text.
    """
    real_write = chunk_service.write_rows
    failure = RuntimeError(error) if isinstance(error, str) else error

    def write(written_model, columns, **kwargs):
        hit = (model is None or written_model is model) and (first_id is None or columns["id"][0] == first_id)
        if hit and not after_writing:
            raise failure
        written = real_write(written_model, columns, **kwargs)
        if hit:
            raise failure
        return written

    return write
