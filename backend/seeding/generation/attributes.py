"""Attributes of a run's own rows that other rows depend on, as pure functions of the ordinal.

A deployment needs its application's current version and its asset's purchase
date; an event needs the purchase dates of the assets it may concern. Computing
them from the ordinal (instead of reading the rows back) lets any process write
any chunk without a query, and keeps memory proportional to the chunk.
"""

from __future__ import annotations

import re

import numpy as np

from seeding.generation.rng import Stream
from seeding.generation.spec import PURCHASE_HISTORY_DAYS, RunSpec

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def application_versions(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """The current release of each application, e.g. "4.12.7"."""
    s = spec.seed
    major = 1 + Stream(s, "application.version.major").ints(ordinals, 6)
    minor = Stream(s, "application.version.minor").ints(ordinals, 25)
    patch = Stream(s, "application.version.patch").ints(ordinals, 30)
    return np.array([f"{a}.{b}.{c}" for a, b, c in zip(major.tolist(), minor.tolist(), patch.tolist())], dtype=object)


def asset_purchase_days(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """Epoch day of purchase; the smaller of two draws skews the fleet towards recent kit."""
    a = Stream(spec.seed, "asset.purchase.a").ints(ordinals, PURCHASE_HISTORY_DAYS)
    b = Stream(spec.seed, "asset.purchase.b").ints(ordinals, PURCHASE_HISTORY_DAYS)
    return spec.as_of_day - np.minimum(a, b)


def older_version(version: str, steps: int) -> str:
    """A plausible earlier release of ``version`` (unchanged if it is not x.y.z)."""
    match = _SEMVER.match(version)
    if not match:
        return version
    major, minor, patch = (int(part) for part in match.groups())
    if minor >= steps:
        return f"{major}.{minor - steps}.{(patch * 7 + steps) % 13}"
    if major > 1:
        return f"{major - 1}.{minor + 9 - steps}.{(patch * 5 + steps) % 11}"
    return version
