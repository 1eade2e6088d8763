"""The Streamlit monitor, through Streamlit's own AppTest: every page renders on seeded data, shows the
database's numbers, and says plainly when there is nothing to show or the database is down."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from django.db.models import Count
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from inventory.models import Asset, Event
from monitor import queries, rollups
from seeding import services
from seeding.messaging import broker_state
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.plan import SeedPlan
from seeding.selectors import inventory_counts
from tests.support.data import seed
from tests.support.paths import REPO
from tests.support.plans import AS_OF
from tests.support.processes import Workers
from tests.support.runs import finished, wait_for
from tests.support.waiting import wait_until

APP = str(REPO / "monitor" / "streamlit_app.py")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Streamlit's caches live as long as the process: each test starts without the last one's reads."""
    import streamlit as st

    st.cache_data.clear()
    queries.forget()
    yield
    queries.forget()


def run_app(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    if page is not None:
        app.switch_page(str(Path(APP).parent / "screens" / page))
        app.run()
    assert not app.exception, app.exception
    return app


def charts_shown(app: AppTest) -> list[tuple[pd.DataFrame, dict]]:
    """Every Vega-Lite chart the page drew: the data it was sent and its spec."""
    return [
        (convert_arrow_bytes_to_pandas_df(chart.proto.data.data), json.loads(chart.proto.spec))
        for chart in app.get("vega_lite_chart")
    ]


def test_the_overview_shows_the_databases_counts(make_plan):
    seed(make_plan())
    app = run_app()
    shown = {metric.label.lower(): metric.value for metric in app.metric}
    assert shown == {kind: f"{count['total']:,}" for kind, count in inventory_counts().items()}
    assert not app.info  # not the empty-estate message


def test_an_empty_database_says_how_to_seed_it():
    app = run_app()
    assert any("No demo data yet" in info.value and "seed_demo_data" in info.value for info in app.info)


def test_the_runs_page_lists_every_run_and_a_failed_runs_error(make_plan):
    seed(make_plan())
    failed = services.seed_run_create(plan=make_plan(applications=0, deployments=0, events=0, assets=10))
    from seeding.models import SeedRun

    SeedRun.objects.filter(pk=failed.pk).update(status=SeedRun.Status.FAILED, error="assets chunk 0 failed")
    app = run_app("runs.py")
    table = app.dataframe[0].value
    assert sorted(table["run"].tolist()) == sorted(SeedRun.objects.values_list("pk", flat=True))
    assert any(f"Run #{failed.pk} failed: assets chunk 0 failed" in error.value for error in app.error)


def test_an_unreachable_database_is_a_message_not_a_traceback(monkeypatch):
    def down():
        raise queries.Unreachable("connection refused")

    monkeypatch.setattr(queries, "estate_counts", down)
    app = run_app()
    assert any("cannot be reached" in error.value and "Retrying" in error.value for error in app.error)


def test_the_password_gate_holds(monkeypatch):
    monkeypatch.setenv("MONITOR_PASSWORD", "s3cret")
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.metric and app.text_input  # nothing but the password field
    assert [title.value for title in app.title] == ["demoseed monitor"]
    assert any("seed runs" in text.value and "password" in text.value for text in app.markdown)
    app.text_input[0].input("wrong").run()
    assert not app.metric and any("Wrong password" in error.value for error in app.error)
    app.text_input[0].input("s3cret").run()
    assert app.metric  # the overview


def test_rows_over_time_adds_up_the_chunks_and_shows_a_clear_as_a_drop(make_plan):
    seed(make_plan())
    history = queries.rows_over_time()
    assert history.iloc[0].sum() == 0 and history.iloc[-1].to_dict() == {
        kind: count["demo"] for kind, count in inventory_counts().items()
    }
    services.demo_data_clear()
    after = queries.rows_over_time()
    assert after.iloc[-1].sum() == 0 and after["events"].max() == make_plan().events
    assert len(queries.rows_over_time(max_points=2)) <= 4  # bounded however long the history


def test_the_estate_page_shows_the_databases_numbers(make_plan):
    seed(make_plan())
    app = run_app("estate.py")
    assert f"{Asset.objects.count():,} assets" in [header.value for header in app.subheader]
    incidents = app.dataframe[1].value  # after the most deployed applications
    assert incidents["host"].tolist() == [row["host"] for row in queries.latest_incidents()]
    assert len(incidents) == min(15, Event.objects.filter(kind="incident").count()) > 0
    by_severity = queries.events_per_day(queries.event_cells()).groupby("severity")["events"].sum().to_dict()
    assert by_severity == dict(Event.objects.values_list("severity").annotate(n=Count("id")))
    rhythm = queries.events_by_hour_and_weekday(queries.event_cells())
    assert len(rhythm) == 7 * 24 and rhythm["events"].sum() == Event.objects.count()


def test_event_counts_follow_new_chunks_a_clear_and_events_written_by_hand(make_plan):
    seed(make_plan())
    assert queries.event_cells()["events"].sum() == Event.objects.count()
    second = seed(make_plan(applications=0, assets=0, deployments=0, events=3_000))  # counted chunk by chunk
    assert queries.event_cells()["events"].sum() == Event.objects.count() == make_plan().events + 3_000
    services.demo_data_clear(run=second)
    assert queries.event_cells()["events"].sum() == Event.objects.count() == make_plan().events
    hand = Event.objects.first()
    Event.objects.create(
        asset=hand.asset,
        kind="alert",
        severity="critical",
        source="test",
        message="by hand",
        occurred_at=hand.occurred_at,
    )
    cells = queries.event_cells()
    assert cells["events"].sum() == Event.objects.count()
    assert cells[cells.severity == "critical"]["events"].sum() == Event.objects.filter(severity="critical").count()


def test_the_runs_page_shows_one_run_in_detail(make_plan):
    run = seed(make_plan())
    SeedChunkAttempt.objects.create(run=run, kind="events", index=1, attempts=2, last_error="connection reset")
    app = run_app("runs.py")
    chunks = SeedChunk.objects.filter(run=run)
    assert any(f"in {chunks.count():,} chunks" in caption.value for caption in app.caption)
    writers = app.dataframe[1].value
    assert writers["rows"].sum() == run.total_done and set(writers["process"]) == {c.written_by for c in chunks}
    assert writers["chunks"].sum() == chunks.count() and chunks.filter(seconds__isnull=True).count() == 0
    failed = app.dataframe[2].value
    assert failed["last_error"].tolist() == ["connection reset"] and failed["starts"].tolist() == [2]
    assert failed["committed"].tolist() == [True] and failed["cause"].tolist() == ["connection reset"]


def test_without_redis_the_workers_page_says_the_embedded_worker_does_the_work(monkeypatch, settings):
    assert broker_state.uses_redis() == bool(settings.REDIS_URL)
    monkeypatch.setattr(queries, "uses_redis", lambda: False)
    app = run_app("workers.py")
    assert any("No Redis here" in info.value and "embedded worker" in info.value for info in app.info)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_workers_page_shows_what_redis_holds_and_the_live_workers(settings, tmp_path):
    settings.SEED_INLINE_THRESHOLD = 0
    # A worker an earlier test stopped may still count as alive for a few seconds.
    with contextlib.suppress(AssertionError):  # the assertions below say what the page shows then
        wait_until(lambda: not broker_state.broker_state().live_workers, timeout=15, interval=0.2)
    run = services.seed_request(
        plan=SeedPlan(
            applications=10, assets=2_000, deployments=2_000, events=20_000, seed=3, as_of=AS_OF, chunk_size=1_000
        ),
        source=SeedRun.Source.API,
    ).run
    app = run_app("workers.py")
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Waiting"] == "1" and shown["Worker processes"] == "0"  # the start message; nobody to take it
    assert any("No worker process is alive" in warning.value for warning in app.warning)
    workers = Workers(tmp_path)
    workers.start(threads=2)
    try:
        workers.wait_ready(1)
        wait_for(run, finished, workers, timeout=90)
        assert SeedRun.objects.get(pk=run.pk).status == SeedRun.Status.SUCCEEDED, workers.logs()
        app = run_app("workers.py")
        shown = {metric.label: metric.value for metric in app.metric}
        assert shown["Worker processes"] == "1" and shown["Waiting"] == "0"
        processes = app.dataframe[1].value
        writers = set(SeedChunk.objects.filter(run=run).values_list("written_by", flat=True))
        assert writers <= set(processes["process"]), (writers, processes)
    finally:
        workers.stop_all()

    def named() -> set[str]:
        return {process.process for process in broker_state.broker_state().live_workers}

    # A worker that shuts down takes its name out; a killed one falls silent.
    wait_until(lambda: not writers & named(), timeout=15, interval=0.2, message=f"{writers} to leave the live workers")


@pytest.mark.postgres
def test_an_unreachable_redis_is_a_message_not_a_traceback(settings):
    assert settings.REDIS_URL, "runs in the pass with Redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    broker_state._client.cache_clear()
    try:
        app = run_app("workers.py")
    finally:
        broker_state._client.cache_clear()
    assert any("Redis cannot be reached" in error.value and "Retrying" in error.value for error in app.error)


def test_every_chart_is_valid_vega_lite(make_plan):
    """The pages draw plain specs without Altair's per-render validation; it runs here instead."""
    import altair as alt

    from monitor import charts

    run = seed(make_plan())
    chunks = queries.run_chunks(run.pk)
    cells = queries.event_cells()
    drawn = [
        charts.over_time(queries.rows_over_time(), "rows", "rows"),
        charts.over_time(queries.run_rate(chunks), "rate", "rows/s", area=True),
        charts.chunk_durations(chunks),
        charts.events_per_day(queries.events_per_day(cells)),
        charts.rhythm(queries.events_by_hour_and_weekday(cells)),
        charts.breakdown(queries.assets_by("location"), "location", "site"),
        charts.chunks_per_minute(queries.chunks_per_minute()),
    ]
    for data, spec in drawn:
        assert not data.empty
        fields = {encoding["field"] for encoding in spec["encoding"].values() if isinstance(encoding, dict)}
        assert fields <= set(data.columns) | {"severity_order"}, (fields, list(data.columns))
        alt.Chart.from_dict({**spec, "data": {"values": []}})  # raises on anything Vega-Lite does not know


T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def retime(run: SeedRun, first: dt.datetime, *, cleared: dt.datetime | None = None) -> dt.datetime:
    """Give a run's chunks commit times half a second apart from ``first`` (and its clear a time), so a test
    decides which minute each lands in; returns the last commit time."""
    at = first
    for pk in SeedChunk.objects.filter(run=run).order_by("id").values_list("pk", flat=True):
        SeedChunk.objects.filter(pk=pk).update(committed_at=at)
        at += dt.timedelta(seconds=0.5)
    if cleared is not None:
        SeedRun.objects.filter(pk=run.pk).update(cleared_at=cleared)
    return at - dt.timedelta(seconds=0.5)


@pytest.mark.parametrize(
    ("first", "cleared", "second"),
    [
        pytest.param(T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=20), T0 + dt.timedelta(seconds=21),
                     id="clear-and-reseed-in-one-minute"),
        pytest.param(T0 + dt.timedelta(seconds=50), T0 + dt.timedelta(seconds=75), T0 + dt.timedelta(seconds=110),
                     id="clear-and-reseed-across-minutes"),
    ],
)  # fmt: skip
def test_seeded_rows_over_time_never_go_below_zero_and_end_at_the_databases_counts(make_plan, first, cleared, second):
    """``make demo`` twice: a full clear, then the same plan again, shown on the Overview's chart."""
    plan = make_plan()
    retime(seed(plan), first)
    services.demo_data_clear()
    retime(SeedRun.objects.get(), first, cleared=cleared)
    retime(seed(plan), second)
    assert second.replace(second=0) == cleared.replace(second=0) or first.minute != second.minute
    app = run_app()
    [(data, spec)] = charts_shown(app)
    assert spec["encoding"]["x"]["field"] == "time" and data["rows"].min() >= 0, data[data["rows"] < 0]
    history = data.pivot_table(index="time", columns="series", values="rows")
    demo = {kind: count["demo"] for kind, count in inventory_counts().items()}
    assert history.iloc[-1].to_dict() == demo == {kind: getattr(plan, kind) for kind in demo}
    assert history.iloc[0].sum() == 0 and history["events"].max() == plan.events  # one run's worth at a time
    before_any_write = history[history.index < pd.Timestamp(first)]
    assert (before_any_write == 0).all().all()


