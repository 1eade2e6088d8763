"""Scenario packs: named, versioned files that shape what happens in a run's window, a seeded history's or a
live stream's.

A pack is a TOML file in the catalog's ``scenarios/`` directory (docs/catalogs.md): a version, a
description, how busy weekends are, how many events a live stream writes of those its rate asks for, and
one or more phases that split the window by share. Each phase
can make events more or less frequent (``activity``), set off an incident burst (``burst``: monitoring
raising severe alerts), tell more or fewer episodes (``episodes``) and more incidents or more changes
among them (``incidents``, ``changes``), make them unfold faster (``pace``), and name the incident
stories and change waves it tells (``stories``, ``waves``). A pack that changes nothing (``steady``)
gives the same rows as no pack.

The run keeps the pack it was started with (``SeedRun.scenario``, as ``to_json`` gives it), so editing a
file never changes a run under way, and the rows stay a pure function of the run.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import numpy as np

from seeding.generation.catalog import Catalog, CatalogError

#: Where packs live in a catalog directory, and what a pack's name may be.
SCENARIO_DIR = "scenarios"
NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
#: Episodes per EPISODE_EVERY events a phase may ask for, at most (each needs its own EPISODE_LEN keys).
MAX_EPISODES = 8
_PHASE_NUMBERS = ("share", "activity", "episodes", "incidents", "changes", "pace", "cascades")


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    start: float  # share of the window before it
    end: float
    activity: float = 1.0
    burst: bool = False
    episodes: float = 1.0
    incidents: float = 1.0
    changes: float = 1.0
    pace: float = 1.0  # stories and waves unfold this many times faster than the catalog's minutes
    stories: frozenset[str] | None = None  # None: any
    waves: frozenset[str] | None = None
    #: The share of the phase's episodes that are a dependency failing and dragging down the applications
    #: that use it (``cascades``), in a live stream or a seeded history; 0: none.
    cascades: float = 0.0

    @property
    def plain(self) -> bool:
        """Changes nothing of what happens."""
        settings = (self.activity, self.burst, self.episodes, self.incidents, self.changes, self.pace, self.cascades)
        plain = (1.0, False, 1.0, 1.0, 1.0, 1.0, 0.0)
        return settings == plain and self.stories is None and self.waves is None


@dataclasses.dataclass(frozen=True)
class Migration:
    """A live stream's move of assets from one site to another (``[migration]``; ``generation.happenings``)."""

    source: str  # site code
    destination: str
    asset_types: tuple[str, ...]
    share: float  # of the source's assets of those types in use, how many move over the window


