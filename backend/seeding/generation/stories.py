"""Incident stories: the events a viewer can follow from the first alert to the fix.

One story per ``STORY_EVERY`` events takes a block of ``STORY_LEN``
consecutive event keys. It picks an application of the run with deployments
on servers, and tells, on up to three of its hosts: alerts rising from warning
to critical, the incident record (a ticket naming the application), a second
host alerting, a change that fixes it (rollback, restart, scale-out; its own
ticket, naming the incident's), the alert clearing, and the incident resolved,
over half an hour to three hours. The incident, the change and the resolution
carry the same incident ticket. What a story says comes from the catalog's
``incident_stories.csv``.

Like every event, a story event is a pure function of the run and its key:
the story's number, start and application are drawn from the block, so any
chunk can write any part of a story. Stories need the run's own deployments
(their layout tells which deployments belong to one application); events
stacked onto existing deployments have none. Blocks stay clear of the last
days of the window, where assets in maintenance get their events.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.catalog import SEVERITIES
from seeding.generation.estate import APP_RETIRED, PLANNED, ApplicationTable
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import RunSpec
from seeding.generation.timeline import event_times, recent_events, timeline_of

#: One story per this many events...
STORY_EVERY = 2_000
#: ...taking this many consecutive keys: (kind, severity or None for the incident's, host slot, share of the duration).
STAGES = (
    ("alert", "warning", 0, 0.00),
    ("alert", "error", 1, 0.06),
    ("alert", "critical", 0, 0.12),
    ("incident", None, 0, 0.16),  # the incident record
    ("alert", "critical", 2, 0.20),
    ("change", "info", 0, 0.55),  # the fix
    ("alert", "info", 0, 0.85),  # the alert clears
    ("incident", None, 0, 1.00),  # resolved
)
STORY_LEN = len(STAGES)
#: A story lasts this many minutes at least, and up to this many more.
MIN_MINUTES, EXTRA_MINUTES = 30, 150
#: Story tickets are numbered from here, apart from the tickets of single events (INC0010000-INC0099999).
TICKETS_FROM = 1_000_000
#: Candidate applications tried per story before it is given up (the events stay ordinary ones).
TRIES = 4


@dataclasses.dataclass(frozen=True)
class StoryRows:
    """What the story events of a chunk are, by row of the chunk (rows not in a story are absent)."""

    rows: np.ndarray
    times: np.ndarray
    asset_ids: np.ndarray
    deployment_ids: np.ndarray
    kinds: list[str]
    severities: list[str]
    sources: list[str]
    messages: list[str]


def story_rows(
    spec: RunSpec,
    ordinals: np.ndarray,
    deployments: OwnDeployments,
    applications: ApplicationTable,
) -> StoryRows | None:
    """The story events among ``ordinals`` (a chunk's consecutive keys), or None.

    A story starts where the ordinary event at its block's first key would be,
    and stays clear of the last days (from ``recent_events`` on), which belong
    to the maintenance events.
    """
    catalog = spec.catalog
    if not catalog.stories or deployments.size == 0:
        return None
    timeline = timeline_of(spec)
    recent_start = recent_events(spec)
    start, stop = int(ordinals[0]), int(ordinals[-1]) + 1
    rows, times, assets, deps, kinds, severities, sources, messages = [], [], [], [], [], [], [], []
    for number in range(max(0, start // STORY_EVERY - 1), stop // STORY_EVERY + 1):
        first = number * STORY_EVERY + int(_draw(spec, "story.offset", number, STORY_EVERY - STORY_LEN))
        if first + STORY_LEN > min(recent_start, spec.count("events")) or first + STORY_LEN <= start or first >= stop:
            continue
        first_time = int(event_times(spec, np.array([first], dtype=np.int64), timeline)[0][0])
        story = _story(spec, number, first_time, deployments, applications)
        if story is None:
            continue
        for stage, event in enumerate(story):
            ordinal = first + stage
            if start <= ordinal < stop:
                rows.append(ordinal - start)
                times.append(event[0])
                assets.append(event[1])
                deps.append(event[2])
                kinds.append(event[3])
                severities.append(event[4])
                sources.append(event[5])
                messages.append(event[6])
    if not rows:
        return None
    return StoryRows(
        rows=np.array(rows, dtype=np.int64),
        times=np.array(times, dtype=np.int64),
        asset_ids=np.array(assets, dtype=np.int64),
        deployment_ids=np.array(deps, dtype=np.int64),
        kinds=kinds,
        severities=severities,
        sources=sources,
        messages=messages,
    )


def _draw(spec: RunSpec, field: str, number: int, n: int) -> int:
    return int(Stream(spec.seed, field).ints(np.array([number], dtype=np.int64), n)[0])


def _story(spec: RunSpec, number: int, start: int, deployments: OwnDeployments, applications: ApplicationTable):
    """The events of story ``number`` as (time, asset id, deployment id, kind, severity, source, message)."""
    catalog, layout = spec.catalog, deployments.layout
    minutes = MIN_MINUTES + _draw(spec, "story.minutes", number, EXTRA_MINUTES)
    end = start + minutes * 60
    if end >= spec.as_of:
        return None
    servers = {i for i, name in enumerate(catalog.platforms) if name.startswith("server/")}
    for attempt in range(TRIES):
        first = _draw(spec, "story.deployment", number * TRIES + attempt, deployments.size)
        app = int(np.searchsorted(layout.ends, first, side="right"))
        if applications.lifecycle[app] in (PLANNED, APP_RETIRED) or not applications.platforms[app] <= servers:
            continue
        quota, low = int(layout.quotas[app]), int(layout.ends[app] - layout.quotas[app])
        hosts = np.array([low + (first - low + step) % quota for step in range(3)], dtype=np.int64)
        rows = deployments.take(hosts)
        if (rows.not_before > start).any() or (rows.until < end).any():
            continue
        return _tell(spec, number, start, minutes, rows, applications, app)
    return None


def _tell(spec: RunSpec, number: int, start: int, minutes: int, rows, applications: ApplicationTable, app: int):
    catalog = spec.catalog
    story = catalog.stories[
        int(
            Stream(spec.seed, "story.kind").weighted(
                np.array([number]), WeightTable([s.weight for s in catalog.stories])
            )[0]
        )
    ]
    base = TICKETS_FROM + _draw(spec, "story.tickets", 0, 8_000_000)
    ticket, change = f"INC{base + number:07d}", f"CHG{base + number:07d}"
    fields = {
        "app": applications.names[app],
        "ticket": ticket,
        "change": change,
        "version": applications.previous_release(app, catalog),
        "minutes": minutes,
    }
    incident = story.incident.format(**fields)
    events = []
    for stage, (kind, severity, slot, share) in enumerate(STAGES):
        at = (
            start
            + int(share * minutes * 60)
            + (_draw(spec, "story.second", number * STORY_LEN + stage, 60) if stage else 0)
        )
        host = slot % len(rows.ids)
        if kind == "alert" and severity != "info":
            low, high = story.values[SEVERITIES.index(severity) - 1]
            value = low + _draw(spec, "story.value", number * STORY_LEN + stage, high - low + 1)
            message, source = story.alert.format(value=value, **fields), story.alert_source
        elif kind == "alert":
            message, source = story.recovery.format(**fields), story.alert_source
        elif kind == "change":
            message, source = story.fix.format(**fields), story.fix_source
        elif stage == 3:
            message, source, severity = incident, story.ticket_source, story.incident_severity
        else:
            message, source, severity = story.resolution.format(**fields), story.ticket_source, story.incident_severity
        events.append((at, int(rows.asset_ids[host]), int(rows.ids[host]), kind, severity, source, message[:255]))
    return events
