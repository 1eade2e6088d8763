"""Live streams on real worker processes over real Redis and PostgreSQL: a worker SIGKILLed in the middle
of a stream, and a stop while a worker writes one.

With the default settings: the sweeper notices a stream whose writer died when it has made no progress for
SEED_STALL_AFTER_SECONDS and hands it to another worker, which catches up; the pause may cost at most
RECOVERY_LIMIT_SECONDS of stream time, and the rows must be those of an uninterrupted stream.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from inventory.models import Event
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.live import stretch_events
from seeding.generation.spec import RunSpec
from seeding.models import SeedChunk, SeedRun
from seeding.persistence.parent_view.reading import parents_of
from tests.support.data import seed
from tests.support.live import rows
from tests.support.recovery import RECOVERY_LIMIT_SECONDS, longest_pause
from tests.support.runs import finished, wait_for
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def estate(make_plan):
    return seed(make_plan(applications=20, assets=400, deployments=500, events=0, seed=3))


def seconds_written(run: SeedRun) -> float:
    run.refresh_from_db()
    return (run.written_until - run.window_start).total_seconds() if run.status == SeedRun.Status.RUNNING else 0.0


def whole_stream(run: SeedRun) -> list[tuple]:
    """Every event of ``run``'s stream, as one stretch of its whole window writes them: the rows of an
    uninterrupted stream, computed here."""
    spec = RunSpec.from_run(run, catalog=active_catalog())
    stretch = stretch_events(spec, int(run.window_start.timestamp()), int(run.as_of.timestamp()), parents_of(run, spec))
    assert not stretch.later["id"]  # every episode ends within the window
    return list(zip(*(values for name, values in stretch.due.items() if name != "effects")))


def test_a_stream_whose_worker_is_sigkilled_goes_on_with_another_and_writes_every_second_once(estate, workers):
    victim = workers.start(default_settings=True)
    workers.wait_ready(1)
    run = services.live_stream_request(rate=20, duration=60, seed=5, source=SeedRun.Source.API)
    uninterrupted = whole_stream(run)  # while its view of the estate exists (dropped once it succeeds)
    wait_until(lambda: seconds_written(run) >= 15, timeout=60, message=workers.awaiting("15 s of the stream"))
    workers.kill(victim)
    killed_at = timezone.now()
    workers.start(default_settings=True)
    wait_for(run, finished, workers, timeout=120)
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert run.gaps == [] and run.claim >= 2  # handed on once at least: no stretch skipped
    pause = longest_pause(run, since=killed_at)
    assert pause <= RECOVERY_LIMIT_SECONDS, workers.logs()
    print(f"\nlive stream: {pause:.1f} s without a commit after its worker was SIGKILLed")
    written = [(*row[:-1], f"{row[-1]:%Y-%m-%d %H:%M:%S}") for row in rows(run)]
    assert len(written) == run.events == run.events_done == 1_200
    assert written == uninterrupted


def test_a_stop_takes_effect_at_once_while_a_worker_writes_the_stream(estate, workers):
    workers.start(default_settings=True)
    workers.wait_ready(1)
    run = services.live_stream_request(rate=50, duration=600, seed=6, source=SeedRun.Source.ADMIN)
    wait_until(lambda: seconds_written(run) >= 3, timeout=60, message=workers.awaiting("3 s of the stream"))
    stopped = services.live_stream_stop(run=run)
    stopped_at, events = stopped.finished_at, Event.objects.filter(seed_run=run).count()
    time.sleep(3)
    assert not SeedChunk.objects.filter(run=run, committed_at__gt=stopped_at).exists()
    assert Event.objects.filter(seed_run=run).count() == events
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and run.error == "stopped on request; what it wrote is kept"
