"""Read-only queries about the inventory."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model, Sum

from inventory.models import Application, Asset, Deployment, Event, RowCountDelta

COUNTED_MODELS: tuple[type[Model], ...] = (Application, Asset, Deployment, Event)


def row_counts() -> dict[type[Model], dict[str, int]]:
    """Exact rows per inventory model, in total and written by seeding: ``{Asset: {"total": n, "demo": m}}``.

    Cheap at any size. PostgreSQL sums the deltas its triggers record (see
    RowCountDelta), since COUNT(*) there scans millions of rows. SQLite counts
    a table by walking its smallest index page by page, which takes well under
    a millisecond for millions of rows; rows entered by people (no seed run)
    are few and found through the seed-run index, and the rest are demo rows.
    """
    if connection.vendor == "postgresql":
        recorded = {
            row["table_name"]: row
            for row in RowCountDelta.objects.values("table_name").annotate(total=Sum("total"), demo=Sum("demo"))
        }
        if all(model._meta.db_table in recorded for model in COUNTED_MODELS):
            return {
                model: {
                    "total": int(recorded[model._meta.db_table]["total"]),
                    "demo": int(recorded[model._meta.db_table]["demo"]),
                }
                for model in COUNTED_MODELS
            }
    counts = {}
    for model in COUNTED_MODELS:
        total = model.objects.count()
        counts[model] = {"total": total, "demo": total - model.objects.real().count()}
    return counts
