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
from seeding.generation.spec import EVENT_WINDOW_DAYS, SECONDS_PER_DAY, RunSpec, weekend_of

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
    return site_idx, run_site_host_bases(spec, site_idx) + ranks[blocks] * SITE_BLOCK + ordinals % SITE_BLOCK


def run_site_host_bases(spec: RunSpec, site_idx: np.ndarray) -> np.ndarray:
    """The first host number the run takes at each of ``site_idx`` (after every earlier run's hosts)."""
    return np.array(spec.site_host_bases or [0] * len(spec.catalog.sites), dtype=np.int64)[site_idx]


def run_site_person_bases(spec: RunSpec, site_idx: np.ndarray) -> np.ndarray:
    """The first person number the run takes at each of ``site_idx`` (after every earlier run's people)."""
    return np.array(spec.site_person_bases or [0] * len(spec.catalog.sites), dtype=np.int64)[site_idx]


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


#: People are at work where a weekday's local activity is at least this: 8 to 12 and 13 to 17 o'clock.
WORKING = 10 * WEEKDAY_WEIGHT


def working_hours(spec: RunSpec) -> np.ndarray:
    """[hour of ``spec``'s window from its start, site] -> whether people are at work there then (a weekday's
    office hours in the site's time zone): when a person calls the service desk or is handed a laptop.
    Whatever a scenario pack does to the weekend's activity, nobody works on it."""
    return local_activity(spec.window_start + spec.window_hours * 3_600, spec.catalog, spec.window_hours) >= WORKING


def next_working_second(spec: RunSpec, site: int, at: int, late: int) -> int | None:
    """``at`` if people work at ``site`` then; else ``late`` seconds into the next hour they do (a delivery
    that arrives overnight is handed over the next morning, not at 08:00:00 sharp); None when that is
    beyond the window."""
    working = working_hours(spec)[:, site]
    hour = max(0, (at - spec.window_start) // 3_600)
    if hour < len(working) and working[hour]:
        return at
    later = np.flatnonzero(working[hour:])
    return None if not len(later) else spec.window_start + (hour + int(later[0])) * 3_600 + late


def spec_activity(spec: RunSpec) -> np.ndarray:
    """``local_activity`` over ``spec``'s event window, hour by hour from its start."""
    return local_activity(
        spec.window_start + spec.window_hours * 3_600, spec.catalog, spec.window_hours, weekend_of(spec)
    )


@functools.lru_cache(maxsize=4)
def local_activity(
    as_of: int, catalog: Catalog, hours: int = EVENT_WINDOW_DAYS * 24, weekend: float = 1.0
) -> np.ndarray:
    """[hour of the ``hours`` before ``as_of``, site] -> activity at the site in that hour, by its local
    hour and weekday; ``weekend``: weekends as busy as this share of their usual (a scenario pack's).

    With the IANA time zones, daylight saving included: each site's UTC offset
    is looked up once a day, and hour by hour only on the days it changes.
    """
    start = as_of - hours * 3_600
    hour_starts = start + 3_600 * np.arange(hours + 24, dtype=np.int64)
    table = np.zeros((hours, len(catalog.sites)), dtype=np.int64)
    for s, site in enumerate(catalog.sites):
        local = hour_starts + _utc_offsets(site.time_zone, hour_starts)
        hour = local // 3_600 % 24
        is_weekend = (local // SECONDS_PER_DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        if weekend == 1.0:
            activity = HOURLY_WEIGHTS[hour] * np.where(is_weekend, WEEKEND_WEIGHT, WEEKDAY_WEIGHT)
        else:  # in tenths, so that a share of the weekend's weight stays a whole number
            shared = max(1, round(WEEKEND_WEIGHT * 10 * weekend))
            activity = HOURLY_WEIGHTS[hour] * np.where(is_weekend, shared, WEEKDAY_WEIGHT * 10)
        table[:, s] = activity[:hours]
    return table


def _utc_offsets(time_zone: str, moments: np.ndarray) -> np.ndarray:
    """The zone's UTC offset in seconds at each of ``moments`` (hourly epoch seconds)."""
    zone = zoneinfo.ZoneInfo(time_zone)

    def offset(moment: int) -> int:
        return int(datetime.fromtimestamp(moment, UTC).astimezone(zone).utcoffset().total_seconds())

    offsets = np.empty(len(moments), dtype=np.int64)
    for day in range(0, len(moments), 24):
        hours = moments[day : day + 24]
        first, last = offset(int(hours[0])), offset(int(hours[-1]))
        if first == last:
            offsets[day : day + 24] = first
        else:  # the clocks change today
            offsets[day : day + 24] = [offset(int(moment)) for moment in hours]
    return offsets
