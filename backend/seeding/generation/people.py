"""People: who uses each end-user device, a directory that is a pure function of the site and a person number.

A viewer who looks twice at the assets checks the people: one person's laptops
are in one city, nobody holds ten devices, a name means one person, a Tokyo
laptop belongs to a Japanese name, and nobody is "Mrs. Marissa Schneider MD".
So a person is not drawn per device:

- **Who.** The hosts of a site are numbered (``sites``); consecutive host numbers
  of a run share a person two at a time (the last three of every 21), so a person
  has one or two devices, rarely three, all at one site and from one run. A
  person's number is their group's first host number, unique across stacked runs.
- **Their name.** First and last names from the Faker locale the catalog gives
  the site (``name_locale`` in sites.csv), without honorifics or suffixes. Sites
  with the same names share one numbering; a person's name is their number in it,
  scrambled by a fixed bijection, so no two people share a name, in one run or
  across stacked runs, whatever their seeds. A locale with fewer names than its
  sites need continues in half of ``FALLBACK_LOCALE``'s names, counted from the
  other end (``name_parts``; names repeat only past those 340,000, far beyond any
  plan's people, and the addresses stay unique even then).

Faker fills the pools once per locale; picking from them costs nanoseconds. The
pools depend only on the pinned Faker version, so names are as reproducible as the rows.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata

import numpy as np
from faker import Faker

from seeding.generation.catalog import Catalog
from seeding.generation.estate import IN_STOCK, RETIRED
from seeding.generation.rng import Stream
from seeding.generation.sites import run_site_host_bases, run_site_person_bases
from seeding.generation.spec import RunSpec

#: Reserved for documentation (RFC 2606): a demo must never address a real company's mailboxes.
EMAIL_DOMAIN = "example.com"
#: Letters that Unicode does not decompose into a base letter and an accent.
_SPELLED = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
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
        first, last = self.parts(numbers)
        return _joined(first, " ", last)

    def parts(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first names, last names) of ``numbers``, the two halves of ``names``."""
        first, last = self.coordinates(numbers)
        return self.first[first], self.last[last]

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
    first = sorted({name.strip() for name in first if _plausible(name.strip())})
    # Faker's en_US writes "Mccormick" and "Macdonald"-style names as one word; people write McCormick.
    last = {re.sub(r"^Mc([a-z])", lambda m: "Mc" + m[1].upper(), name.strip()) for name in last}
    last = sorted(name for name in last if _plausible(name))
    return NamePool(np.array(first, dtype=object), np.array(last, dtype=object))


#: Entries of Faker's lists that give a demo away: a suffix ("Koch II"), an initial ("Hans D."), a list's
#: inverted form ("Bourgondië, van", "Dussen van"), a stray word ("auch Schlauchin"), a noble house's
#: whole title ("Coreth von und zu Coredo und Starkenberg").
_IMPLAUSIBLE = re.compile(r"[,.]|\s(?:I{1,3}|IV|V|Jr|Sr)$|\s[a-z]+$|^auch\s|(?:\S+\s+){3}")


def _plausible(name: str) -> bool:
    return bool(name) and not _IMPLAUSIBLE.search(name)


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


def person_numbers(
    hosts: np.ndarray, host_bases: np.ndarray | int = 0, person_bases: np.ndarray | int = 0
) -> np.ndarray:
    """The person at each host number of a site, in a run whose hosts there start at ``host_bases`` and
    whose people at ``person_bases``: hosts 2k and 2k + 1 of the run share one, the last three of every 21.

    Each run numbers its people after the earlier runs' (``people_span``, recorded when it is created), so
    nobody has devices in two runs: each run's directory holds all of its people's devices, and no other
    run's people. Numbers stay dense: a locale's names last as long as they can.
    """
    return np.asarray(person_bases, dtype=np.int64) + _grouped(
        np.asarray(hosts, dtype=np.int64) - np.asarray(host_bases, dtype=np.int64)
    )


def run_person_numbers(spec: RunSpec, site_idx: np.ndarray, hosts: np.ndarray) -> np.ndarray:
    """``person_numbers`` of the run's hosts ``hosts`` at ``site_idx``."""
    return person_numbers(hosts, run_site_host_bases(spec, site_idx), run_site_person_bases(spec, site_idx))


def people_span(hosts: int) -> int:
    """How many person numbers a run with ``hosts`` hosts at a site takes there."""
    return int(_grouped(np.array([hosts - 1]))[0]) + 1 if hosts > 0 else 0


