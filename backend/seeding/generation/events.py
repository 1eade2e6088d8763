"""Events: when they happen, what they concern, and what they say.

Times follow office hours, quieter weekends and a few incident bursts, laid
along the run's timeline in key order (events are chronological by key, as in
a real event log). Each event concerns an asset that was in service at that
moment (bought, not on order or in stock, not yet retired), often through one
of its deployments. What it says comes from the catalog's event templates that
fit the asset's type and operating system family and the event's scope (the
host, or an application on it); the severity follows the message (a disk at
97% is critical, at 86% a warning). Incidents and planned changes across hosts
are episodes (``episodes``), laid over some of these keys. A single change or
maintenance window gets a ticket of its own, numbered from its key
(``tickets``): no two things share a number.

Messages are rendered from the templates once per seed and catalog into small
pools, then picked by index: formatting a string per row would cost more than
writing it.
"""

from __future__ import annotations

import dataclasses
import functools
import random

import numpy as np

from seeding.generation.catalog import EVENT_KINDS, SEVERITIES, Catalog, EventTemplate
from seeding.generation.episodes import EpisodeRows, episode_rows
from seeding.generation.estate import ApplicationTable, AssetTable
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.parent_shapes import DeploymentRows, Deployments
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.sites import spec_activity
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec
from seeding.generation.tickets import CHANGE as CHANGE_TICKET
from seeding.generation.tickets import tickets
from seeding.generation.timeline import BURST_BOOST, event_times, recent_events, timeline_of, timestamp_strings

#: Field name -> values, in the order the model declares them.
Columns = dict[str, list]

#: How often each kind happens, relative to the others (where the asset has templates of it). Incidents
#: are never single events: every one is an incident story (``episodes``).
KIND_WEIGHTS = np.array([46, 36, 0, 18], dtype=np.int64)  # alert, change, incident, maintenance
ALERT, _CHANGE, _INCIDENT, MAINTENANCE_KIND = range(4)
#: Events come in groups of this many consecutive keys...
EVENT_RUN = 4
#: ...and this share (in %) of them concern the same asset as their group...
EVENT_RUN_FOLLOW_PERCENT = 75
#: ...where consecutive keys lie at least this many seconds apart on average. A live stream's keys lie a
#: tenth of a second apart at 10 events a second: a group would say four things of one host in the same
#: second ("Restarted in window CHG0242672" and "... CHG0242669" at once). There a failing host's events
#: come from its incident stories alone.
EVENT_RUN_MIN_SPACING_SECONDS = 60
#: Offset that keeps an event's own draws apart from any group's draws.
_OWN_DRAW = 1 << 48
#: Share (in %) of the events on a host with a deployment running that concern the deployment.
DEPLOYMENT_EVENT_PERCENT = 75
#: Rendered variants per template (values, tickets, packages).
VARIANTS = 64
SCOPES = ("host", "application")
#: Stands for the ticket in a rendered message until the event's own number takes its place.
TICKET_MARK = "\x00"


# --- maintenance events for assets in maintenance ---------------------------------------------


