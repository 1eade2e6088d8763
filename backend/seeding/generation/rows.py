"""Row generators: one function per kind, turning ordinals into column lists.

Every column is computed with numpy from the rows' ordinals (see ``rng``), so a
chunk's content is a pure function of the run spec and the ordinal range. The
functions return plain Python lists in model-field order, ready for a bulk writer.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from seeding.generation.attributes import application_versions, asset_purchase_days, older_version
from seeding.generation.catalog import SERIAL_ALPHABET, Catalog
from seeding.generation.material import (
    APP_CATEGORIES,
    APP_CODENAMES,
    APP_DOMAINS,
    APP_SUFFIXES,
    POOL_SIZE,
    TEAMS,
    material_for,
)
from seeding.generation.parents import Applications, Assets, Deployments
from seeding.generation.placement import STRIDES, Layout, deployment_placement
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import EVENT_WINDOW_DAYS, SECONDS_PER_DAY, RunSpec

#: Field name -> values, in the order the model declares them.
Columns = dict[str, list]


APP_TIERS = WeightTable([10, 30, 60])
APP_TIER_VALUES = np.array(["tier_1", "tier_2", "tier_3"], dtype=object)
APP_LIFECYCLE = WeightTable([4, 82, 11, 3])
APP_LIFECYCLE_VALUES = np.array(["planned", "active", "deprecated", "retired"], dtype=object)
ASSET_LIFECYCLE = WeightTable([3, 6, 80, 4, 7])
ASSET_LIFECYCLE_VALUES = np.array(["ordered", "in_stock", "in_use", "maintenance", "retired"], dtype=object)
ENVIRONMENTS = WeightTable([45, 20, 20, 15])
ENVIRONMENT_VALUES = np.array(["production", "staging", "test", "development"], dtype=object)
DEPLOYMENT_STATUS = WeightTable([86, 4, 5, 3, 2])
DEPLOYMENT_STATUS_VALUES = np.array(["running", "degraded", "stopped", "failed", "deploying"], dtype=object)
EVENT_KINDS = WeightTable([52, 30, 4, 14])
EVENT_KIND_VALUES = np.array(["alert", "change", "incident", "maintenance"], dtype=object)
SEVERITY_VALUES = np.array(["info", "warning", "error", "critical"], dtype=object)
SEVERITY_USUAL = WeightTable([70, 20, 8, 2])
SEVERITY_BURST = WeightTable([10, 25, 40, 25])
#: Relative event volume per hour of day (UTC): quiet nights, busy office hours.
HOURLY_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 9, 10, 12, 12, 11, 9, 7, 5, 4, 3, 3, 2])
#: Weekend days carry 40% of a weekday's volume.
WEEKDAY_WEIGHT, WEEKEND_WEIGHT = 10, 4
#: Inside an incident burst, events come this many times faster (and are mostly severe).
BURST_BOOST = 12
#: Events come in groups of this many consecutive keys...
EVENT_RUN = 4
#: ...and this share (in %) of them concern the same asset as their group.
EVENT_RUN_FOLLOW_PERCENT = 75
#: Offset that keeps an event's own draws apart from any group's draws.
_OWN_DRAW = 1 << 48
#: Share (in %) of events tied to a deployment, when deployments exist.
DEPLOYMENT_EVENT_PERCENT = 60


def _ordinals(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.int64)


def _pick(values: np.ndarray, idx: np.ndarray) -> list:
    return values[idx].tolist()


def _day_strings(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _timestamp_strings(seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS' in UTC: the text Django itself stores on SQLite, and
    what PostgreSQL reads in a UTC session (Django sets the session time zone)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    raw = text.astype("S19").view(np.uint8).reshape(-1, 19).copy()
    raw[:, 10] = ord(" ")
    return raw.view("S19").ravel().astype("U19").tolist()


# --- applications ------------------------------------------------------------


def _application_names(seed: int, ordinals: np.ndarray) -> list[str]:
    """ "Orion Payments API": distinct within a run while the run has fewer
    applications than combinations (60 x 18 x 24 = 25,920), by walking a seeded permutation."""
    combos = len(APP_CODENAMES) * len(APP_DOMAINS) * len(APP_SUFFIXES)
    stride = STRIDES[Stream(seed, "application.name.stride").ints(np.zeros(1, dtype=np.int64), len(STRIDES))[0]]
    start = Stream(seed, "application.name.start").ints(np.zeros(1, dtype=np.int64), combos)[0]
    combo = (start + ordinals * (stride % combos)) % combos
    lap = ordinals // combos
    code, rest = combo % len(APP_CODENAMES), combo // len(APP_CODENAMES)
    domain, suffix = rest % len(APP_DOMAINS), rest // len(APP_DOMAINS)
    return [
        f"{APP_CODENAMES[c]} {APP_DOMAINS[d]} {APP_SUFFIXES[x]}" + (f" {n + 1}" if n else "")
        for c, d, x, n in zip(code.tolist(), domain.tolist(), suffix.tolist(), lap.tolist())
    ]


def applications(spec: RunSpec, start: int, stop: int) -> Columns:
    ordinals = _ordinals(start, stop)
    s, material = spec.seed, material_for(spec.seed)
    ids = spec.id_base("applications") + ordinals
    names = _application_names(spec.seed, ordinals)
    in_house = Stream(s, "application.vendor.in_house").below(ordinals, 55, 100)
    company = Stream(s, "application.vendor.company").ints(ordinals, len(material.companies))
    companies = np.array(material.companies, dtype=object)
    vendor = np.where(in_house, "In-house", companies[company])
    return {
        "id": ids.tolist(),
        "code": [f"APP{pk:06d}" for pk in ids.tolist()],
        "name": names,
        "vendor": vendor.tolist(),
        "category": _pick(
            np.array(APP_CATEGORIES, dtype=object),
            Stream(s, "application.category").ints(ordinals, len(APP_CATEGORIES)),
        ),
        "version": application_versions(spec, ordinals).tolist(),
        "owner_team": _pick(np.array(TEAMS, dtype=object), Stream(s, "application.team").ints(ordinals, len(TEAMS))),
        "tier": _pick(APP_TIER_VALUES, Stream(s, "application.tier").weighted(ordinals, APP_TIERS)),
        "lifecycle": _pick(APP_LIFECYCLE_VALUES, Stream(s, "application.lifecycle").weighted(ordinals, APP_LIFECYCLE)),
    }


# --- assets ------------------------------------------------------------------


#: Assets come to a site in blocks of this many consecutive ordinals (a delivery, a floor).
SITE_BLOCK = 20
_SERIAL_DIGITS = np.frombuffer(SERIAL_ALPHABET.encode(), dtype=np.uint8)
_SERIAL_MULTIPLIER = 2_654_435_761  # odd and not a multiple of 17: a bijection on every 34**n


def asset_sites(spec: RunSpec, ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(site index, host number within the site) of each of the run's assets.

    A run numbers each site's hosts from the base it recorded when it was
    created (after every earlier run's hosts at that site), so addresses made
    from host numbers are unique across stacked runs and stay dense.
    """
    sites, ranks = _run_blocks(spec.seed, spec.count("assets"), spec.catalog)
    blocks = ordinals // SITE_BLOCK
    site_idx = sites[blocks]
    bases = np.array(spec.site_host_bases or [0] * len(spec.catalog.sites), dtype=np.int64)
    return site_idx, bases[site_idx] + ranks[blocks] * SITE_BLOCK + ordinals % SITE_BLOCK


