"""The run's people as a directory: everyone using its end-user devices, with a team, a title, an e-mail
address and a manager.

A viewer who opens a person expects a colleague, not a name on a laptop: where
they work, in which team, who they report to. The directory is computed from
the run's own asset table (who uses what is ``people``), so it is a pure
function of the run and never read back:

- **Who.** One entry per person with a device in service, in the order of
  their first device: the assets chunk holding that device writes them (so a
  person is written once, with the asset that brought them, and a retried chunk
  rewrites exactly them). Their key is the run's people base plus that device's
  ordinal: known before anything is written, unique across stacked runs.
- **Team.** Drawn from the teams that work at their site, by each team's
  ``staff`` (``teams.csv``): a sales organisation, support, engineering teams,
  a handful of infrastructure teams.
- **Manager.** Where a team has a few people at a site, its first person there
  leads them; each lead reports to the team's head, the first person where the
  team is biggest, as do the team's people at sites too small for a lead; the
  head reports to nobody in the directory. A team headed by an earlier run's
  person keeps that head (``SeedRun.team_heads``): a company has one CFO. Titles follow (the
  team's ``titles``: the head's, a lead's, then a member's, drawn).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seeding.generation.catalog import Catalog
from seeding.generation.estate import AssetTable
from seeding.generation.people import assigned, email_addresses, name_parts, run_person_numbers
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.sites import asset_sites
from seeding.generation.spec import RunSpec

#: A person's place in their team: its head, its lead at their site, or a member.
HEAD, LEAD, MEMBER = 0, 1, 2
#: A team has a lead at a site where it has at least this many people; smaller groups report to its head.
LED_FROM = 5
#: Bits of a person's key below the site: (site << SITE_SHIFT) | person number at the site.
SITE_SHIFT = 40

Columns = dict[str, list]


@dataclasses.dataclass(frozen=True)
class Directory:
    """The run's people, in the order of their first device."""

    first: np.ndarray  # ordinal of their first device in the run's assets, ascending
    site: np.ndarray  # catalog site
    number: np.ndarray  # person number at the site (``people.person_numbers``)
    team: np.ndarray  # catalog team
    role: np.ndarray  # HEAD, LEAD or MEMBER
    manager: np.ndarray  # index into these people; -1: reports to nobody in the directory

    @property
    def size(self) -> int:
        return len(self.first)


def run_directory(spec: RunSpec, table: AssetTable) -> Directory:
    """The directory of the run whose own asset table is ``table`` (computed once per process and run)."""
    key = ("directory", spec.site_host_bases, spec.site_person_bases, spec.team_heads)
    if key not in table._memo:
        table._memo[key] = _directory(spec, table)
    return table._memo[key]


def _directory(spec: RunSpec, table: AssetTable) -> Directory:
    catalog = spec.catalog
    end_user = np.array([t.end_user for t in catalog.asset_types] + [False], dtype=bool)[table.type_idx]
    ordinals = np.flatnonzero(assigned(end_user, table.lifecycle))
    site_idx, hosts = asset_sites(spec, ordinals)
    keys = (site_idx.astype(np.int64) << SITE_SHIFT) | run_person_numbers(spec, site_idx, hosts)
    people, first = np.unique(keys, return_index=True)  # first: their device with the lowest ordinal
    order = np.argsort(first, kind="stable")
    people, first = people[order], ordinals[first[order]]
    site, number = people >> SITE_SHIFT, people & ((1 << SITE_SHIFT) - 1)
    team = _teams(spec.seed, catalog, site, people)
    headed = np.array([key >= 0 for key in _team_heads(spec)], dtype=bool)
    role, manager = _reporting(len(catalog.sites), len(catalog.teams), site, number, team, headed)
    return Directory(first, site, number, team, role, manager)


