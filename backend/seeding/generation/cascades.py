"""Cascades: a dependency fails and drags down the applications that use it, then recovers.

Where a scenario pack's phase asks for them (``cascades``: the share of its episodes; the built-in
``incident-storm`` storm), in a live stream and in a seeded history alike. A database, a cache, a
message broker or a search cluster (third-party software of a category ``cascades.csv`` names, with
running production deployments) stops answering: an alert on its host, its incident record (its
deployments ``failed``), then an incident on each of two in-house applications in production that use it
(their deployments ``degraded``), the fix (failed over, restarted: the dependency ``running``), each
application recovering (``running``), and the dependency's incident resolved, saying how many services it
took down.

One cascade is one episode of eight keys, each event carrying what it changes (``effects``), so it is
found, written and restarted like any incident story. A live stream applies the changes as it writes the
events; a seeded history is written in its final state, every deployment of a cascade running again. Its
cast comes from the stream's recorded view (``DeploymentStates``) or, in a history, from the run's own
deployments (``own_states``), whose hosts must be in service for all of it. Which applications use which
dependency is not in the data; a cascade draws two, and the same dependency drags down the same two every
time it fails.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from seeding.generation.catalog import Cascade
from seeding.generation.effects import Effect
from seeding.generation.episode_event import EpisodeEvent, paced
from seeding.generation.estate import APP_LIFECYCLES, ENVIRONMENTS, ApplicationTable
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import DeploymentStates
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.rows import DEPLOYMENT_STATUS_VALUES, deployment_statuses
from seeding.generation.spec import RunSpec
from seeding.generation.tickets import CHANGE, INCIDENT, ticket

#: Applications a cascade drags down, and the deployments of each (and of the dependency) it changes.
CONSUMERS, HOSTS = 2, 3
#: (part, consumer or -1 for the dependency, share of the duration): the episode's events by key.
STAGES = (
    ("alert", -1, 0.00),
    ("record", -1, 0.03),
    ("consumer record", 0, 0.08),
    ("consumer record", 1, 0.12),
    ("fix", -1, 0.60),
    ("consumer resolution", 0, 0.75),
    ("consumer resolution", 1, 0.80),
    ("resolution", -1, 1.00),
)
_ACTIVE = APP_LIFECYCLES.index("active")


@dataclasses.dataclass(frozen=True, eq=False)
class Cast:
    """Who cascades may happen to: dependencies (application position, its production deployments running,
    its cascades.csv row) and consumers (in-house applications in production: position, rows)."""

    dependencies: tuple[tuple[int, np.ndarray, int], ...]
    consumers: tuple[tuple[int, np.ndarray], ...]


@functools.lru_cache(maxsize=8)
def cascade_cast(spec: RunSpec, applications: ApplicationTable, states: DeploymentStates) -> Cast:
    """Cached per run and view (a process keeps one view per run: ``parent_view``; a history's own states
    once per run: ``own_states``)."""
    catalog = spec.catalog
    row_of = {row.category: number for number, row in enumerate(catalog.cascades)}
    serving = (states.status == "running") & (states.environment == "production") & (states.application >= 0)
    dependencies, consumers = [], []
    for app, group in states.by_application(np.flatnonzero(serving)):
        if int(applications.lifecycle[app]) != _ACTIVE:
            continue
        software = int(applications.software[app])
        if software < 0:
            consumers.append((app, group))
        elif catalog.software[software].category in row_of:
            dependencies.append((app, group, row_of[catalog.software[software].category]))
    return Cast(tuple(dependencies), tuple(consumers))


def own_states(spec: RunSpec, applications: ApplicationTable, deployments: OwnDeployments) -> DeploymentStates:
    """A seeded history's cast as ``DeploymentStates``: the run's own deployments of its active in-house
    applications and of the products a cascade may fail (computed once per run and process)."""
    key = "cascade states"
    if key not in deployments.memo:
        categories = {row.category for row in spec.catalog.cascades}
        failing = np.array([item.category in categories for item in spec.catalog.software] + [True], dtype=bool)
        apps = np.flatnonzero(
            (applications.lifecycle == _ACTIVE) & failing[applications.software] & (deployments.layout.quotas > 0)
        )
        positions = deployments.of_applications(apps)
        placement, rows = deployments.placed(positions)
        status = deployment_statuses(spec, positions, placement.deployed_at, applications.lifecycle[placement.app_idx])
        deployments.memo[key] = DeploymentStates(
            ids=rows.ids,
            asset_ids=rows.asset_ids,
            application=placement.app_idx,
            versions=np.full(len(positions), "", dtype=object),
            status=DEPLOYMENT_STATUS_VALUES[status],
            environment=np.array(ENVIRONMENTS, dtype=object)[deployments.assets.environment[placement.asset_idx]],
            not_before=rows.not_before,
            until=rows.until,
        )
    return deployments.memo[key]


def cascade(
    spec: RunSpec,
    number: int,
    first: int,
    start: int,
    applications: ApplicationTable,
    states: DeploymentStates,
    pace: float,
) -> list[EpisodeEvent] | None:
    """The events of the cascade of episode ``number`` from key ``first`` and second ``start``; None when the
    stream has no dependency and two applications for it, or it would not end within the stream."""
    cast = cascade_cast(spec, applications, states)
    if not cast.dependencies or len(cast.consumers) < CONSUMERS:
        return None
    weights = WeightTable([spec.catalog.cascades[row].weight for _, _, row in cast.dependencies])
    which = int(Stream(spec.seed, "cascade.dependency").weighted(np.array([number], dtype=np.int64), weights)[0])
    app, dependency_rows, row = cast.dependencies[which]
    told: Cascade = spec.catalog.cascades[row]
    # The same dependency drags down the same applications whenever it fails: drawn by the dependency.
    order = np.argsort(Stream(spec.seed, "cascade.users").ints(np.arange(len(cast.consumers)) + app * 65_536, 1 << 40))
    users = [cast.consumers[i] for i in order[:CONSUMERS].tolist()]
    low, high = told.minutes
    minutes = paced(low + Stream(spec.seed, "cascade.minutes").int(number, high - low + 1), pace)
    end = start + minutes * 60 + 60
    if end > spec.as_of:
        return None
    # Hosts in service for all of it (a history's deployments come and go; a stream's are all there).
    dependency_rows = states.serving(dependency_rows, start, end)[:HOSTS]
    users = [(user, states.serving(rows, start, end)[:HOSTS]) for user, rows in users]
    if not len(dependency_rows) or not all(len(rows) for _, rows in users):
        return None
    name = str(applications.names[app])
    fields = {
        "dependency": name,
        "ticket": ticket(INCIDENT, spec, first + 1),
        "change": ticket(CHANGE, spec, first + 4),
        "minutes": minutes,
        "services": CONSUMERS,
    }
    second = Stream(spec.seed, "cascade.second")

    def status(rows: np.ndarray, value: str) -> tuple[Effect, ...]:
        return tuple(Effect("deployments", int(pk), (("status", value),)) for pk in states.ids[rows].tolist())

    events = []
    for stage, (part, user, share) in enumerate(STAGES):
        at = start + int(share * minutes * 60) + (second.int(number * 8 + stage, 60) if stage else 0)
        rows = dependency_rows if user < 0 else users[user][1]
        asset_id, deployment_id = int(states.asset_ids[rows[0]]), int(states.ids[rows[0]])
        own = fields if user < 0 else {**fields, "app": str(applications.names[users[user][0]])}
        if user >= 0:
            own["ticket"] = ticket(INCIDENT, spec, first + 2 + user)  # its own incident, opened at its record
        kind, severity, source, text, effects = {
            "alert": ("alert", "critical", told.alert_source, told.alert, ()),
            "record": ("incident", told.incident_severity, told.ticket_source, told.incident, status(rows, "failed")),
            "consumer record": (
                "incident",
                told.consumer_severity,
                told.ticket_source,
                told.consumer_incident,
                status(rows, "degraded"),
            ),
            "fix": ("change", "info", told.fix_source, told.fix, status(rows, "running")),
            "consumer resolution": (
                "incident",
                told.consumer_severity,
                told.ticket_source,
                told.consumer_resolution,
                status(rows, "running"),
            ),
            "resolution": ("incident", told.incident_severity, told.ticket_source, told.resolution, ()),
        }[part]
        message = text.format(**own)[:255]
        events.append(EpisodeEvent(stage, at, asset_id, deployment_id, kind, severity, source, message, effects))
    return events
