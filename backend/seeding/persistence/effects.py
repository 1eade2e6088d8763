"""Applying what a live stream's events change in the estate (``generation.effects``).

One UPDATE by primary key per effect: a stream moves a handful of rows an hour, and each change must
commit with the event that tells it, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from seeding.generation.effects import Effect
from seeding.persistence.tables import MODELS


def apply_effects(effects: Iterable[Effect]) -> int:
    """Apply ``effects`` in the order given; returns how many rows they changed (a row a person deleted
    meanwhile is passed over: the event that told it still says what happened)."""
    changed = 0
    for effect in effects:
        changed += MODELS[effect.table].objects.filter(pk=effect.row).update(**dict(effect.changes))
    return changed
