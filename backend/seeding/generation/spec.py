"""The immutable facts a chunk generator needs about its run."""

from __future__ import annotations

import dataclasses

from seeding.generation.catalog import Catalog
from seeding.generation.kinds import KINDS
from seeding.generation.scenarios import Scenario

SECONDS_PER_DAY = 86_400
#: Events fall within this many days before the run's base time.
EVENT_WINDOW_DAYS = 90
#: Assets were bought up to this many days before the base time.
PURCHASE_HISTORY_DAYS = 6 * 365
#: Deployments happened up to this many days before the base time.
DEPLOYMENT_HISTORY_DAYS = 3 * 365


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's rows: plan counts, seed, base time, key bases and the catalog."""

    run_id: int
    seed: int
    as_of: int  # epoch seconds, UTC
    counts: tuple[tuple[str, int], ...]
    id_bases: tuple[tuple[str, int], ...]
    catalog: Catalog
    #: Per catalog site: the first host number the run's assets there take, and its first person number.
    site_host_bases: tuple[int, ...] = ()
    site_person_bases: tuple[int, ...] = ()
    #: Where the run's applications are in the estate's orders of products and in-house names (``estate``):
    #: the seed of those orders (the seed of the estate's first run; None: this run's own), and the first
    #: position the run takes in each, after every earlier run's (``SeedRun.application_positions``).
    names_seed: int | None = None
    software_from: int = 0
    in_house_from: int = 0
    #: The first key of the run's people (``directory``); None for a run created before there were any.
    people_id_base: int | None = None
    #: Per catalog team, the key of its head in an earlier run, -1 for none (``directory``); () for none.
    team_heads: tuple[int, ...] = ()
    #: How long before ``as_of`` its events begin (whole hours): the events' timeline, the sites' rhythm
    #: and the hosts events may fall on all span it.
    window_seconds: int = EVENT_WINDOW_DAYS * SECONDS_PER_DAY
    #: A live stream (``live``): its window lies ahead, written as time passes, second by second; no asset
    #: of its own goes into maintenance.
    live: bool = False
    #: The scenario pack that shapes what happens in the window (``scenarios``); None: none.
    scenario: Scenario | None = None

    @classmethod
    def from_run(cls, run, *, catalog: Catalog) -> RunSpec:
        return cls(
            run_id=run.pk,
            seed=run.seed,
            as_of=int(run.as_of.timestamp()),
            counts=tuple((kind, run.planned(kind)) for kind in KINDS),
            id_bases=tuple((kind, run.id_base(kind)) for kind in KINDS),
            catalog=catalog,
            site_host_bases=tuple(run.site_hosts.get(site.code, [0])[0] for site in catalog.sites),
            # A run recorded before people were numbered per run: its people numbered from its hosts'.
            site_person_bases=tuple(run.site_hosts.get(site.code, [0])[-1] for site in catalog.sites),
            **application_bases(run.application_positions),
            people_id_base=run.people_id_base,
            team_heads=tuple(run.team_heads.get(team.name, -1) for team in catalog.teams) if run.team_heads else (),
            window_seconds=run.window_seconds,
            live=run.is_live,
            scenario=Scenario.from_json(run.scenario) if run.scenario else None,
        )

    def count(self, kind: str) -> int:
        return dict(self.counts)[kind]

    def id_base(self, kind: str) -> int:
        return dict(self.id_bases)[kind]

    @property
    def estate_seed(self) -> int:
        """The seed of the estate's orders of products and names: its first run's."""
        return self.seed if self.names_seed is None else self.names_seed

    @property
    def as_of_day(self) -> int:
        return self.as_of // SECONDS_PER_DAY

    @property
    def window_start(self) -> int:
        return self.as_of - self.window_seconds

    @property
    def window_hours(self) -> int:
        """The window's hours from its start, the last one perhaps partly after ``as_of`` (a live stream's
        window need not be whole hours)."""
        return -(-self.window_seconds // 3_600)


def application_bases(positions: dict) -> dict:
    """RunSpec's fields from a run's recorded ``application_positions`` (empty: a fresh estate's first run)."""
    if not positions:
        return {}
    return {
        "names_seed": positions["seed"],
        "software_from": positions["software"][0],
        "in_house_from": positions["in_house"][0],
    }


def weekend_of(spec: RunSpec) -> float:
    """How busy weekends are, as a share of what they are without a scenario pack."""
    return spec.scenario.weekend if spec.scenario is not None else 1.0
