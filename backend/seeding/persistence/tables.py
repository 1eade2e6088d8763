"""The inventory model each kind of row is written to.

Kept out of ``generation.kinds`` so that generation stays free of Django: only
persistence, services and entry points need the tables behind the kinds.
"""

from __future__ import annotations

from django.db.models import Model

from inventory.models import Application, Asset, Deployment, Event, Person

MODELS: dict[str, type[Model]] = {
    "applications": Application,
    "assets": Asset,
    "deployments": Deployment,
    "events": Event,
}

#: Rows a chunk writes beside its kind's (``generation.columns.companion_rows``): not counted in the plan,
#: cleared with the run.
COMPANION_MODELS: dict[str, type[Model]] = {
    "people": Person,
}
