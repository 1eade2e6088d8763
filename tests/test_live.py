"""Live streams: every planned event written once, whatever the ticks; a stop, a restart, a takeover and a
stream that fell far behind; the command, the API and the admin page.

The clock is the test's: ``live_stream_catch_up`` is told what time it is, and
the command's follow loop runs on a stand-in for the ``time`` module whose
sleep moves the clock, so an hour of stream takes a second of test.
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from inventory.models import Event
from seeding import services
from seeding.models import PendingEvent, SeedRun
from seeding.selectors import live_stream_figures
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.api import BOTH, make_user, post
from tests.support.data import seed
from tests.support.live import rewind, rows, write_stream
from tests.support.plans import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_URL = "/api/v1/admin/live-stream"
STOP_URL = "/api/v1/admin/live-stream/stop"
START = AS_OF + timedelta(days=2, hours=7)  # a Tuesday morning in Europe


@pytest.fixture
def estate(make_plan):
    return seed(make_plan(applications=20, assets=400, deployments=500, events=0, seed=3))


def stream(rate: float, duration: int, *, seed: int = 9) -> tuple[SeedRun, int]:
    """A stream starting at START, claimed to be written here: (run, claim)."""
    run = live.live_stream_start(rate=rate, duration=duration, seed=seed, start=START)
    return run, seed_run_claim(run=run, resume=False)


#: Catch up with a clock that moves ``step`` seconds at a time to ``until`` seconds into the stream.
write = functools.partial(write_stream, start=START)


# --- what a stream writes --------------------------------------------------------------------------


def test_a_stream_writes_each_planned_event_once_at_its_time_whatever_the_ticks(estate):
    run, claim = stream(rate=4, duration=3 * 3_600)
    write(run, claim, until=600, step=1)  # tick by tick, then in larger catch-ups
    write(run, claim, until=run.window_seconds, step=97)
    run.refresh_from_db()
    first = rows(run)
    assert run.status == SeedRun.Status.RUNNING and run.written_until == run.as_of
    assert [row[0] for row in first] == list(range(run.events_id_base, run.events_id_base + run.events))
    assert run.events_done == run.events == 4 * 3 * 3_600
    assert min(row[-1] for row in first) >= run.window_start and max(row[-1] for row in first) < run.as_of
    assert not PendingEvent.objects.filter(run=run).exists()  # every episode ended within the window
    assert Event.objects.filter(seed_run=run, kind="incident").count() >= 4  # stories unfolded in it

    claim = rewind(run)
    write(run, claim, until=run.window_seconds, step=293)  # within SEED_LIVE_MAX_LAG_SECONDS
    assert rows(run) == first


def test_a_dense_stream_says_one_thing_at_a_time_of_a_host(estate):
    """In a history a failing host raises several events in a row (test_realism, trouble comes in runs),
    minutes apart; at 4 events a second a row falls in one second, four things said of one host at once.
    A stream's rows come from its incident stories instead: consecutive events on one host are rare."""
    run, claim = stream(rate=4, duration=3_600)
    write(run, claim, until=run.window_seconds, step=60)
    hosts = [row[1] for row in rows(run)]
    repeats = sum(a == b for a, b in pairwise(hosts))
    assert repeats < 0.05 * len(hosts), repeats  # in groups of four: about 40 % of them


def test_each_tick_writes_what_happened_in_it_and_episodes_wait_for_their_time(estate):
    run, claim = stream(rate=4, duration=3 * 3_600)
    write(run, claim, until=5_400, step=60)
    written_until = run.written_until
    assert not Event.objects.filter(seed_run=run, occurred_at__gte=written_until).exists()
    assert Event.objects.filter(seed_run=run, occurred_at__gte=written_until - timedelta(seconds=60)).exists()
    pending = PendingEvent.objects.filter(run=run)
    assert pending.exists() and not pending.filter(occurred_at__lt=written_until).exists()  # later story steps
    # An open incident: its record written, its resolution still to come.
    assert live_stream_figures(run)["open_incidents"] >= 1


def test_a_stopped_stream_writes_nothing_more_and_a_restart_goes_on_exactly_where_it_stopped(estate):
    run, claim = stream(rate=4, duration=2 * 3_600)
    write(run, claim, until=run.window_seconds, step=120)
    uninterrupted = rows(run)

    claim = rewind(run)
    write(run, claim, until=1_000, step=7)
    services.live_stream_stop(run=run)
    stopped_at = Event.objects.filter(seed_run=run).count()
    assert not live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + 1_200)
    assert Event.objects.filter(seed_run=run).count() == stopped_at  # nothing after the stop

    restarted = seed_run_claim(run=run, resume=True)  # within SEED_LIVE_MAX_LAG_SECONDS: it catches up
    assert restarted != claim
    write(run, restarted, since=1_100, until=run.window_seconds, step=150)
    assert not live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + 9_000)  # the old writer
    assert rows(run) == uninterrupted