@pytest.mark.parametrize("page", ["estate.py", None], ids=["estate-page", "queries"])
def test_the_estate_follows_a_full_clear_and_a_reseed_whose_keys_start_again(make_plan, page):
    """A full clear restarts the inventory's keys: the next run's chunks cover the same key ranges as the
    cleared run's, with other rows in them. Nothing the monitor kept of the cleared run may show."""
    seed(make_plan())
    run_app("estate.py")
    services.demo_data_clear()
    seed(make_plan(seed=8, as_of=AS_OF - dt.timedelta(days=40), events=1_500))
    assert Event.objects.order_by("pk").first().pk == 1  # the keys did restart
    app = run_app(page) if page else None
    if app is not None:
        per_day = next(data for data, _ in charts_shown(app) if "day" in data)
        days = pd.to_datetime(per_day["day"], utc=True).dt.strftime("%Y-%m-%d")
        truth = Event.objects.values_list("occurred_at", flat=True)
        assert (
            per_day.groupby(days)["events"].sum().to_dict()
            == pd.Series(1, index=pd.to_datetime(list(truth), utc=True).strftime("%Y-%m-%d"))
            .groupby(level=0)
            .sum()
            .to_dict()
        )
        by_severity = per_day.groupby("severity")["events"].sum().to_dict()
        assert by_severity == dict(Event.objects.values_list("severity").annotate(n=Count("id")))
        by_site = next(data for data, _ in charts_shown(app) if "location" in data)
        assert dict(zip(by_site["location"], by_site["assets"], strict=True)) == dict(
            Asset.objects.values_list("location").annotate(n=Count("id"))
        )
    cells = queries.event_cells()
    assert cells["events"].sum() == Event.objects.count() == 1_500
    hours = cells.groupby("hour")["events"].sum()
    truth = Event.objects.values_list("occurred_at", flat=True)
    assert (
        hours.to_dict()
        == pd.Series(1, index=pd.to_datetime(list(truth), utc=True).floor("h")).groupby(level=0).sum().to_dict()
    )
    live = SeedChunk.objects.filter(kind="events", run__cleared_at=None).count()
    assert len(rollups._chunks) == live  # the cleared run's chunks are pruned from what is kept


