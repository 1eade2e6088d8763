"""demo-data-stats counts stay exact whatever writes the tables, and stay cheap to read.

On PostgreSQL the counts come from the deltas the database's own triggers
record; on SQLite from COUNT(*). Either way they must equal a plain count after
every kind of write: seeding, rows entered and deleted by people, a run's
clear, a full clear (TRUNCATE on PostgreSQL), and compaction.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Application, Asset, Event
from inventory.services import row_count_deltas_compact
from seeding import services
from seeding.persistence.tables import MODELS
from seeding.selectors import inventory_counts
from tests.support.data import real_asset, seed
from tests.support.plans import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def plain_counts() -> dict[str, dict[str, int]]:
    return {
        kind: {"total": model.objects.count(), "demo": model.objects.filter(seed_run__isnull=False).count()}
        for kind, model in MODELS.items()
    }


def test_counts_stay_exact_through_every_kind_of_write(make_plan):
    assert inventory_counts() == plain_counts()
    first = seed(make_plan())
    assert inventory_counts() == plain_counts()
    assert inventory_counts()["events"] == {"total": 2_500, "demo": 2_500}

    person_asset = real_asset()
    Event.objects.create(asset=person_asset, kind="alert", severity="info", source="me", message="x", occurred_at=AS_OF)
    assert inventory_counts()["assets"] == {"total": 251, "demo": 250}

    # A person takes a demo asset over (it stops being demo data), and deletes another.
    adopted, deleted = Asset.objects.filter(seed_run=first).order_by("pk")[:2]
    Asset.objects.filter(pk=adopted.pk).update(seed_run=None)
    Event.objects.filter(asset=deleted).delete()
    Asset.objects.filter(pk=deleted.pk).delete()
    assert inventory_counts() == plain_counts()
    assert inventory_counts()["assets"] == {"total": 250, "demo": 248}

    second = seed(make_plan(seed=9))
    services.demo_data_clear(run=second)  # DELETE by run
    assert inventory_counts() == plain_counts()

    Asset.objects.filter(pk=adopted.pk).update(seed_run=first)
    Event.objects.filter(asset=person_asset).delete()
    person_asset.delete()
    services.demo_data_clear()  # no row of people's left: TRUNCATE on PostgreSQL
    assert inventory_counts() == plain_counts() == {kind: {"total": 0, "demo": 0} for kind in MODELS}

    Application.objects.create(
        code="REAL1", name="Real", vendor="Us", category="HR", version="1.0.0", owner_team="HR", tier="tier_2"
    )
    row_count_deltas_compact()
    assert inventory_counts() == plain_counts()
    assert inventory_counts()["applications"] == {"total": 1, "demo": 0}


def test_reading_the_counts_does_not_scan_the_inventory(make_plan):
    seed(make_plan())
    real_asset(purchase_date=date(2026, 1, 1))
    with CaptureQueriesContext(connection) as queries:
        inventory_counts()
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1 and "inventory_event" not in sql
    else:
        # COUNT(*) (SQLite counts index pages) and the rows without a seed run (an index range).
        assert sql.count('COUNT(*) AS "__count" FROM "inventory_event"') == 2
        assert 'WHERE "inventory_event"."seed_run_id" IS NULL' in sql
