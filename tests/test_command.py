"""`manage.py seed_demo_data`: flags, errors that name the flag, and output."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Application, Event
from seeding import services
from seeding.models import SeedRun
from seeding.selectors import seed_run_digest
from seeding.services import chunks as chunk_service
from tests.conftest import AS_OF, SMALL
from tests.helpers import counts

pytestmark = pytest.mark.django_db(transaction=True)

SMALL_FLAGS = [f"--{kind}={n}" for kind, n in SMALL.items()] + ["--as-of=2026-11-01T12:00:00Z", "--chunk-size=100"]
EMPTY = dict.fromkeys(SMALL, 0)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo_data", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seeds_the_plan_and_prints_a_summary():
    output = run(*SMALL_FLAGS, "--seed=3")
    assert counts() == SMALL
    run_row = SeedRun.objects.get()
    assert run_row.status == SeedRun.Status.SUCCEEDED and run_row.seed == 3
    assert run_row.source == SeedRun.Source.COMMAND
    assert f"Seed run #{run_row.pk} succeeded" in output
    assert re.search(r"events\s+2,500", output) and re.search(r"total\s+3,380", output)
    assert "rows/s" in output


def test_unspecified_counts_default_to_zero_once_one_is_given():
    run("--applications=5")
    assert counts() == {**EMPTY, "applications": 5}


def test_log_lines_when_not_on_a_terminal():
    output = run(*SMALL_FLAGS)
    assert re.search(r"run #\d+ events: 3,380/3,380 rows \(100%\), [\d,]+ rows/s", output)


def test_verbosity_zero_is_silent():
    assert run(*SMALL_FLAGS, "--verbosity=0") == ""
    assert counts() == SMALL


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--assets=-1"], "--assets"),
        (["--events=5", "--applications=-3"], "--applications"),
        (["--assets=10", "--seed=-5"], "--seed"),
        (["--assets=10", "--chunk-size=5"], "--chunk-size"),
        (["--assets=10", "--as-of=yesterday"], "--as-of"),
        (["--assets=10", "--as-of=2026-13-45"], "--as-of"),
        (["--deployments=10"], "--deployments"),
        (["--events=10"], "--events"),
        (["--applications=2", "--assets=2", "--deployments=5"], "--deployments"),
        (["--resume=999"], "--resume"),
        (["--clear-run=999"], "--clear-run"),
        (["--resume=1", "--assets=3"], "--resume"),
    ],
)
def test_bad_flags_name_the_flag_and_write_nothing(args, flag):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert flag in str(caught.value)
    assert counts() == EMPTY
    assert not SeedRun.objects.exists()


def test_non_integer_counts_are_rejected_by_the_parser():
    with pytest.raises(CommandError, match="--assets: invalid int value"):
        run("--assets=many")
    assert counts() == EMPTY


def test_total_over_the_cap_names_the_count_flags(settings):
    settings.SEED_MAX_TOTAL = 100
    with pytest.raises(CommandError, match=r"--events.*total.*limit is 100"):
        run("--assets=60", "--events=41")
    assert counts() == EMPTY


def test_dry_run_prints_the_plan_and_writes_nothing():
    output = run(*SMALL_FLAGS, "--dry-run")
    assert "nothing will be written" in output
    assert "35 chunks of up to 100 rows" in output
    assert "estimated time" in output
    assert counts() == EMPTY and not SeedRun.objects.exists()


def test_clear_alone_clears_demo_data_but_not_real_rows():
    run(*SMALL_FLAGS)
    Application.objects.create(
        code="REAL1", name="Real", vendor="Us", category="HR", version="1.0.0", owner_team="HR Systems", tier="tier_2"
    )
    output = run("--clear")
    assert "Cleared all demo data" in output and "2,500 events" in output
    assert counts() == {**EMPTY, "applications": 1}
    assert Application.objects.get().code == "REAL1"


def test_clear_then_seed_replaces_the_demo_data():
    run(*SMALL_FLAGS)
    run("--clear", "--applications=2", "--assets=3")
    assert counts() == {**EMPTY, "applications": 2, "assets": 3}


def test_clear_refusal_is_a_command_error():
    run(*SMALL_FLAGS)
    asset = Event.objects.first().asset
    Event.objects.create(asset=asset, kind="alert", severity="info", source="x", message="x", occurred_at=AS_OF)
    with pytest.raises(CommandError, match="not written by seeding"):
        run("--clear")


def test_digest_flag_prints_the_runs_digest():
    output = run(*SMALL_FLAGS, "--digest")
    digest = re.search(r"digest: ([0-9a-f]{64})", output).group(1)
    assert digest == seed_run_digest(SeedRun.objects.get())


def test_failed_run_reports_how_to_resume_and_resume_finishes_it(monkeypatch):
    real_write = chunk_service.write_rows

    def fail_on_events(model, columns, **kwargs):
        if model is Event:
            raise RuntimeError("lost the disk")
        return real_write(model, columns, **kwargs)

    monkeypatch.setattr(chunk_service, "write_rows", fail_on_events)
    with pytest.raises(CommandError) as caught:
        run(*SMALL_FLAGS)
    run_row = SeedRun.objects.get()
    message = str(caught.value)
    assert "lost the disk" in message and f"--resume {run_row.pk}" in message
    assert counts() == {**SMALL, "events": 0}

    monkeypatch.setattr(chunk_service, "write_rows", real_write)
    output = run(f"--resume={run_row.pk}")
    assert "succeeded" in output
    assert counts() == SMALL
    with pytest.raises(CommandError, match="already succeeded"):
        run(f"--resume={run_row.pk}")


def test_clear_run_deletes_one_runs_rows():
    run(*SMALL_FLAGS)
    first = SeedRun.objects.get()
    run("--applications=4", "--seed=2")
    output = run(f"--clear-run={first.pk}")
    assert f"run #{first.pk}'s demo data" in output
    assert counts() == {**EMPTY, "applications": 4}


def test_async_without_redis_is_refused_and_writes_nothing(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="--async: REDIS_URL is not set"):
        run("--assets=10", "--async")
    assert not SeedRun.objects.exists()


def test_without_redis_large_plans_run_inline(settings):
    settings.REDIS_URL = ""
    settings.SEED_INLINE_THRESHOLD = 10
    run("--assets=50")
    assert SeedRun.objects.get().executor == SeedRun.Executor.INLINE
    assert counts() == {**EMPTY, "assets": 50}


def test_with_a_broker_large_plans_are_queued_and_sync_forces_inline(settings):
    settings.REDIS_URL = settings.REDIS_URL or "redis://configured-for-this-test"  # the stub broker takes it
    settings.SEED_INLINE_THRESHOLD = 10
    output = run("--assets=50")
    queued = SeedRun.objects.get()
    assert queued.executor == SeedRun.Executor.WORKERS and queued.status == SeedRun.Status.QUEUED
    assert f"Seed run #{queued.pk} is queued" in output and "--wait" in output
    assert counts() == EMPTY
    with pytest.raises(CommandError, match="is queued; wait for it or cancel it"):
        run("--assets=5", "--sync")
    services.seed_run_cancel(run=queued)
    run("--assets=50", "--sync")
    assert counts() == {**EMPTY, "assets": 50}


def test_async_and_sync_exclude_each_other():
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("--assets=5", "--async", "--sync")
