"""A resumed run's rate, ETA and duration describe its writing, not the pause before its resume.

A resume keeps the run's ``started_at`` (it is the run's start), so a rate taken over
started_at..now counts the hours the run stood stopped: just after a resume the page said
"104 rows/s · ETA 6 min 43 s" for a run writing tens of thousands of rows a second. The admin
(list and page) and the API's run status (which the monitor reads) show the current stretch's
rate, and a finished resumed run the time it spent writing, over how many stretches.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from seeding import selectors, services
from seeding.models import SeedRun
from tests.support.data import cancelled_run
from tests.support.pages import text

pytestmark = pytest.mark.django_db(transaction=True)

#: How long the run stood stopped before its resume, in the tests.
PAUSE = timedelta(hours=1)


def stopped_an_hour_ago(plan) -> SeedRun:
    """A cancelled run that started and stopped an hour ago (its writing itself took what it took)."""
    run = cancelled_run(plan)
    SeedRun.objects.filter(pk=run.pk).update(started_at=run.started_at - PAUSE, finished_at=run.finished_at - PAUSE)
    run.refresh_from_db()
    return run


def test_during_a_resume_the_rate_and_eta_are_of_the_rows_written_since_it(make_plan):
    run = stopped_an_hour_ago(make_plan())
    done_before, seen = run.total_done, []
    resumed = time.monotonic()

    def look(current, chunk):
        if chunk is not None and chunk.kind == "events" and not seen:
            fresh = SeedRun.objects.get(pk=current.pk)
            now = timezone.now()
            rate = fresh.rows_per_second(now=now)
            # What the API and the monitor show, read at the same moment (not after the run has ended:
            # on a loaded machine the rest of the run can take seconds, which the rate would then include).
            seen.append((fresh, now, time.monotonic() - resumed, rate, selectors.seed_run_status(fresh)))

    services.seed_run_resume(run=run, by=services.Requester(SeedRun.Source.COMMAND), on_progress=look)
    fresh, now, elapsed, rate, status = seen[0]
    written = fresh.total_done - done_before
    assert written > 0 and fresh.is_active
    # The rows written since the resume over no more than the seconds since it: a lower bound of
    # the stretch's rate, which a rate over the pause falls far short of.
    assert rate >= written / elapsed
    assert fresh.eta_seconds(now=now) == pytest.approx((fresh.total_planned - fresh.total_done) / rate)
    assert status["rows_per_second"] >= written / (elapsed + 1)


def test_a_finished_resumed_run_says_how_long_it_wrote_over_how_many_stretches(admin_client, make_plan):
    run = stopped_an_hour_ago(make_plan())
    first_stretch = run.finished_at - run.started_at
    services.seed_run_resume(run=run, by=services.Requester(SeedRun.Source.COMMAND))
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED
    second_stretch = run.finished_at - run.resumed_at
    assert run.active_seconds() == pytest.approx((first_stretch + second_stretch).total_seconds())
    # The rate of the stretch that finished it, as the page showed it while it wrote.
    assert run.rows_per_second() == pytest.approx(
        (run.total_done - run.done_at_resume) / second_stretch.total_seconds()
    )

    page = text(admin_client.get(reverse("admin:seeding_seedrun_change", args=[run.pk])))
    listing = text(admin_client.get(reverse("admin:seeding_seedrun_changelist")))
    for words, said in ((page, " of writing over 2 stretches"), (listing, ", 2 stretches")):
        took = re.search(rf"took (\S+ \S+){said}", words)
        assert took, words
        assert " h " not in took.group(1) and "min" not in took.group(1)  # not the hour it stood stopped
    status = selectors.seed_run_status(run)
    assert status["active_seconds"] == pytest.approx(run.active_seconds(), abs=0.1)
    assert status["stretches"] == 2


def test_a_run_never_resumed_is_measured_from_its_start(make_plan):
    run = cancelled_run(make_plan())
    seconds = (run.finished_at - run.started_at).total_seconds()
    assert run.active_seconds() == pytest.approx(seconds)
    assert run.rows_per_second() == pytest.approx(run.total_done / seconds)
    assert selectors.seed_run_status(run)["stretches"] == 1