def test_a_stream_taken_over_by_another_writer_writes_no_tick_twice(estate):
    run, claim = stream(rate=4, duration=3_600)
    write(run, claim, until=run.window_seconds, step=60)
    uninterrupted = rows(run)

    claim = rewind(run)
    write(run, claim, until=900, step=30)
    taken_over = services.seed_run_start  # the sweeper's way: the start message hands the stream on
    SeedRun.objects.filter(pk=run.pk).update(executor=SeedRun.Executor.WORKERS)
    assert taken_over(run_id=run.pk).startswith("handed on")
    run.refresh_from_db()
    assert not live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + 960)  # stands down
    write(run, run.claim, until=run.window_seconds, step=45)
    assert rows(run) == uninterrupted


def test_a_stream_far_behind_skips_ahead_and_records_the_gap(estate, settings):
    settings.SEED_LIVE_MAX_LAG_SECONDS = 300
    run, claim = stream(rate=4, duration=3_600)
    write(run, claim, until=run.window_seconds, step=60)
    uninterrupted = rows(run)

    claim = rewind(run)
    write(run, claim, until=600, step=60)
    write(run, claim, until=1_600, step=1_000)  # the writer was gone for 1,000 s
    write(run, claim, until=run.window_seconds, step=60)
    run.refresh_from_db()
    [(since, until, skipped)] = run.gaps
    gap_start, gap_end = START + timedelta(seconds=600), START + timedelta(seconds=1_599)
    assert since == gap_start.isoformat() and until == gap_end.isoformat()
    written = rows(run)
    assert not [row for row in written if gap_start <= row[-1] < gap_end]
    # What it wrote is what the uninterrupted stream wrote outside the gap, less the later steps of the
    # episodes that began in the gap (those never began).
    kept = [row for row in uninterrupted if not gap_start <= row[-1] < gap_end]
    assert set(written) <= set(kept) and len(kept) - len(written) < 0.01 * len(kept)
    assert abs(skipped - (len(uninterrupted) - len(kept))) <= 16  # about: an episode's steps happen later


# --- entry points ----------------------------------------------------------------------------------


class StandInTime:
    """The ``time`` module as the stream's follow loop sees it: sleeping moves the clock, at once."""

    perf_counter = staticmethod(time.perf_counter)

    def __init__(self):
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_command_streams_here_until_the_end(estate, monkeypatch, capsys):
    monkeypatch.setattr(live, "time", StandInTime())
    call_command("seed_demo_data", "--live", "--rate", "3", "--duration", "10m", "--seed", "4")
    run = SeedRun.objects.get(mode=SeedRun.Mode.LIVE)
    assert run.status == SeedRun.Status.SUCCEEDED and run.events_done == run.events == 1_800
    assert Event.objects.filter(seed_run=run).count() == 1_800
    assert f"Live stream #{run.pk} succeeded: 1,800 events written." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate", "5"], "--rate: --rate and --duration shape a live stream; add --live"),
        (["--live", "--duration", "5x"], "--duration: '5x' is not a duration such as 90s, 30m, 2h or 1d"),
        (["--live", "--rate", "0"], "--rate: must be a number of events per second from 0.01 to 5,000"),
        (["--live", "--duration", "30s"], "--duration: must be a whole number of seconds from 60 to 604,800"),
        (["--live", "--assets", "5"], "count flags: a live stream is shaped by --rate, --duration, --seed and"),
        (["--live", "--rate", "5000", "--duration", "7d"], "--rate: 5000 events a second for 604,800 s"),
        (["--stop-live"], "--stop-live: no live stream is running"),
    ],
)
def test_bad_live_flags_get_an_error_naming_the_flag_and_write_nothing(estate, flags, message):
    with pytest.raises(CommandError) as raised:
        call_command("seed_demo_data", *flags)
    assert message in str(raised.value)
    assert not SeedRun.objects.filter(mode=SeedRun.Mode.LIVE).exists()


def test_a_stream_needs_an_estate(db):
    with pytest.raises(CommandError, match="--live: a live stream needs assets in service"):
        call_command("seed_demo_data", "--live")
    assert not SeedRun.objects.exists()


