"""The catalog: curated, real-world material the generators draw from, read from plain CSV files.

One directory (``SEED_CATALOG_DIR``; the built-in one is ``backend/seeding/catalog``)
holds one CSV file per table, described in docs/catalogs.md. A team points
demoseed at its own directory to make the data speak its language, with no code
change. Loading validates every row and names the file, line and column of
anything wrong; the result is immutable and identified by a digest of the
files' contents, so two processes can tell whether they draw from the same
material.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import ipaddress
import re
import string
import zoneinfo
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import faker.config

from seeding.generation.rng import WeightTable

FILES = (
    "sites.csv",
    "teams.csv",
    "asset_types.csv",
    "manufacturers.csv",
    "hardware.csv",
    "operating_systems.csv",
    "software.csv",
    "business_domains.csv",
    "codenames.csv",
    "packages.csv",
    "events.csv",
    "incident_stories.csv",
    "changes.csv",
    "bands.csv",
)
#: Files a catalog may leave out (docs/catalogs.md says what their absence means).
OPTIONAL_FILES = ("codename_modifiers.csv", "lifecycle.csv", "cascades.csv")
#: What a team does: run the estate (network, storage, platforms, end-user devices), build a product, or
#: run the business (sales, finance, legal: people with laptops, owning no asset or application).
TEAM_KINDS = ("infrastructure", "product", "business")
#: Titles of a team that names none (``teams.csv`` ``titles``): its head's, its site leads', its members'.
DEFAULT_TITLES = ("Head of {team}", "Team Lead", "Specialist")
#: What an asset type can host: server software, end-user software, or nothing (it runs firmware).
HOSTS = ("server", "endpoint", "none")
EVENT_KINDS = ("alert", "change", "incident", "maintenance")
EVENT_SCOPES = ("host", "application")
SEVERITIES = ("info", "warning", "error", "critical")
#: Placeholders an event message may use (see docs/catalogs.md).
EVENT_PLACEHOLDERS = frozenset({"value", "ticket", "package", "version"})
#: Placeholders of incident stories: the application's name, its previous release, the tickets, the duration.
STORY_PLACEHOLDERS = frozenset({"value", "ticket", "change", "app", "version", "minutes", "hours"})
#: How an incident comes to light: its alerts, or a person calling the service desk.
DETECTED_BY = ("monitoring", "user")
#: What ``bands.csv`` bounds: each severity's share of the events, the busiest day against the median
#: day, and incidents per 1,000 assets per month.
BAND_MEASURES = (
    "severity.info",
    "severity.warning",
    "severity.error",
    "severity.critical",
    "busiest_day",
    "incidents_per_1000_assets_month",
)
#: What a live stream does to an asset's lifecycle (``lifecycle.csv``): one in maintenance comes back; one on
#: order is delivered to its site (then in stock); one in stock is put into service.
LIFECYCLE_MOVES = ("returned", "delivered", "in_service")
#: Placeholders of cascades: the failing product, the application it drags down, the tickets, the duration,
#: how many services it took down with it.
CASCADE_PLACEHOLDERS = frozenset({"dependency", "app", "ticket", "change", "minutes", "services"})
#: Placeholders of lifecycle moves: the asset's site; for a laptop or desktop delivered or put into service,
#: the person it is issued to.
MOVE_PLACEHOLDERS = frozenset({"site", "person"})
#: Placeholders of change waves: the ticket, the application, the hosts, the step, the site, the duration; for
#: releases, the release rolled out and how many hosts came up healthy; for migrations, the site moved to
#: and a host's new name and address there.
WAVE_PLACEHOLDERS = frozenset(
    {
        "change",
        "app",
        "hosts",
        "step",
        "site",
        "minutes",
        "hours",
        "version",
        "healthy",
        "destination",
        "hostname",
        "address",
    }
)
#: Placeholders only a scope of wave may use.
_SCOPE_PLACEHOLDERS = {"release": {"version", "healthy"}, "migration": {"destination", "hostname", "address"}}
#: Where a change wave rolls out: an application's hosts, assets at one site, or (live streams only) a new
#: release of an application to its hosts, their deployments' state and version moving with it, or a move
#: of assets from one site to another (a scenario pack's ``[migration]``), renamed and re-addressed.
WAVE_SCOPES = ("application", "host", "release", "migration")
#: date.toordinal() of 1970-01-01: catalog dates become epoch days, as purchase days are.
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Serial numbers: these characters only (no I or O, easy to read aloud).
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class CatalogError(ValueError):
    """A catalog file is missing or wrong; the message names the file, line and column."""


@dataclasses.dataclass(frozen=True)
class Site:
    code: str  # short and lower case, part of host names: "fra1"
    city: str
    country: str
    time_zone: str  # IANA name: "Europe/Berlin"
    network: ipaddress.IPv4Network  # the site's own address range
    weight: int
    name_locale: str = "en_US"  # the Faker locale its people's names come from

    @property
    def location(self) -> str:
        return f"{self.city} ({self.code.upper()})"


@dataclasses.dataclass(frozen=True)
class AssetType:
    value: str  # the Asset.asset_type choice
    hostname_prefix: str
    weight: int
    lifespan_years: int
    end_user: bool  # assigned to a person
    hosts: str  # one of HOSTS
    physical: bool  # bought and delivered (may be on order or in stock), unlike a virtual machine
    owner_team: str = ""  # the team that runs every asset of the type; empty: drawn per asset
    #: How much an asset of the type is talked about in events, relative to the others (a server's monitoring
    #: says more than a laptop's endpoint management).
    event_weight: int = 1


@dataclasses.dataclass(frozen=True)
class Manufacturer:
    name: str
    serial_prefix: str
    serial_length: int


@dataclasses.dataclass(frozen=True)
class Model:
    asset_type: str
    manufacturer: str
    name: str
    weight: int
    #: The operating systems or firmware this model runs, with their weights.
    systems: tuple[tuple[str, int], ...]


@dataclasses.dataclass(frozen=True)
class Software:
    """A third-party product: deployed like an application, with its real version line."""

    name: str
    vendor: str
    category: str
    owner_team: str
    platforms: tuple[str, ...]  # "server/linux", "endpoint/macos", ...
    versions: tuple[str, ...]  # oldest first; the last is the current release
    #: Per cent of the hosts of its platforms it is installed on (agents: most); 0: a handful, like an application.
    reach: int = 0


@dataclasses.dataclass(frozen=True)
class Team:
    """A team of the organisation: who owns applications and runs assets (``teams.csv``)."""

    name: str
    department: str
    kind: str  # one of TEAM_KINDS
    sites: tuple[str, ...] | None  # site codes where it works; None: every site
    #: Its share of the company's people (relative to the other teams working at a person's site).
    staff: int = 1
    #: Its head's title, its site leads', then its members' (drawn): at least three.
    titles: tuple[str, ...] = DEFAULT_TITLES


@dataclasses.dataclass(frozen=True)
class BusinessDomain:
    """Where in-house applications come from: "Payments" gives "Orion Payments Gateway", Finance, team Payments."""

    domain: str
    category: str
    owner_team: str
    services: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Package:
    name: str
    family: str
    versions: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class EventTemplate:
    kind: str
    asset_types: frozenset[str] | None  # None: any
    families: frozenset[str] | None  # None: any
    scope: str  # "host" or "application" (the event concerns a deployment)
    source: str
    message: str
    values: tuple[int, int] | None  # the range {value} is drawn from
    #: A fixed severity, or (severity, threshold) pairs: the most severe threshold the value reaches.
    severity: str | tuple[tuple[str, int], ...]
    weight: int
    #: Only on an asset at least this old (a worn battery, a replaced fan): 0 for any.
    min_age_days: int = 0

    @property
    def rising(self) -> bool | None:
        """True when a higher value is worse (disk %), False when lower is (days left); None: fixed severity."""
        if isinstance(self.severity, str):
            return None
        return self.severity[0][1] <= self.severity[-1][1]

    def severity_of(self, value: int | None) -> str:
        if isinstance(self.severity, str):
            return self.severity
        level = "info"
        for name, threshold in self.severity:
            if (value >= threshold) if self.rising else (value <= threshold):
                level = name
        return level

    def fits(self, asset_type: str, family: str) -> bool:
        return (self.asset_types is None or asset_type in self.asset_types) and (
            self.families is None or family in self.families
        )


@dataclasses.dataclass(frozen=True)
class IncidentStory:
    """How an incident unfolds: rising alerts (or a user's call), the incident, a fix, recovery, resolution.

    ``scope`` "application": on up to three hosts of one server application;
    "host": on one asset of ``asset_types`` running ``families``.
    """

    symptom: str
    scope: str
    asset_types: frozenset[str] | None  # None: any (host stories)
    families: frozenset[str] | None
    detected_by: str  # "monitoring" (alerts rise first) or "user" (no alerts)
    alert_source: str
    alert: str  # with {value}; empty when a user reports it
    values: tuple[tuple[int, int], ...]  # ranges of the alert's value as it rises: warning, error, critical
    incident: str
    incident_severity: str
    ticket_source: str  # the ticketing system that records the incident and its resolution
    fix_source: str
    fix: str
    recovery: str
    resolution: str
    minutes: tuple[int, int]  # how long it lasts, from the first alert (or call) to the resolution
    weight: int

    def fits(self, asset_type: str, family: str) -> bool:
        return (self.asset_types is None or asset_type in self.asset_types) and (
            self.families is None or family in self.families
        )


@dataclasses.dataclass(frozen=True)
class ChangeWave:
    """A planned change rolled out host after host: opened, one step per host, closed, one ticket throughout.

    ``scope`` "application": on hosts of one server application; "host": on
    assets of ``asset_types`` running ``families`` at one site (the team that
    runs them makes the change there); "release": a live stream's rollout of an
    application's release (``generation.releases``), whose ``failed`` step
    says what a host that did not come up healthy tells.
    """

    name: str
    scope: str
    asset_types: frozenset[str] | None
    families: frozenset[str] | None
    hosts: tuple[int, int]  # how many hosts a wave covers
    minutes: tuple[int, int]  # from opened to closed
    ticket_source: str
    opened: str
    source: str  # the tool that makes each step
    step: str
    closed: str
    weight: int
    failed: str = ""

    def fits(self, asset_type: str, family: str) -> bool:
        return (self.asset_types is None or asset_type in self.asset_types) and (
            self.families is None or family in self.families
        )


@dataclasses.dataclass(frozen=True)
class LifecycleMove:
    """What an asset's move through its lifecycle says in a live stream (``LIFECYCLE_MOVES``).

    ``minutes``: for ``in_service``, how long after its delivery an asset delivered during the stream is put
    into service (unused by the other moves).
    """

    move: str
    asset_types: frozenset[str] | None
    source: str
    message: str
    minutes: tuple[int, int]

    def fits(self, asset_type: str) -> bool:
        return self.asset_types is None or asset_type in self.asset_types


@dataclasses.dataclass(frozen=True)
class Cascade:
    """A dependency failing and dragging down the applications that use it (``cascades.csv``, a live
    stream's, when a scenario pack's phase asks for cascades): an alert on the product's hosts, its incident
    record, an incident on each application that uses it, the fix, each application recovering, the
    dependency's incident resolved."""

    category: str  # of software.csv: the products that fail this way
    alert_source: str
    alert: str
    incident: str
    incident_severity: str
    ticket_source: str
    consumer_incident: str
    consumer_severity: str
    fix_source: str
    fix: str
    consumer_resolution: str
    resolution: str
    minutes: tuple[int, int]
    weight: int


@dataclasses.dataclass(frozen=True, eq=False)
class Catalog:
    digest: str  # SHA-256 over the files' contents
    sites: tuple[Site, ...]
    asset_types: tuple[AssetType, ...]
    manufacturers: dict[str, Manufacturer]
    models: tuple[Model, ...]  # grouped by asset type, in file order
    families: dict[str, str]  # operating system name -> family ("linux", "windows", "firmware", ...)
    software: tuple[Software, ...]
    domains: tuple[BusinessDomain, ...]
    codenames: tuple[str, ...]
    packages: tuple[Package, ...]
    events: tuple[EventTemplate, ...]
    stories: tuple[IncidentStory, ...]
    waves: tuple[ChangeWave, ...]
    #: measure -> (low, high): what the events look like at every plan size (``BAND_MEASURES``).
    bands: dict[str, tuple[float, float]]
    #: Words that make more codenames with the codenames: "Silver" and "Raven" give "Silver Raven".
    codename_modifiers: tuple[str, ...] = ()
    #: The organisation's teams (``teams.csv``); every owner team the other files name is one of them.
    teams: tuple[Team, ...] = ()
    #: Operating system name -> the last epoch day new devices came with it (``until``); absent: any day.
    system_until: dict[str, int] = dataclasses.field(default_factory=dict)
    #: What live streams do to assets' lifecycles (``lifecycle.csv``); none: their lifecycles stay as they are.
    moves: tuple[LifecycleMove, ...] = ()
    #: How a dependency fails and drags down its users (``cascades.csv``); none: no cascade in any stream.
    cascades: tuple[Cascade, ...] = ()

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalog) and other.digest == self.digest

    @functools.cached_property
    def site_weights(self) -> WeightTable:
        return WeightTable([site.weight for site in self.sites])

    @functools.cached_property
    def type_weights(self) -> WeightTable:
        return WeightTable([asset_type.weight for asset_type in self.asset_types])

    @functools.cached_property
    def models_by_type(self) -> tuple[tuple[int, ...], ...]:
        """For each asset type (catalog order), the indices of its models."""
        return tuple(
            tuple(i for i, model in enumerate(self.models) if model.asset_type == asset_type.value)
            for asset_type in self.asset_types
        )

    @functools.cached_property
    def model_weights(self) -> tuple[WeightTable, ...]:
        return tuple(WeightTable([self.models[i].weight for i in indices]) for indices in self.models_by_type)

    @functools.cached_property
    def system_weights(self) -> tuple[WeightTable, ...]:
        return tuple(WeightTable([weight for _, weight in model.systems]) for model in self.models)

    @functools.cached_property
    def family_names(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.families.values())))

    @functools.cached_property
    def platforms(self) -> tuple[str, ...]:
        """Every "hosts/family" an asset can be ("server/linux", "endpoint/macos"), for host-capable types."""
        found = {f"{t.hosts}/{family}" for t in self.asset_types if t.hosts != "none" for family in self.family_names}
        found.update(platform for software in self.software for platform in software.platforms)
        return tuple(sorted(found))

    def platform_of(self, type_index: int, family_index: int) -> int:
        """Index into ``platforms`` of an asset of this type and OS family; -1 when it hosts no applications."""
        if type_index < 0 or family_index < 0 or self.asset_types[type_index].hosts == "none":
            return -1
        return self.platforms.index(f"{self.asset_types[type_index].hosts}/{self.family_names[family_index]}")


