"""Releases: a live stream rolls a release of an application out to its hosts, and the deployments move with it.

A release wave is a change wave (``changes.csv``, scope ``release``) whose
steps change state: when it is approved, the application's hosts in one
environment start ``deploying`` the release (an in-house application's
current version moves on to it first); each step brings one host up on it,
``running``, or, one time in ``FAILING_ONE_IN``, ``failed`` its health
checks, left for someone to look at; the closing says how many came up
healthy. A third-party product is never released past the catalog's current
release: its wave brings hosts still on an older one up to date.

What may be released is decided once per stream from its recorded view of
the estate (``DeploymentStates``): active applications, not agents (an agent
is updated by its vendor's console, not in a change people watch), with at
least two running deployments in the environment chosen; an in-house one
only when no rollout of it is under way (none of its deployments deploying). Which are released,
and when, is laid with the lifecycle moves (``happenings``).
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np

from seeding.generation.effects import Effect
from seeding.generation.episode_event import EpisodeEvent, drawn, of_scope, step_times, wave_fields
from seeding.generation.estate import APP_LIFECYCLES, ENVIRONMENTS, ApplicationTable
from seeding.generation.parent_shapes import DeploymentStates
from seeding.generation.rng import Stream
from seeding.generation.spec import RunSpec

#: One host in this many does not come up healthy on a release.
FAILING_ONE_IN = 15
#: A release ends this long before the stream does, or does not happen.
MARGIN_SECONDS = 60
_ACTIVE = APP_LIFECYCLES.index("active")


@dataclasses.dataclass(frozen=True)
class Release:
    """What may be released: an application (its position), the recorded deployments its wave may take (their
    positions in ``DeploymentStates``, in a drawn order), the release, and whether it is new (the application's
    current version moves on to it) or the current one the hosts lag behind."""

    application: int
    rows: np.ndarray
    version: str
    new: bool


def release_candidates(spec: RunSpec, applications: ApplicationTable, states: DeploymentStates) -> tuple[Release, ...]:
    """Every release the stream may roll out, one per application at most, in application order."""
    if not spec.live or of_scope(spec.catalog.waves, "release") is None or not len(states.ids):
        return ()
    return _candidates(spec, applications, states)


@functools.lru_cache(maxsize=8)
def _candidates(spec: RunSpec, applications: ApplicationTable, states: DeploymentStates) -> tuple[Release, ...]:
    """Cached per stream and view (a process keeps one view per run: ``parent_view``)."""
    catalog = spec.catalog
    running = (states.status == "running") & (states.application >= 0)
    found = []
    for app, group in states.by_application(np.flatnonzero(running)):
        software = int(applications.software[app])
        if int(applications.lifecycle[app]) != _ACTIVE or (software >= 0 and catalog.software[software].reach):
            continue
        if software < 0 and applications.rolling_out is not None and applications.rolling_out[app]:
            continue  # its last release is still rolling out: no new one meanwhile
        current = str(applications.versions[app])
        if software >= 0:  # bring the hosts still on an older release up to the current one
            version, new = current, False
            group = group[states.versions[group] != current]
        else:
            version, new = _next_release(current), True
            if version is None:
                continue
        group = _one_environment(group, states)
        if len(group) < 2:
            continue
        drawn_order = np.argsort(Stream(spec.seed, "release.host").ints(states.ids[group], 1 << 40), kind="stable")
        found.append(Release(application=app, rows=group[drawn_order], version=version, new=new))
    return tuple(found)


def _next_release(version: str) -> str | None:
    """The next minor release of an in-house version: 4.12.3 gives 4.13.0; None for one it cannot read."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", version)
    return f"{match[1]}.{int(match[2]) + 1}.0" if match else None


def _one_environment(group: np.ndarray, states: DeploymentStates) -> np.ndarray:
    """The deployments of ``group`` in production, or in its largest environment without production."""
    environments = states.environment[group]
    counts = {name: int((environments == name).sum()) for name in ENVIRONMENTS}
    chosen = "production" if counts["production"] >= 2 else max(ENVIRONMENTS, key=lambda name: counts[name])
    return group[environments == chosen]


def release_wave(
    spec: RunSpec,
    number: int,
    first: int,
    start: int,
    release: Release,
    applications: ApplicationTable,
    states: DeploymentStates,
    longest: int,
) -> list[EpisodeEvent] | None:
    """The events of ``release`` rolled out as episode ``number`` from key ``first`` and second ``start`` (at
    most ``longest`` keys), each carrying what it changes; None when it would not end within the stream."""
    wave = drawn(of_scope(spec.catalog.waves, "release"), Stream(spec.seed, "release.wave"), number)
    hosts = wave.hosts[0] + Stream(spec.seed, "release.hosts").int(number, wave.hosts[1] - wave.hosts[0] + 1)
    rows = release.rows[: max(1, min(hosts, longest - 2, len(release.rows)))]
    span = wave.minutes[1] - wave.minutes[0] + 1
    minutes = wave.minutes[0] + Stream(spec.seed, "release.minutes").int(number, span)
    if start + minutes * 60 + MARGIN_SECONDS > spec.as_of:
        return None
    count = len(rows)
    failing = [
        Stream(spec.seed, "release.failed").int(number * 16 + step, FAILING_ONE_IN) == 0 for step in range(count)
    ]
    fields = {
        **wave_fields(spec, first, count, minutes),
        "app": str(applications.names[release.application]),
        "version": release.version,
        "healthy": count - sum(failing),
    }
    ids, assets = states.ids[rows].tolist(), states.asset_ids[rows].tolist()
    deploying = tuple(Effect("deployments", pk, (("status", "deploying"), ("version", release.version))) for pk in ids)
    if release.new:
        moved_on = Effect("applications", int(applications.ids[release.application]), (("version", release.version),))
        deploying = (moved_on, *deploying)
    opened = wave.opened.format(**fields)[:255]
    events = [EpisodeEvent(0, start, assets[0], ids[0], "change", "info", wave.ticket_source, opened, deploying)]
    times = step_times(spec, "release.second", number, start, minutes, count)
    for step, (asset_id, pk, failed, at) in enumerate(zip(assets, ids, failing, times), start=1):
        text, severity, status = (wave.failed, "warning", "failed") if failed else (wave.step, "info", "running")
        message = text.format(step=step, **fields)[:255]
        effect = (Effect("deployments", pk, (("status", status),)),)
        events.append(EpisodeEvent(step, at, asset_id, pk, "change", severity, wave.source, message, effect))
    closed = wave.closed.format(**fields)[:255]
    end = start + minutes * 60
    events.append(EpisodeEvent(count + 1, end, assets[-1], ids[-1], "change", "info", wave.ticket_source, closed))
    return events