def test_a_resumed_runs_time_leaves_out_the_pause_before_its_resume(make_plan):
    """Written for 2 s, stopped for an hour, resumed and written for 3 s more: it took 5 s, not an hour."""
    run = seed(make_plan())
    start = run.finished_at - dt.timedelta(hours=1, seconds=5)
    resumed = run.finished_at - dt.timedelta(seconds=3)
    SeedRun.objects.filter(pk=run.pk).update(
        started_at=start, resumed_at=resumed, written_before=dt.timedelta(seconds=2), resumes=1
    )
    runs = run_app("runs.py").dataframe[0].value
    assert runs.set_index("run").loc[run.pk, "took s"] == pytest.approx(5.0)
    queries.forget()


def test_no_table_shows_a_literal_none(make_plan, monkeypatch):
    """An ended run has no ETA, a writer may have no recorded duration: those cells show a dash, never "None"."""
    run = seed(make_plan())
    SeedChunk.objects.filter(run=run, kind="events").update(seconds=None)
    monkeypatch.setattr(queries, "uses_redis", lambda: False)
    tables = [table for page in ("runs.py", "workers.py", "estate.py") for table in run_app(page).dataframe]
    with_gaps = [table for table in tables if table.value.isna().any().any()]
    assert with_gaps  # the runs table's ETA at least
    for table in with_gaps:
        assert table.proto.placeholder == "-", table.value.columns.tolist()