def load_catalog(directory: str | Path) -> Catalog:
    """The catalog in ``directory``, validated; cached per directory and contents."""
    path = Path(directory)
    texts = {}
    for name in FILES:
        try:
            texts[name] = (path / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogError(f"{path / name}: missing (a catalog needs {', '.join(FILES)})") from None
    optional = tuple(
        (name, (path / name).read_text(encoding="utf-8")) for name in OPTIONAL_FILES if (path / name).is_file()
    )
    return _parse(str(path), tuple(texts[name] for name in FILES), optional)


@functools.lru_cache(maxsize=4)
def _parse(directory: str, texts: tuple[str, ...], optional: tuple[tuple[str, str], ...] = ()) -> Catalog:
    files = {**dict(zip(FILES, texts)), **dict(optional)}
    # An optional file counts in the digest only when it is there: a catalog without one keeps its digest.
    digest = hashlib.sha256("\0".join(texts + tuple(f"{name}\0{text}" for name, text in optional)).encode()).hexdigest()
    reader = _Reader(directory)

    sites = []
    for row in reader.rows(files, "sites.csv", ("code", "city", "country", "time_zone", "network", "weight")):
        code = row.text("code")
        if not code.isascii() or not code.replace("-", "").isalnum() or code != code.lower() or len(code) > 8:
            row.fail("code", "must be up to 8 lower-case letters, digits or dashes (it is part of host names)")
        try:
            zoneinfo.ZoneInfo(row.text("time_zone"))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            row.fail("time_zone", f"{row.text('time_zone')!r} is not an IANA time zone such as Europe/Berlin")
        try:
            network = ipaddress.IPv4Network(row.text("network"))
        except ValueError as exc:
            row.fail("network", f"not an IPv4 network such as 10.21.0.0/16 ({exc})")
        if network.num_addresses < 256:
            row.fail("network", "must hold at least a /24")
        name_locale = row.text("name_locale", required=False) or "en_US"
        if name_locale not in faker.config.AVAILABLE_LOCALES:
            row.fail("name_locale", f"{name_locale!r} is not a Faker locale such as en_GB or ja_JP")
        sites.append(
            Site(code, row.text("city"), row.text("country"), row.text("time_zone"), network, row.weight(), name_locale)
        )
    reader.unique("sites.csv", [site.code for site in sites], "code")
    for a, b in ((a, b) for i, a in enumerate(sites) for b in sites[i + 1 :]):
        if a.network.overlaps(b.network):
            raise CatalogError(f"{directory}/sites.csv: the networks of {a.code} and {b.code} overlap")

    teams = []
    site_codes = {site.code for site in sites}
    for row in reader.rows(files, "teams.csv", ("team", "department", "kind")):
        if row.text("kind") not in TEAM_KINDS:
            row.fail(
                "kind",
                "must be infrastructure (runs the estate), product (builds and owns applications) "
                "or business (people only)",
            )
        where = row.text("sites", required=False)
        codes = None if where in ("", "*") else tuple(where.split())
        if codes and not set(codes) <= site_codes:
            row.fail("sites", f"unknown site code(s) {', '.join(sorted(set(codes) - site_codes))}")
        staff = row.integer("staff", minimum=0) if row.text("staff", required=False) else 1
        titles = tuple(title.strip() for title in row.text("titles", required=False).split(";") if title.strip())
        if titles and len(titles) < 3:
            row.fail("titles", "needs the head's title, the site leads' and at least one member's, separated by ;")
        name = row.text("team")
        titles = titles or tuple(title.format(team=name) for title in DEFAULT_TITLES)
        teams.append(Team(name, row.text("department"), row.text("kind"), codes, staff, titles))
    reader.unique("teams.csv", [team.name for team in teams], "team")
    if not any(team.staff for team in teams):
        raise CatalogError(f"{directory}/teams.csv: no team has staff: the people need at least one team")
    for site in sites:
        if not any(team.staff and (team.sites is None or site.code in team.sites) for team in teams):
            raise CatalogError(f"{directory}/teams.csv: no team with staff works at {site.code}")
    team_kinds = {team.name: team.kind for team in teams}

    def known_team(row: _Row, *, required: bool = True) -> str:
        name = row.text("owner_team", required=required)
        if name and name not in team_kinds:
            row.fail("owner_team", f"{name!r} is not a team of teams.csv")
        if team_kinds.get(name) == "business":
            row.fail("owner_team", f"{name!r} is a business team: it owns no asset or application")
        return name

    asset_types = []
    columns = ("asset_type", "hostname_prefix", "weight", "lifespan_years", "end_user", "hosts", "physical")
    for row in reader.rows(files, "asset_types.csv", columns):
        if row.text("end_user") not in ("yes", "no"):
            row.fail("end_user", "must be yes or no")
        if row.text("physical") not in ("yes", "no"):
            row.fail("physical", "must be yes or no (no for virtual machines: never on order or in stock)")
        if row.text("hosts") not in HOSTS:
            row.fail("hosts", f"must be one of {', '.join(HOSTS)} (what applications it can run)")
        asset_types.append(
            AssetType(
                row.text("asset_type"),
                row.text("hostname_prefix"),
                row.weight(),
                row.integer("lifespan_years", minimum=1),
                row.text("end_user") == "yes",
                row.text("hosts"),
                row.text("physical") == "yes",
                known_team(row, required=False),
                row.integer("event_weight", minimum=0) if row.text("event_weight", required=False) else 1,
            )
        )
    reader.unique("asset_types.csv", [t.value for t in asset_types], "asset_type")

    manufacturers = {}
    for row in reader.rows(files, "manufacturers.csv", ("manufacturer", "serial_prefix", "serial_length")):
        prefix = row.text("serial_prefix", required=False)
        length = row.integer("serial_length", minimum=1)
        if prefix and not (prefix.isascii() and prefix.isalnum() and prefix == prefix.upper()):
            row.fail("serial_prefix", "may use only upper-case letters and digits")
        if length - len(prefix) < 5:
            row.fail("serial_length", "must leave at least 5 characters after the prefix (they make serials unique)")
        manufacturers[row.text("manufacturer")] = Manufacturer(row.text("manufacturer"), prefix, length)
    for a, b in ((a, b) for a in manufacturers.values() for b in manufacturers.values() if a is not b):
        if a.serial_length == b.serial_length and b.serial_prefix.startswith(a.serial_prefix):
            raise CatalogError(
                f"{directory}/manufacturers.csv: serials of {a.name} and {b.name} could be equal (same length, "
                f"and {a.serial_prefix or 'an empty prefix'} begins {b.serial_prefix}); change a length or a prefix"
            )

    type_names = {t.value for t in asset_types}
    hardware = []
    for row in reader.rows(files, "hardware.csv", ("asset_type", "manufacturer", "model", "weight")):
        if row.text("asset_type") not in type_names:
            row.fail("asset_type", f"not in asset_types.csv ({', '.join(sorted(type_names))})")
        if row.text("manufacturer") not in manufacturers:
            row.fail("manufacturer", "not in manufacturers.csv")
        hardware.append((row.text("asset_type"), row.text("manufacturer"), row.text("model"), row.weight()))

    systems, families = [], {}
    system_until: dict[str, int] = {}  # OS name -> the last epoch day new devices came with it
    for row in reader.rows(
        files, "operating_systems.csv", ("asset_type", "manufacturer", "model_prefix", "name", "weight", "family")
    ):
        family = row.text("family")
        if not family.isascii() or not family.isidentifier() or family != family.lower():
            row.fail("family", "must be a lower-case word such as linux, windows, macos or firmware")
        if families.setdefault(row.text("name"), family) != family:
            row.fail("family", f"{row.text('name')} has the family {families[row.text('name')]} on an earlier line")
        if row.text("asset_type") not in type_names:
            row.fail("asset_type", "not in asset_types.csv")
        maker = row.text("manufacturer", required=False)
        if maker and maker not in manufacturers:
            row.fail("manufacturer", "not in manufacturers.csv (or leave it empty: any manufacturer)")
        prefix = row.text("model_prefix", required=False)
        systems.append((row.text("asset_type"), maker, prefix, row.text("name"), row.weight()))
        if until := row.text("until", required=False):
            try:
                day = date.fromisoformat(until).toordinal() - _EPOCH_ORDINAL
            except ValueError:
                row.fail("until", f"must be a date such as 2025-10-14, not {until!r}")
            if system_until.setdefault(row.text("name"), day) != day:
                row.fail("until", f"{row.text('name')} has another date on an earlier line")

    models = []
    for asset_type in asset_types:
        kind_models = [model for model in hardware if model[0] == asset_type.value]
        if not kind_models:
            raise CatalogError(f"{directory}/hardware.csv: no model of asset type {asset_type.value}")
        for kind, maker, name, weight in kind_models:
            runs = _systems_for(systems, kind, maker, name)
            if not runs:
                raise CatalogError(
                    f"{directory}/operating_systems.csv: nothing runs on {maker} {name} ({kind}); add a row "
                    f"for {kind} with this manufacturer, or one with the manufacturer left empty"
                )
            models.append(Model(kind, maker, name, weight, tuple(runs)))
    family_names = set(families.values())
    server_platforms = {f"server/{family}" for family in family_names}
    endpoint_platforms = {f"endpoint/{family}" for family in family_names}

    software = []
    for row in reader.rows(
        files, "software.csv", ("name", "vendor", "category", "owner_team", "platforms", "versions")
    ):
        platforms = tuple(row.text("platforms").split())
        reach = row.integer("reach", minimum=0) if row.text("reach", required=False) else 0
        if reach > 100:
            row.fail("reach", "must be a per cent of the hosts of its platforms, 0 to 100")
        for platform in platforms:
            if platform not in server_platforms | endpoint_platforms:
                row.fail("platforms", f"{platform!r} is not server/<family> or endpoint/<family> of a known family")
        software.append(
            Software(
                row.text("name"),
                row.text("vendor"),
                row.text("category"),
                known_team(row),
                platforms,
                _versions(row),
                reach,
            )
        )
    reader.unique("software.csv", [item.name for item in software], "name")

    domains = []
    for row in reader.rows(files, "business_domains.csv", ("domain", "category", "owner_team", "services")):
        services = tuple(part.strip() for part in row.text("services").split("|") if part.strip())
        if not services:
            row.fail("services", "must name at least one service, separated by |")
        for service in services:  # "Raven Developer Portal Portal" gives a demo away
            if service.split()[0].lower() == row.text("domain").split()[-1].lower():
                row.fail("services", f"{service!r} repeats the domain's last word in the name it makes")
        domains.append(BusinessDomain(row.text("domain"), row.text("category"), known_team(row), services))
    codenames = tuple(row.text("codename") for row in reader.rows(files, "codenames.csv", ("codename",)))
    reader.unique("codenames.csv", list(codenames), "codename")
    modifiers: tuple[str, ...] = ()
    if "codename_modifiers.csv" in files:
        modifiers = tuple(row.text("modifier") for row in reader.rows(files, "codename_modifiers.csv", ("modifier",)))
        reader.unique("codename_modifiers.csv", list(modifiers), "modifier")
        clash = set(modifiers) & set(codenames)
        if clash:
            raise CatalogError(
                f"{directory}/codename_modifiers.csv: {sorted(clash)[0]!r} is a codename too (names would be ambiguous)"
            )

    packages = []
    for row in reader.rows(files, "packages.csv", ("package", "family", "versions")):
        if row.text("family") not in family_names:
            row.fail("family", f"not a family of operating_systems.csv ({', '.join(sorted(family_names))})")
        packages.append(
            Package(row.text("package"), row.text("family"), tuple(row.text("versions", required=False).split()))
        )

    events = [
        _event_template(row, type_names, family_names)
        for row in reader.rows(
            files,
            "events.csv",
            ("kind", "asset_types", "families", "scope", "source", "message", "values", "severity", "weight"),
        )
    ]
    for event in events:
        if "{package}" in event.message and not any(
            event.families is None or package.family in event.families for package in packages
        ):
            raise CatalogError(f"{directory}/events.csv: {event.message!r} needs a package of its families")
    for asset_type in asset_types:
        for family in sorted(family_names):
            if any(
                model.asset_type == asset_type.value and families[name] == family
                for model in models
                for name, _ in model.systems
            ) and not any(
                e.scope == "host" and e.kind == "maintenance" and e.fits(asset_type.value, family) for e in events
            ):
                raise CatalogError(
                    f"{directory}/events.csv: no host maintenance event fits a {asset_type.value} running {family};"
                    " add one (each asset in maintenance gets one)"
                )
    stories = [
        _story(row, type_names, family_names) for row in reader.rows(files, "incident_stories.csv", _STORY_COLUMNS)
    ]
    waves = [_wave(row, type_names, family_names) for row in reader.rows(files, "changes.csv", _WAVE_COLUMNS)]
    cascades = ()
    if "cascades.csv" in files:
        categories = {item.category for item in software}
        cascades = tuple(_cascade(row, categories) for row in reader.rows(files, "cascades.csv", _CASCADE_COLUMNS))
    moves = ()
    if "lifecycle.csv" in files:
        physical = {t.value for t in asset_types if t.physical}
        end_user = {t.value for t in asset_types if t.end_user}
        rows = reader.rows(files, "lifecycle.csv", _MOVE_COLUMNS)
        moves = tuple(_move(row, type_names, physical, end_user) for row in rows)
    bands = {}
    for row in reader.rows(files, "bands.csv", ("measure", "low", "high")):
        if row.text("measure") not in BAND_MEASURES:
            row.fail("measure", f"must be one of {', '.join(BAND_MEASURES)}")
        try:
            low, high = float(row.text("low")), float(row.text("high"))
        except ValueError:
            row.fail("low", "low and high must be numbers such as 0.45")
        if not 0 <= low <= high:
            row.fail("high", "must be at least low, and low at least 0")
        bands[row.text("measure")] = (low, high)
    if missing := [measure for measure in BAND_MEASURES if measure not in bands]:
        raise CatalogError(f"{directory}/bands.csv: no band for {', '.join(missing)}")
    return Catalog(
        digest,
        tuple(sites),
        tuple(asset_types),
        manufacturers,
        tuple(models),
        families,
        tuple(software),
        tuple(domains),
        codenames,
        tuple(packages),
        tuple(events),
        tuple(stories),
        tuple(waves),
        bands,
        modifiers,
        tuple(teams),
        system_until,
        moves,
        cascades,
    )


_STORY_COLUMNS = (
    "symptom",
    "alert_source",
    "alert",
    "values",
    "incident",
    "incident_severity",
    "ticket_source",
    "fix_source",
    "fix",
    "recovery",
    "resolution",
    "weight",
)


def _story(row: _Row, type_names: set[str], family_names: set[str]) -> IncidentStory:
    scope = row.text("scope", required=False) or "application"
    if scope not in EVENT_SCOPES:
        row.fail("scope", "must be application (on a server application's hosts) or host (on one asset)")
    detected_by = row.text("detected_by", required=False) or "monitoring"
    if detected_by not in DETECTED_BY:
        row.fail("detected_by", "must be monitoring (alerts come first) or user (a person reports it)")
    watched = detected_by == "monitoring"
    texts = {}
    for column, required in (
        ("alert", {"value"} if watched else None),
        ("incident", {"ticket", "app"} if scope == "application" else {"ticket"}),
        ("fix", {"change", "ticket"}),
        ("recovery", set() if watched else None),
        ("resolution", {"ticket"}),
    ):
        if required is None:  # a user's call: no alert to rise or clear
            if row.text(column, required=False):
                row.fail(column, "must be empty when a user reports the incident (detected_by user)")
            texts[column] = ""
            continue
        texts[column] = _template(row, column, STORY_PLACEHOLDERS, required)
        if scope == "host" and "app" in _fields(row, column):
            row.fail(column, "{app} is for application stories (this one happens to a host)")
    values: list[tuple[int, int]] = []
    for token in row.text("values", required=watched).split():
        low, high = _bounds(row, "values", token)
        values.append((low, high))
    if watched and len(values) != 3:
        row.fail("values", "three ranges: the alert's value at warning, error and critical, e.g. 1-2 3-7 8-15")
    if row.text("incident_severity") not in ("error", "critical"):
        row.fail("incident_severity", "error or critical (an incident is never info)")
    types, families = _types_and_families(row, type_names, family_names)
    return IncidentStory(
        symptom=row.text("symptom"),
        scope=scope,
        asset_types=types,
        families=families,
        detected_by=detected_by,
        alert_source=row.text("alert_source", required=watched),
        values=tuple(values),
        incident_severity=row.text("incident_severity"),
        ticket_source=row.text("ticket_source"),
        fix_source=row.text("fix_source"),
        minutes=_bounds(row, "minutes", row.text("minutes", required=False) or "30-180"),
        weight=row.weight(),
        **texts,
    )


_WAVE_COLUMNS = (
    "change",
    "scope",
    "asset_types",
    "families",
    "hosts",
    "minutes",
    "ticket_source",
    "opened",
    "source",
    "step",
    "closed",
    "weight",
)


def _wave(row: _Row, type_names: set[str], family_names: set[str]) -> ChangeWave:
    scope = row.text("scope")
    if scope not in WAVE_SCOPES:
        row.fail(
            "scope",
            "must be application (on a server application's hosts), host (on assets at one site), release "
            "(a live stream's rollout of an application's release) or migration (a live stream's move of assets "
            "to another site)",
        )
    columns = [("opened", {"change"}), ("step", {"change"}), ("closed", {"change"})]
    if scope == "release":
        columns.append(("failed", {"change", "step"}))
    elif row.text("failed", required=False):
        row.fail("failed", "is for release waves (what a host that did not come up healthy tells)")
    texts = {column: _template(row, column, WAVE_PLACEHOLDERS, required) for column, required in columns}
    for column in texts:
        fields = _fields(row, column)
        if scope in ("host", "migration") and "app" in fields:
            row.fail(column, "{app} is for application and release waves (this one changes hosts at a site)")
        if scope not in ("host", "migration") and "site" in fields:
            row.fail(column, "{site} is for host and migration waves (an application's hosts may be at several sites)")
        for own, names in _SCOPE_PLACEHOLDERS.items():
            if scope != own and fields & names:
                row.fail(column, f"{{{sorted(fields & names)[0]}}} is for {own} waves")
        if column not in ("step", "failed") and "step" in _fields(row, column):
            row.fail(column, "{step} is for the step column (the opening and the closing are about all hosts)")
    hosts = _bounds(row, "hosts", row.text("hosts"))
    if hosts[0] < 1:
        row.fail("hosts", "a wave covers at least one host")
    types, families = _types_and_families(row, type_names, family_names)
    return ChangeWave(
        name=row.text("change"),
        scope=scope,
        asset_types=types,
        families=families,
        hosts=hosts,
        minutes=_bounds(row, "minutes", row.text("minutes")),
        ticket_source=row.text("ticket_source"),
        source=row.text("source"),
        weight=row.weight(),
        **texts,
    )


_CASCADE_COLUMNS = (
    "category",
    "alert_source",
    "alert",
    "incident",
    "incident_severity",
    "ticket_source",
    "consumer_incident",
    "consumer_severity",
    "fix_source",
    "fix",
    "consumer_resolution",
    "resolution",
    "minutes",
    "weight",
)


def _cascade(row: _Row, categories: set[str]) -> Cascade:
    if row.text("category") not in categories:
        row.fail("category", f"{row.text('category')!r} is not a category of software.csv")
    for column in ("incident_severity", "consumer_severity"):
        if row.text(column) not in ("error", "critical"):
            row.fail(column, "error or critical (an incident is never info)")
    required = {
        "alert": {"dependency"},
        "incident": {"ticket", "dependency"},
        "consumer_incident": {"ticket", "app", "dependency"},
        "fix": {"change", "ticket"},
        "consumer_resolution": {"ticket", "app"},
        "resolution": {"ticket"},
    }
    texts = {column: _template(row, column, CASCADE_PLACEHOLDERS, needed) for column, needed in required.items()}
    for column in ("alert", "incident", "fix", "resolution"):
        if "app" in _fields(row, column):
            row.fail(column, "{app} is for the consumer columns (the dependency's own events name no application)")
    return Cascade(
        category=row.text("category"),
        alert_source=row.text("alert_source"),
        incident_severity=row.text("incident_severity"),
        ticket_source=row.text("ticket_source"),
        consumer_severity=row.text("consumer_severity"),
        fix_source=row.text("fix_source"),
        minutes=_bounds(row, "minutes", row.text("minutes")),
        weight=row.weight(),
        **texts,
    )


_MOVE_COLUMNS = ("move", "asset_types", "source", "message")


def _move(row: _Row, type_names: set[str], physical: set[str], end_user: set[str]) -> LifecycleMove:
    move = row.text("move")
    if move not in LIFECYCLE_MOVES:
        row.fail("move", f"must be one of {', '.join(LIFECYCLE_MOVES)}")
    types, _ = _types_and_families(row, type_names, set())
    if move != "returned" and not (types or set(type_names)) <= physical:
        row.fail("asset_types", "only physical asset types are ordered and delivered (asset_types.csv, physical)")
    if "person" in _fields(row, "message") and (move == "returned" or not (types or set(type_names)) <= end_user):
        row.fail(
            "message",
            "{person} is for laptops and desktops delivered or put into service (asset_types.csv, end_user): "
            "the person they are issued to",
        )
    minutes = (0, 0)
    if move == "in_service":
        minutes = _bounds(row, "minutes", row.text("minutes"))
    elif row.text("minutes", required=False):
        row.fail("minutes", "is for in_service moves (how long after its delivery an asset goes into service)")
    return LifecycleMove(
        move=move,
        asset_types=types,
        source=row.text("source"),
        message=_template(row, "message", MOVE_PLACEHOLDERS, set()),
        minutes=minutes,
    )


def _fields(row: _Row, column: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(row.text(column)) if name is not None}
    except ValueError as exc:
        row.fail(column, f"not a valid template ({exc})")


def _template(row: _Row, column: str, allowed: frozenset[str], required: set[str]) -> str:
    """The text of ``column``, a template using only ``allowed`` placeholders and every ``required`` one."""
    fields = _fields(row, column)
    if fields - allowed:
        row.fail(column, f"unknown placeholder(s) {', '.join(sorted(fields - allowed))}")
    if required - fields:
        row.fail(column, f"must use {', '.join('{' + name + '}' for name in sorted(required - fields))}")
    return row.text(column)


def _bounds(row: _Row, column: str, token: str) -> tuple[int, int]:
    """``12`` or ``30-180`` as (low, high)."""
    low, _, high = token.partition("-")
    high = high or low
    if not (low.isdigit() and high.isdigit() and int(low) <= int(high)):
        row.fail(column, f"{token!r}: a whole number or a range such as 30-180")
    return int(low), int(high)


def _types_and_families(
    row: _Row, type_names: set[str], family_names: set[str]
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The optional ``asset_types`` and ``families`` columns: space-separated names, or ``*``/empty for any."""
    found = []
    for column, known, what in (("asset_types", type_names, "asset type"), ("families", family_names, "family")):
        text = row.text(column, required=False)
        names = None if text in ("", "*") else frozenset(text.split())
        if names and not names <= known:
            row.fail(column, f"unknown {what}(s) {', '.join(sorted(names - known))}")
        found.append(names)
    return found[0], found[1]


def _versions(row: _Row) -> tuple[str, ...]:
    versions = tuple(row.text("versions").split())
    keys = [_version_key(version) for version in versions]
    if any(key is None for key in keys):
        row.fail("versions", "each version must start with a digit, e.g. 16.4 or 1.26.2")
    if keys != sorted(keys):
        row.fail("versions", "must be listed oldest first (the last one is the current release)")
    return versions


def _version_key(version: str) -> tuple[int, ...] | None:
    """(16, 4) for "16.4": versions compare as numbers, part by part."""
    parts = re.findall(r"\d+", version)
    return tuple(int(part) for part in parts) if parts and version[0].isdigit() else None


def _event_template(row: _Row, type_names: set[str], family_names: set[str]) -> EventTemplate:
    kind, scope = row.text("kind"), row.text("scope")
    if kind not in EVENT_KINDS:
        row.fail("kind", f"must be one of {', '.join(EVENT_KINDS)}")
    if kind == "incident":
        row.fail(
            "kind",
            "incidents are told by incident_stories.csv, from their first alert (or call) to their resolution;"
            " events.csv holds alerts, changes and maintenance",
        )
    if scope not in EVENT_SCOPES:
        row.fail("scope", "must be host (about the asset) or application (about a deployment on it)")
    types = None if row.text("asset_types") == "*" else frozenset(row.text("asset_types").split())
    if types and not types <= type_names:
        row.fail("asset_types", f"unknown asset type(s) {', '.join(sorted(types - type_names))}")
    families = None if row.text("families") == "*" else frozenset(row.text("families").split())
    if families and not families <= family_names:
        row.fail("families", f"unknown famil(ies) {', '.join(sorted(families - family_names))}")
    message = row.text("message")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}
    except ValueError as exc:
        row.fail("message", f"not a valid template ({exc})")
    if fields - EVENT_PLACEHOLDERS:
        row.fail("message", f"unknown placeholder(s) {', '.join(sorted(fields - EVENT_PLACEHOLDERS))}")
    values = None
    if row.text("values", required=False):
        low, _, high = row.text("values").partition("-")
        if not (low.isdigit() and high.isdigit() and int(low) <= int(high)):
            row.fail("values", "must be a range such as 85-99")
        values = (int(low), int(high))
    if ("{value}" in message) != (values is not None):
        row.fail("values", "give a range exactly when the message uses {value}")
    severity: str | tuple[tuple[str, int], ...] = row.text("severity")
    if "@" in severity:
        pairs = []
        for part in severity.split():
            name, _, threshold = part.partition("@")
            if name not in SEVERITIES or not threshold.isdigit():
                row.fail("severity", f"{part!r}: thresholds look like warning@85 critical@95")
            pairs.append((name, int(threshold)))
        thresholds = [threshold for _, threshold in pairs]
        if values is None or thresholds not in (sorted(thresholds), sorted(thresholds, reverse=True)):
            row.fail("severity", "thresholds need a {value} and must rise (or fall) with the severity")
        severity = tuple(pairs)
    elif severity not in SEVERITIES:
        row.fail("severity", f"must be one of {', '.join(SEVERITIES)}, or thresholds such as warning@85 critical@95")
    age = row.integer("min_age_days", minimum=0) if row.text("min_age_days", required=False) else 0
    return EventTemplate(kind, types, families, scope, row.text("source"), message, values, severity, row.weight(), age)


def _systems_for(systems: list[tuple], kind: str, maker: str, model: str) -> list[tuple[str, int]]:
    """The most specific rows that fit: this model's prefix, else this manufacturer, else any."""
    fitting = [row for row in systems if row[0] == kind and row[1] in (maker, "")]
    for level in (
        lambda row: row[1] == maker and row[2] and model.startswith(row[2]),
        lambda row: row[1] == maker and not row[2],
        lambda row: not row[1] and not row[2],
    ):
        chosen = [(name, weight) for row in fitting if level(row) for name, weight in [(row[3], row[4])]]
        if chosen:
            return chosen
    return []


class _Reader:
    def __init__(self, directory: str):
        self.directory = directory

    def rows(self, files: dict[str, str], name: str, columns: tuple[str, ...]) -> Iterator[_Row]:
        reader = csv.DictReader(files[name].splitlines())
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise CatalogError(f"{self.directory}/{name}: line 1: missing column(s) {', '.join(missing)}")
        found = False
        for line, record in enumerate(reader, start=2):
            if not any((value or "").strip() for value in record.values()):
                continue
            found = True
            yield _Row(f"{self.directory}/{name}", line, record)
        if not found:
            raise CatalogError(f"{self.directory}/{name}: has no rows")

    def unique(self, name: str, values: list[str], column: str) -> None:
        seen = set()
        for value in values:
            if value in seen:
                raise CatalogError(f"{self.directory}/{name}: {column} {value!r} appears twice")
            seen.add(value)


class _Row:
    def __init__(self, where: str, line: int, record: dict):
        self.where, self.line, self.record = where, line, record

    def fail(self, column: str, message: str):
        raise CatalogError(f"{self.where}: line {self.line}, column {column}: {message}")

    def text(self, column: str, *, required: bool = True) -> str:
        value = (self.record.get(column) or "").strip()
        if required and not value:
            self.fail(column, "must not be empty")
        return value

    def integer(self, column: str, *, minimum: int) -> int:
        try:
            value = int(self.text(column))
        except ValueError:
            self.fail(column, f"must be a whole number, not {self.text(column)!r}")
        if value < minimum:
            self.fail(column, f"must be at least {minimum}")
        return value

    def weight(self) -> int:
        return self.integer("weight", minimum=1)
