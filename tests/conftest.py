"""Shared fixtures. The suite runs twice (see scripts/run_tests.py): once on SQLite
and once on PostgreSQL, so every database test here is exercised on both."""

from __future__ import annotations

import pytest

from seeding.plan import SeedPlan
from tests.support.plans import AS_OF, SMALL


@pytest.fixture
def make_plan():
    def make(**overrides) -> SeedPlan:
        values = {**SMALL, "seed": 7, "as_of": AS_OF, "chunk_size": 100, **overrides}
        return SeedPlan(**values)

    return make


@pytest.fixture(autouse=True)
def _no_embedded_worker(settings):
    """Unit tests inspect queued messages instead of letting a thread run them."""
    settings.SEED_EMBEDDED_WORKER = False


@pytest.fixture(autouse=True)
def _api_answers_match_the_openapi_document(monkeypatch):
    """Every API response any test gets is checked against the OpenAPI document (tests/api_contract.py)."""
    from django.test import Client

    from tests.api_contract import check

    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        check(environ["REQUEST_METHOD"], environ["PATH_INFO"], response)
        return response

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture(autouse=True)
def broker():
    """The configured broker, emptied around each test: the in-memory stub in the
    SQLite pass (no REDIS_URL), real Redis in the PostgreSQL pass."""
    import dramatiq

    broker = dramatiq.get_broker()
    broker.flush_all()
    yield broker
    broker.flush_all()


@pytest.fixture
def stub_broker(broker):
    """For tests marked ``stub`` (routing unit tests, deselected in the Redis pass)."""
    from dramatiq.brokers.stub import StubBroker

    assert isinstance(broker, StubBroker), "tests marked 'stub' run in the pass without REDIS_URL"
    return broker


@pytest.fixture
def workers(tmp_path, settings):
    """Real `rundramatiq` worker processes (tests/support/processes.py), all stopped after the test."""
    from tests.support.processes import Workers

    assert settings.REDIS_URL, "end-to-end tests run in the pass with REDIS_URL set"
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def seeded(make_plan):
    """The small plan written and the planner's statistics refreshed: the estate as a finished run leaves it."""
    from inventory.services import inventory_statistics_refresh
    from tests.support.data import seed

    run = seed(make_plan())
    inventory_statistics_refresh()  # what the run's tidy-up does after its commit
    return run


@pytest.fixture
def staff(django_user_model):
    """Staff with both seeding permissions (to seed and clear, to look at runs)."""
    from tests.support.api import BOTH, make_user

    return make_user(django_user_model, "seeder", staff=True, perms=BOTH)


@pytest.fixture
def api(staff):
    """A test client logged in as ``staff``, for the admin JSON API."""
    from tests.support.api import logged_in_client

    return logged_in_client(staff)