#: What a migration moves when its pack names no asset types.
MIGRATED_TYPES = ("server", "virtual_machine")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    version: int
    description: str
    phases: tuple[Phase, ...]
    weekend: float = 1.0  # weekend activity, as a share of what it is without the pack
    rate: float = 1.0  # a live stream's events, as a share of those its rate asks for (a history's are its plan's)
    migration: Migration | None = None  # a live stream's only: a history is written in its final state

    @property
    def plain(self) -> bool:
        phases_plain = all(phase.plain for phase in self.phases)
        return self.weekend == 1.0 and self.rate == 1.0 and phases_plain and self.migration is None

    @property
    def shapes_activity(self) -> bool:
        return any(phase.activity != 1.0 or phase.burst for phase in self.phases)

    def phase_indices(self, fractions: np.ndarray) -> np.ndarray:
        """The phase (index) at each of ``fractions`` of the window (0 at its start, 1 at its end)."""
        ends = np.array([phase.end for phase in self.phases[:-1]])
        return np.searchsorted(ends, fractions, side="right")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "weekend": self.weekend,
            "rate": self.rate,
            "migration": dataclasses.asdict(self.migration) if self.migration is not None else None,
            "phases": [
                {
                    **{field.name: getattr(phase, field.name) for field in dataclasses.fields(Phase)},
                    "stories": sorted(phase.stories) if phase.stories is not None else None,
                    "waves": sorted(phase.waves) if phase.waves is not None else None,
                }
                for phase in self.phases
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Scenario:
        phases = tuple(
            Phase(
                **{
                    **phase,
                    "stories": frozenset(phase["stories"]) if phase["stories"] is not None else None,
                    "waves": frozenset(phase["waves"]) if phase["waves"] is not None else None,
                }
            )
            for phase in data["phases"]
        )
        moving = data.get("migration")  # absent from the packs runs kept before migrations existed
        migration = Migration(**{**moving, "asset_types": tuple(moving["asset_types"])}) if moving else None
        return cls(data["name"], data["version"], data["description"], phases, data["weekend"], data["rate"], migration)


def scenario_names(directory: str | Path) -> list[str]:
    """The packs in the catalog ``directory``, by name."""
    folder = Path(directory) / SCENARIO_DIR
    return sorted(path.stem for path in folder.glob("*.toml")) if folder.is_dir() else []


def load_scenario(directory: str | Path, name: str, catalog: Catalog) -> Scenario:
    """The pack ``name`` of the catalog ``directory``, validated against ``catalog``. Raises CatalogError
    naming the file, line and column of what is wrong, or (an unknown name) the packs there are."""
    path = Path(directory) / SCENARIO_DIR / f"{name}.toml"
    if not NAME.match(name) or not path.is_file():
        known = ", ".join(scenario_names(directory)) or "none"
        raise CatalogError(f"no scenario pack {name!r} in {Path(directory) / SCENARIO_DIR} (there are: {known})")
    return parse_scenario(path.read_text(encoding="utf-8"), str(path), name, catalog)


def parse_scenario(text: str, where: str, name: str, catalog: Catalog) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}: {exc}") from None
    spot = _Spots(text, where)
    for key in data:
        if key not in ("version", "description", "weekend", "rate", "migration", "phase"):
            known = "version, description, weekend, rate, [migration], [[phase]]"
            spot.fail(None, key, f"is not a setting of a pack ({known})", at_key=True)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        spot.fail(None, "version", "must be a whole number from 1 (raise it when the pack changes)")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        spot.fail(None, "description", "must say in a sentence what happens")
    weekend = _number(spot, None, "weekend", data.get("weekend", 1.0), low=0.0, high=4.0)
    rate = _number(spot, None, "rate", data.get("rate", 1.0), low=0.0, high=10.0, above_low=True)
    raw = data.get("phase")
    if not isinstance(raw, list) or not raw or not all(isinstance(phase, dict) for phase in raw):
        spot.fail(None, "phase", "a pack needs at least one [[phase]] table")
    stories = {story.symptom for story in catalog.stories}
    waves = {wave.name for wave in catalog.waves}
    phases, start = [], 0.0
    for number, table in enumerate(raw):
        for key in table:
            if key not in ("name", *_PHASE_NUMBERS, "burst", "stories", "waves"):
                known = ", ".join(("name", *_PHASE_NUMBERS, "burst", "stories", "waves"))
                spot.fail(number, key, f"is not a setting of a phase ({known})", at_key=True)
        label = table.get("name")
        if not isinstance(label, str) or not label.strip():
            spot.fail(number, "name", "each phase needs a name")
        share = _number(spot, number, "share", table.get("share"), low=0.0, high=1.0, above_low=True)
        values = {
            key: _number(
                spot,
                number,
                key,
                table.get(key, 0.0 if key == "cascades" else 1.0),
                low=0.0,
                high={"episodes": MAX_EPISODES, "cascades": 1.0}.get(key, 10.0),
            )
            for key in _PHASE_NUMBERS[1:]
        }
        for key in ("activity", "pace"):
            if values[key] == 0:
                spot.fail(number, key, "must be above 0")
        burst = table.get("burst", False)
        if not isinstance(burst, bool):
            spot.fail(number, "burst", "must be true or false")
        phases.append(
            Phase(
                name=label.strip(),
                start=start,
                end=start + share,
                burst=burst,
                stories=_names(spot, number, "stories", table.get("stories"), stories, "incident_stories.csv"),
                waves=_names(spot, number, "waves", table.get("waves"), waves, "changes.csv"),
                **values,
            )
        )
        start += share
    if abs(start - 1.0) > 1e-6:
        spot.fail(len(raw) - 1, "share", f"the phases' shares add up to {start:g}, not 1")
    last = dataclasses.replace(phases[-1], end=1.0)
    migration = _migration(spot, data["migration"], catalog) if "migration" in data else None
    return Scenario(name, version, description.strip(), (*phases[:-1], last), weekend, rate, migration)


