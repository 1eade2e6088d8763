"""The estate as tables: every application and asset a run may point at, with the attributes that decide
where deployments go and what may happen to them.

Deployments and events must agree with what an asset is and where it is in its
life: server software only on servers, nothing on an asset still on order, no
event after an asset or application was retired. So generation needs, for
every parent, its platform, lifecycle, environment and dates. A run's own
parents get them from their ordinals (pure functions, computed once per
process for the whole kind, a few bytes per row); parents that existed before
the run get them from the run's recorded view (``parent_view``). Either way
generation sees the same two tables.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np

from seeding.generation.catalog import Catalog
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.sites import site_of
from seeding.generation.spec import PURCHASE_HISTORY_DAYS, RunSpec

ASSET_LIFECYCLES = ("ordered", "in_stock", "in_use", "maintenance", "retired")
ORDERED, IN_STOCK, IN_USE, MAINTENANCE, RETIRED = range(5)
APP_LIFECYCLES = ("planned", "active", "deprecated", "retired")
PLANNED, ACTIVE, DEPRECATED, APP_RETIRED = range(4)
ENVIRONMENTS = ("production", "staging", "test", "development")
PRODUCTION = 0
#: A day that never comes: the retirement day of what is not retired.
NEVER = np.int64(1 << 40)

#: Servers serve every environment; end-user devices are production but for a pilot ring.
SERVER_ENVIRONMENTS = WeightTable([45, 20, 20, 15])
ENDPOINT_ENVIRONMENTS = WeightTable([92, 0, 8, 0])
APP_LIFECYCLE_WEIGHTS = WeightTable([4, 82, 11, 3])
APP_TIERS = WeightTable([10, 30, 60])
SOFTWARE_LIFECYCLE_WEIGHTS = WeightTable([0, 92, 8, 0])
#: Retired applications were retired this many days before the base time, at most...
APP_RETIRED_WITHIN_DAYS = 120
#: ...and at least this many (their last deployments were stopped before it).
APP_RETIRED_AT_LEAST_DAYS = 10
#: A retired application's deployments go on hosts bought at least this long before the base time
#: (and before its retirement), so each was deployed before the application was retired.
VETERAN_DAYS = 150
#: Assets in maintenance: this share (per mille) of those in use for a month or more...
MAINTENANCE_PER_MILLE = 30
#: ...each given a maintenance event in the last days of the event window.
MAINTENANCE_RECENT_DAYS = 7
#: One application in this many is third-party software from the catalog, while the catalog lasts.
SOFTWARE_EVERY = 3


# --- assets -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class AssetTable:
    """Per asset position: what generation needs to know about it (a few bytes per asset)."""

    ids: np.ndarray  # int64
    sites: int  # how many sites the catalog has (what ``site`` indexes)
    type_idx: np.ndarray  # catalog asset type; -1 when the catalog does not know it
    family: np.ndarray  # catalog OS family; -1 when unknown
    platform: np.ndarray  # catalog platform ("server/linux"); -1 when it hosts no applications
    lifecycle: np.ndarray  # index into ASSET_LIFECYCLES
    environment: np.ndarray  # index into ENVIRONMENTS: the one environment a host serves
    purchase_day: np.ndarray  # epoch day
    retired_day: np.ndarray  # epoch day, NEVER unless retired
    site: np.ndarray  # catalog site; -1 when the catalog does not know where it is
    #: A live stream's recorded assets: who each laptop or desktop on order or in stock would be issued to
    #: ("" for nobody; ``persistence.parent_view.device_people``). None elsewhere.
    person: np.ndarray | None = None
    _memo: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.ids)

    def active_from(self, positions: np.ndarray) -> np.ndarray:
        """Epoch second from which something may happen to the asset (never while ordered or in stock)."""
        waiting = self.lifecycle[positions] <= IN_STOCK
        return np.where(waiting, NEVER * 86_400, self.purchase_day[positions] * 86_400)

    def active_until(self, positions: np.ndarray) -> np.ndarray:
        """Epoch second after which nothing happens to it (the end of its retirement day)."""
        return self.retired_day[positions] * 86_400 + 86_399

    @functools.cached_property
    def serving(self) -> np.ndarray:
        """Assets in use or in maintenance: the only ones that host deployments."""
        return (self.lifecycle == IN_USE) | (self.lifecycle == MAINTENANCE)

    def hosts(self, platforms: frozenset[int], mode: str, last_day: int) -> np.ndarray:
        """Sorted positions of the assets an application of ``platforms`` may be deployed on.

        ``mode``: "all"; "veteran" for retired applications (hosts bought by
        ``last_day``, so that each deployment predates the retirement); "none"
        (planned applications). Computed once per table and key.
        """
        key = ("hosts", platforms, mode, last_day)
        if key not in self._memo:
            chosen = self.serving & np.isin(self.platform, sorted(platforms))
            if mode == "veteran":
                chosen &= self.purchase_day <= last_day
            elif mode == "none":
                chosen &= False
            self._memo[key] = np.flatnonzero(chosen).astype(np.int32)
        return self._memo[key]

    @functools.cached_property
    def eventful(self) -> np.ndarray:
        """Positions of the assets that are or were in service (not on order or in stock)."""
        return np.flatnonzero(self.lifecycle >= IN_USE).astype(np.int64)

    def by_site(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The eventful assets grouped by site: (positions site after site, each site's offset, each site's count)."""
        if "by_site" not in self._memo:
            known = self.eventful[self.site[self.eventful] >= 0]
            order = known[np.argsort(self.site[known], kind="stable")].astype(np.int32)
            sizes = np.bincount(self.site[known], minlength=self.sites).astype(np.int64)
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            self._memo["by_site"] = (order, offsets, sizes)
        return self._memo["by_site"]

    def by_site_weighted(self, catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``by_site`` with each asset weighted by its type's ``event_weight``: (positions site after site, the
        running total of their weights, each site's first index, each site's total weight)."""
        if "by_site_weighted" not in self._memo:
            order, offsets, _ = self.by_site()
            per_type = np.array([t.event_weight for t in catalog.asset_types] + [1], dtype=np.int64)
            weights = per_type[self.type_idx[order]]  # -1 (a type the catalog does not know): the last, 1
            cumulative = np.cumsum(weights)
            totals = np.bincount(self.site[order], weights=weights, minlength=self.sites).astype(np.int64)
            self._memo["by_site_weighted"] = (order, cumulative, offsets, totals)
        return self._memo["by_site_weighted"]

    @functools.cached_property
    def maintenance(self) -> np.ndarray:
        """Positions of the assets in maintenance."""
        return np.flatnonzero(self.lifecycle == MAINTENANCE).astype(np.int64)

    def settled(self, window_start_day: int) -> np.ndarray:
        """Positions of the assets in service for the whole event window: any event time suits them."""
        key = ("settled", window_start_day)
        if key not in self._memo:
            self._memo[key] = np.flatnonzero(self.serving & (self.purchase_day <= window_start_day)).astype(np.int64)
        return self._memo[key]


def asset_hardware(spec: RunSpec, ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(asset type, model, operating system) of each asset, as catalog indices (the system within its model)."""
    catalog, s = spec.catalog, spec.seed
    type_idx = Stream(s, "asset.type").weighted(ordinals, catalog.type_weights)
    model_idx = np.empty(len(ordinals), dtype=np.int64)
    for kind, indices in enumerate(catalog.models_by_type):
        chosen = type_idx == kind
        local = Stream(s, "asset.model").weighted(ordinals[chosen], catalog.model_weights[kind])
        model_idx[chosen] = np.array(indices, dtype=np.int64)[local]
    system_idx = np.empty(len(ordinals), dtype=np.int64)
    for model in np.unique(model_idx).tolist():
        chosen = model_idx == model
        system_idx[chosen] = Stream(s, "asset.os").weighted(ordinals[chosen], catalog.system_weights[model])
    if catalog.system_until:
        _ship_current_systems(spec, ordinals, model_idx, system_idx)
    return type_idx, model_idx, system_idx