@pytest.mark.parametrize(
    "span",
    [dt.timedelta(seconds=s) for s in (0.4, 3, 8, 45, 100, 200, 1_000, 3_000, 7_000, 40_000, 100_000, 250_000)],
    ids=str,
)
def test_a_time_axis_labels_every_tick_once_and_not_too_many(span):
    """Ticks fall within the times shown; each label is different, and few enough to fit."""
    from monitor import charts

    start = T0 + dt.timedelta(seconds=17.3)
    times = pd.Series(pd.to_datetime([start, start + span], utc=True))
    axis = charts.time_axis(times)
    names = {"date": "day", "hours": "hour", "minutes": "minute", "seconds": "second"}
    ticks = pd.DatetimeIndex(
        [pd.Timestamp(**{names.get(k, k): v for k, v in t.items() if k != "utc"}, tz="UTC") for t in axis["values"]]
    )
    assert all(tick["utc"] for tick in axis["values"])
    assert ticks.min() >= times.min().floor("s") and ticks.max() <= times.max()
    labels = [tick.strftime(axis["format"]) for tick in ticks]
    assert 1 <= len(labels) <= charts.MAX_TICKS, labels
    assert len(set(labels)) == len(labels), labels


def test_the_rate_of_a_run_that_commits_in_bursts_is_steady_not_a_sawtooth():
    """Two worker threads commit a chunk each at about the same time, every 3 s: 20,000 rows per 3 s."""
    commits = [T0 + dt.timedelta(seconds=3 * burst + 0.1 * thread) for burst in range(40) for thread in (0, 1)]
    chunks = pd.DataFrame(
        {"committed_at": pd.to_datetime(commits, utc=True), "kind": "events", "index": range(80), "rows": 10_000}
    )
    rate = queries.run_rate(chunks)["rows/s"]
    steady = 20_000 / 3
    assert rate.iloc[1:].between(0.75 * steady, 1.25 * steady).all(), rate.round().tolist()
    assert rate.index.max() == chunks["committed_at"].max()  # the newest slice ends at the newest commit


