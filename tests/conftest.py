"""Shared fixtures. The suite runs twice (see scripts/run_tests.py): once on SQLite
and once on PostgreSQL, so every database test here is exercised on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seeding.plan import SeedPlan

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
#: Small enough to be quick, big enough to span several chunks of every kind.
SMALL = {"applications": 30, "assets": 250, "deployments": 600, "events": 2_500}


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
