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
from seeding.generation.scenarios import Scenario
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
    """The event rate over the window, slot by slot (a minute of history, a second of a live stream), as
    integer weights."""

    start: int  # epoch second of slot 0
    cumulative: np.ndarray  # running total of the weights
    in_burst: np.ndarray  # per slot: inside an incident burst
    step: int = 60  # seconds per slot

    @property
    def total(self) -> int:
        return int(self.cumulative[-1])


@functools.lru_cache(maxsize=4)
def event_timeline(
    seed: int, as_of: int, catalog: Catalog, hours: int = EVENT_WINDOW_DAYS * 24, scenario: Scenario | None = None
) -> Timeline:
    """Each site's office hours and weekends in its own time zone over the ``hours`` before ``as_of``,
    summed by the sites' weights, and a few incident bursts where events pile up; shaped by ``scenario``'s
    phases."""
    start = as_of - hours * 3_600
    weights_per_site = np.array([site.weight for site in catalog.sites], dtype=np.int64)
    weekend = scenario.weekend if scenario is not None else 1.0
    weights = np.repeat(local_activity(as_of, catalog, hours, weekend) @ weights_per_site, 60)
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
    weights, in_burst = _phased(scenario, weights, in_burst)
    return Timeline(start=start, cumulative=np.cumsum(weights), in_burst=in_burst)


def _phased(scenario: Scenario | None, weights: np.ndarray, in_burst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``weights`` and ``in_burst`` (per slot of the window) shaped by ``scenario``'s phases: each phase's
    activity (in tenths), and its burst (what monitoring says is worse; how many events, its activity
    says). Untouched without a pack that shapes them."""
    if scenario is None or not scenario.shapes_activity:
        return weights, in_burst
    phase = scenario.phase_indices((np.arange(len(weights)) + 0.5) / len(weights))
    factors = np.array([round(p.activity * 10) for p in scenario.phases], dtype=np.int64)
    bursts = np.array([p.burst for p in scenario.phases], dtype=bool)
    return weights * factors[phase], in_burst | bursts[phase]


@functools.lru_cache(maxsize=4)
def live_timeline(seed: int, start: int, seconds: int, catalog: Catalog, scenario: Scenario | None = None) -> Timeline:
    """A live stream's timeline: second by second from ``start``, so that events keep the order of their
    keys to the second and each second of the stream is written when it has passed (``live``). The same
    rhythm of the sites as a history; bursts as often as in a history of the same length (none in a
    stream of a few hours: its incidents are stories)."""
    hours = -(-seconds // 3_600)
    weights_per_site = np.array([site.weight for site in catalog.sites], dtype=np.int64)
    weekend = scenario.weekend if scenario is not None else 1.0
    weights = np.repeat(local_activity(start + hours * 3_600, catalog, hours, weekend) @ weights_per_site, 3_600)
    weights = weights[:seconds]
    bursts = np.arange(BURSTS * seconds // (EVENT_WINDOW_DAYS * 86_400), dtype=np.int64)
    in_burst = np.zeros(seconds, dtype=bool)
    if len(bursts):
        burst_starts = Stream(seed, "burst.start").ints(bursts, seconds)
        minutes = BURST_MINUTES[0] + Stream(seed, "burst.length").ints(bursts, BURST_MINUTES[1] - BURST_MINUTES[0])
        lengths = 60 * minutes
        for first, length in zip(burst_starts.tolist(), lengths.tolist()):
            in_burst[first : first + length] = True
    weights = np.where(in_burst, weights * BURST_BOOST, weights)
    weights, in_burst = _phased(scenario, weights, in_burst)
    return Timeline(start=start, cumulative=np.cumsum(weights), in_burst=in_burst, step=1)


def timeline_of(spec: RunSpec) -> Timeline:
    if spec.live:
        return live_timeline(spec.seed, spec.window_start, spec.window_seconds, spec.catalog, spec.scenario)
    return event_timeline(spec.seed, spec.as_of, spec.catalog, spec.window_hours, spec.scenario)


def event_times(spec: RunSpec, ordinals: np.ndarray, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Stratified draws along the timeline: ordinal e falls in the e-th of E equal slices
    of the cumulative weight, at a random point within it. Slots never decrease with
    the ordinal, and a chunk needs nothing but its own ordinals. Returns (epoch
    seconds, whether the slot is inside a burst)."""
    slot = event_slots(spec, ordinals, timeline)
    second = Stream(spec.seed, "event.second").ints(ordinals, timeline.step)
    return timeline.start + slot * timeline.step + second, timeline.in_burst[slot]


def event_slots(spec: RunSpec, ordinals: np.ndarray, timeline: Timeline) -> np.ndarray:
    """The timeline slot of each ordinal (``event_times``)."""
    total, events = timeline.total, spec.count("events")
    jitter = Stream(spec.seed, "event.time").ints(ordinals, total)
    # (ordinal * total + jitter) // events, without the product: it passes 64 bits for millions of events
    # on a timeline a scenario pack made heavier.
    whole, rest = divmod(total, events)
    position = ordinals * whole + (ordinals * rest + jitter) // events
    return np.searchsorted(timeline.cumulative, position, side="right")


def first_event_in_slot(spec: RunSpec, slot: int, timeline: Timeline) -> int:
    """The first ordinal whose slot is ``slot`` or later (the event count past the last slot).

    Slots never decrease with the ordinal, and ordinal e's position along the
    cumulative weight lies in [e * total / E, (e + 1) * total / E), so the answer is
    one of the two or three ordinals around ``cumulative[slot - 1] * E / total``.
    """
    events = spec.count("events")
    if slot <= 0:
        return 0
    if slot >= len(timeline.cumulative):
        return events
    before = int(timeline.cumulative[slot - 1])  # positions below this are in earlier slots
    low = max(0, before * events // timeline.total - 2)
    candidates = np.arange(low, min(events, low + 5), dtype=np.int64)
    later = candidates[event_slots(spec, candidates, timeline) >= slot]
    return int(later[0]) if len(later) else min(events, low + 5)


def recent_events(spec: RunSpec) -> int:
    """The first event ordinal certain to fall within the last ``MAINTENANCE_RECENT_DAYS`` days."""
    events = spec.count("events")
    if not events:
        return 0
    if spec.live:  # a stream has no assets of its own in maintenance: nothing is kept for them
        return events
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
