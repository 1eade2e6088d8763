"""People: who uses each end-user device, a directory that is a pure function of the site and a person number.

A viewer who looks twice at the assets checks the people: one person's laptops
are in one city, nobody holds ten devices, a name means one person, a Tokyo
laptop belongs to a Japanese name, and nobody is "Mrs. Marissa Schneider MD".
So a person is not drawn per device:

- **Who.** The hosts of a site are numbered (``sites``); consecutive host numbers
  share a person two at a time (the last three of every 21), so a person has one
  or two devices, rarely three, all at one site. The person number continues with
  the host numbers across stacked runs.
- **Their name.** First and last names from the Faker locale the catalog gives
  the site (``name_locale`` in sites.csv), without honorifics or suffixes. Sites
  with the same names share one numbering; a person's name is their number in it,
  scrambled by a fixed bijection, so no two people share a name, in one run or
  across stacked runs, whatever their seeds. A locale with fewer names than its
  sites need continues in ``FALLBACK_LOCALE``'s names, counted from the other end
  (names repeat only past the fallback's 690,000, far beyond any plan's people).

Faker fills the pools once per locale; picking from them costs nanoseconds. The
pools depend only on the pinned Faker version, so names are as reproducible as the rows.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
from faker import Faker

from seeding.generation.catalog import Catalog
from seeding.generation.rng import Stream

#: Where a locale with too few names for its sites continues (and the default for a site that names none).
FALLBACK_LOCALE = "en_US"
#: Hosts per block of people: ten people, the first nine with two host numbers each, the tenth with three.
HOSTS_PER_BLOCK, PEOPLE_PER_BLOCK = 21, 10


#: The scramble does not depend on the run's seed: stacked runs with other seeds must not repeat a name.
_SCRAMBLE = (Stream(0, "person.first.1"), Stream(0, "person.last"), Stream(0, "person.first.2"))


@dataclasses.dataclass(frozen=True)
class NamePool:
    """Every first and last name of a locale: ``size`` distinct full names, numbered 0 .. size - 1."""

    first: np.ndarray  # object array of str
    last: np.ndarray

    @property
    def size(self) -> int:
        return len(self.first) * len(self.last)

    def names(self, numbers: np.ndarray) -> np.ndarray:
        """The names of ``numbers`` (0 .. size - 1): a bijection, so distinct numbers get distinct names.

        Three Feistel-like rounds over (first, last): each adds to one coordinate a
        draw keyed by the other, which can be undone, so the map stays one to one
        while neighbouring numbers get unrelated names.
        """
        first, last = self.coordinates(numbers)
        return np.char.add(np.char.add(self.first[first].astype(str), " "), self.last[last].astype(str)).astype(object)

    def coordinates(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first name, last name) indices of ``numbers``: the bijection ``names`` spells out."""
        firsts, lasts = len(self.first), len(self.last)
        first, last = numbers % firsts, numbers // firsts
        first = (first + _SCRAMBLE[0].ints(last, firsts)) % firsts
        last = (last + _SCRAMBLE[1].ints(first, lasts)) % lasts
        first = (first + _SCRAMBLE[2].ints(last, firsts)) % firsts
        return first, last

    def numbers_of(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """The numbers whose ``coordinates`` are (first, last): the rounds undone in reverse order."""
        firsts, lasts = len(self.first), len(self.last)
        first = (first - _SCRAMBLE[2].ints(last, firsts)) % firsts
        last = (last - _SCRAMBLE[1].ints(first, lasts)) % lasts
        first = (first - _SCRAMBLE[0].ints(last, firsts)) % firsts
        return last * firsts + first


@functools.lru_cache(maxsize=32)
def name_pool(locale: str) -> NamePool:
    """The locale's first and last names as Faker ships them (romanised for Japanese), distinct and sorted."""
    provider = Faker(locale).provider("faker.providers.person")
    if hasattr(provider, "first_romanized_names"):
        first, last = provider.first_romanized_names, provider.last_romanized_names
    else:
        first, last = provider.first_names, provider.last_names
    first = sorted({name.strip() for name in first} - {""})
    # Faker's en_US writes "Mccormick" and "Macdonald"-style names as one word; people write McCormick.
    last = sorted({re.sub(r"^Mc([a-z])", lambda m: "Mc" + m[1].upper(), name.strip()) for name in last} - {""})
    return NamePool(np.array(first, dtype=object), np.array(last, dtype=object))


@dataclasses.dataclass(frozen=True)
class _Numbering:
    """Which names each site's people take: the pool, and the site's place among the sites sharing it."""

    pool: tuple[int, ...]  # per site: index into ``pools``
    rank: tuple[int, ...]  # per site: its place among the sites with the same pool
    sharing: tuple[int, ...]  # per site: how many sites share its pool
    pools: tuple[NamePool, ...]
    fallback: int  # index of FALLBACK_LOCALE's pool
    #: Per pool, the numbers of its names another pool gives (the fallback gives last): en_GB and en_US both
    #: have "Marie Quinn", and only one may. Kept as ``taken[i] - i`` (sorted), which maps "the j-th name of
    #: its own" to its number without listing them all: a few hundred thousand numbers, not millions.
    taken: tuple[np.ndarray, ...]

    def owned(self, pool: int) -> int:
        """How many names ``pool`` gives."""
        return self.pools[pool].size - len(self.taken[pool])

    def own_numbers(self, pool: int, nth: np.ndarray) -> np.ndarray:
        """The numbers of ``pool``'s ``nth`` names of its own (0 .. owned - 1), in order."""
        return nth + np.searchsorted(self.taken[pool], nth, side="right")


@functools.lru_cache(maxsize=4)
def _numbering(catalog: Catalog) -> _Numbering:
    pools: list[NamePool] = []
    keys: list[tuple] = []
    site_pool = []
    for site in catalog.sites:
        pool = name_pool(site.name_locale)
        key = (tuple(pool.first), tuple(pool.last))  # en_US, en_CA and en_AU ship the same names: one numbering
        if key not in keys:
            keys.append(key)
            pools.append(pool)
        site_pool.append(keys.index(key))
    fallback = name_pool(FALLBACK_LOCALE)
    fallback_key = (tuple(fallback.first), tuple(fallback.last))
    if fallback_key not in keys:
        keys.append(fallback_key)
        pools.append(fallback)
    rank = [site_pool[:number].count(pool) for number, pool in enumerate(site_pool)]
    sharing = [site_pool.count(pool) for pool in site_pool]
    fallback_index = keys.index(fallback_key)
    return _Numbering(
        tuple(site_pool), tuple(rank), tuple(sharing), tuple(pools), fallback_index, _taken(pools, fallback_index)
    )


def _taken(pools: list[NamePool], fallback: int) -> tuple[np.ndarray, ...]:
    """For each pool, the numbers whose names a pool of higher priority has (the fallback has the lowest),
    as ``taken[i] - i``: a name two locales share belongs to one, so no two people anywhere share it.

    Worked out from the shared names themselves (first names both pools have, by last names both have),
    numbered through the inverse of the pool's bijection: a few hundred thousand, not every name.
    """
    priority = [number for number in range(len(pools)) if number != fallback] + [fallback]
    own: dict[int, np.ndarray] = {}
    for place, number in enumerate(priority):
        pool = pools[number]
        found = []
        for earlier in priority[:place]:
            firsts = _shared(pool.first, pools[earlier].first)
            lasts = _shared(pool.last, pools[earlier].last)
            if len(firsts) and len(lasts):
                first, last = np.repeat(firsts, len(lasts)), np.tile(lasts, len(firsts))
                found.append(pool.numbers_of(first.astype(np.int64), last.astype(np.int64)))
        taken = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        own[number] = taken - np.arange(len(taken), dtype=np.int64)
    return tuple(own[number] for number in range(len(pools)))


def _shared(names: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Indices of ``names`` that ``others`` has too (a set: numpy's isin sorts strings, ten times slower)."""
    known = set(others.tolist())
    return np.array([i for i, name in enumerate(names.tolist()) if name in known], dtype=np.int64)


def person_numbers(hosts: np.ndarray) -> np.ndarray:
    """The person at each host number of a site: hosts 2k and 2k + 1 share one, the last three of every 21."""
    block, within = hosts // HOSTS_PER_BLOCK, hosts % HOSTS_PER_BLOCK
    return block * PEOPLE_PER_BLOCK + np.minimum(within // 2, PEOPLE_PER_BLOCK - 1)


def people_at(catalog: Catalog, site_idx: np.ndarray, hosts: np.ndarray) -> np.ndarray:
    """The full name of the person using the device at each (site, host number)."""
    numbering = _numbering(catalog)
    people = person_numbers(hosts)
    names = np.empty(len(hosts), dtype=object)
    for site in np.unique(site_idx).tolist():
        rows = np.flatnonzero(site_idx == site)
        pool_number = numbering.pool[site]
        pool = numbering.pools[pool_number]
        owned = numbering.owned(pool_number)
        shared = people[rows] * numbering.sharing[site] + numbering.rank[site]
        native = shared < owned
        names[rows[native]] = pool.names(numbering.own_numbers(pool_number, shared[native]))
        if not native.all():  # more people than the locale has names: the fallback's, from its far end
            fallback, theirs = numbering.fallback, numbering.owned(numbering.fallback)
            beyond = (shared[~native] - owned) * len(numbering.pools) + pool_number
            nth = (theirs - 1 - beyond) % theirs
            names[rows[~native]] = numbering.pools[fallback].names(numbering.own_numbers(fallback, nth))
    return names