def _ship_current_systems(spec: RunSpec, ordinals: np.ndarray, model_idx: np.ndarray, system_idx: np.ndarray) -> None:
    """A device bought after its drawn system stopped shipping (``until`` in operating_systems.csv: no new
    laptop comes with Windows 10 after October 2025) gets one of its model's systems of the same family
    still shipping that day, by their weights; the family, and so every event it has, stays the same."""
    catalog = spec.catalog
    purchase = asset_purchase_days(spec, ordinals)
    stream = Stream(spec.seed, "asset.os.current")
    for model in np.unique(model_idx).tolist():
        systems = catalog.models[model].systems
        until = np.array([catalog.system_until.get(name, NEVER) for name, _ in systems], dtype=np.int64)
        family = np.array([catalog.families[name] for name, _ in systems], dtype=object)
        weights = np.array([weight for _, weight in systems], dtype=np.int64)
        rows = np.flatnonzero(model_idx == model)
        rows = rows[until[system_idx[rows]] < purchase[rows]]
        if not len(rows):
            continue
        # Which of the model's systems each stale device could ship with: its drawn one's family, still
        # shipping on its purchase day; one bit per system, so the few distinct choices are drawn at once.
        fits = (family[None, :] == family[system_idx[rows]][:, None]) & (until[None, :] >= purchase[rows][:, None])
        patterns = fits @ (1 << np.arange(len(systems), dtype=np.int64))
        for pattern in np.unique(patterns[patterns > 0]).tolist():
            mine = rows[patterns == pattern]
            shipping = np.flatnonzero([(pattern >> number) & 1 for number in range(len(systems))])
            system_idx[mine] = shipping[stream.weighted(ordinals[mine], WeightTable(weights[shipping]))]