def test_no_seeding_while_a_stream_runs(estate, make_plan):
    run, _ = stream(rate=1, duration=600)
    with pytest.raises(services.RunAlreadyActive):
        seed(make_plan(assets=5, applications=0, deployments=0, events=0))
    with pytest.raises(services.RunAlreadyActive):
        stream(rate=1, duration=600)
    services.live_stream_stop(run=run)


@pytest.fixture
def api(django_user_model):
    client = Client()
    client.force_login(make_user(django_user_model, "ops", staff=True, perms=BOTH))
    return client


def test_the_api_starts_shows_and_stops_a_stream_in_the_documented_shapes(estate, api):
    assert api.get(LIVE_URL).json() == {"stream": None, "recent_events": []}
    started = post(api, {"rate": 2.5, "duration": 600, "seed": 4}, url=LIVE_URL)
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["mode"] == "live" and body["status"] == "queued" and body["planned"]["events"] == 1_500
    assert body["live"]["rate"] == 2.5 and body["live"]["duration_seconds"] == 600
    assert started["Location"] == body["status_url"]
    run = SeedRun.objects.get(pk=body["id"])
    assert run.executor == SeedRun.Executor.WORKERS and run.source == SeedRun.Source.API

    assert post(api, {"rate": 1}, url=LIVE_URL).status_code == 409  # one stream (one run) at a time
    status = api.get(LIVE_URL).json()
    assert status["stream"]["id"] == run.pk and status["stream"]["live"]["lag_seconds"] is None  # queued

    stopped = post(api, {}, url=STOP_URL)
    assert stopped.status_code == 200 and stopped.json()["status"] == "cancelled"
    assert post(api, {}, url=STOP_URL).json()["code"] == "run_not_active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate": "fast"}, "rate"),
        ({"rate": 0}, "rate"),
        ({"duration": 59}, "duration"),
        ({"duration": 61.5}, "duration"),
        ({"rate": 5_000, "duration": 604_800}, "rate"),
        ({"scenario": "storm"}, "scenario"),
        ({"rate": 10, "speed": 2}, "speed"),
    ],
)
def test_bad_stream_requests_get_400_naming_the_field(estate, api, body, field):
    response = post(api, body, url=LIVE_URL)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not SeedRun.objects.filter(mode=SeedRun.Mode.LIVE).exists()


def test_the_stats_report_the_stream(estate, api):
    run, claim = stream(rate=4, duration=3_600)
    write(run, claim, until=300, step=60)
    stats = api.get("/api/v1/admin/demo-data-stats").json()
    assert stats["active_run"]["mode"] == "live" and stats["active_run"]["done"]["events"] == run.events_done > 0
    status = api.get(LIVE_URL).json()
    assert len(status["recent_events"]) == 20
    assert status["recent_events"][0]["occurred_at"] >= status["recent_events"][-1]["occurred_at"]


def test_the_admin_page_starts_shows_and_stops_a_stream(estate, api):
    page = api.get("/admin/seeding/seedrun/live/")
    assert page.status_code == 200 and b"Start the stream" in page.content
    started = api.post("/admin/seeding/seedrun/live/", {"rate": "3", "minutes": "30", "seed": "1", "_start": "1"})
    assert started.status_code == 302
    run = SeedRun.objects.get(mode=SeedRun.Mode.LIVE)
    assert run.events == 5_400 and run.source == SeedRun.Source.ADMIN
    page = api.get("/admin/seeding/seedrun/live/")
    assert b'name="_stop"' in page.content and b"Start the stream" not in page.content
    assert api.post("/admin/seeding/seedrun/live/", {"_stop": "1"}).status_code == 302
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED
    page = api.get(f"/admin/seeding/seedrun/{run.pk}/change/")  # the run's page: what next
    assert page.status_code == 200 and b"Resume" in page.content
    again = page.context["again_url"]
    assert again.startswith("/admin/seeding/seedrun/live/?") and "minutes=30" in again and "rate=3" in again


def test_the_admin_form_names_the_bad_field(estate, api):
    page = api.post("/admin/seeding/seedrun/live/", {"rate": "5000", "minutes": "10080", "seed": "1", "_start": "1"})
    assert page.status_code == 200
    assert page.context["form"].errors["rate"][0].startswith("5000 events a second for 604,800 s")
    assert not SeedRun.objects.filter(mode=SeedRun.Mode.LIVE).exists()
