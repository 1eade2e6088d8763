"""A live stream's rows obey every rule seeded data obeys: the rules of test_realism, run again on an
estate with a two-day stream on top, and what only a stream can break (its window, the order of time).

One estate per module, on the database of the current pass: a seeded estate with a little history, then
a live stream of two days at 0.6 events a second from a Monday morning, written as its writer would
write it (tick by tick as the clock moves; the clock is the test's).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F, Q
from django.test import override_settings

from inventory.models import Event
from seeding.models import PendingEvent
from seeding.plan import SeedPlan
from seeding.services import live
from seeding.services.runs import seed_run_claim, seed_run_succeed
from tests.support.data import forget_estate, seed
from tests.support.plans import AS_OF

# The rules of seeded data, collected here again for this estate (its events are the stream's and the
# history's). Imported by name: each is a test that reads every row.
from tests.test_realism import (  # noqa: F401
    test_a_ticket_names_one_thing,
    test_events_fit_their_asset_and_deployment_and_their_severity_follows_the_message,
    test_events_follow_each_sites_office_hours_and_weekends_in_local_time_with_bursts,
    test_severity_and_sources_follow_the_kind,
)

pytestmark = pytest.mark.django_db

START = AS_OF + timedelta(days=1, hours=-12)  # Monday 2026-11-02, 00:00 UTC
DAYS = 2


@pytest.fixture(scope="module", autouse=True)
def stream(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(SeedPlan(applications=60, assets=3_000, deployments=4_000, events=3_000, seed=3, as_of=AS_OF))
        run = live.live_stream_start(rate=0.6, duration=DAYS * 86_400, seed=11, start=START)
        claim = seed_run_claim(run=run, resume=False)
        with override_settings(SEED_LIVE_TICK_SECONDS=60):  # fewer, larger commits: the same rows
            for second in range(240, run.window_seconds + 240, 240):
                assert live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + second)
        assert seed_run_succeed(run=run, claim=claim)  # what its writer does at the end of the window
        yield run
        forget_estate()


def test_every_planned_event_of_the_stream_is_written_in_its_window(stream):
    events = Event.objects.filter(seed_run=stream)
    assert events.count() == stream.events == stream.events_done == round(0.6 * DAYS * 86_400)
    assert not events.filter(Q(occurred_at__lt=stream.window_start) | Q(occurred_at__gte=stream.as_of)).exists()
    assert not PendingEvent.objects.filter(run=stream).exists()


def test_the_stream_happens_to_assets_in_service_and_deployments_that_had_happened(stream):
    events = Event.objects.filter(seed_run=stream)
    assert not events.filter(asset__purchase_date__gt=F("occurred_at__date")).exists()
    assert not events.filter(asset__retired_on__lt=F("occurred_at__date")).exists()
    assert not events.filter(asset__lifecycle_status__in=["ordered", "in_stock"]).exists()
    assert not events.filter(deployment__deployed_at__gt=F("occurred_at")).exists()


def test_incidents_unfold_in_the_stream(stream):
    """Stories start and end within the stream, each under one ticket (checked with every other ticket by
    test_a_ticket_names_one_thing): here, that the stream tells enough of them, and changes as waves."""
    kinds = Counter(Event.objects.filter(seed_run=stream).values_list("kind", flat=True))
    assert kinds["incident"] >= 20 and kinds["alert"] > kinds["change"] > kinds["incident"]
    waves = Event.objects.filter(seed_run=stream, message__regex=r"^CHG[0-9]{7,}: .* \([0-9]+ of [0-9]+\)$")
    assert waves.count() >= 10
