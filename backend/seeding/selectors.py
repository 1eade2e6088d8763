"""Read-only queries about demo data and seed runs."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from django.db.models import Count, Q

from inventory.models import Application, Asset, Deployment, Event
from seeding.models import KINDS, SeedRun

_MODELS = {"applications": Application, "assets": Asset, "deployments": Deployment, "events": Event}


def inventory_counts() -> dict[str, dict[str, int]]:
    """Rows per kind: ``{"assets": {"total": n, "demo": m}, ...}``."""
    counts = {}
    for kind, model in _MODELS.items():
        row = model.objects.aggregate(total=Count("pk"), demo=Count("pk", filter=Q(seed_run__isnull=False)))
        counts[kind] = {"total": row["total"], "demo": row["demo"]}
    return counts


def seed_run_digest(run: SeedRun) -> str:
    """A SHA-256 over every row the run wrote, with keys made relative to the run.

    Two runs with the same plan, seed and base time give the same digest, on any
    database, however their keys were offset: a check that seeding is reproducible.
    """
    bases = {kind: run.id_base(kind) for kind in KINDS}
    references = {"application": "applications", "asset": "assets", "deployment": "deployments"}
    digest = hashlib.sha256()
    for kind in KINDS:
        model = _MODELS[kind]
        fields = [f for f in model._meta.concrete_fields if f.name != "seed_run"]
        names = [f.attname for f in fields]
        digest.update(f"{kind}:{','.join(names)}\n".encode())
        rows = model.objects.filter(seed_run=run).order_by("pk").values_list(*names)
        for row in rows.iterator(chunk_size=5_000):
            values = []
            for field, value in zip(fields, row):
                if field.primary_key:
                    value = value - bases[kind]
                elif field.name in references and value is not None:
                    value = _relative(value, bases[references[field.name]], run.planned(references[field.name]))
                values.append(_canonical(value))
            digest.update(("\t".join(values) + "\n").encode())
    return digest.hexdigest()


def _relative(value: int, base: int, count: int) -> str:
    # A reference into the run's own rows is position-relative; one to a row that
    # existed before the run keeps its absolute key.
    return f"+{value - base}" if base <= value < base + count else f"@{value}"


def _canonical(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
