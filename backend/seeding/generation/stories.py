"""Incident stories: the events a viewer can follow from the first alert (or a user's call) to the fix.

An incident detected by monitoring tells, on up to three hosts of one server
application (or on one host, for a host's trouble): alerts rising from warning
to critical, the incident record, another alert, a change that fixes it
(rollback, restart, scale-out, a part replaced; its own ticket, naming the
incident's), the alert clearing, and the incident resolved. An incident a
user reports (a laptop that will not start, a stolen one) has no alerts: the
record, the fix, the resolution. The record and the resolution carry the same
ticket. What a story says, how long it lasts and what it can happen to come
from the catalog's ``incident_stories.csv``.

A story is one kind of episode (``episodes``): its number, start, host and
kind are drawn from its number, so any chunk can write any part of it.
"""

from __future__ import annotations

from seeding.generation.catalog import SEVERITIES, IncidentStory
from seeding.generation.episode_event import EpisodeEvent, among, drawn, of_scope, paced
from seeding.generation.episode_hosts import TRIES, application_hosts, site_hosts
from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.rng import Stream
from seeding.generation.spec import RunSpec
from seeding.generation.tickets import CHANGE, INCIDENT, ticket

#: What monitoring sees: (kind, severity or None for the incident's, host slot, share of the duration).
MONITORED = (
    ("alert", "warning", 0, 0.00),
    ("alert", "error", 1, 0.06),
    ("alert", "critical", 0, 0.12),
    ("incident", None, 0, 0.16),  # the incident record
    ("alert", "critical", 2, 0.20),
    ("change", "info", 0, 0.55),  # the fix
    ("alert", "info", 0, 0.85),  # the alert clears
    ("incident", None, 0, 1.00),  # resolved
)
#: What a user's call starts: the record, the fix, the resolution.
REPORTED = (
    ("incident", None, 0, 0.00),
    ("change", "info", 0, 0.70),
    ("incident", None, 0, 1.00),
)
LONGEST = max(len(MONITORED), len(REPORTED))
#: At the stage of each: the incident record and the fix (the events whose keys number the tickets).
_RECORD = {MONITORED: (3, 5), REPORTED: (0, 1)}


def incident_story(
    spec: RunSpec,
    number: int,
    first: int,
    start: int,
    scope: str,
    assets: AssetTable,
    deployments: OwnDeployments | None,
    applications: ApplicationTable | None,
    symptoms: frozenset[str] | None = None,
    pace: float = 1.0,
) -> list[EpisodeEvent] | None:
    """The events of the story with episode ``number``, starting at key ``first`` and second ``start``, on an
    application's hosts (``scope`` "application") or one asset ("host"); None when none fits. ``symptoms``:
    the stories that may be told (a scenario pack's phase names them; None: any); ``pace``: how many times
    faster than the catalog's minutes it unfolds (a pack's phase; 1: as the catalog says)."""
    choices = of_scope(among(spec.catalog.stories, symptoms, "symptom"), scope)
    if not choices:
        return None
    kind = Stream(spec.seed, "story.kind")
    for attempt in range(TRIES):
        story: IncidentStory = drawn(choices, kind, number * TRIES + attempt)
        low, high = story.minutes
        minutes = paced(low + Stream(spec.seed, "story.minutes").int(number, high - low + 1), pace)
        window = (start, start + minutes * 60)
        if window[1] + 60 > spec.as_of:  # its last event comes up to a minute after the window's end
            return None
        if scope == "application":
            found = application_hosts(spec, "story", number * TRIES + attempt, window, 3, deployments, applications)
            if found is None:
                continue
            app, rows = found
            hosts = [(int(a), int(d)) for a, d in zip(rows.asset_ids.tolist(), rows.ids.tolist())]
            fields = {"app": applications.names[app], "version": applications.previous_release(app, spec.catalog)}
        else:
            positions = site_hosts(
                spec,
                "story",
                number * TRIES + attempt,
                window,
                1,
                assets,
                (story.asset_types, story.families),
                awake=story.detected_by == "user",
            )
            if positions is None:
                continue
            hosts, fields = [(int(assets.ids[positions[0]]), None)], {}
        return _tell(spec, number, first, start, minutes, story, hosts, fields)
    return None


def _tell(spec, number, first, start, minutes, story: IncidentStory, hosts, fields) -> list[EpisodeEvent]:
    stages = MONITORED if story.detected_by == "monitoring" else REPORTED
    record, fix = _RECORD[stages]
    fields = {
        **fields,
        "ticket": ticket(INCIDENT, spec, first + record),
        "change": ticket(CHANGE, spec, first + fix),
        "minutes": minutes,
        "hours": max(1, round(minutes / 60)),
    }
    second, value = Stream(spec.seed, "story.second"), Stream(spec.seed, "story.value")
    events = []
    for stage, (kind, severity, slot, share) in enumerate(stages):
        at = start + int(share * minutes * 60) + (second.int(number * LONGEST + stage, 60) if stage else 0)
        asset_id, deployment_id = hosts[slot % len(hosts)]
        if kind == "alert" and severity != "info":
            low, high = story.values[SEVERITIES.index(severity) - 1]
            low_value = value.int(number * LONGEST + stage, high - low + 1)
            message, source = story.alert.format(value=low + low_value, **fields), story.alert_source
        elif kind == "alert":
            message, source = story.recovery.format(**fields), story.alert_source
        elif kind == "change":
            message, source = story.fix.format(**fields), story.fix_source
        elif stage == record:
            message, source, severity = story.incident.format(**fields), story.ticket_source, story.incident_severity
        else:
            message, source, severity = story.resolution.format(**fields), story.ticket_source, story.incident_severity
        events.append(EpisodeEvent(stage, at, asset_id, deployment_id, kind, severity, source, message[:255]))
    return events
