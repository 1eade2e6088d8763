"""Change waves: one planned change rolled out host after host under one ticket.

A wave is opened (approved in the ticketing system), made on each of its hosts
in turn by the tool the catalog names (Ansible, Intune, Jamf...), and closed,
within the minutes its catalog row allows. An application wave changes hosts of
one server application (a configuration change, a certificate renewal, a
patch round); a host wave changes assets of one kind at one site (access lists
on the site's network devices, a compliance policy on its laptops). The
ticket's number comes from the key of the event that opens it (``tickets``).
What a wave says comes from the catalog's ``changes.csv``.

A wave is one kind of episode (``episodes``): everything about it is drawn
from its number, so any chunk can write any part of it.
"""

from __future__ import annotations

from seeding.generation.catalog import ChangeWave
from seeding.generation.episode_event import EpisodeEvent, among, drawn, of_scope, paced, step_times, wave_fields
from seeding.generation.episode_hosts import TRIES, application_hosts, site_hosts
from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.rng import Stream
from seeding.generation.spec import RunSpec


def change_wave(
    spec: RunSpec,
    number: int,
    first: int,
    start: int,
    scope: str,
    longest: int,
    assets: AssetTable,
    deployments: OwnDeployments | None,
    applications: ApplicationTable | None,
    names: frozenset[str] | None = None,
    pace: float = 1.0,
) -> list[EpisodeEvent] | None:
    """The events of the wave with episode ``number`` (at most ``longest``), from key ``first`` and second
    ``start``, on an application's hosts (``scope`` "application") or assets at one site ("host"). ``names``:
    the waves that may roll out (a scenario pack's phase names them; None: any); ``pace``: how many times
    faster than the catalog's minutes it rolls out."""
    choices = of_scope(among(spec.catalog.waves, names, "name"), scope)
    if not choices:
        return None
    kind = Stream(spec.seed, "wave.kind")
    for attempt in range(TRIES):
        wave: ChangeWave = drawn(choices, kind, number * TRIES + attempt)
        wanted = min(longest - 2, wave.hosts[0] + Stream(spec.seed, "wave.hosts").int(number, _span(wave.hosts)))
        minutes = paced(wave.minutes[0] + Stream(spec.seed, "wave.minutes").int(number, _span(wave.minutes)), pace)
        window = (start, start + minutes * 60)
        if window[1] >= spec.as_of:
            return None
        fields: dict[str, object] = {}
        if scope == "application":
            found = application_hosts(spec, "wave", number * TRIES + attempt, window, wanted, deployments, applications)
            if found is None:
                continue
            app, rows = found
            hosts = list(zip(rows.asset_ids.tolist(), rows.ids.tolist()))
            fields["app"] = applications.names[app]
            site = -1
        else:
            positions = site_hosts(
                spec, "wave", number * TRIES + attempt, window, wanted, assets, (wave.asset_types, wave.families)
            )
            if positions is None:
                continue
            hosts = [(int(asset_id), None) for asset_id in assets.ids[positions].tolist()]
            site = int(assets.site[positions[0]])
        if site >= 0:
            fields["site"] = spec.catalog.sites[site].city
        return _tell(spec, number, first, start, minutes, wave, hosts, fields)
    return None


def _span(bounds: tuple[int, int]) -> int:
    return bounds[1] - bounds[0] + 1


def _tell(spec, number, first, start, minutes, wave: ChangeWave, hosts, fields) -> list[EpisodeEvent]:
    """Opened at the start, one step per host spread over the window, closed at its end."""
    count = len(hosts)
    fields = {**fields, **wave_fields(spec, first, count, minutes)}
    (first_asset, first_deployment), (last_asset, last_deployment) = hosts[0], hosts[-1]
    events = [
        EpisodeEvent(
            0, start, first_asset, first_deployment, "change", "info", wave.ticket_source, wave.opened.format(**fields)
        )
    ]
    times = step_times(spec, "wave.second", number, start, minutes, count)
    for step, ((asset_id, deployment_id), at) in enumerate(zip(hosts, times), start=1):
        message = wave.step.format(step=step, **fields)
        events.append(EpisodeEvent(step, at, asset_id, deployment_id, "change", "info", wave.source, message))
    closed = wave.closed.format(**fields)
    events.append(
        EpisodeEvent(
            count + 1, start + minutes * 60, last_asset, last_deployment, "change", "info", wave.ticket_source, closed
        )
    )
    return [event._replace(message=event.message[:255]) for event in events]
