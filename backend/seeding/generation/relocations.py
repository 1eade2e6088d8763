"""Migrations: a live stream moves assets from one site to another, a few hosts at a time.

A scenario pack's ``[migration]`` (``scenarios.Migration``, the built-in
``datacenter-migration``) names a site to empty and one to fill, and which
asset types move. During the stream, the source's assets of those types in
use move in waves (``changes.csv``, scope ``migration``: virtual machines by
cross-site vMotion in minutes, servers shipped in hours), each with its change
number: opened, one step per host, closed. On its step a host arrives: its
location, its name (the destination's code, ``ams1-vm-001234``) and its
address (in the destination's range) change with the event that says so.

Addresses come from host numbers the stream reserved at the destination when
it was created (``SeedRun.site_hosts``, as a seeding run reserves them for its
assets), so no two hosts ever share one. Which hosts move, in which waves,
is decided once per stream from its recorded view; the waves are laid with
the stream's other happenings (``happenings``). Until the end of the stream,
no incident story or site wave picks a host that moves (its site is changing
under it): ``settled`` is the asset table they see.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from seeding.generation.catalog import ChangeWave
from seeding.generation.effects import Effect
from seeding.generation.episode_event import EpisodeEvent, step_times, wave_fields
from seeding.generation.estate import IN_USE, AssetTable
from seeding.generation.rng import Stream
from seeding.generation.rows import ip_addresses
from seeding.generation.spec import RunSpec

#: A wave ends this long before the stream does, or does not happen.
MARGIN_SECONDS = 60


@dataclasses.dataclass(frozen=True, eq=False)
class Batch:
    """One wave of a migration: the catalog wave (index into ``catalog.waves``), the hosts it moves (asset
    positions, in step order) and the host number each takes at the destination."""

    wave: int
    positions: np.ndarray
    numbers: np.ndarray


def migration_batches(spec: RunSpec, assets: AssetTable, longest: int) -> tuple[Batch, ...]:
    """The waves of the stream's migration (none without one), each of at most ``longest - 2`` hosts."""
    scenario = spec.scenario
    if not spec.live or scenario is None or scenario.migration is None or not assets.size:
        return ()
    return _batches(spec, assets, longest)


@functools.lru_cache(maxsize=8)
def _batches(spec: RunSpec, assets: AssetTable, longest: int) -> tuple[Batch, ...]:
    """Cached per stream and asset table (a process keeps one table per run: ``parent_view``)."""
    catalog, migration = spec.catalog, spec.scenario.migration
    codes = [site.code for site in catalog.sites]
    source, destination = codes.index(migration.source), codes.index(migration.destination)
    waves = [number for number, wave in enumerate(catalog.waves) if wave.scope == "migration"]
    type_names = [t.value for t in catalog.asset_types]
    wave_of = {}
    for type_idx, name in enumerate(type_names):
        fitting = [n for n in waves if name in migration.asset_types and catalog.waves[n].fits(name, "")]
        wave_of[type_idx] = fitting[0] if fitting else -1
    kinds = np.array([wave_of.get(int(t), -1) for t in assets.type_idx.tolist()], dtype=np.int64)
    movable = np.flatnonzero((assets.site == source) & (assets.lifecycle == IN_USE) & (kinds >= 0))
    order = np.argsort(Stream(spec.seed, "migration.order").ints(assets.ids[movable], 1 << 40), kind="stable")
    chosen = movable[order][: -(-len(movable) * round(migration.share * 1_000) // 1_000)]
    first = spec.site_host_bases[destination] if spec.site_host_bases else 0
    numbers = first + np.arange(len(chosen), dtype=np.int64)  # reserved at the destination, in chosen order
    batches = []
    for wave in sorted(set(kinds[chosen].tolist())):
        mine = kinds[chosen] == wave
        positions, taken = chosen[mine], numbers[mine]
        low, high = catalog.waves[wave].hosts
        start = 0
        while start < len(positions):
            size = min(longest - 2, low + Stream(spec.seed, "migration.hosts").int(len(batches), high - low + 1))
            batches.append(Batch(wave, positions[start : start + size], taken[start : start + size]))
            start += size
    return tuple(batches)


@functools.lru_cache(maxsize=8)
def settled(assets: AssetTable, batches: tuple[Batch, ...]) -> AssetTable:
    """``assets`` with the hosts that move at no site: the table incident stories and site waves pick from."""
    if not batches:
        return assets
    site = assets.site.copy()
    site[np.concatenate([batch.positions for batch in batches])] = -1
    return dataclasses.replace(assets, site=site, _memo={})


def migration_wave(
    spec: RunSpec, number: int, first: int, start: int, batch: Batch, assets: AssetTable
) -> list[EpisodeEvent] | None:
    """The events of ``batch`` as episode ``number`` from key ``first`` and second ``start``, each step
    carrying its host's new name, address and location; None when it would not end within the stream."""
    catalog, migration = spec.catalog, spec.scenario.migration
    wave: ChangeWave = catalog.waves[batch.wave]
    sites = {site.code: number for number, site in enumerate(catalog.sites)}
    source, destination = catalog.sites[sites[migration.source]], catalog.sites[sites[migration.destination]]
    span = wave.minutes[1] - wave.minutes[0] + 1
    minutes = wave.minutes[0] + Stream(spec.seed, "migration.minutes").int(number, span)
    if start + minutes * 60 + MARGIN_SECONDS > spec.as_of:
        return None
    ids = assets.ids[batch.positions].tolist()
    prefixes = [catalog.asset_types[int(t)].hostname_prefix for t in assets.type_idx[batch.positions].tolist()]
    names = [f"{destination.code}-{prefix}-{pk:06d}" for prefix, pk in zip(prefixes, ids)]
    at_destination = np.full(len(ids), sites[migration.destination], dtype=np.int64)
    addresses = ip_addresses(catalog, at_destination, batch.numbers)
    fields = {**wave_fields(spec, first, len(ids), minutes), "site": source.city, "destination": destination.city}
    events = [EpisodeEvent(0, start, ids[0], None, "change", "info", wave.ticket_source, wave.opened.format(**fields))]
    times = step_times(spec, "migration.second", number, start, minutes, len(ids))
    for step, (pk, name, address, at) in enumerate(zip(ids, names, addresses, times), start=1):
        message = wave.step.format(step=step, hostname=name, address=address, **fields)
        moved = Effect("assets", pk, (("hostname", name), ("ip_address", address), ("location", destination.location)))
        events.append(EpisodeEvent(step, at, pk, None, "change", "info", wave.source, message, (moved,)))
    closed = wave.closed.format(**fields)
    end = start + minutes * 60
    events.append(EpisodeEvent(len(ids) + 1, end, ids[-1], None, "change", "info", wave.ticket_source, closed))
    return [event._replace(message=event.message[:255]) for event in events]
