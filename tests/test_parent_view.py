"""What a stacked run records of the estate it lands on: what it writes needs, not every pair the estate holds."""

from __future__ import annotations

import pytest

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
