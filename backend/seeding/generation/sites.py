"""Sites: which site each of a run's assets is at, and how busy each site is, hour by hour, in its own time.

Assets come to a site in blocks (a delivery); host numbers, and so addresses,
continue after the hosts earlier runs took at the site. People work in their
site's time zone: what they do and what breaks while they do it follows their
office hours and weekends, so the event rhythm is computed per site in local
time (``local_activity``).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime

import numpy as np

from seeding.generation.catalog import Catalog
from seeding.generation.rng import Stream
from seeding.generation.spec import EVENT_WINDOW_DAYS, SECONDS_PER_DAY, RunSpec

#: Relative activity per hour of the local day: quiet nights, busy office hours.
HOURLY_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 9, 10, 12, 12, 11, 9, 7, 5, 4, 3, 3, 2])
#: Weekend days carry 40% of a weekday's activity.
WEEKDAY_WEIGHT, WEEKEND_WEIGHT = 10, 4


#: Assets come to a site in blocks of this many consecutive ordinals (a delivery, a floor).
SITE_BLOCK = 5


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


def site_of(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """The catalog site of each of the run's assets (no host numbers: the same with or without keys)."""
    sites, _ = _run_blocks(spec.seed, spec.count("assets"), spec.catalog)
    return sites[ordinals // SITE_BLOCK]


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


@functools.lru_cache(maxsize=4)
def local_activity(as_of: int, catalog: Catalog) -> np.ndarray:
    """[hour of the event window, site] -> activity at the site in that hour, by its local hour and weekday.

    Computed with the IANA time zones (daylight saving included) for each hour
    of the window: 2,160 hours x a few dozen sites.
    """
    start = as_of - EVENT_WINDOW_DAYS * SECONDS_PER_DAY
    hours = EVENT_WINDOW_DAYS * 24
    table = np.zeros((hours, len(catalog.sites)), dtype=np.int64)
    for s, site in enumerate(catalog.sites):
        zone = zoneinfo.ZoneInfo(site.time_zone)
        for h in range(hours):
            local = datetime.fromtimestamp(start + h * 3_600, UTC).astimezone(zone)
            day = WEEKEND_WEIGHT if local.weekday() >= 5 else WEEKDAY_WEIGHT
            table[h, s] = HOURLY_WEIGHTS[local.hour] * day
    return table
