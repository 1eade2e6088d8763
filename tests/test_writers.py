"""The bulk writers (seeding/writers.py): every row lands exactly once, in key order,
whatever the count; a duplicate key is Django's IntegrityError and writes nothing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from inventory.models import Application
from seeding import services
from seeding.persistence.writers import SQLITE_ROWS_PER_INSERT, write_rows
from seeding.plan import SeedPlan
from tests.support.plans import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def application_columns(first_id: int, count: int) -> dict[str, list]:
    ids = list(range(first_id, first_id + count))
    return {
        "id": ids,
        "code": [f"APP{i:06d}" for i in ids],
        "name": [f"Application {i}" for i in ids],
        "vendor": ["Acme"] * count,
        "category": ["ERP"] * count,
        "version": [f"1.{i}.0" for i in ids],
        "owner_team": ["Platform"] * count,
        "tier": ["tier_2"] * count,
        "lifecycle": ["active"] * count,
    }


@pytest.fixture
def run():
    """A real run to tag the rows with (nothing of its plan is written)."""
    return services.seed_run_create(plan=SeedPlan(applications=1, seed=1, as_of=AS_OF))


@pytest.mark.parametrize(
    "count", [1, SQLITE_ROWS_PER_INSERT - 1, SQLITE_ROWS_PER_INSERT, SQLITE_ROWS_PER_INSERT + 1, 250]
)
def test_every_row_is_written_once_with_its_values(run, count):
    columns = application_columns(1_000, count)
    with transaction.atomic():
        assert write_rows(Application, columns, seed_run_id=run.pk) == count

    written = list(Application.objects.order_by("pk").values_list("id", "code", "version", "seed_run_id"))
    expected = list(zip(columns["id"], columns["code"], columns["version"], [run.pk] * count, strict=True))
    assert written == expected


def test_nothing_to_write_is_a_no_op(run):
    assert write_rows(Application, {"id": [], "code": []}, seed_run_id=run.pk) == 0
    assert write_rows(Application, {}, seed_run_id=run.pk) == 0
    assert not Application.objects.exists()


def test_a_duplicate_key_raises_djangos_integrity_error_and_writes_nothing(run):
    with transaction.atomic():
        write_rows(Application, application_columns(1_000, 10), seed_run_id=run.pk)
    clashing = application_columns(1_005, 2 * SQLITE_ROWS_PER_INSERT)  # ids 1005-1009 exist already

    with pytest.raises(IntegrityError), transaction.atomic():
        write_rows(Application, clashing, seed_run_id=run.pk)

    assert Application.objects.count() == 10
