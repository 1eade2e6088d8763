"""The kinds of inventory rows seeding writes: their models and the order they are written in.

Every module that needs "which table is the assets kind" or "which kinds may be
written side by side" asks here, so a new kind is added in one place.
"""

from __future__ import annotations

from django.db.models import Model

from inventory.models import Application, Asset, Deployment, Event

#: Write order: rows of a kind only reference rows of kinds before it.
KINDS: tuple[str, ...] = ("applications", "assets", "deployments", "events")

MODELS: dict[str, type[Model]] = {
    "applications": Application,
    "assets": Asset,
    "deployments": Deployment,
    "events": Event,
}

#: Chunks of one phase only reference rows of earlier phases, so they can be
#: written in any order and in parallel; phases run one after the other.
PHASES: tuple[tuple[str, ...], ...] = (("applications", "assets"), ("deployments",), ("events",))


def phase_of(kind: str) -> int:
    return next(number for number, kinds in enumerate(PHASES) if kind in kinds)
