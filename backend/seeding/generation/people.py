"""People and teams: what Faker is good at, built once per seed and then sampled.

Everything else (sites, hardware, software, events) comes from the catalog.

Calling Faker for every field of every row runs at a few thousand rows per
second; sampling pools it filled once costs nanoseconds. The pools depend only on
the seed and the pinned Faker version, so they are as reproducible as the rows.
"""

from __future__ import annotations

import dataclasses
import functools

from faker import Faker

POOL_SIZE = 500

TEAMS = (
    "Platform Engineering",
    "Site Reliability",
    "Payments",
    "Checkout",
    "Identity & Access",
    "Data Platform",
    "Analytics",
    "Customer Support Tools",
    "Finance Systems",
    "HR Systems",
    "Supply Chain",
    "Logistics",
    "Mobile",
    "Web Frontend",
    "Search",
    "Recommendations",
    "Security Operations",
    "Network Operations",
    "End-User Computing",
    "Marketing Tech",
    "Billing",
    "Risk & Fraud",
    "Developer Experience",
    "Messaging",
    "Storage & Backup",
)


@dataclasses.dataclass(frozen=True)
class Material:
    """Pools of realistic values for one seed."""

    people: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def material_for(seed: int) -> Material:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return Material(people=tuple(fake.name() for _ in range(POOL_SIZE)))
