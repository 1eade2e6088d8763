"""GET /healthz: what probes see, whatever the Host header or the scheme, and what it says when something is down."""

from __future__ import annotations

import pytest
from django.test import Client

from seeding.messaging import broker_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe() -> Client:
    return Client(HTTP_HOST="10.0.0.7:8000")  # a container healthcheck's or a load balancer's address


def test_healthy_with_any_host_and_over_plain_http_when_https_is_enforced(probe, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = probe.get("/healthz")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    expected_broker = "ok" if broker_state.uses_redis() else "not used"
    assert response.json() == {"status": "ok", "database": "ok", "broker": expected_broker}
    assert probe.get("/admin/").status_code == 400  # the host check still guards every other page


def test_a_broker_that_cannot_be_reached_is_a_503_that_names_it_without_driver_text(probe, monkeypatch):
    def refused() -> None:
        raise broker_state.BrokerUnreachable("Error 111 connecting to 10.1.2.3:6379. Connection refused.")

    monkeypatch.setattr(broker_state, "ping", refused)
    monkeypatch.setattr(broker_state, "uses_redis", lambda: True)
    response = probe.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}
    assert "10.1.2.3" not in response.content.decode()


def test_only_get_and_head(probe):
    assert probe.head("/healthz").status_code == 200
    response = probe.post("/healthz")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