def site_host_counts(seed: int, assets: int, catalog: Catalog) -> list[int]:
    """How many host numbers a run of ``assets`` assets takes at each site (catalog order)."""
    sites, _ = _run_blocks(seed, assets, catalog)
    counts = np.bincount(sites, minlength=len(catalog.sites)) * SITE_BLOCK
    if assets % SITE_BLOCK:  # the last block is short
        counts[sites[-1]] -= SITE_BLOCK - assets % SITE_BLOCK
    return counts.tolist()


@functools.lru_cache(maxsize=4)
def _run_blocks(seed: int, assets: int, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Site of each block of the run's assets, and its rank among the earlier blocks of that site."""
    blocks = np.arange(-(-assets // SITE_BLOCK), dtype=np.int64)
    sites = Stream(seed, "asset.site").weighted(blocks, catalog.site_weights)
    order = np.argsort(sites, kind="stable")
    starts = np.searchsorted(sites[order], sites[order], side="left")
    ranks = np.empty(len(blocks), dtype=np.int64)
    ranks[order] = np.arange(len(blocks)) - starts
    return sites, ranks


def _ip_addresses(catalog: Catalog, site_idx: np.ndarray, hosts: np.ndarray) -> list[str]:
    """The host's address in its site's range (skipping .0 and .255 of each /24).

    Beyond the range (a site with more hosts than addresses), a unique IPv6
    unique-local address of that site instead.
    """
    bases = np.array([int(site.network.network_address) for site in catalog.sites], dtype=np.int64)
    sizes = np.array([site.network.num_addresses for site in catalog.sites], dtype=np.int64)
    offsets = hosts // 254 * 256 + hosts % 254 + 1
    fits = offsets < sizes[site_idx] - 1
    addresses = bases[site_idx] + offsets
    octets = [(addresses >> shift) & 255 for shift in (24, 16, 8, 0)]
    text = [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(o.tolist() for o in octets))]
    if not fits.all():
        import ipaddress

        for i in np.flatnonzero(~fits).tolist():
            site, host = int(site_idx[i]), int(hosts[i])
            text[i] = ipaddress.IPv6Address((0xFD00 << 112) | (site << 64) | host).compressed
    return text


def _serial_numbers(catalog: Catalog, makers: np.ndarray, ids: np.ndarray) -> list[str]:
    """The manufacturer's prefix, then characters that are a bijection of the key: unique, yet random-looking.

    (Keys stay far below 3 billion, so the products fit in 64 bits.)
    """
    serials = np.empty(len(ids), dtype=object)
    for maker in np.unique(makers).tolist():
        manufacturer = catalog.manufacturers[maker]
        width = manufacturer.serial_length - len(manufacturer.serial_prefix)
        space = len(SERIAL_ALPHABET) ** width
        rows = np.flatnonzero(makers == maker)
        scrambled = (ids[rows] % space * _SERIAL_MULTIPLIER + 12_345_678) % space
        digits = np.empty((len(rows), width), dtype=np.uint8)
        for position in range(width - 1, -1, -1):
            digits[:, position] = _SERIAL_DIGITS[scrambled % len(SERIAL_ALPHABET)]
            scrambled //= len(SERIAL_ALPHABET)
        codes = digits.view(f"S{width}").ravel().astype(f"U{width}")
        serials[rows] = np.char.add(manufacturer.serial_prefix, codes).astype(object)
    return serials.tolist()


def assets(spec: RunSpec, start: int, stop: int) -> Columns:
    ordinals = _ordinals(start, stop)
    s, material, catalog = spec.seed, material_for(spec.seed), spec.catalog
    ids = spec.id_base("assets") + ordinals
    type_idx = Stream(s, "asset.type").weighted(ordinals, catalog.type_weights)
    model_idx = np.empty(len(ordinals), dtype=np.int64)
    for kind, indices in enumerate(catalog.models_by_type):
        chosen = type_idx == kind
        local = Stream(s, "asset.model").weighted(ordinals[chosen], catalog.model_weights[kind])
        model_idx[chosen] = np.array(indices, dtype=np.int64)[local]
    system_names: list = [None] * len(ordinals)
    for model in np.unique(model_idx).tolist():
        chosen = np.flatnonzero(model_idx == model)
        picks = Stream(s, "asset.os").weighted(ordinals[chosen], catalog.system_weights[model])
        names = [name for name, _ in catalog.models[model].systems]
        for row, pick in zip(chosen.tolist(), picks.tolist()):
            system_names[row] = names[pick]
    models = [catalog.models[m] for m in model_idx.tolist()]
    asset_types = [catalog.asset_types[t] for t in type_idx.tolist()]
    site_idx, hosts = asset_sites(spec, ordinals)
    sites = [catalog.sites[i] for i in site_idx.tolist()]
    end_user = np.array([asset_type.end_user for asset_type in asset_types], dtype=bool)
    people = np.array(material.people, dtype=object)[Stream(s, "asset.person").ints(ordinals, len(material.people))]
    lifecycle = Stream(s, "asset.lifecycle").weighted(ordinals, ASSET_LIFECYCLE)
    makers = np.array([model.manufacturer for model in models], dtype=object)
    return {
        "id": ids.tolist(),
        "hostname": [
            f"{site.code}-{asset_type.hostname_prefix}-{pk:06d}"
            for site, asset_type, pk in zip(sites, asset_types, ids.tolist())
        ],
        "ip_address": _ip_addresses(catalog, site_idx, hosts),
        "serial_number": _serial_numbers(catalog, makers, ids),
        "asset_type": [asset_type.value for asset_type in asset_types],
        "manufacturer": makers.tolist(),
        "model": [model.name for model in models],
        "operating_system": system_names,
        "location": [site.location for site in sites],
        "lifecycle_status": ASSET_LIFECYCLE_VALUES[lifecycle].tolist(),
        "purchase_date": _day_strings(asset_purchase_days(spec, ordinals)),
        "owner_team": _pick(np.array(TEAMS, dtype=object), Stream(s, "asset.team").ints(ordinals, len(TEAMS))),
        "assigned_to": np.where(end_user, people, "").tolist(),
    }


# --- deployments -------------------------------------------------------------


def deployments(spec: RunSpec, start: int, stop: int, layout: Layout, apps: Applications, assets_: Assets) -> Columns:
    ordinals = _ordinals(start, stop)
    s = spec.seed
    placement = deployment_placement(spec, ordinals, layout, assets_)
    applications_ = apps.take(placement.app_idx)
    lag = Stream(s, "deployment.version.lag").ints(ordinals, 100)
    versions = [
        v if k < 75 else older_version(v, 1 + k % 3) for v, k in zip(applications_.versions.tolist(), lag.tolist())
    ]
    # Environment belongs to the asset (a host serves one environment), so it is
    # drawn from the asset's key, not the deployment's.
    asset_ids = placement.assets.ids
    return {
        "id": (spec.id_base("deployments") + ordinals).tolist(),
        "application": applications_.ids.tolist(),
        "asset": asset_ids.tolist(),
        "version": versions,
        "environment": _pick(ENVIRONMENT_VALUES, Stream(s, "asset.environment").weighted(asset_ids, ENVIRONMENTS)),
        "status": _pick(DEPLOYMENT_STATUS_VALUES, Stream(s, "deployment.status").weighted(ordinals, DEPLOYMENT_STATUS)),
        "deployed_at": _timestamp_strings(placement.deployed_at),
    }


# --- events ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The event rate over the window, minute by minute, as integer weights."""

    start: int  # epoch second of minute 0
    cumulative: np.ndarray  # running total of the weights
    in_burst: np.ndarray  # per minute: inside an incident burst

    @property
    def total(self) -> int:
        return int(self.cumulative[-1])


@functools.lru_cache(maxsize=4)
def event_timeline(seed: int, as_of: int, events: int) -> Timeline:
    """Office hours, quieter weekends and a few incident bursts where events pile up.

    Event ordinals are laid along this curve in order (see ``_event_times``), so
    events are chronological by key, as in a real event log, and the timestamp
    index is written in order instead of at random places.
    """
    start = as_of - EVENT_WINDOW_DAYS * SECONDS_PER_DAY
    minute_starts = start + 60 * np.arange(EVENT_WINDOW_DAYS * 24 * 60, dtype=np.int64)
    hour = minute_starts // 3_600 % 24
    weekend = (minute_starts // SECONDS_PER_DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    weights = HOURLY_WEIGHTS[hour] * np.where(weekend, WEEKEND_WEIGHT, WEEKDAY_WEIGHT)
    bursts = np.arange(max(1, min(60, events // 20_000)), dtype=np.int64)
    burst_starts = Stream(seed, "burst.start").ints(bursts, len(minute_starts))
    burst_lengths = 30 + Stream(seed, "burst.length").ints(bursts, 240)
    in_burst = np.zeros(len(minute_starts), dtype=bool)
    for first, length in zip(burst_starts.tolist(), burst_lengths.tolist()):
        in_burst[first : first + length] = True
    weights = np.where(in_burst, weights * BURST_BOOST, weights)
    return Timeline(start=start, cumulative=np.cumsum(weights), in_burst=in_burst)


def _event_times(spec: RunSpec, ordinals: np.ndarray, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Stratified draws along the timeline: ordinal e falls in the e-th of E equal slices
    of the cumulative weight, at a random point within it. Times never decrease with
    the ordinal, and a chunk needs nothing but its own ordinals. Returns (epoch
    seconds, whether the minute is inside a burst)."""
    total, events = timeline.total, spec.count("events")
    jitter = Stream(spec.seed, "event.time").ints(ordinals, total)
    position = (ordinals * total + jitter) // events
    minute = np.searchsorted(timeline.cumulative, position, side="right")
    second = Stream(spec.seed, "event.second").ints(ordinals, 60)
    return timeline.start + minute * 60 + second, timeline.in_burst[minute]


@functools.lru_cache(maxsize=4)
def _message_tables(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every kind's message pool laid end to end: row k * POOL_SIZE + i is message i of kind k."""
    pools = [material_for(seed).messages[kind] for kind in EVENT_KIND_VALUES]
    messages = np.array([message for pool in pools for message, _ in pool], dtype=object)
    sources = np.array([source for pool in pools for _, source in pool], dtype=object)
    return messages, sources


def _event_assets(
    spec: RunSpec, ordinals: np.ndarray, key: np.ndarray, times: np.ndarray, assets_: Assets
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's asset, one bought by the time of the event; returns (asset ids, times).

    Some assets are noisier than others (the smaller of two draws favours a
    subset). A second draw, then one of the assets bought before the window,
    stand in for an asset bought too late.
    """
    s = spec.seed
    a = Stream(s, "event.asset.a").ints(key, assets_.size)
    b = Stream(s, "event.asset.b").ints(key, assets_.size)
    chosen = assets_.take(np.where(Stream(s, "event.asset.noisy").below(key, 1, 2), np.minimum(a, b), a))
    late = chosen.purchase_days * SECONDS_PER_DAY > times
    if late.any():
        chosen = _merge(chosen, late, assets_.take(Stream(s, "event.asset.retry").ints(key[late], assets_.size)))
        late = chosen.purchase_days * SECONDS_PER_DAY > times
    if late.any():
        if settled_count := assets_.settled_count():
            ranks = Stream(s, "event.asset.settled").ints(ordinals[late], settled_count)
            chosen = _merge(chosen, late, assets_.take(assets_.settled(ranks)))
        else:  # every asset is newer than the window: the event waits for its asset
            times = np.maximum(times, chosen.purchase_days * SECONDS_PER_DAY)
    return chosen.ids.copy(), times


def _merge(rows, where: np.ndarray, replacements):
    """``rows`` with the entries at ``where`` replaced by ``replacements`` (in order)."""
    merged = {}
    for field in dataclasses.fields(rows):
        values = getattr(rows, field.name).copy()
        values[where] = getattr(replacements, field.name)
        merged[field.name] = values
    return type(rows)(**merged)


def events(spec: RunSpec, start: int, stop: int, assets_: Assets, deployments_: Deployments | None) -> Columns:
    ordinals = _ordinals(start, stop)
    s = spec.seed
    n = len(ordinals)
    times, burst_minute = _event_times(spec, ordinals, event_timeline(spec.seed, spec.as_of, spec.count("events")))

    # Trouble comes in runs: most events share the asset (and deployment) of their
    # group of EVENT_RUN consecutive events, as a failing host raises several
    # alerts at once. Their draws below are keyed by the group, the others' by
    # their own ordinal.
    follows = Stream(s, "event.follows").below(ordinals, EVENT_RUN_FOLLOW_PERCENT, 100)
    key = np.where(follows, ordinals // EVENT_RUN, ordinals + _OWN_DRAW)
    asset_ids, times = _event_assets(spec, ordinals, key, times, assets_)

    # Most events concern a deployment (on its asset), one already deployed by then.
    deployment_ids = np.full(n, None, dtype=object)
    if deployments_ is not None and deployments_.size:
        dep_idx = Stream(s, "event.deployment").ints(key, deployments_.size)
        chosen = deployments_.take(dep_idx)
        too_early = chosen.not_before > times
        if too_early.any():
            retry = deployments_.take(Stream(s, "event.deployment.retry").ints(key[too_early], deployments_.size))
            chosen = _merge(chosen, too_early, retry)
        tied = Stream(s, "event.tied").below(key, DEPLOYMENT_EVENT_PERCENT, 100)
        tied &= chosen.not_before <= times
        asset_ids[tied] = chosen.asset_ids[tied]
        deployment_ids[tied] = chosen.ids[tied]

    in_burst = burst_minute & Stream(s, "event.burst").below(ordinals, BURST_BOOST - 1, BURST_BOOST)
    kind_idx = Stream(s, "event.kind").weighted(ordinals, EVENT_KINDS)
    kind_idx = np.where(in_burst, np.where(Stream(s, "event.burst.kind").below(ordinals, 1, 3), 2, 0), kind_idx)
    severity = np.where(
        in_burst,
        Stream(s, "event.burst.severity").weighted(ordinals, SEVERITY_BURST),
        Stream(s, "event.severity").weighted(ordinals, SEVERITY_USUAL),
    )
    message_idx = kind_idx * POOL_SIZE + Stream(s, "event.message").ints(ordinals, POOL_SIZE)
    messages, sources = _message_tables(spec.seed)
    return {
        "id": (spec.id_base("events") + ordinals).tolist(),
        "asset": asset_ids.tolist(),
        "deployment": deployment_ids.tolist(),
        "kind": _pick(EVENT_KIND_VALUES, kind_idx),
        "severity": _pick(SEVERITY_VALUES, severity),
        "source": _pick(sources, message_idx),
        "message": _pick(messages, message_idx),
        "occurred_at": _timestamp_strings(times),
    }