def test_the_chunks_per_minute_chart_says_which_processes_are_workers(make_plan, monkeypatch):
    inline = seed(make_plan())
    queued = seed(make_plan(applications=0, assets=0, deployments=0, events=300))
    SeedRun.objects.filter(pk=queued.pk).update(executor=SeedRun.Executor.WORKERS)
    SeedChunk.objects.filter(run=queued).update(written_by="worker-host:4242")
    monkeypatch.setattr(queries, "uses_redis", lambda: False)
    app = run_app("workers.py")
    [(data, spec)] = charts_shown(app)
    command = SeedChunk.objects.filter(run=inline).values_list("written_by", flat=True).first()
    assert set(data["process"]) == {f"command {command}", "worker worker-host:4242"}
    assert spec["encoding"]["color"]["scale"]["domain"][0] == "worker worker-host:4242"  # workers first, in blues
    assert any("worker processes" in caption.value.lower() for caption in app.caption)


def test_the_overview_follows_a_live_stream_by_its_events_times(make_plan):
    """A running stream: its rate over the last minute of its events (not how fast it caught up), how far
    behind, the open incidents, and its latest events, newest first."""
    from datetime import timedelta

    from seeding.selectors import live_stream_figures
    from seeding.services import live
    from seeding.services.runs import seed_run_claim

    seed(make_plan(applications=20, assets=400, deployments=500, events=0, seed=3))
    start = AS_OF + timedelta(days=2, hours=7)
    run = live.live_stream_start(rate=6, duration=3_600, seed=2, start=start)
    claim = seed_run_claim(run=run, resume=False)
    for second in (240, 480, 720, 960, 1_200):  # each catch-up at most SEED_LIVE_MAX_LAG_SECONDS behind
        assert live.live_stream_catch_up(run=run, claim=claim, now=start.timestamp() + second)
    app = run_app()
    assert app.subheader[0].value == f"Live stream #{run.pk}: running"
    shown = {metric.label: metric.value for metric in app.metric}
    assert 3 < float(shown["Events/s, last minute"]) < 12  # about 6 a second, whenever they were committed
    assert shown["Events written"] == f"{Event.objects.filter(seed_run=run).count():,}"
    assert shown["Changes rolling out"] == f"{live_stream_figures(run)['open_changes']:,}"
    table = app.dataframe[0].value
    assert list(table.columns) == ["time", "host", "kind", "severity", "message"] and len(table) == 12
    assert table["time"].is_monotonic_decreasing
    services.live_stream_stop(run=run)
