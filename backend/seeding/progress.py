"""Progress display for long seeds: a live bar on a terminal, log lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

from seeding.models import KINDS, SeedRun
from seeding.plan import Chunk

#: Seconds between two progress lines when output is not a terminal.
LOG_INTERVAL = 5.0


class ProgressReporter:
    """Follows a run chunk by chunk. ``mode`` is "bar", "log" or "off"."""

    def __init__(self, run: SeedRun, *, mode: str, write: Callable[[str], None]):
        self.run, self.mode, self.write = run, mode, write
        self._bar: tqdm | None = None
        self._started = self._last_line = 0.0
        self._initial = 0

    def __enter__(self) -> ProgressReporter:
        self._started = self._last_line = time.monotonic()
        self._initial = self.run.total_done
        if self.mode == "bar":
            self._bar = tqdm(
                total=self.run.total_planned,
                initial=self._initial,
                unit="rows",
                unit_scale=True,
                dynamic_ncols=True,
                file=sys.stderr,
                desc=f"run #{self.run.pk}",
            )
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, run: SeedRun, chunk: Chunk) -> None:
        if self._bar is not None:
            self._bar.set_description(f"run #{run.pk} {chunk.kind}", refresh=False)
            self._bar.update(run.total_done - self._bar.n)
        elif self.mode == "log":
            now = time.monotonic()
            if now - self._last_line >= LOG_INTERVAL or run.total_done == run.total_planned:
                self._last_line = now
                self.write(self.line(run, chunk.kind, elapsed=now - self._started))

    def poll(self, run: SeedRun) -> None:
        """Update from a run re-read from the database (a run written by workers)."""
        kind = next((k for k in KINDS if run.done(k) < run.planned(k)), KINDS[-1])
        self.update(run, Chunk(kind=kind, index=0, start=0, stop=0))

    def line(self, run: SeedRun, kind: str, *, elapsed: float) -> str:
        written = run.total_done - self._initial
        rate = written / elapsed if elapsed > 0 else 0.0
        remaining = run.total_planned - run.total_done
        eta = f"{remaining / rate:,.0f} s" if rate else "?"
        return (
            f"run #{run.pk} {kind}: {run.total_done:,}/{run.total_planned:,} rows "
            f"({run.progress:.0%}), {rate:,.0f} rows/s, ETA {eta}"
        )
