"""A live stream's events, by time: everything that happens in a stretch of seconds that has just passed.

A live stream is a run whose window lies ahead (``RunSpec.live``). Its events are laid along a
timeline of seconds (``timeline.live_timeline``) as a history's are along minutes, so everything a
seeded history has (each site's rhythm in its own time zone, incident stories under one ticket,
change waves, the severity mix, tickets numbered from keys, assets in service at the time) comes from
the same generation, and the stream is a pure function of its spec. Only the order of writing
differs: by time, not by key. A stretch of seconds [``start``, ``stop``) holds the keys whose slots
fall in it (keys keep the order of time), and gives

- ``due``: its ordinary events (less the keys an episode takes) and the events of the episodes that
  begin in it and happen before ``stop``, and
- ``later``: the other events of those episodes. An episode's events take keys next to its first but
  happen minutes to hours after it; the writer keeps them (``services.live``) and writes each in the
  stretch it happens in.

Both come with a column ``effects``: what each event changes in the estate beside itself (an asset
back from maintenance or a laptop handed over: ``moves``; a release rolled out: ``releases``; a host
moved to another site: ``relocations``; a dependency down and back: ``cascades``), most often nothing;
the writer applies them with the event.

So any cut of the window into stretches writes every event exactly once, and a stream restarted at
its checkpoint writes what it would have written had it never stopped, with no need to look back.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.columns import Parents
from seeding.generation.episode_event import EpisodeEvent
from seeding.generation.episodes import EPISODE_EVERY, EPISODE_LEN, episodes_of
from seeding.generation.events import Columns, events
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import RecordedStates
from seeding.generation.spec import RunSpec
from seeding.generation.timeline import first_event_in_slot, timeline_of, timestamp_strings


@dataclasses.dataclass(frozen=True)
class Stretch:
    """What a stretch of seconds writes now, and what its episodes write later (both in key order)."""

    due: Columns
    later: Columns


def stretch_events(spec: RunSpec, start: int, stop: int, parents: Parents) -> Stretch:
    """The stream's events of the keys whose seconds are [``start``, ``stop``)."""
    timeline = timeline_of(spec)
    first = first_event_in_slot(spec, start - timeline.start, timeline)
    last = first_event_in_slot(spec, stop - timeline.start, timeline)
    assets, deployments, applications = parents.assets, parents.deployments, parents.applications
    ordinary = events(spec, first, last, assets, deployments, applications, tell_episodes=False)
    # Episodes that began before ``first`` may still hold keys here (an episode spans EPISODE_LEN keys).
    told = _episodes_between(spec, max(0, first - EPISODE_LEN), last, parents)
    taken = {key for key, _ in told if first <= key < last}
    base = spec.id_base("events")
    keep = [row for row, pk in enumerate(ordinary["id"]) if pk - base not in taken]
    begun = [(key, event) for key, event in told if key - event.stage >= first]
    due = {name: [values[row] for row in keep] for name, values in ordinary.items()}
    due["effects"] = [()] * len(keep)
    _add(due, spec, [(key, event) for key, event in begun if event.at < stop])
    later = {name: [] for name in due}
    _add(later, spec, [(key, event) for key, event in begun if event.at >= stop])
    return Stretch(due=_in_key_order(due), later=_in_key_order(later))


def _add(columns: Columns, spec: RunSpec, found: list[tuple[int, EpisodeEvent]]) -> None:
    times = timestamp_strings(np.array([event.at for _, event in found], dtype=np.int64))
    for (key, event), at in zip(found, times):
        columns["id"].append(spec.id_base("events") + key)
        columns["asset"].append(event.asset_id)
        columns["deployment"].append(event.deployment_id)
        columns["kind"].append(event.kind)
        columns["severity"].append(event.severity)
        columns["source"].append(event.source)
        columns["message"].append(event.message)
        columns["occurred_at"].append(at)
        columns["effects"].append(event.effects)


def _in_key_order(columns: Columns) -> Columns:
    order = np.argsort(np.array(columns["id"], dtype=np.int64), kind="stable").tolist()
    return {name: [values[i] for i in order] for name, values in columns.items()}


def _episodes_between(spec: RunSpec, since: int, until: int, parents: Parents) -> list[tuple[int, EpisodeEvent]]:
    """(key, event) of every event of the episodes whose first key lies in [``since``, ``until``)."""
    numbers = np.arange(max(0, since // EPISODE_EVERY - 1), until // EPISODE_EVERY + 1, dtype=np.int64)
    own = isinstance(parents.deployments, OwnDeployments) and parents.applications is not None
    deployments, applications = (parents.deployments, parents.applications) if own else (None, None)
    view = None  # what the stream's releases roll out to: its recorded applications and deployments
    if not own and parents.applications is not None and isinstance(parents.deployments, RecordedStates):
        view = (parents.applications, parents.deployments.states(parents.applications))
    return [
        (key, event)
        for _, told in episodes_of(spec, numbers, parents.assets, deployments, applications, stream_view=view)
        for key, event in told
        if since <= key - event.stage < until
    ]
