"""What a stacked run records of the estate it lands on: what it writes needs, not every pair the estate holds."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Deployment
from tests.helpers import seed

pytestmark = pytest.mark.django_db(transaction=True)


def _stack_five(make_plan) -> tuple[int, list[tuple[int, int]]]:
    """Stack 5 deployments onto what is there; the pair rows its view records, and the deployments it wrote."""
    run = seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))
    recorded = run.parent_counts.get("pairs", 0)  # the view itself is dropped once the run succeeds
    return recorded, list(Deployment.objects.filter(seed_run=run).values_list("application", "asset"))


def test_a_stacked_run_records_the_pairs_of_the_applications_it_places_not_of_the_estate(make_plan):
    """Recording every existing deployment made a 5-deployment stack take minutes on plan L's estate.

    The same 5-deployment stack onto an estate ten times larger (applications,
    assets and deployments) records the pairs of the applications it places,
    none of the added estate's.
    """
    seed(make_plan(applications=5, assets=40, deployments=20, events=0))
    small, _ = _stack_five(make_plan)
    seed(make_plan(applications=45, assets=360, deployments=180, events=0, seed=2))  # ten times the estate
    assert Deployment.objects.count() == 205
    large, placed = _stack_five(make_plan)
    # Only pairs of the first applications (their 20 deployments and the first stack's 5): none of the 180 added.
    assert 0 < small <= 20 and 0 < large <= 25
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(placed) == 5 and len(pairs) == len(set(pairs))


def _statements(make_plan) -> list[str]:
    """The SQL a 5-deployment stack onto a small estate runs, from the request to the run's success."""
    seed(make_plan(applications=5, assets=40, deployments=20, events=0))
    with CaptureQueriesContext(connection) as queries:
        run = seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))
    assert run.total_done == 5
    return [query["sql"] for query in queries.captured_queries]


def test_a_stacked_run_reads_its_recorded_estate_back_once(make_plan):
    """The recorded assets grow with the estate: read back once per process, not once for the layout, again
    for the capacity check and again for the chunk (three times the cost on plan L's estate)."""
    whole = [sql for sql in _statements(make_plan) if re.search(r"kind = 'assets'\s+ORDER BY position", sql)]
    assert len(whole) == 1


def test_a_stacked_run_counts_taken_pairs_without_reading_every_pair(make_plan):
    """How many pairs each application takes comes from a GROUP BY on the unique (application, asset)
    index; pairs themselves are read only for the applications the run places deployments on."""
    by_application = [
        sql for sql in _statements(make_plan) if "inventory_deployment" in sql and "application_id" in sql
    ]
    assert by_application
    for sql in by_application:
        assert "GROUP BY application_id" in sql or re.search(r"WHERE d\.application_id (IN|= ANY)", sql), sql
