"""Progress display for the command: a live bar on a terminal, log lines elsewhere.

A ``ProgressReporter`` is the ``on_progress`` callback of an inline run (called
once when the run starts, then after each committed chunk) or polls a run that
workers write. It opens on the first call, so it can be handed to
``seed_request`` before the run exists.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

from seeding.generation.kinds import KINDS, Chunk
from seeding.models import SeedRun

#: Seconds between two progress lines when output is not a terminal.
LOG_INTERVAL = 5.0


class ProgressReporter:
    """Follows one run. ``mode`` is "bar", "log" or "off"; ``write`` prints one line."""

    def __init__(self, *, mode: str, write: Callable[[str], None]):
        self.mode, self.write = mode, write
        self._bar: tqdm | None = None
        self._opened = False
        self._started = self._last_line = 0.0
        self.initial_done = 0  # rows the run had committed before this display opened

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __call__(self, run: SeedRun, chunk: Chunk | None) -> None:
        """The ``on_progress`` callback: ``chunk`` is None when the run starts."""
        if not self._opened:
            self._open(run)
        if chunk is not None:
            self._show(run, chunk.kind)

    def poll(self, run: SeedRun) -> None:
        """Update from a run re-read from the database (a run written by workers)."""
        if not self._opened:
            self._open(run)
        self._show(run, next((k for k in KINDS if run.done(k) < run.planned(k)), KINDS[-1]))

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._opened else 0.0

    def _open(self, run: SeedRun) -> None:
        self._opened = True
        self._started = self._last_line = time.monotonic()
        self.initial_done = run.total_done
        if self.mode == "bar":
            self._bar = tqdm(
                total=run.total_planned,
                initial=run.total_done,
                unit="rows",
                unit_scale=True,
                dynamic_ncols=True,
                file=sys.stderr,
                desc=f"run #{run.pk}",
            )

    def _show(self, run: SeedRun, kind: str) -> None:
        if self._bar is not None:
            self._bar.set_description(f"run #{run.pk} {kind}", refresh=False)
            self._bar.update(run.total_done - self._bar.n)
        elif self.mode == "log":
            now = time.monotonic()
            if now - self._last_line >= LOG_INTERVAL or run.total_done == run.total_planned:
                self._last_line = now
                self.write(self.line(run, kind, elapsed=now - self._started))

    def line(self, run: SeedRun, kind: str, *, elapsed: float) -> str:
        written = run.total_done - self.initial_done
        rate = written / elapsed if elapsed > 0 else 0.0
        remaining = run.total_planned - run.total_done
        eta = f"{remaining / rate:,.0f} s" if rate else "?"
        return (
            f"run #{run.pk} {kind}: {run.total_done:,}/{run.total_planned:,} rows "
            f"({run.progress:.0%}), {rate:,.0f} rows/s, ETA {eta}"
        )