def _migration(spot: _Spots, table, catalog: Catalog) -> Migration:
    """The ``[migration]`` table: ``from`` and ``to`` (site codes), ``asset_types``, ``share``."""
    if not isinstance(table, dict):
        spot.fail(None, "migration", "must be a [migration] table")
    for key in table:
        if key not in ("from", "to", "asset_types", "share"):
            spot.fail("migration", key, "is not a setting of a migration (from, to, asset_types, share)", at_key=True)
    codes = [site.code for site in catalog.sites]
    for key in ("from", "to"):
        if table.get(key) not in codes:
            spot.fail("migration", key, f"must be a site code of the catalog's sites.csv ({', '.join(codes)})")
    if table["from"] == table["to"]:
        spot.fail("migration", "to", "must be another site than from")
    types = table.get("asset_types", list(MIGRATED_TYPES))
    movable = [t.value for t in catalog.asset_types if not t.end_user]
    if not isinstance(types, list) or not types or not set(types) <= set(movable):
        spot.fail(
            "migration",
            "asset_types",
            f"must be a list of asset types from {', '.join(movable)} (end-user devices move with their people)",
        )
    share = _number(spot, "migration", "share", table.get("share", 1.0), low=0.0, high=1.0, above_low=True)
    return Migration(source=table["from"], destination=table["to"], asset_types=tuple(types), share=share)


def _number(
    spot: _Spots, phase: int | str | None, key: str, value, *, low: float, high: float, above_low=False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        spot.fail(phase, key, "must be a number")
    if value < low or value > high or (above_low and value == low):
        spot.fail(phase, key, f"must be {'above' if above_low else 'at least'} {low:g} and at most {high:g}")
    return float(value)


def _names(spot: _Spots, phase: int, key: str, value, known: set[str], source: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        spot.fail(phase, key, f"must be a list of names from {source}")
    unknown = sorted(set(value) - known)
    if unknown:
        spot.fail(phase, key, f"{unknown[0]!r} is not in the catalog's {source}")
    return frozenset(value)


#: A table's header line: ``[migration]``, ``[[phase]]``.
_TABLE = re.compile(r"^\s*\[{1,2}[A-Za-z_][\w.-]*\]{1,2}\s*(#.*)?$")


class _Spots:
    """Where a key is in a pack's text, to name its line and column in an error (tomllib says where only
    for what it cannot parse)."""

    def __init__(self, text: str, where: str):
        self.lines, self.where = text.splitlines(), where

    def fail(self, phase: int | str | None, key: str, message: str, *, at_key: bool = False):
        """Raise CatalogError at ``key`` of the pack (``phase`` None), of its phase-th [[phase]] or of its
        table named ``phase`` ("migration"): at its value, or (``at_key``: the key itself is wrong) at the key."""
        line, column = self._find(phase, key, at_key)
        raise CatalogError(f"{self.where}: line {line}, column {column}: {key} {message}")

    def _find(self, phase: int | str | None, key: str, at_key: bool) -> tuple[int, int]:
        tables = [number for number, line in enumerate(self.lines) if _TABLE.match(line)]
        phases = [number for number, line in enumerate(self.lines) if line.strip() == "[[phase]]"]
        if phase is None:
            first, last = 0, tables[0] if tables else len(self.lines)
        elif isinstance(phase, str):
            first = next((n for n, line in enumerate(self.lines) if line.strip() == f"[{phase}]"), 0)
            last = next((n for n in tables if n > first), len(self.lines))
        else:
            tables = phases
            first = tables[phase] if phase < len(tables) else len(self.lines) - 1
            last = tables[phase + 1] if phase + 1 < len(tables) else len(self.lines)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=\s*")
        for number in range(first, last):
            if match := pattern.match(self.lines[number]):
                indent = len(self.lines[number]) - len(self.lines[number].lstrip())
                return number + 1, (indent if at_key else match.end()) + 1
        return first + 1, 1