def sharing_hosts(hosts: np.ndarray, bases: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The other host numbers whose person is that of each of ``hosts`` (each in a run with ``counts`` host
    numbers at its site from ``bases``): (index into ``hosts``, host number), one or two per host, fewer at
    the end of a run's numbers. A person's hosts lie at most two numbers apart (``person_numbers``)."""
    near = hosts[:, None] + np.array([-2, -1, 1, 2], dtype=np.int64)[None, :]
    inside = (near >= bases[:, None]) & (near < (bases + counts)[:, None])
    same = _grouped(near - bases[:, None]) == _grouped(hosts - bases)[:, None]
    which = np.repeat(np.arange(len(hosts), dtype=np.int64), 4).reshape(near.shape)
    return which[inside & same], near[inside & same]


def _grouped(hosts: np.ndarray) -> np.ndarray:
    block, within = hosts // HOSTS_PER_BLOCK, hosts % HOSTS_PER_BLOCK
    return block * PEOPLE_PER_BLOCK + np.minimum(within // 2, PEOPLE_PER_BLOCK - 1)


def assigned(end_user: np.ndarray, lifecycle: np.ndarray) -> np.ndarray:
    """Which devices a person uses: end-user devices in service (nobody has one on order, in stock or retired)."""
    return end_user & (lifecycle > IN_STOCK) & (lifecycle != RETIRED)


def people_at(catalog: Catalog, site_idx: np.ndarray, people: np.ndarray) -> np.ndarray:
    """The full name of the person numbered ``people`` at each site."""
    return name_parts(catalog, site_idx, people).full


def name_parts(catalog: Catalog, site_idx: np.ndarray, people: np.ndarray) -> Names:
    """The names of the people numbered ``people`` at each site.

    A site's people take its locale's names; past them (or, for the fallback
    locale's own sites, past the first half of its names) they continue in the
    fallback's other half, the overflows of every locale interleaved, so no
    two people share a name until that half is used up too. Only then do names
    come round again, each round counted in ``Names.round`` (the address says
    it: no two addresses are the same, whatever the estate's size).
    """
    numbering = _numbering(catalog)
    first = np.empty(len(people), dtype=object)
    last = np.empty(len(people), dtype=object)
    rounds = np.zeros(len(people), dtype=np.int64)
    fallback = numbering.fallback
    theirs = numbering.owned(fallback)
    kept = theirs // 2  # the fallback's own sites' share; the other half is everyone's overflow
    for site in np.unique(site_idx).tolist():
        rows = np.flatnonzero(site_idx == site)
        pool_number = numbering.pool[site]
        pool = numbering.pools[pool_number]
        owned = kept if pool_number == fallback else numbering.owned(pool_number)
        shared = people[rows] * numbering.sharing[site] + numbering.rank[site]
        native = shared < owned
        first[rows[native]], last[rows[native]] = pool.parts(numbering.own_numbers(pool_number, shared[native]))
        if not native.all():  # the fallback's far half, from its end
            beyond = (shared[~native] - owned) * len(numbering.pools) + pool_number
            nth = theirs - 1 - beyond % (theirs - kept)
            parts = numbering.pools[fallback].parts(numbering.own_numbers(fallback, nth))
            first[rows[~native]], last[rows[~native]] = parts
            rounds[rows[~native]] = beyond // (theirs - kept)
    return Names(first, last, rounds)


@dataclasses.dataclass(frozen=True)
class Names:
    """People's first and last names, and which round of the names each is in (0 but in huge estates)."""

    first: np.ndarray
    last: np.ndarray
    round: np.ndarray

    @property
    def full(self) -> np.ndarray:
        """ "First Last" of each."""
        return _joined(self.first, " ", self.last)


def email_addresses(catalog: Catalog, names: Names) -> np.ndarray:
    """first.last@EMAIL_DOMAIN in plain ASCII ("Zoë Nuñez" writes zoe.nunez), one address per person.

    A name's (first, last) pair is one person's in its round (``name_parts``);
    folding each half is made one to one over every name the catalog's locales
    have (a second spelling that folds the same gets a digit: "muller" and
    "muller2"), and a later round adds its number ("john.smith.2"), so the
    addresses are unique in one run and across stacked runs.
    """
    firsts, lasts = _folded(catalog)
    local = _joined(
        np.array([firsts[name] for name in names.first.tolist()], dtype=object),
        ".",
        np.array([lasts[name] for name in names.last.tolist()], dtype=object),
    )
    rounds = np.array(["" if n == 0 else f".{n + 1}" for n in names.round.tolist()], dtype=object)
    return np.char.add(np.char.add(local.astype(str), rounds.astype(str)), "@" + EMAIL_DOMAIN).astype(object)


@functools.lru_cache(maxsize=4)
def _folded(catalog: Catalog) -> tuple[dict[str, str], dict[str, str]]:
    """Every first and every last name of the catalog's locales -> its address part, one to one."""
    numbering = _numbering(catalog)
    firsts = sorted({name for pool in numbering.pools for name in pool.first.tolist()})
    lasts = sorted({name for pool in numbering.pools for name in pool.last.tolist()})
    return _one_to_one(firsts), _one_to_one(lasts)


def _one_to_one(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:  # sorted: which spelling gets the digit does not depend on the set's order
        base = _ascii(name) or "x"
        folded, n = base, 1
        while folded in taken:
            n += 1
            folded = f"{base}{n}"
        taken.add(folded)
        found[name] = folded
    return found


def _ascii(name: str) -> str:
    """Lower-case ASCII letters, digits and hyphens: accents dropped, ß as ss, spaces and apostrophes gone."""
    spelled = "".join(_SPELLED.get(ch, ch) for ch in name.lower())
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]", "", plain).strip("-")


def _joined(first: np.ndarray, between: str, last: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.add(first.astype(str), between), last.astype(str)).astype(object)