def maintenance_slots(spec: RunSpec) -> int:
    """How many of its own assets a run can put in maintenance: each needs a recent maintenance event,
    and at most every other recent event is one."""
    if not spec.count("events") or not spec.count("assets") or spec.live:
        return 0
    return max(0, (spec.count("events") - recent_events(spec)) // 2)


def _maintenance_assets(spec: RunSpec, ordinals: np.ndarray, assets: AssetTable) -> np.ndarray:
    """For each event, the position of the asset in maintenance it is reserved for, or -1.

    The run's maintenance assets (``assets.maintenance``, within
    ``maintenance_slots``) take evenly spaced ordinals counted back from the last
    event, all within the last days of the window.
    """
    reserved = np.full(len(ordinals), -1, dtype=np.int64)
    count = len(assets.maintenance) if spec.count("assets") else 0
    if not count:
        return reserved
    events = spec.count("events")
    step = max(1, (events - recent_events(spec)) // count)
    back = events - 1 - ordinals
    slot = back // step
    mine = (back % step == 0) & (slot < count)
    reserved[mine] = assets.maintenance[slot[mine]]
    return reserved


# --- the messages -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pools:
    """Every template's rendered variants end to end (mildest first within a template)."""

    messages: np.ndarray  # object
    severities: np.ndarray  # index into SEVERITIES
    sources: np.ndarray  # per template
    ticketed: np.ndarray  # per template: the message names a ticket (TICKET_MARK)
    templates: tuple[EventTemplate, ...]


@functools.lru_cache(maxsize=4)
def message_pools(seed: int, catalog: Catalog) -> Pools:
    messages, severities = [], []
    for number, template in enumerate(catalog.events):
        rnd = random.Random(f"{seed}:{number}:{template.message}")
        variants = [_render(template, rnd, catalog) for _ in range(VARIANTS)]
        variants.sort(key=lambda variant: SEVERITIES.index(variant[1]))
        messages.extend(message for message, _ in variants)
        severities.extend(SEVERITIES.index(severity) for _, severity in variants)
    return Pools(
        messages=np.array(messages, dtype=object),
        severities=np.array(severities, dtype=np.int64),
        sources=np.array([template.source for template in catalog.events], dtype=object),
        ticketed=np.array(["{ticket}" in template.message for template in catalog.events], dtype=bool),
        templates=catalog.events,
    )


def _render(template: EventTemplate, rnd: random.Random, catalog: Catalog) -> tuple[str, str]:
    # Values crowd the mild end of their range: most threshold alerts are warnings, a few critical.
    value = None
    if template.values:
        low, high = template.values
        spread = int((high - low + 1) * rnd.random() ** (1 if template.rising is None else 3))
        value = high - spread if template.rising is False else low + spread
    fields: dict[str, object] = {"value": value}
    if "{ticket}" in template.message:
        fields["ticket"] = TICKET_MARK
    if "{package}" in template.message:
        packages = [p for p in catalog.packages if template.families is None or p.family in template.families]
        if "{version}" in template.message:
            packages = [p for p in packages if p.versions] or packages
        package = packages[rnd.randrange(len(packages))]
        fields["package"] = package.name
        fields["version"] = package.versions[rnd.randrange(len(package.versions))] if package.versions else ""
    return template.message.format(**fields)[:255], template.severity_of(value)


@dataclasses.dataclass(frozen=True)
class _Group:
    """The templates that fit one (asset type, family, scope): per kind, template numbers and weights."""

    kinds: WeightTable
    kind_present: np.ndarray  # bool per kind
    templates: tuple[np.ndarray, ...]  # per kind
    weights: tuple[WeightTable | None, ...]


@functools.lru_cache(maxsize=256)
def _group(catalog: Catalog, type_idx: int, family: int, scope: int) -> _Group:
    type_name = catalog.asset_types[type_idx].value if type_idx >= 0 else None
    family_name = catalog.family_names[family] if family >= 0 else None

    def fitting(scope_name: str, *, exact: bool) -> list[int]:
        return [
            number
            for number, t in enumerate(catalog.events)
            if t.scope == scope_name
            and (t.asset_types is None or type_name in t.asset_types)
            and (t.families is None or family_name in t.families or (not exact and family_name is None))
        ]

    chosen = fitting(SCOPES[scope], exact=True) or fitting("host", exact=True) or fitting("host", exact=False)
    if not chosen:  # an asset the catalog knows nothing about: anything a host can have
        chosen = [number for number, t in enumerate(catalog.events) if t.scope == "host"]
    by_kind = [np.array([n for n in chosen if catalog.events[n].kind == kind], dtype=np.int64) for kind in EVENT_KINDS]
    present = np.array([len(numbers) > 0 for numbers in by_kind], dtype=bool)
    return _Group(
        kinds=WeightTable(np.where(present, KIND_WEIGHTS, 0)),
        kind_present=present,
        templates=tuple(by_kind),
        weights=tuple(
            WeightTable([catalog.events[n].weight for n in numbers]) if len(numbers) else None for numbers in by_kind
        ),
    )


def _messages(
    spec: RunSpec,
    ordinals: np.ndarray,
    groups: np.ndarray,
    in_burst: np.ndarray,
    maintenance: np.ndarray,
    ages: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(kind, variant index into the pools) of each event, from its group's templates; ``ages``: the asset's
    age in days at the event (a template's ``min_age_days``: no worn battery on a laptop bought last week)."""
    s, catalog = spec.seed, spec.catalog
    min_ages = _min_ages(catalog)
    kinds = np.zeros(len(ordinals), dtype=np.int64)
    variants = np.zeros(len(ordinals), dtype=np.int64)
    for code in np.unique(groups).tolist():
        rows = np.flatnonzero(groups == code)
        type_idx, family, scope = _split_group(code)
        group = _group(catalog, type_idx, family, scope)
        keys = ordinals[rows]
        kind = Stream(s, "event.kind").weighted(keys, group.kinds)
        burst = in_burst[rows]
        if group.kind_present[ALERT]:  # in a burst, monitoring raises alerts
            kind = np.where(burst, ALERT, kind)
        if group.kind_present[MAINTENANCE_KIND]:
            kind = np.where(maintenance[rows], MAINTENANCE_KIND, kind)
        kinds[rows] = kind
        for k in np.unique(kind).tolist():
            mine = kind == k
            numbers = group.templates[k]
            template = numbers[Stream(s, "event.template").weighted(keys[mine], group.weights[k])]
            young = min_ages[template] > ages[rows[mine]]
            if young.any():
                again = _for_their_age(s, catalog, numbers, keys[mine][young], ages[rows[mine]][young])
                template[young] = np.where(again >= 0, again, template[young])
            # In a burst, things are worse: the mildest quarter of each template's variants is skipped.
            mildest = VARIANTS // 4
            variant = np.where(
                burst[mine],
                mildest + Stream(s, "event.variant").ints(keys[mine], VARIANTS - mildest),
                Stream(s, "event.variant").ints(keys[mine], VARIANTS),
            )
            variants[rows[mine]] = template * VARIANTS + variant
    return kinds, variants


@functools.lru_cache(maxsize=8)
def _min_ages(catalog: Catalog) -> np.ndarray:
    return np.array([template.min_age_days for template in catalog.events], dtype=np.int64)


def _for_their_age(seed: int, catalog: Catalog, numbers: np.ndarray, keys: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Templates drawn again, by weight, among ``numbers`` (one kind of one group) old enough for each
    asset; -1 where none is (a catalog whose every template of the kind needs age)."""
    weights = np.array([catalog.events[number].weight for number in numbers.tolist()], dtype=np.int64)
    fits = _min_ages(catalog)[numbers][None, :] <= ages[:, None]
    chosen = np.full(len(keys), -1, dtype=np.int64)
    choices, which = np.unique(fits, axis=0, return_inverse=True)  # the few distinct sets of usable templates
    for number, usable in enumerate(choices):
        mine = which.ravel() == number
        if usable.any():
            drawn = Stream(seed, "event.template.aged").weighted(keys[mine], WeightTable(weights[usable]))
            chosen[mine] = numbers[np.flatnonzero(usable)[drawn]]
    return chosen


_GROUP_BITS = 12


def _group_code(type_idx: np.ndarray, family: np.ndarray, scope: np.ndarray) -> np.ndarray:
    return (
        ((type_idx.astype(np.int64) + 1) << (2 * _GROUP_BITS)) | ((family.astype(np.int64) + 1) << _GROUP_BITS) | scope
    )


def _split_group(code: int) -> tuple[int, int, int]:
    mask = (1 << _GROUP_BITS) - 1
    return (code >> (2 * _GROUP_BITS)) - 1, ((code >> _GROUP_BITS) & mask) - 1, code & mask


# --- the rows -------------------------------------------------------------------------------------


def _event_assets(
    spec: RunSpec, ordinals: np.ndarray, key: np.ndarray, times: np.ndarray, assets: AssetTable
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's asset position, one in service at the time of the event; returns (positions, times).

    The site comes first: at the event's hour, each site is as likely as its
    assets in service times its activity in its local hour (people break things
    at work, in their own time zone). Then an asset of that site, some noisier
    than others (the smaller of two draws favours a subset). A second draw, then
    an asset in service for the whole window, then any asset that was ever in
    service (the event moved into its service life) stand in for an asset that
    was not in service at that moment.
    """
    s = spec.seed

    def in_service(positions: np.ndarray) -> np.ndarray:
        return (assets.active_from(positions) <= times) & (times <= assets.active_until(positions))

    chosen = _site_draw(spec, key, times, assets, "event.asset")
    wrong = ~in_service(chosen)
    if wrong.any():
        chosen[wrong] = _site_draw(spec, key[wrong], times[wrong], assets, "event.asset.retry")
        wrong = ~in_service(chosen)
    if wrong.any():
        settled = assets.settled(spec.window_start // SECONDS_PER_DAY)
        if len(settled):
            chosen[wrong] = settled[Stream(s, "event.asset.settled").ints(ordinals[wrong], len(settled))]
        else:
            eventful = assets.eventful
            if len(eventful):
                chosen[wrong] = eventful[Stream(s, "event.asset.eventful").ints(ordinals[wrong], len(eventful))]
            # Moved into the asset's service life (rare: no asset served the whole window).
            earliest, latest = assets.active_from(chosen), np.minimum(assets.active_until(chosen), spec.as_of)
            times = np.where(wrong, np.clip(times, earliest, np.maximum(latest, earliest)), times)
    return chosen, times


def _site_draw(spec: RunSpec, key: np.ndarray, times: np.ndarray, assets: AssetTable, field: str) -> np.ndarray:
    """An asset position per event: a site by its activity at that hour and what its assets say, then an
    asset of the site, as likely as its type's ``event_weight`` (servers say more than laptops)."""
    s = spec.seed
    lists, running, offsets, sizes = assets.by_site_weighted(spec.catalog)
    hours = np.clip((times - spec.window_start) // 3_600, 0, spec.window_hours - 1)
    weights = spec_activity(spec)[hours] * sizes
    cumulative = np.cumsum(weights, axis=1)
    totals = cumulative[:, -1]
    if not len(lists) or not totals.all():  # assets at no site the catalog knows: any asset
        a = Stream(s, f"{field}.a").ints(key, max(assets.size, 1))
        b = Stream(s, f"{field}.b").ints(key, max(assets.size, 1))
        return np.where(Stream(s, f"{field}.noisy").below(key, 1, 2), np.minimum(a, b), a)
    pick = Stream(s, f"{field}.site").ints(key, 1 << 40) % totals
    site = (cumulative <= pick[:, None]).sum(axis=1)
    # Within the site: a point on its assets' running weights. The smaller of two draws favours a subset
    # of noisier assets, as before.
    before = np.where(offsets[site] > 0, running[offsets[site] - 1], 0)
    a = Stream(s, f"{field}.a").ints(key, 1 << 40) % sizes[site]
    b = Stream(s, f"{field}.b").ints(key, 1 << 40) % sizes[site]
    point = before + np.where(Stream(s, f"{field}.noisy").below(key, 1, 2), np.minimum(a, b), a)
    return lists[np.searchsorted(running, point, side="right")].astype(np.int64)


def events(
    spec: RunSpec,
    start: int,
    stop: int,
    assets: AssetTable,
    deployments: Deployments | None,
    applications: ApplicationTable | None = None,
    *,
    tell_episodes: bool = True,
) -> Columns:
    """The events at keys [``start``, ``stop``); ``tell_episodes`` False: as if no episode took any of them
    (a live stream tells its episodes by time: ``live``)."""
    # A group's keys before the chunk too: an event must not repeat what they said (``_reworded``).
    lead = min(start, EVENT_RUN - 1)
    ordinals = np.arange(start - lead, stop, dtype=np.int64)
    s, n = spec.seed, len(ordinals)
    timeline = timeline_of(spec)
    times, burst_minute = event_times(spec, ordinals, timeline)

    # Trouble comes in runs: most events share the asset (and deployment) of their
    # group of EVENT_RUN consecutive events, as a failing host raises several
    # alerts at once. Their draws below are keyed by the group, the others' by
    # their own ordinal.
    spacing = spec.window_seconds / max(spec.count("events"), 1)
    follow = EVENT_RUN_FOLLOW_PERCENT if not spec.live or spacing >= EVENT_RUN_MIN_SPACING_SECONDS else 0
    follows = Stream(s, "event.follows").below(ordinals, follow, 100)
    key = np.where(follows, ordinals // EVENT_RUN, ordinals + _OWN_DRAW)
    positions, times = _event_assets(spec, ordinals, key, times, assets)
    asset_ids = assets.ids[positions]
    type_idx = assets.type_idx[positions].astype(np.int64)
    family = assets.family[positions].astype(np.int64)

    # Most events concern one of the asset's deployments, when it has one running at the time.
    deployment_ids = np.full(n, None, dtype=object)
    tied = np.zeros(n, dtype=bool)
    if deployments is not None and deployments.size:
        order, offsets = deployments.by_asset(assets)
        counts = offsets[positions + 1] - offsets[positions]
        has = np.flatnonzero(counts > 0)
        if len(has):
            pick = Stream(s, "event.deployment").ints(key[has], 1 << 40) % counts[has]
            chosen: DeploymentRows = deployments.take(order[offsets[positions[has]] + pick].astype(np.int64))
            fits = (chosen.not_before <= times[has]) & (times[has] <= chosen.until)
            tie = Stream(s, "event.tied").below(key[has], DEPLOYMENT_EVENT_PERCENT, 100) & fits
            tied[has[tie]] = True
            deployment_ids[has[tie]] = chosen.ids[tie]

    # Each asset in maintenance gets its maintenance event among the last events.
    reserved = _maintenance_assets(spec, ordinals, assets)
    maintenance = reserved >= 0
    if maintenance.any():
        tied &= ~maintenance
        deployment_ids[maintenance] = None
        positions = np.where(maintenance, reserved, positions)
        asset_ids = assets.ids[positions]
        type_idx = np.where(maintenance, assets.type_idx[positions], type_idx)
        family = np.where(maintenance, assets.family[positions], family)

    in_burst = burst_minute & ~maintenance & Stream(s, "event.burst").below(ordinals, BURST_BOOST - 1, BURST_BOOST)
    groups = _group_code(type_idx, family, tied.astype(np.int64))
    ages = times // SECONDS_PER_DAY - assets.purchase_day[positions]
    kinds, variants = _messages(spec, ordinals, groups, in_burst, maintenance, ages)
    pools = message_pools(spec.seed, spec.catalog)
    kinds, variants, untied = _reworded(spec, ordinals, positions, groups, kinds, variants, ages, pools)
    deployment_ids[untied] = None
    ordinals, asset_ids, deployment_ids, kinds, variants, times = (
        values[lead:] for values in (ordinals, asset_ids, deployment_ids, kinds, variants, times)
    )
    columns = {
        "id": (spec.id_base("events") + ordinals).tolist(),
        "asset": asset_ids.tolist(),
        "deployment": deployment_ids.tolist(),
        "kind": np.array(EVENT_KINDS, dtype=object)[kinds].tolist(),
        "severity": np.array(SEVERITIES, dtype=object)[pools.severities[variants]].tolist(),
        "source": pools.sources[variants // VARIANTS].tolist(),
        "message": _with_tickets(spec, ordinals, pools, variants),
        "occurred_at": timestamp_strings(times),
    }
    if not tell_episodes:
        return columns
    own = isinstance(deployments, OwnDeployments) and applications is not None
    episodes = episode_rows(spec, ordinals, assets, deployments if own else None, applications if own else None)
    if episodes is not None:
        _tell_episodes(columns, episodes)
    return columns


def _reworded(
    spec: RunSpec,
    ordinals: np.ndarray,
    positions: np.ndarray,
    groups: np.ndarray,
    kinds: np.ndarray,
    variants: np.ndarray,
    ages: np.ndarray,
    pools: Pools,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kinds, variants, untied) where an event would say again what one of the few events before it said on
    the same asset (a group's own draws may repeat a template: "Updated to the current release" twice in a second,
    or "Application crashed 10 times today" after "... 3 times today"): another template that fits the
    asset's age, drawn by its key. Of its kind where there is another; about the host instead of the
    application where the application's events have only the one (``untied``: no longer about the
    deployment); else of another kind. Messages with a ticket differ anyway (each names its own)."""
    templates = variants // VARIANTS
    untied = np.zeros(len(ordinals), dtype=bool)
    again = np.zeros(len(ordinals), dtype=bool)
    for back in range(1, EVENT_RUN):  # the events of a group before it (as drawn: chunk-independent)
        again[back:] |= (positions[back:] == positions[:-back]) & (templates[back:] == templates[:-back])
    rows = np.flatnonzero(again & ~pools.ticketed[templates])
    if not len(rows):
        return kinds, variants, untied
    kinds, variants, min_ages = kinds.copy(), variants.copy(), _min_ages(spec.catalog)
    combos = groups[rows] * len(EVENT_KINDS) + kinds[rows]
    draw = Stream(spec.seed, "event.template.again")
    for combo in np.unique(combos).tolist():
        mine = rows[combos == combo]
        code, kind = combo // len(EVENT_KINDS), combo % len(EVENT_KINDS)
        type_idx, family, scope = _split_group(code)
        group = _group(spec.catalog, type_idx, family, scope)
        # Each row's draw depends on its own key and template only: the same whatever else the chunk holds.
        keys, template, numbers, unties = ordinals[mine], templates[mine], group.templates[kind], False
        if len(numbers) > 1:  # another template of its kind
            at = np.searchsorted(numbers, template)
            other = numbers[(at + 1 + draw.ints(keys, len(numbers) - 1)) % len(numbers)]
        elif scope == 1 and len(host := _group(spec.catalog, type_idx, family, 0).templates[kind]):
            numbers, unties = host, True  # about the host: its own templates of the kind
            other = numbers[draw.ints(keys, len(numbers))]
        else:  # nothing else of its kind to say: a template of another kind, the first the group has
            kind = next((k for k in (ALERT, _CHANGE, MAINTENANCE_KIND) if k != kind and group.kind_present[k]), kind)
            numbers = group.templates[kind]
            other = numbers[draw.ints(keys, len(numbers))] if len(numbers) else template
        fits = (min_ages[other] <= ages[mine]) & (other != template)
        template = np.where(fits, other, template)
        kinds[mine] = np.where(fits, kind, kinds[mine])
        untied[mine] = fits & unties
        variants[mine] = template * VARIANTS + Stream(spec.seed, "event.variant.again").ints(keys, VARIANTS)
    return kinds, variants, untied


def _with_tickets(spec: RunSpec, ordinals: np.ndarray, pools: Pools, variants: np.ndarray) -> list[str]:
    """The messages, each ticket a number of its own: the event's (``tickets``)."""
    messages = pools.messages[variants].tolist()
    ticketed = np.flatnonzero(pools.ticketed[variants // VARIANTS])
    for row, number in zip(ticketed.tolist(), tickets(CHANGE_TICKET, spec, ordinals[ticketed])):
        messages[row] = messages[row].replace(TICKET_MARK, number)[:255]
    return messages


def _tell_episodes(columns: Columns, episodes: EpisodeRows) -> None:
    """Replace the chunk's rows that belong to episodes (incident stories, change waves) with their events."""
    times = timestamp_strings(episodes.times)
    for i, row in enumerate(episodes.rows.tolist()):
        columns["asset"][row] = episodes.asset_ids[i]
        columns["deployment"][row] = episodes.deployment_ids[i]
        columns["kind"][row] = episodes.kinds[i]
        columns["severity"][row] = episodes.severities[i]
        columns["source"][row] = episodes.sources[i]
        columns["message"][row] = episodes.messages[i]
        columns["occurred_at"][row] = times[i]