def _teams(seed: int, catalog: Catalog, site: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Each person's team: drawn by ``staff`` among the teams working at their site."""
    team = np.zeros(len(site), dtype=np.int64)
    stream = Stream(seed, "person.team")
    for s in np.unique(site).tolist():
        code = catalog.sites[s].code
        weights = [t.staff if t.sites is None or code in t.sites else 0 for t in catalog.teams]
        rows = np.flatnonzero(site == s)
        team[rows] = stream.weighted(people[rows], WeightTable(weights))
    return team


def _team_heads(spec: RunSpec) -> tuple[int, ...]:
    """Per catalog team, the key of its head in an earlier run (-1: none)."""
    return spec.team_heads or (-1,) * len(spec.catalog.teams)


def _reporting(
    sites: int, teams: int, site: np.ndarray, number: np.ndarray, team: np.ndarray, headed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(role, manager) of each person. Where a team has at least ``LED_FROM`` people at a site, its first
    there leads them; the first person where the team is biggest (the first such site in catalog order)
    heads it, unless an earlier run's does (``headed``: a company has one CFO): then manager -1 with
    another role than HEAD means that earlier head. Everyone else reports to their site's lead, or to
    the head where there is none."""
    group = site * teams + team
    size = np.bincount(group, minlength=sites * teams)
    order = np.lexsort((number, group))
    opens = np.r_[True, group[order][1:] != group[order][:-1]] if len(order) else np.zeros(0, dtype=bool)
    firsts = order[opens]  # per group present, its first person
    first_of = np.full(sites * teams, -1, dtype=np.int64)
    first_of[group[firsts]] = firsts
    biggest = size.reshape(sites, teams).argmax(axis=0)
    head_of = first_of.reshape(sites, teams)[biggest, np.arange(teams)]  # per team; -1 if nobody is in it
    head_of = np.where(headed, -1, head_of)
    lead_of = np.where(size >= LED_FROM, first_of, -1)
    leads = firsts[size[group[firsts]] >= LED_FROM]
    role = np.full(len(site), MEMBER, dtype=np.int8)
    role[leads] = LEAD
    manager = np.where(lead_of[group] >= 0, lead_of[group], head_of[team])
    manager[leads] = head_of[team[leads]]
    heads = head_of[head_of >= 0]
    role[heads] = HEAD
    manager[heads] = -1
    return role, manager


def people(spec: RunSpec, start: int, stop: int, table: AssetTable) -> Columns:
    """The people whose first device is among the run's assets at ordinals [start, stop)."""
    if spec.people_id_base is None:  # a run created before there was a directory
        return {}
    catalog = spec.catalog
    directory = run_directory(spec, table)
    rows = np.arange(*np.searchsorted(directory.first, [start, stop]))
    site, team, role = directory.site[rows], directory.team[rows], directory.role[rows]
    names = name_parts(catalog, site, directory.number[rows])
    managers = directory.manager[rows]
    earlier_heads = np.array(_team_heads(spec), dtype=np.int64)[team]  # -1 where the run heads the team
    manager_keys = np.where(
        managers >= 0, spec.people_id_base + directory.first[managers], np.where(role == HEAD, -1, earlier_heads)
    )
    member_title = Stream(spec.seed, "person.title").bits(directory.first[rows])
    titles = []
    for t, r, drawn in zip(team.tolist(), role.tolist(), member_title.tolist()):
        own = catalog.teams[t].titles
        titles.append(own[r] if r != MEMBER else own[MEMBER + drawn % (len(own) - MEMBER)])
    return {
        "id": (spec.people_id_base + directory.first[rows]).tolist(),
        "name": names.full.tolist(),
        "email": email_addresses(catalog, names).tolist(),
        "title": titles,
        "team": [catalog.teams[t].name for t in team.tolist()],
        "department": [catalog.teams[t].department for t in team.tolist()],
        "location": [catalog.sites[s].location for s in site.tolist()],
        "manager": [key if key >= 0 else None for key in manager_keys.tolist()],
    }