def asset_purchase_days(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """Epoch day of purchase; the smaller of two draws skews the fleet towards recent kit."""
    a = Stream(spec.seed, "asset.purchase.a").ints(ordinals, PURCHASE_HISTORY_DAYS)
    b = Stream(spec.seed, "asset.purchase.b").ints(ordinals, PURCHASE_HISTORY_DAYS)
    return spec.as_of_day - np.minimum(a, b)


def _lifecycles(spec: RunSpec, ordinals: np.ndarray, type_idx: np.ndarray, purchase_day: np.ndarray):
    """Lifecycle (maintenance only as a candidate) and retirement day, agreeing with the asset's age.

    Recent hardware may still be on order or in stock (a virtual machine never
    is); assets past about
    three quarters of their type's lifespan are more and more often retired,
    on a day between 75% of their lifespan and their age (never within a few
    days of purchase, never in the future).
    """
    s = spec.seed
    lifespans = np.array([t.lifespan_years * 365 for t in spec.catalog.asset_types], dtype=np.int64)[type_idx]
    age = spec.as_of_day - purchase_day
    stage = Stream(s, "asset.lifecycle.stage").ints(ordinals, 1000)
    physical = np.array([t.physical for t in spec.catalog.asset_types], dtype=bool)[type_idx]
    lifecycle = np.full(len(ordinals), IN_USE, dtype=np.int8)
    lifecycle[physical & (age < 60) & (stage < 600)] = IN_STOCK
    lifecycle[physical & (age < 60) & (stage < 350)] = ORDERED
    lifecycle[physical & (age >= 60) & (age < 365) & (stage < 60)] = IN_STOCK

    worn = age * 1000 // lifespans  # age in per mille of the lifespan
    retire_chance = np.minimum(900, 150 + (worn - 750) * 3 // 2)
    retired = (worn >= 750) & (Stream(s, "asset.retired").ints(ordinals, 1000) < retire_chance)
    share = 750 + Stream(s, "asset.retired.day").ints(ordinals, 1000) * (np.minimum(worn, 1400) - 750) // 1000
    # Rounded up: never a day short of the share; at the latest on the base date.
    retired_day = np.where(retired, np.minimum(purchase_day - (-lifespans * share // 1000), spec.as_of_day), NEVER)
    lifecycle[retired] = RETIRED
    candidate = (lifecycle == IN_USE) & (age >= 30) & (Stream(s, "asset.maintenance").ints(ordinals, 1000) < 30)
    return lifecycle, retired_day, candidate


def keyless(spec: RunSpec) -> RunSpec:
    """``spec`` without what only keys and addresses depend on: the tables below are the same for both."""
    return dataclasses.replace(
        spec,
        run_id=0,
        id_bases=tuple((kind, 0) for kind, _ in spec.id_bases),
        site_host_bases=(),
        site_person_bases=(),
        people_id_base=None,
        team_heads=(),
    )


def own_assets(spec: RunSpec, maintenance_slots: int) -> AssetTable:
    """The table of the run's own assets, computed from their ordinals in slices.

    ``maintenance_slots``: how many assets the run's events can give a recent
    maintenance event (see ``events.maintenance_slots``); the first candidates
    up to that many are in maintenance, the others stay in use. Computed once
    per process for the run (and shared with the check made when it was
    created, which has no keys yet): only the keys differ.
    """
    core = _own_assets(keyless(spec), maintenance_slots)
    return dataclasses.replace(
        core, ids=spec.id_base("assets") + np.arange(core.size, dtype=np.int64), _memo=core._memo
    )


@functools.lru_cache(maxsize=4)
def _own_assets(spec: RunSpec, maintenance_slots: int) -> AssetTable:
    catalog = spec.catalog
    size = spec.count("assets")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("type", "family", "life", "retired", "day", "cand")}
    family_of_system = _system_families(catalog)
    for start in range(0, size, 50_000):
        ordinals = np.arange(start, min(start + 50_000, size), dtype=np.int64)
        type_idx, model_idx, system_idx = asset_hardware(spec, ordinals)
        day = asset_purchase_days(spec, ordinals)
        lifecycle, retired_day, candidate = _lifecycles(spec, ordinals, type_idx, day)
        parts["type"].append(type_idx.astype(np.int16))
        parts["family"].append(family_of_system[model_idx, system_idx])
        parts["life"].append(lifecycle)
        parts["retired"].append(retired_day)
        parts["day"].append(day)
        parts["cand"].append(candidate)
    if not size:
        return empty_asset_table(catalog)
    joined = {name: np.concatenate(values) for name, values in parts.items()}
    lifecycle = joined["life"]
    candidates = np.flatnonzero(joined["cand"])
    lifecycle[candidates[:maintenance_slots]] = MAINTENANCE
    type_idx, family = joined["type"], joined["family"]
    platform = platform_table(catalog)[type_idx, family]
    ordinals = np.arange(size, dtype=np.int64)
    return AssetTable(
        ids=spec.id_base("assets") + ordinals,
        sites=len(catalog.sites),
        type_idx=type_idx,
        family=family,
        platform=platform,
        lifecycle=lifecycle,
        environment=asset_environments(spec.seed, ordinals, platform, catalog),
        purchase_day=joined["day"],
        retired_day=joined["retired"],
        site=site_of(spec, ordinals).astype(np.int16),
    )


def asset_environments(seed: int, keys: np.ndarray, platform: np.ndarray, catalog: Catalog) -> np.ndarray:
    """The environment each host serves: servers all four, end-user devices production (and a pilot ring)."""
    endpoint = np.array([name.startswith("endpoint/") for name in catalog.platforms] + [False], dtype=bool)[platform]
    server = Stream(seed, "asset.environment").weighted(keys, SERVER_ENVIRONMENTS)
    user = Stream(seed, "asset.environment").weighted(keys, ENDPOINT_ENVIRONMENTS)
    return np.where(endpoint, user, server).astype(np.int8)


@functools.lru_cache(maxsize=8)
def _system_families(catalog: Catalog) -> np.ndarray:
    """[model, system within the model] -> family index."""
    width = max(len(model.systems) for model in catalog.models)
    table = np.full((len(catalog.models), width), -1, dtype=np.int16)
    for m, model in enumerate(catalog.models):
        for i, (name, _) in enumerate(model.systems):
            table[m, i] = catalog.family_names.index(catalog.families[name])
    return table


@functools.lru_cache(maxsize=8)
def platform_table(catalog: Catalog) -> np.ndarray:
    """[asset type, family] -> platform index (-1: hosts nothing); index -1 on either axis means unknown."""
    table = np.full((len(catalog.asset_types) + 1, len(catalog.family_names) + 1), -1, dtype=np.int16)
    for t in range(len(catalog.asset_types)):
        for f in range(len(catalog.family_names)):
            table[t, f] = catalog.platform_of(t, f)
    return table


def empty_asset_table(catalog: Catalog) -> AssetTable:
    empty = np.zeros(0, dtype=np.int64)
    return AssetTable(empty, len(catalog.sites), empty, empty, empty, empty, empty, empty, empty, empty)


# --- applications ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class ApplicationTable:
    ids: np.ndarray
    platforms: tuple[frozenset[int], ...]  # the catalog platforms each application runs on
    lifecycle: np.ndarray  # index into APP_LIFECYCLES
    retired_day: np.ndarray  # epoch day, NEVER unless retired
    versions: np.ndarray  # current release (object array)
    software: np.ndarray  # catalog software index; -1 for in-house applications
    names: np.ndarray  # object array
    tier: np.ndarray | None = None  # index into APP_TIERS; None when unknown (applications read back)
    teams: np.ndarray | None = None  # owner team (object array); None when unknown (applications read back)
    #: Whether a rollout of each is under way (a deployment deploying); None when unknown (a live stream's only).
    rolling_out: np.ndarray | None = None

    def previous_release(self, position: int, catalog: Catalog) -> str:
        """The release before the current one: from the software's version line, else a semantic step back."""
        current, software = self.versions[position], int(self.software[position])
        if software >= 0:
            line = catalog.software[software].versions
            return line[max(0, line.index(current) - 1)] if current in line else current
        return older_version(current, 1)

    @property
    def size(self) -> int:
        return len(self.ids)


@dataclasses.dataclass(frozen=True)
class ApplicationIdentity:
    """The descriptive columns of in-house and third-party applications alike."""

    name: str
    vendor: str
    category: str
    owner_team: str


def software_taken(catalog: Catalog, applications: int, software_from: int) -> int:
    """How many catalog products a run of ``applications`` takes when earlier runs took ``software_from``:
    one application in ``SOFTWARE_EVERY``, while products the estate lacks last."""
    wanted = -(-applications // SOFTWARE_EVERY)
    return max(0, min(wanted, len(catalog.software) - software_from))


def software_position(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """Catalog software index of each application, -1 for in-house ones.

    Every ``SOFTWARE_EVERY``-th application is third-party while the run has
    products to take: the next ones of the estate's order of the catalog (a
    permutation seeded by the estate's first run), after those earlier runs
    took, so small plans mix both, large ones carry the whole catalog, and a
    stacked run adds products the estate lacks, never a second "Redis".
    """
    products = len(spec.catalog.software)
    taken = software_taken(spec.catalog, spec.count("applications"), spec.software_from)
    slot = ordinals // SOFTWARE_EVERY
    is_software = (ordinals % SOFTWARE_EVERY == 0) & (slot < taken)
    if not products:
        return np.full(len(ordinals), -1, dtype=np.int64)
    order = _software_order(spec.estate_seed, products)
    return np.where(is_software, order[np.minimum(spec.software_from + slot, products - 1)], -1)


@functools.lru_cache(maxsize=8)
def _software_order(seed: int, products: int) -> np.ndarray:
    return np.argsort(Stream(seed, "application.software").bits(np.arange(products, dtype=np.int64)), kind="stable")


def in_house_positions(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """Each in-house application's position in the estate's order of in-house names (see ``NameOrder``)."""
    taken = software_taken(spec.catalog, spec.count("applications"), spec.software_from)
    software_before = np.minimum(-(-ordinals // SOFTWARE_EVERY), taken)
    return spec.in_house_from + ordinals - software_before


def in_house_versions(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """Current release of in-house applications: semantic versions that move by minors and patches."""
    s = spec.seed
    major = 1 + Stream(s, "application.version.major").ints(ordinals, 6)
    minor = Stream(s, "application.version.minor").ints(ordinals, 25)
    patch = Stream(s, "application.version.patch").ints(ordinals, 30)
    return np.array([f"{a}.{b}.{c}" for a, b, c in zip(major.tolist(), minor.tolist(), patch.tolist())], dtype=object)


def application_attributes(
    spec: RunSpec, ordinals: np.ndarray, identities: list[ApplicationIdentity] | None = None
) -> ApplicationTable:
    """The table rows of the run's own applications at ``ordinals`` (``identities``: theirs, if the caller
    has them already)."""
    catalog, s = spec.catalog, spec.seed
    identities = identities or application_identities(spec, ordinals)
    software = software_position(spec, ordinals)
    versions = in_house_versions(spec, ordinals)
    for row in np.flatnonzero(software >= 0).tolist():
        versions[row] = catalog.software[software[row]].versions[-1]
    lifecycle = np.where(
        software >= 0,
        Stream(s, "application.lifecycle").weighted(ordinals, SOFTWARE_LIFECYCLE_WEIGHTS),
        Stream(s, "application.lifecycle").weighted(ordinals, APP_LIFECYCLE_WEIGHTS),
    ).astype(np.int8)
    ago = APP_RETIRED_AT_LEAST_DAYS + Stream(s, "application.retired").ints(
        ordinals, APP_RETIRED_WITHIN_DAYS - APP_RETIRED_AT_LEAST_DAYS
    )
    retired_day = np.where(lifecycle == APP_RETIRED, spec.as_of_day - ago, NEVER)
    in_house = _in_house_platforms(catalog)
    windows = Stream(s, "application.platform").below(ordinals, 1, 5)
    runs_on = software_platforms(catalog)  # one frozenset per product, shared by its rows
    platforms = tuple(
        runs_on[sw] if sw >= 0 else in_house[1 if win and len(in_house) > 1 else 0]
        for sw, win in zip(software.tolist(), windows.tolist())
    )
    return ApplicationTable(
        ids=spec.id_base("applications") + ordinals,
        platforms=platforms,
        lifecycle=lifecycle,
        retired_day=retired_day,
        versions=versions,
        software=software,
        names=np.array([i.name for i in identities], dtype=object),
        tier=Stream(s, "application.tier").weighted(ordinals, APP_TIERS).astype(np.int8),
        teams=np.array([i.owner_team for i in identities], dtype=object),
    )


def application_reach(catalog: Catalog, apps: ApplicationTable) -> np.ndarray:
    """Per application: its product's ``reach`` (software.csv, per cent of its platforms' hosts; an agent's is
    high), 0 for business applications (in-house, or products without one). What tells an agent from the
    applications people work on, for whatever should be about the latter (an incident names an application)."""
    return _reaches(catalog)[apps.software]


@functools.lru_cache(maxsize=8)
def _reaches(catalog: Catalog) -> np.ndarray:
    """Per catalog product its reach, and 0 last (index -1: in-house)."""
    return np.array([item.reach for item in catalog.software] + [0], dtype=np.int64)


@functools.lru_cache(maxsize=8)
def software_platforms(catalog: Catalog) -> tuple[frozenset[int], ...]:
    return tuple(frozenset(catalog.platforms.index(p) for p in item.platforms) for item in catalog.software)


def in_house_platforms(catalog: Catalog) -> frozenset[int]:
    """Every platform an in-house service may run on: where an application the catalog lacks may be."""
    return frozenset().union(*_in_house_platforms(catalog))


@functools.lru_cache(maxsize=8)
def _in_house_platforms(catalog: Catalog) -> tuple[frozenset[int], ...]:
    """In-house services run on Linux servers, one in five on Windows servers (when the catalog has them)."""
    found = [
        frozenset({catalog.platforms.index(name)})
        for name in ("server/linux", "server/windows")
        if name in catalog.platforms
    ]
    servers = frozenset(i for i, name in enumerate(catalog.platforms) if name.startswith("server/"))
    return tuple(found) or (servers,)


def own_applications(spec: RunSpec) -> ApplicationTable:
    """The table of the run's own applications (shared, like ``own_assets``, but for the keys)."""
    core = _own_applications(keyless(spec))
    return dataclasses.replace(core, ids=spec.id_base("applications") + np.arange(core.size, dtype=np.int64))


@functools.lru_cache(maxsize=4)
def _own_applications(spec: RunSpec) -> ApplicationTable:
    return application_attributes(spec, np.arange(spec.count("applications"), dtype=np.int64))


def application_identities(spec: RunSpec, ordinals: np.ndarray) -> list[ApplicationIdentity]:
    """Names, vendors, categories and teams that agree: from the catalog's software and business domains.

    In-house applications take the next names of the estate's order (``NameOrder``),
    after those earlier runs took: no name twice in an estate, stacked runs included.
    """
    catalog = spec.catalog
    software = software_position(spec, ordinals)
    order = name_order(catalog, spec.estate_seed)
    in_house = np.flatnonzero(software < 0)
    names = order.names(in_house_positions(spec, ordinals[in_house]))
    identities: list[ApplicationIdentity | None] = [None] * len(ordinals)
    for row, (name, d) in zip(in_house.tolist(), names):
        domain = catalog.domains[d]
        identities[row] = ApplicationIdentity(name, "In-house", domain.category, domain.owner_team)
    for row in np.flatnonzero(software >= 0).tolist():
        item = catalog.software[software[row]]
        identities[row] = ApplicationIdentity(item.name, item.vendor, item.category, item.owner_team)
    return identities  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True, eq=False)
class NameOrder:
    """The estate's in-house products and their names, in the order runs take them.

    A product is a codename in one business domain, with the domain's services
    side by side: "Raven Payroll Portal", "Raven Payroll Calculation Engine".
    Each codename of the catalog names one product (in a domain drawn per
    estate, the domains dealt out in seeded rounds so neighbouring products
    differ), first the single codenames in a seeded order, then the ones
    ``codename_modifiers.csv`` makes ("Silver Raven"). Position ``q`` is the
    ``q mod size``-th name, followed by a number past the first lap (" 2"), so
    positions never share a name.
    """

    catalog: Catalog
    single: np.ndarray  # a permutation of the catalog's codenames
    compound: np.ndarray  # a permutation of modifier * codenames + codename
    domain: np.ndarray  # per product: its business domain
    offsets: np.ndarray  # per product: its first name's position; the number of names last

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def codename(self, product: int) -> str:
        if product < len(self.single):
            return self.catalog.codenames[int(self.single[product])]
        combined = int(self.compound[product - len(self.single)])
        codenames = len(self.catalog.codenames)
        return (
            f"{self.catalog.codename_modifiers[combined // codenames]} {self.catalog.codenames[combined % codenames]}"
        )

    def names(self, positions: np.ndarray) -> list[tuple[str, int]]:
        """(name, domain index) at each position."""
        lap, within = np.divmod(positions, self.size)
        product = np.searchsorted(self.offsets, within, side="right") - 1
        service = within - self.offsets[product]
        found = []
        for p, n, number in zip(product.tolist(), service.tolist(), lap.tolist()):
            d = int(self.domain[p])
            domain = self.catalog.domains[d]
            name = f"{self.codename(p)} {domain.domain} {domain.services[n]}" + (f" {number + 1}" if number else "")
            found.append((name, d))
        return found


@functools.lru_cache(maxsize=8)
def name_order(catalog: Catalog, seed: int) -> NameOrder:
    codenames, modifiers, domains = len(catalog.codenames), len(catalog.codename_modifiers), len(catalog.domains)
    single = _permutation(seed, "application.codename", codenames)
    compound = _permutation(seed, "application.codename.compound", codenames * modifiers)
    products = codenames * (modifiers + 1)
    rounds = -(-products // domains)
    dealt = Stream(seed, "application.codename.domain").bits(np.arange(rounds * domains, dtype=np.int64))
    domain = np.argsort(dealt.reshape(rounds, domains), axis=1, kind="stable").ravel()[:products]
    services = np.array([len(d.services) for d in catalog.domains], dtype=np.int64)[domain]
    offsets = np.concatenate([[0], np.cumsum(services)]).astype(np.int64)
    return NameOrder(catalog, single, compound, domain, offsets)


def _permutation(seed: int, field: str, size: int) -> np.ndarray:
    return np.argsort(Stream(seed, field).bits(np.arange(size, dtype=np.int64)), kind="stable")


_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def older_version(version: str, steps: int) -> str:
    """A plausible earlier release of ``version``: ``steps`` minors back (unchanged if it is not x.y.z)."""
    match = _SEMVER.match(version)
    if not match:
        return version
    major, minor, patch = (int(part) for part in match.groups())
    if minor >= steps:
        return f"{major}.{minor - steps}.{(patch * 7 + steps) % 13}"
    if major > 1:
        return f"{major - 1}.{minor + 9 - steps}.{(patch * 5 + steps) % 11}"
    return version
