"""Assertions and snapshots shared by several test modules."""

from __future__ import annotations

from inventory.models import Application, Asset, Deployment, Event

MODELS = {"applications": Application, "assets": Asset, "deployments": Deployment, "events": Event}


def table_rows(model) -> list[tuple]:
    """Every column of every row (except the run link), in key order."""
    names = [f.attname for f in model._meta.concrete_fields if f.name != "seed_run"]
    return list(model.objects.order_by("pk").values_list(*names))


def snapshot() -> dict[str, list[tuple]]:
    return {kind: table_rows(model) for kind, model in MODELS.items()}


def counts() -> dict[str, int]:
    return {kind: model.objects.count() for kind, model in MODELS.items()}
