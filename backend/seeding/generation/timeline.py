"""When events happen: the run's event timeline, and the time of the event at any key.

Events are chronological by key, as in a real event log: the e-th of E events
falls in the e-th of E equal slices of the timeline's cumulative weight. Both
ordinary events (``events``) and episodes (``episodes``: incident stories and
change waves) place their events here, so an episode starts exactly where the
ordinary event at its first key would have been, without either module
calling into the other.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from seeding.generation.catalog import Catalog
from seeding.generation.estate import MAINTENANCE_RECENT_DAYS
from seeding.generation.rng import Stream
from seeding.generation.sites import local_activity
from seeding.generation.spec import EVENT_WINDOW_DAYS, RunSpec

#: Inside an incident burst, events come this many times faster (and are mostly severe alerts)...
BURST_BOOST = 6
#: ...in this many bursts over the window (about one a week, whatever the plan's size)...
BURSTS = 12
#: ...each lasting this many minutes, from the first to the second number.
BURST_MINUTES = (20, 150)


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The event rate over the window, minute by minute, as integer weights."""

    start: int  # epoch second of minute 0
    cumulative: np.ndarray  # running total of the weights
    in_burst: np.ndarray  # per minute: inside an incident burst

    @property
    def total(self) -> int:
        return int(self.cumulative[-1])


@functools.lru_cache(maxsize=4)
def event_timeline(seed: int, as_of: int, catalog: Catalog, hours: int = EVENT_WINDOW_DAYS * 24) -> Timeline:
    """Each site's office hours and weekends in its own time zone over the ``hours`` before ``as_of``,
    summed by the sites' weights, and a few incident bursts where events pile up."""
    start = as_of - hours * 3_600
    weights_per_site = np.array([site.weight for site in catalog.sites], dtype=np.int64)
    weights = np.repeat(local_activity(as_of, catalog, hours) @ weights_per_site, 60)
    minutes = len(weights)
    # As many bursts at every size: a burst is a few bad hours of the whole estate, so their share of the
    # events (and the severity mix with them) must not grow with the plan.
    bursts = np.arange(BURSTS, dtype=np.int64)
    burst_starts = Stream(seed, "burst.start").ints(bursts, minutes)
    burst_lengths = BURST_MINUTES[0] + Stream(seed, "burst.length").ints(bursts, BURST_MINUTES[1] - BURST_MINUTES[0])
    in_burst = np.zeros(minutes, dtype=bool)
    for first, length in zip(burst_starts.tolist(), burst_lengths.tolist()):
        in_burst[first : first + length] = True
    weights = np.where(in_burst, weights * BURST_BOOST, weights)
    return Timeline(start=start, cumulative=np.cumsum(weights), in_burst=in_burst)


def timeline_of(spec: RunSpec) -> Timeline:
    return event_timeline(spec.seed, spec.as_of, spec.catalog, spec.window_hours)


def event_times(spec: RunSpec, ordinals: np.ndarray, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Stratified draws along the timeline: ordinal e falls in the e-th of E equal slices
    of the cumulative weight, at a random point within it. Times never decrease with
    the ordinal, and a chunk needs nothing but its own ordinals. Returns (epoch
    seconds, whether the minute is inside a burst)."""
    total, events = timeline.total, spec.count("events")
    jitter = Stream(spec.seed, "event.time").ints(ordinals, total)
    position = (ordinals * total + jitter) // events
    minute = np.searchsorted(timeline.cumulative, position, side="right")
    second = Stream(spec.seed, "event.second").ints(ordinals, 60)
    return timeline.start + minute * 60 + second, timeline.in_burst[minute]


def recent_events(spec: RunSpec) -> int:
    """The first event ordinal certain to fall within the last ``MAINTENANCE_RECENT_DAYS`` days."""
    events = spec.count("events")
    if not events:
        return 0
    timeline = timeline_of(spec)
    cutoff = len(timeline.cumulative) - MAINTENANCE_RECENT_DAYS * 24 * 60
    before = int(timeline.cumulative[cutoff - 1])
    return -(-before * events // timeline.total) + 1


def timestamp_strings(seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS' in UTC: the text Django itself stores on SQLite, and
    what PostgreSQL reads in a UTC session (Django sets the session time zone)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    raw = text.astype("S19").view(np.uint8).reshape(-1, 19).copy()
    raw[:, 10] = ord(" ")
    return raw.view("S19").ravel().astype("U19").tolist()
