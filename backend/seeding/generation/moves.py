"""Lifecycle moves: what a live stream does to its assets' lifecycles while it runs.

A seeded estate has assets in maintenance, on order and in stock; during a
demo some of them move on, as they would on a working day: one in maintenance
comes back into service, one on order is delivered to its site and put into
service a few hours later, one in stock is put into service. Each move is an
event (what the catalog's ``lifecycle.csv`` says) carrying its ``Effect``:
the asset's new lifecycle, written with the event.

Each asset moves at most once, and the stream needs no memory of what it did:
which assets move, and when, is laid once per stream (``happenings``), and a
block of keys holding a move tells it instead of its drawn episode
(``episodes``). So any stretch of the stream knows its moves from its own
keys, as it knows its incidents.

Only the recorded assets of the stream's view move, and only those a move of
the catalog fits. A laptop or desktop goes into use with a person: it moves
only when the view knows who it would be issued to (``AssetTable.person``: the
person the directory already groups it with, at its site), and going into
service sets its ``assigned_to``, as every end-user device in use has.
Deliveries, racking and handovers happen in the working hours of the asset's
site (``sites.working_hours``): what would fall at night or on a weekend waits
for the next working hour. Moves never happen in a seeded history: it is
written in its final state.
"""

from __future__ import annotations

import numpy as np

from seeding.generation.catalog import LifecycleMove
from seeding.generation.effects import Effect
from seeding.generation.episode_event import EpisodeEvent
from seeding.generation.estate import ASSET_LIFECYCLES, IN_STOCK, IN_USE, MAINTENANCE, ORDERED, AssetTable
from seeding.generation.rng import Stream
from seeding.generation.sites import next_working_second
from seeding.generation.spec import RunSpec

#: Of the assets that may move, the share that moves per day of a stream (a third: an asset in maintenance
#: is back within about three days, as the seeded history's week of maintenance events suggests).
SHARE_PER_DAY = 1 / 3
#: A move ends this long before the stream does, or does not happen (as an incident story must end in it).
MARGIN_SECONDS = 60


def move_candidates(spec: RunSpec, assets: AssetTable) -> np.ndarray:
    """Positions of the assets that may move during the stream: none for a seeded history or a catalog
    without ``lifecycle.csv``."""
    if not spec.live or not spec.catalog.moves or not assets.size:
        return np.zeros(0, dtype=np.int64)
    waiting_or_away = np.flatnonzero(np.isin(assets.lifecycle, [MAINTENANCE, ORDERED, IN_STOCK]))
    return np.array([p for p in waiting_or_away.tolist() if _first_move(spec, assets, p) is not None], dtype=np.int64)


def _first_move(spec: RunSpec, assets: AssetTable, position: int) -> str | None:
    """The move an asset makes first ("returned", "delivered", "in_service"), or None if none fits it."""
    type_idx = int(assets.type_idx[position])
    if type_idx < 0:
        return None
    asset_type = spec.catalog.asset_types[type_idx].value
    lifecycle = int(assets.lifecycle[position])
    if lifecycle != MAINTENANCE and spec.catalog.asset_types[type_idx].end_user and not _person(assets, position):
        return None  # nobody to issue it to
    if lifecycle == MAINTENANCE:
        return "returned" if _fitting(spec, "returned", asset_type) else None
    if not _fitting(spec, "in_service", asset_type):
        return None
    if lifecycle == IN_STOCK:
        return "in_service"
    fits = _fitting(spec, "delivered", asset_type) is not None and int(assets.site[position]) >= 0
    return "delivered" if fits else None


def _fitting(spec: RunSpec, move: str, asset_type: str) -> LifecycleMove | None:
    """The first row of the catalog for ``move`` that fits ``asset_type``."""
    return next((row for row in spec.catalog.moves if row.move == move and row.fits(asset_type)), None)


def lifecycle_move(spec: RunSpec, number: int, start: int, position: int, assets: AssetTable) -> list[EpisodeEvent]:
    """The events of the move in episode ``number``, from second ``start``, of the asset at ``position``:
    one (back from maintenance; put into service from stock) or two (delivered, then put into service);
    none when it would not end within the stream."""
    asset_type = spec.catalog.asset_types[int(assets.type_idx[position])].value
    asset_id = int(assets.ids[position])
    first = _first_move(spec, assets, position)
    person = _person(assets, position) if spec.catalog.asset_types[int(assets.type_idx[position])].end_user else ""
    steps = ["delivered", "in_service"] if first == "delivered" else [first]
    site_idx = int(assets.site[position])
    at, told = start, []
    for stage, move in enumerate(steps):
        row = _fitting(spec, move, asset_type)
        if stage:  # put into service some minutes after its delivery
            low, high = _fitting(spec, "in_service", asset_type).minutes
            at += 60 * (low + Stream(spec.seed, "move.minutes").int(number, high - low + 1))
        if move != "returned" and site_idx >= 0:  # people deliver, rack and hand over in their working hours
            at = next_working_second(spec, site_idx, at, Stream(spec.seed, "move.late").int(number * 2 + stage, 3_600))
        if at is None or at + MARGIN_SECONDS > spec.as_of:
            return []
        site = spec.catalog.sites[site_idx].city if site_idx >= 0 else ""
        changes = (("lifecycle_status", ASSET_LIFECYCLES[IN_STOCK if move == "delivered" else IN_USE]),)
        if move == "in_service" and person:  # a laptop or desktop in use is someone's
            changes += (("assigned_to", person),)
        message = row.message.format(site=site, person=person)[:255]
        effect = Effect("assets", asset_id, changes)
        told.append(EpisodeEvent(stage, at, asset_id, None, "maintenance", "info", row.source, message, (effect,)))
    return told


def _person(assets: AssetTable, position: int) -> str:
    """Who the end-user device at ``position`` would be issued to ("" when nobody is known)."""
    return str(assets.person[position]) if assets.person is not None else ""
