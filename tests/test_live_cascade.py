"""incident-storm's cascades: a dependency fails and drags down the applications that use it, then recovers.

One estate per module, on the database of the current pass, and two hours of the pack at two events a
second onto it, written tick by tick as its writer would. The tests read what it did; the ticket rule of
seeded data (one number, one thing) is checked again with the cascades among the stories.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.test import override_settings

from inventory.models import Deployment, Event
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.catalog import Cascade
from seeding.plan import SeedPlan
from seeding.selectors import live_stream_figures
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.data import forget_estate, seed
from tests.support.live import estate_state, rewind, rows, write_stream
from tests.support.plans import AS_OF
from tests.support.realism import ticket_violations, tickets_named

pytestmark = pytest.mark.django_db

START = AS_OF + timedelta(days=2, hours=6)  # a Tuesday, early in Europe
HOURS = 2


#: Catch up with a clock that moves ``step`` seconds at a time to ``until`` seconds into the stream.
write = functools.partial(write_stream, start=START)


@pytest.fixture(scope="module", autouse=True)
def stream(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(SeedPlan(applications=80, assets=3_000, deployments=6_000, events=3_000, seed=3, as_of=AS_OF))
        before = estate_state()
        run = live.live_stream_start(rate=2, duration=HOURS * 3_600, seed=4, start=START, scenario="incident-storm")
        claim = seed_run_claim(run=run, resume=False)
        with override_settings(SEED_LIVE_TICK_SECONDS=60):  # fewer, larger commits: the same rows
            write(run, claim, until=run.window_seconds, step=240)
        # Left running at its end: the last test writes it again.
        yield run, before
        run.refresh_from_db()
        if run.is_active:
            services.live_stream_stop(run=run)
        forget_estate()


def test_a_storm_drags_applications_down_with_a_failing_dependency(stream):
    run, _ = stream
    found = Event.objects.filter(seed_run=run, message__contains="the services that use it")
    assert found.count() >= 2
    software = {item.name: item for item in active_catalog().software}
    categories = {told.category for told in active_catalog().cascades}
    for record in found:
        dependency = record.deployment.application
        assert software[dependency.name].category in categories  # a database, a cache, a broker, a search
        ticket = record.message.split(":")[0]
        told = Event.objects.filter(seed_run=run, message__contains=ticket).order_by("occurred_at")
        assert [e.kind for e in told] == ["incident", "change", "incident"]  # record, fix, resolution
        fix, resolution = told[1], told[2]
        # The applications it dragged down: the next two keys, an incident each, before the fix.
        dragged = list(Event.objects.filter(seed_run=run, pk__in=[record.pk + 1, record.pk + 2]).order_by("pk"))
        assert [e.kind for e in dragged] == ["incident", "incident"]
        assert all(
            record.occurred_at < e.occurred_at < fix.occurred_at and dependency.name in e.message for e in dragged
        )
        applications = {e.deployment.application for e in dragged}
        assert len(applications) == 2 and {a.vendor for a in applications} == {"In-house"}
        assert all(a.name in e.message for a, e in zip([e.deployment.application for e in dragged], dragged))
        recovered = Event.objects.filter(seed_run=run, pk__in=[record.pk + 4, record.pk + 5])
        assert all(fix.occurred_at < e.occurred_at < resolution.occurred_at for e in recovered)
        assert f"{len(applications)} services recovered" in resolution.message


def test_cascades_keep_the_ticket_rule_and_leave_every_deployment_as_it_was(stream):
    run, before = stream
    # The cascades' tickets, and the changes that fixed them. (The pack's stories unfold three times as fast as
    # the catalog's minutes, which the stories' own check does not know of: they are checked without a pack.)
    tickets = {
        number: told
        for number, told in tickets_named().items()
        if any(part.startswith(("cascade", "consumer")) or isinstance(episode, Cascade) for _, part, episode, _ in told)
    }
    assert len(tickets) >= 8 and ticket_violations(tickets) == []
    parts = {part for told in tickets.values() for _, part, _, _ in told}
    assert {"cascade record", "cascade resolution", "consumer record", "consumer resolution"} <= parts
    # Every deployment a cascade failed or degraded (running when the stream began) runs again at its end,
    # but for one a release then rolled out to (it may have failed that).
    after = estate_state()["Deployment"]
    touched = {event.deployment_id for told in tickets.values() for event, *_ in told}
    released = set(
        Event.objects.filter(
            seed_run=run, kind="change", message__regex=r"^CHG[0-9]+: .* failed its health checks"
        ).values_list("deployment_id", flat=True)
    )
    assert touched and all(before["Deployment"][pk][0] == "running" for pk in touched)
    assert [pk for pk in touched - released if after[pk][0] != "running"] == []


def test_midway_the_dependency_has_failed_and_its_users_are_degraded(stream):
    """Written again to a minute after the second application's incident opened: the dependency's
    deployments failed, both applications' degraded; then on to the end: the same rows and states."""
    run, before = stream
    uninterrupted, after = rows(run), estate_state()
    record = Event.objects.filter(seed_run=run, message__contains="the services that use it").order_by("pk").first()
    ticket = record.message.split(":")[0]
    fix = Event.objects.get(seed_run=run, kind="change", message__contains=ticket)
    users = list(
        Event.objects.filter(seed_run=run, kind="incident", pk__in=[record.pk + 1, record.pk + 2]).order_by("pk")
    )
    moment = int((max(e.occurred_at for e in users) - run.window_start).total_seconds()) + 60
    assert moment < (fix.occurred_at - run.window_start).total_seconds()  # before the fix

    claim = rewind(run, state=before)
    write(run, claim, until=moment, step=240)
    assert Deployment.objects.get(pk=record.deployment_id).status == "failed"
    for user in users:
        assert Deployment.objects.get(pk=user.deployment_id).status == "degraded", user.message
    # Open, as the admin, the API and the monitor count them: the dependency's incident and its two users'.
    opened = Event.objects.filter(seed_run=run, kind="incident", message__regex=r"^INC[0-9]+:").count()
    resolved = Event.objects.filter(seed_run=run, kind="incident", message__regex=r"^INC[0-9]+ resolved").count()
    assert live_stream_figures(run)["open_incidents"] == opened - resolved >= 3
    write(run, claim, until=run.window_seconds, step=290)
    assert rows(run) == uninterrupted
    assert estate_state() == after
