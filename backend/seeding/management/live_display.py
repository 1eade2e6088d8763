"""The command's display of a live stream: a status line kept up to date on a terminal, log lines elsewhere.

Called after each tick's commit with the stream's run. It shows where the
stream is in its window, how many events it wrote and at what rate, how far
behind the clock it is, and (on a terminal) each incident as it opens and
resolves and each change as it is approved and closed, the way a person
watching a dashboard would follow it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from inventory.models import Event
from seeding.models import SeedRun

#: Seconds between two lines when output is not a terminal.
LOG_INTERVAL = 10.0


class LiveDisplay:
    """Follows one stream. ``mode`` is "line" (a terminal), "log" or "off"; ``write`` prints one line."""

    def __init__(self, *, mode: str, write: Callable[[str], None]):
        self.mode, self.write = mode, write
        self._last_line = 0.0
        self._shown: set[int] = set()  # incident events already printed (a later step of a story has a
        # smaller key than events written before it: keys are not the order of writing)

    def __call__(self, run: SeedRun) -> None:
        if self.mode == "off":
            return
        now = time.monotonic()
        if self.mode == "line":
            sys.stderr.write("\r\033[K" + self.status(run))
            sys.stderr.flush()
            self._incident(run)
        elif now - self._last_line >= LOG_INTERVAL or run.written_until >= run.as_of:
            self._last_line = now
            self.write(self.status(run))

    def close(self) -> None:
        if self.mode == "line":
            sys.stderr.write("\n")
            sys.stderr.flush()

    @staticmethod
    def status(run: SeedRun) -> str:
        elapsed = max((run.written_until - run.window_start).total_seconds(), 1.0)
        lag = max((timezone.now() - run.written_until).total_seconds(), 0.0)
        gaps = f", {len(run.gaps)} gap(s) skipped" if run.gaps else ""
        return (
            f"live stream #{run.pk}: {run.written_until:%H:%M:%S} UTC, {run.events_done:,} of {run.events:,} events "
            f"({run.events_done / elapsed:,.1f}/s), {lag:.1f} s behind{gaps}; ends {run.as_of:%Y-%m-%d %H:%M:%S} UTC"
        )

    def _incident(self, run: SeedRun) -> None:
        """Print each incident record or resolution, and each change approved or closed (a release, a
        migration wave), as it is written, above the status line."""
        recent = run.written_until - timedelta(seconds=60)
        changes = Q(kind=Event.Kind.CHANGE, message__regex=r"^CHG[0-9]+ (approved|closed): ")
        incidents = Event.objects.filter(Q(kind=Event.Kind.INCIDENT) | changes, seed_run=run, occurred_at__gte=recent)
        for pk, at, message, hostname in incidents.order_by("occurred_at", "pk").values_list(
            "pk", "occurred_at", "message", "asset__hostname"
        ):
            if pk not in self._shown:
                self._shown.add(pk)
                sys.stderr.write(f"\r\033[K  {at:%H:%M:%S} {hostname}: {message}\n")
