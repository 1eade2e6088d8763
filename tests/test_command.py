"""`manage.py seed_demo_data`: flags, errors that name the flag, and output."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Application, Asset, Event
from seeding import services
from seeding.models import SeedChunk, SeedRun
from seeding.plan import SeedPlan
from seeding.selectors import seed_run_digest
from seeding.services import chunk_transaction as chunk_service
from tests.support.data import counts, seed, snapshot
from tests.support.faults import failing_writes
from tests.support.plans import AS_OF, SMALL

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
        (["--assets=10", "--as-of=0001-01-01T00:00:00Z"], "--as-of"),
        (["--assets=10", "--as-of=9999-01-01"], "--as-of"),
        (["--deployments=10"], "--deployments"),
        (["--events=10"], "--events"),
        (["--applications=2", "--assets=2", "--deployments=5"], "--deployments"),
        (["--resume=999"], "--resume"),
        (["--clear-run=999"], "--clear-run"),
        (["--resume=1", "--assets=3"], "--resume"),
        (["--assets=0"], "--applications/--assets/--deployments/--events"),
        (["--assets=0", "--events=0"], "--applications/--assets/--deployments/--events"),
        (["--clear", "--seed=3"], "--seed"),
        (["--clear", "--digest"], "--digest"),
        (["--assets=10", "--wait"], "--wait"),
        (["--assets=10", "--dry-run", "--digest"], "--digest"),
        (["--clear", "--events=10"], "--events"),  # refused before anything is cleared
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
    with pytest.raises(CommandError, match=r"--events: the plan asks for 101 items; the limit is 100"):
        run("--assets=60", "--events=41")
    assert counts() == EMPTY


def test_dry_run_prints_the_plan_and_writes_nothing():
    output = run(*SMALL_FLAGS, "--dry-run")
    assert "nothing will be written" in output
    assert "35 chunks of up to 100 rows, one transaction each, written here, in this process" in output
    assert counts() == EMPTY and not SeedRun.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--dry-run"],
        ["--clear", "--dry-run"],
        ["--clear", "--assets=5", "--dry-run"],
        ["--clear-run={first}", "--dry-run"],
        ["--resume={failed}", "--dry-run"],
    ],
)
def test_a_dry_run_never_writes_in_any_mode(args, monkeypatch):
    first, failed = a_succeeded_and_a_failed_run(monkeypatch)
    before = (snapshot(), list(SeedRun.objects.values()), SeedChunk.objects.count())

    output = run(*(arg.format(first=first.pk, failed=failed.pk) for arg in args))

    assert (snapshot(), list(SeedRun.objects.values()), SeedChunk.objects.count()) == before
    assert "Dry run" in output


def test_dry_runs_say_what_they_would_do():
    first = seed(SeedPlan(**SMALL, seed=3, as_of=AS_OF, chunk_size=100))
    assert (
        f"Dry run: would delete run #{first.pk}'s demo data: 30 applications, 250 assets, 600 deployments, "
        "2,500 events. Nothing was deleted." in run(f"--clear-run={first.pk}", "--dry-run")
    )
    output = run("--clear", "--events=100", "--assets=5", "--dry-run")
    assert "would first delete all demo data: 30 applications, 250 assets" in output
    output = run("--events=100", "--dry-run")
    assert "pointing at rows already in the database: 250 assets, 600 deployments" in output
    with pytest.raises(CommandError, match=f"--resume: seed run #{first.pk} already succeeded"):
        run(f"--resume={first.pk}", "--dry-run")


def test_a_dry_resume_says_what_is_left(monkeypatch):
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("lost the disk"))
    with pytest.raises(CommandError):
        run(*SMALL_FLAGS)
    monkeypatch.undo()
    failed = SeedRun.objects.get()
    output = run(f"--resume={failed.pk}", "--dry-run")
    assert f"would resume seed run #{failed.pk} (failed): 25 chunks with 2,500 rows left of 3,380" in output


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


def a_succeeded_and_a_failed_run(monkeypatch) -> tuple[SeedRun, SeedRun]:
    """A finished run, then one that failed in its events (resumable)."""
    succeeded = seed(SeedPlan(**SMALL, seed=3, as_of=AS_OF, chunk_size=100))
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("lost the disk"))
    with pytest.raises(services.RunFailed):
        seed(SeedPlan(assets=50, events=400, seed=4, as_of=AS_OF, chunk_size=100))
    monkeypatch.undo()
    return succeeded, SeedRun.objects.get(status=SeedRun.Status.FAILED)


def test_failed_run_reports_how_to_resume_and_resume_finishes_it(monkeypatch):
    real_write = chunk_service.write_rows
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes("lost the disk"))
    with pytest.raises(CommandError) as caught:
        run(*SMALL_FLAGS)
    run_row = SeedRun.objects.get()
    message = str(caught.value)
    assert "lost the disk" in message and f"--resume {run_row.pk}" in message
    assert counts() == {**SMALL, "events": 0}

    monkeypatch.setattr(chunk_service, "write_rows", real_write)
    output = run(f"--resume={run_row.pk}")
    assert "succeeded" in output and "2,500 of them now" in output  # the rate is of this invocation's rows
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
    with pytest.raises(CommandError, match="is queued; a new run can start once it has finished"):
        run("--assets=5", "--sync")
    services.seed_run_cancel(run=queued)
    run("--assets=50", "--sync")
    assert counts() == {**EMPTY, "assets": 50}


def test_async_and_sync_exclude_each_other():
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("--assets=5", "--async", "--sync")


# --- one request path: the same rules as the admin and the API -----------------------------------


def test_stacking_onto_existing_parents_works_from_the_command():
    run("--assets=40", "--applications=5", "--as-of=2026-11-01T12:00:00Z")
    output = run("--events=1000", "--as-of=2026-11-01T12:00:00Z")
    assert "succeeded" in output
    stacked = SeedRun.objects.order_by("pk").last()
    assert Event.objects.filter(seed_run=stacked).count() == 1_000
    assert set(Event.objects.values_list("asset__seed_run", flat=True)) == {stacked.pk - 1}


def test_as_of_with_an_offset_is_shown_in_utc():
    output = run("--assets=5", "--as-of=2026-11-01T00:00:00+05:00")
    assert "as of 2026-10-31T19:00:00Z" in output
    assert SeedRun.objects.get().as_of == datetime(2026, 10, 31, 19, tzinfo=UTC)
    dry = run("--assets=5", "--as-of=2026-11-01T00:00:00+05:00", "--dry-run")
    assert "as of 2026-10-31T19:00:00Z" in dry


def test_digest_of_a_queued_run_needs_wait(settings):
    settings.REDIS_URL = settings.REDIS_URL or "redis://configured-for-this-test"
    settings.SEED_INLINE_THRESHOLD = 10
    with pytest.raises(
        CommandError, match="--digest: a queued run's rows are written later by the workers; add --wait"
    ):
        run("--assets=50", "--digest")
    assert not SeedRun.objects.exists()


def test_wait_on_a_run_that_runs_here_is_refused(settings):
    settings.REDIS_URL = settings.REDIS_URL or "redis://configured-for-this-test"
    settings.SEED_INLINE_THRESHOLD = 100
    with pytest.raises(CommandError, match="--wait: this plan runs here"):
        run("--assets=50", "--wait")
    assert not SeedRun.objects.exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--clear-run={done}", "--seed=3"], "--seed"),
        (["--clear-run={done}", "--assets=3"], "count flags"),
        (["--resume={failed}", "--chunk-size=500"], "--chunk-size"),
        (["--resume={failed}", "--async"], "--async"),
        (["--resume={failed}", "--seed=9"], "--seed"),
        (["--resume={failed}", "--wait"], "--wait"),
        (["--resume={failed}", "--sync"], "--sync"),
        (["--resume={failed}", "--dry-run", "--digest"], "--digest"),
        (["--clear", "--deployments=10"], "--deployments"),  # needs applications, and clearing would leave none
    ],
)
def test_flags_that_do_not_apply_to_existing_runs_are_refused_and_change_nothing(args, flag, monkeypatch):
    done, failed = a_succeeded_and_a_failed_run(monkeypatch)
    before = (snapshot(), list(SeedRun.objects.values()))
    with pytest.raises(CommandError) as caught:
        run(*(arg.format(done=done.pk, failed=failed.pk) for arg in args))
    assert str(caught.value).startswith(flag)
    assert (snapshot(), list(SeedRun.objects.values())) == before


def test_the_dry_run_and_the_summary_say_what_company_the_assets_make():
    """The profile's shape, not independent counts: the dry run says it before, the summary after, and both
    are what was written (assets by type, people with a device of their own)."""
    plan = ("--applications=40", "--assets=3000", "--deployments=2000", "--events=0", "--seed=4", "--sync")
    preview = re.search(r"the assets, by the catalog's profile: (.+)", run(*plan, "--dry-run"))[1]
    summary = re.search(r"  the assets: (.+)", run(*plan))[1]
    assert preview == summary
    written = Counter(Asset.objects.values_list("asset_type", flat=True))
    people = Asset.objects.exclude(assigned_to="").values("assigned_to").distinct().count()
    labels = {value: f"{label.lower()}s" for value, label in Asset.Type.choices}
    said = {name: int(n.replace(",", "")) for n, name in re.findall(r"([\d,]+) ([a-z ]+?)(?= and |;|$| for)", summary)}
    assert said == {**{labels[value]: n for value, n in written.items()}, "people": people}
    # A company, not a server room: more laptops than servers, a few storage arrays, people with one or two.
    assert written["laptop"] > 3 * written["server"] and written["storage"] < 0.03 * sum(written.values())
    assert 1.2 < (written["laptop"] + written["desktop"]) / people < 2
