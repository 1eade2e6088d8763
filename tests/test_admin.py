"""The admin's inventory and seed-run pages render with demo data, and search works."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Asset
from tests.helpers import seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(make_plan):
    return seed(make_plan())


@pytest.mark.parametrize("model", ["application", "asset", "deployment", "event"])
def test_inventory_lists_render(admin_client, seeded, model):
    response = admin_client.get(reverse(f"admin:inventory_{model}_changelist"))
    assert response.status_code == 200
    assert b"Demo data" in response.content  # the origin filter


def test_asset_search_by_hostname_prefix(admin_client, seeded):
    asset = Asset.objects.order_by("pk")[17]
    response = admin_client.get(reverse("admin:inventory_asset_changelist"), {"q": asset.hostname})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [asset]


def test_events_filter_by_severity(admin_client, seeded):
    response = admin_client.get(reverse("admin:inventory_event_changelist"), {"severity__exact": "critical"})
    assert response.status_code == 200
    assert {event.severity for event in response.context["cl"].result_list} == {"critical"}


def test_seed_run_pages_show_progress(admin_client, seeded):
    response = admin_client.get(reverse("admin:seeding_seedrun_changelist"))
    assert response.status_code == 200
    assert b"3,380 / 3,380 (100%)" in response.content
    detail = admin_client.get(reverse("admin:seeding_seedrun_change", args=[seeded.pk]))
    assert detail.status_code == 200
    assert b"events" in detail.content
