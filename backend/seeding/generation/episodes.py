"""Episodes: the events that belong together under one ticket, laid into the event log.

One episode per ``EPISODE_EVERY`` events takes a block of up to
``EPISODE_LEN`` consecutive event keys at a drawn offset: an incident story on
an application's hosts or on one host (``stories``), or a change wave on an
application's hosts or on assets at one site (``waves``). Application
episodes need the run's own deployments (their layout tells which belong to
one application); a run that writes events onto existing ones tells host
episodes only. An episode starts where the ordinary event at its first key
would have been (``timeline``), and episodes stay clear of the last days of
the window, where assets in maintenance get their events.

Because the number of episodes follows the number of events, incidents per
host per month and the share of each kind of event stay the same from the
smallest plan to the largest.

In a live stream, some blocks tell an asset's lifecycle move or an
application's release instead of their drawn episode (``happenings``). A
scenario pack's phase may make some of its episodes a dependency failing and
dragging its users down (``cascades``), in a stream or a seeded history: the
same keys, the same way of being found.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.cascades import cascade, own_states
from seeding.generation.episode_event import EpisodeEvent
from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.happenings import MIGRATION, MOVE, RELEASE, happenings
from seeding.generation.moves import lifecycle_move
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import DeploymentStates
from seeding.generation.releases import release_wave
from seeding.generation.relocations import migration_wave
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import RunSpec
from seeding.generation.stories import LONGEST, incident_story
from seeding.generation.timeline import event_times, recent_events, timeline_of
from seeding.generation.waves import change_wave

#: One episode per this many events...
EPISODE_EVERY = 400
#: ...taking at most this many consecutive keys.
EPISODE_LEN = max(LONGEST, 8)
#: What an episode is, and how often: (what, scope).
EPISODE_KINDS = (("incident", "application"), ("incident", "host"), ("change", "application"), ("change", "host"))
_KIND_WEIGHTS = (3, 3, 2, 2)
EPISODE_WEIGHTS = WeightTable(list(_KIND_WEIGHTS))


@dataclasses.dataclass(frozen=True)
class EpisodeRows:
    """The episode events of a chunk, by row of the chunk (rows in no episode are absent)."""

    rows: np.ndarray
    times: np.ndarray
    asset_ids: list[int]
    deployment_ids: list[int | None]
    kinds: list[str]
    severities: list[str]
    sources: list[str]
    messages: list[str]


def episode_rows(
    spec: RunSpec,
    ordinals: np.ndarray,
    assets: AssetTable,
    deployments: OwnDeployments | None,
    applications: ApplicationTable | None,
) -> EpisodeRows | None:
    """The episode events among ``ordinals`` (a chunk's consecutive keys), or None."""
    if not len(ordinals) or not assets.size:
        return None
    start, stop = int(ordinals[0]), int(ordinals[-1]) + 1
    numbers = np.arange(max(0, start // EPISODE_EVERY - 1), stop // EPISODE_EVERY + 1, dtype=np.int64)
    found = [
        (key, event)
        for _, events in episodes_of(spec, numbers, assets, deployments, applications, overlapping=(start, stop))
        for key, event in events
        if start <= key < stop
    ]
    return rows_of(found, start)


def episodes_of(
    spec: RunSpec,
    numbers: np.ndarray,
    assets: AssetTable,
    deployments: OwnDeployments | None,
    applications: ApplicationTable | None,
    *,
    overlapping: tuple[int, int] | None = None,
    stream_view: tuple[ApplicationTable, DeploymentStates] | None = None,
) -> list[tuple[int, list[tuple[int, EpisodeEvent]]]]:
    """(number, its events by key) of each of episode ``numbers`` that takes place (the others are absent);
    with ``overlapping``, only those whose keys meet that range of keys. ``stream_view``: a live stream's
    recorded applications and deployments, for its releases (``happenings``)."""
    last = min(recent_events(spec), spec.count("events"))
    numbers, firsts, phases = _laid(spec, numbers)
    keep = firsts + EPISODE_LEN <= last
    if overlapping is not None:
        keep &= (firsts + EPISODE_LEN > overlapping[0]) & (firsts < overlapping[1])
    numbers, firsts, phases = numbers[keep], firsts[keep], phases[keep]
    if not len(numbers) or not assets.size:
        return []
    starts = event_times(spec, firsts, timeline_of(spec))[0]
    kinds = _kinds(spec, numbers, phases)
    view_apps, view_states = stream_view or (None, None)
    plan = happenings(spec, assets, view_apps, view_states, EPISODE_EVERY, EPISODE_LEN)
    hosts = plan.settled or assets  # no story or site wave on a host that is moving to another site
    happening, items = plan.at(numbers)  # a stream's lifecycle moves and releases
    own = deployments is not None and applications is not None and deployments.size > 0
    told = []
    for number, first, at, kind, phase, what, item in zip(
        numbers.tolist(),
        firsts.tolist(),
        starts.tolist(),
        kinds.tolist(),
        phases.tolist(),
        happening.tolist(),
        items.tolist(),
    ):
        if what in (MOVE, RELEASE, MIGRATION):
            if what == MOVE:
                events = lifecycle_move(spec, number, at, item, assets)
            elif what == RELEASE:
                events = release_wave(spec, number, first, at, plan.releases[item], view_apps, view_states, EPISODE_LEN)
            else:
                events = migration_wave(spec, number, first, at, plan.batches[item], assets)
            if events:
                told.append((number, [(first + event.stage, event) for event in events]))
            continue
        told_in = spec.scenario.phases[phase] if phase >= 0 else None
        pace = told_in.pace if told_in is not None else 1.0
        if told_in is not None and _cascades_here(spec, number, told_in.cascades):
            cast = (view_apps, view_states) if view_states is not None else None
            if cast is None and own:  # a seeded history's: its own deployments
                cast = (applications, own_states(spec, applications, deployments))
            if cast is not None and (events := cascade(spec, number, first, at, *cast, pace)):
                told.append((number, [(first + event.stage, event) for event in events]))
                continue
        what, scope = EPISODE_KINDS[kind]
        if scope == "application" and not own:
            scope = "host"
        if what == "incident":
            stories = told_in.stories if told_in is not None else None
            events = incident_story(spec, number, first, at, scope, hosts, deployments, applications, stories, pace)
        else:
            waves = told_in.waves if told_in is not None else None
            events = change_wave(
                spec, number, first, at, scope, EPISODE_LEN, hosts, deployments, applications, waves, pace
            )
        if events:
            told.append((number, [(first + event.stage, event) for event in events]))
    return told


def _cascades_here(spec: RunSpec, number: int, share: float) -> bool:
    """Whether episode ``number`` is a cascade: ``share`` of a phase's episodes are."""
    if share <= 0:
        return False
    return bool(
        Stream(spec.seed, "cascade.here").below(np.array([number], dtype=np.int64), round(share * 1_000), 1_000)[0]
    )


#: Where the extra episodes of a block a scenario pack asks for take their numbers (draws are keyed by them).
_EXTRA = 1 << 40


def _laid(spec: RunSpec, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, first keys, phase index or -1) of the episodes of ``blocks`` of EPISODE_EVERY keys: one per
    block, at a drawn offset; with a scenario pack, as many as its phase at the block asks for (a block of
    a phase with ``episodes`` 2.5 holds two or three, in equal parts of it; one with 0.5, one or none)."""
    one = blocks * EPISODE_EVERY + Stream(spec.seed, "episode.offset").ints(blocks, EPISODE_EVERY - EPISODE_LEN)
    scenario = spec.scenario
    if scenario is None or scenario.plain:
        return blocks, one, np.full(len(blocks), -1, dtype=np.int64)
    timeline = timeline_of(spec)
    at = event_times(spec, np.minimum(blocks * EPISODE_EVERY, max(spec.count("events") - 1, 0)), timeline)[0]
    phase = scenario.phase_indices((at - spec.window_start) / spec.window_seconds)
    density = np.array([p.episodes for p in scenario.phases])[phase]
    extra = Stream(spec.seed, "episode.more").ints(blocks, 1_000) < np.round((density % 1) * 1_000)
    count = np.floor(density).astype(np.int64) + extra
    owner = np.repeat(np.arange(len(blocks)), count)
    part = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    size = EPISODE_EVERY // np.maximum(count, 1)[owner]
    numbers = blocks[owner] + part * _EXTRA
    offsets = Stream(spec.seed, "episode.offset").ints(numbers, 1 << 40) % (size - EPISODE_LEN)
    firsts = np.where(count[owner] == 1, one[owner], blocks[owner] * EPISODE_EVERY + part * size + offsets)
    return numbers, firsts, phase[owner]


def _kinds(spec: RunSpec, numbers: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """The kind of each episode (EPISODE_KINDS): by EPISODE_WEIGHTS, or by its phase's incidents and changes."""
    kinds = Stream(spec.seed, "episode.kind").weighted(numbers, EPISODE_WEIGHTS)
    for phase in np.unique(phases[phases >= 0]).tolist():
        told_in = spec.scenario.phases[phase]
        if (told_in.incidents, told_in.changes) == (1.0, 1.0):
            continue
        factors = [told_in.incidents, told_in.incidents, told_in.changes, told_in.changes]
        weights = [round(weight * factor * 100) for weight, factor in zip(_KIND_WEIGHTS, factors)]
        if not sum(weights):
            continue  # neither: the phase's episodes stay as they were drawn
        mine = phases == phase
        kinds[mine] = Stream(spec.seed, "episode.kind").weighted(numbers[mine], WeightTable(weights))
    return kinds


def rows_of(found: list[tuple[int, EpisodeEvent]], start: int) -> EpisodeRows | None:
    """``found`` (key, event) as the rows of a chunk of keys from ``start``, or None for none."""
    if not found:
        return None
    return EpisodeRows(
        rows=np.array([key - start for key, _ in found], dtype=np.int64),
        times=np.array([event.at for _, event in found], dtype=np.int64),
        asset_ids=[event.asset_id for _, event in found],
        deployment_ids=[event.deployment_id for _, event in found],
        kinds=[event.kind for _, event in found],
        severities=[event.severity for _, event in found],
        sources=[event.source for _, event in found],
        messages=[event.message for _, event in found],
    )
