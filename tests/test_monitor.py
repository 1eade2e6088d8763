"""The Streamlit monitor, through Streamlit's own AppTest: every page renders on seeded data, shows the
database's numbers, and says plainly when there is nothing to show or the database is down."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from monitor import queries
from seeding import services
from seeding.selectors import inventory_counts
from tests.helpers import seed

APP = str(Path(__file__).resolve().parent.parent / "monitor" / "streamlit_app.py")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Streamlit's caches live as long as the process: each test starts without the last one's reads."""
    import streamlit as st

    st.cache_data.clear()


def run_app(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    if page is not None:
        app.switch_page(str(Path(APP).parent / "pages" / page))
        app.run()
    assert not app.exception, app.exception
    return app


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
