"""The view of existing parents a run records when it is created (tests/test_runs.py is the run itself).

A stacked run records of the estate it lands on what it writes needs, not every pair the estate holds;
it reads that view, never the live tables, while it writes, so a person's edits (or a clear) around it
change nothing it writes.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Application, Asset, Deployment, Event
from seeding import plan as seed_plan
from seeding import services
from seeding.models import SeedRun
from seeding.services import runs as run_service
from tests.support.data import seed
from tests.support.plans import AS_OF, SMALL

pytestmark = pytest.mark.django_db(transaction=True)


def _stack_five(make_plan) -> tuple[int, list[tuple[int, int]]]:
    """Stack 5 deployments onto what is there; the pair rows its view records, and the deployments it wrote."""
    run = seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))
    recorded = run.parent_counts.get("pairs", 0)  # the view itself is dropped once the run succeeds
    return recorded, list(Deployment.objects.filter(seed_run=run).values_list("application", "asset"))


def test_a_stacked_run_records_the_pairs_of_the_applications_it_places_not_of_the_estate(make_plan):
    """Recording every existing deployment made a 5-deployment stack take minutes on plan L's estate.

    The same 5-deployment stack onto an estate ten times larger (applications,
    assets and deployments) records the pairs of the applications it places
    (at most five), not the estate's.
    """
    seed(make_plan(applications=5, assets=80, deployments=20, events=0))
    small, placed = _stack_five(make_plan)
    assert 0 < small == _existing_deployments_of(placed, stack=5) <= 20
    seed(make_plan(applications=45, assets=720, deployments=180, events=0, seed=2))  # ten times the estate
    assert Deployment.objects.count() == 205
    large, placed = _stack_five(make_plan)
    assert 0 < large == _existing_deployments_of(placed, stack=5) < 205
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(placed) == 5 and len(pairs) == len(set(pairs))


def _existing_deployments_of(placed: list[tuple[int, int]], *, stack: int) -> int:
    """How many deployments the applications of ``placed`` had before the stack (its last ``stack`` rows)."""
    applications = {application for application, _ in placed}
    assert len(applications) <= stack
    newest = Deployment.objects.order_by("-pk").values_list("pk", flat=True)[:stack]
    return Deployment.objects.filter(application__in=applications).exclude(pk__in=list(newest)).count()


def _statements(make_plan) -> list[str]:
    """The SQL a 5-deployment stack onto a small estate runs, from the request to the run's success."""
    seed(make_plan(applications=5, assets=80, deployments=20, events=0))
    with CaptureQueriesContext(connection) as queries:
        run = seed(make_plan(applications=0, assets=0, deployments=5, events=0, seed=11))
    assert run.total_done == 5
    return [query["sql"] for query in queries.captured_queries]


def test_a_stacked_run_reads_its_recorded_estate_back_once(make_plan):
    """The recorded assets grow with the estate: read back once per process, not once for the layout, again
    for the capacity check and again for the chunk (three times the cost on plan L's estate)."""
    whole = [sql for sql in _statements(make_plan) if re.search(r"kind = 'assets'\s+ORDER BY position", sql)]
    assert len(whole) == 1


def test_a_stacked_run_counts_taken_pairs_without_reading_every_pair(make_plan):
    """How many pairs each application takes comes from a GROUP BY on the unique (application, asset)
    index; pairs themselves are read only for the applications the run places deployments on."""
    by_application = [
        sql for sql in _statements(make_plan) if "inventory_deployment" in sql and "application_id" in sql
    ]
    assert by_application
    for sql in by_application:
        assert "GROUP BY application_id" in sql or re.search(r"WHERE d\.application_id (IN|= ANY)", sql), sql


# --- the view of existing parents a run records -----------------------------------------------------


def test_stacked_deployments_step_over_existing_pairs_and_stay_deterministic(make_plan):
    seed(make_plan(applications=6, assets=120, deployments=50, events=0))
    with pytest.raises(services.PlanError) as refused:  # the error names the free pairs left...
        seed(make_plan(applications=0, assets=0, deployments=300, events=0, seed=5))
    free = int(
        re.search(r"at most ([\d,]+): each application is deployed at most once per host", str(refused.value))
        .group(1)
        .replace(",", "")
    )
    assert free > 0
    stacked_plan = make_plan(applications=0, assets=0, deployments=free, events=0, seed=5)
    stacked = seed(stacked_plan)  # ...and exactly that many fit
    pairs = list(Deployment.objects.values_list("application", "asset"))
    assert len(pairs) == len(set(pairs)) == 50 + free

    def content(run) -> list[tuple]:
        return list(
            Deployment.objects.filter(seed_run=run)
            .order_by("pk")
            .values_list("application", "asset", "version", "environment", "status", "deployed_at")
        )

    first = content(stacked)
    services.demo_data_clear(run=stacked)
    assert content(seed(stacked_plan)) == first  # the same plan on the same inventory: the same rows
    with pytest.raises(services.PlanError, match="at most 0: each application is deployed at most once per host"):
        seed(make_plan(applications=0, assets=0, deployments=1, events=0))


def test_a_run_fixes_its_view_of_existing_parents_when_it_is_created(make_plan, settings):
    """A person editing the parents once the run exists changes nothing it writes, and no chunk reads them."""
    settings.SEED_WRITER_THREADS = 1  # every query on this connection, where the test can see it
    parents = seed(make_plan(deployments=0, events=0))
    plan = make_plan(applications=0, assets=0, deployments=0, events=2_000, seed=11)

    def events_of(run) -> list[tuple]:
        """The run's events; a ticket's number counted from the run's first key (it follows the keys, which
        the second run takes further on)."""
        base = run.id_base("events")
        rows = Event.objects.filter(seed_run=run).order_by("pk").values_list("asset", "kind", "message", "occurred_at")
        renumber = functools.partial(re.sub, r"(INC|CHG)(\d+)", lambda m: f"{m[1]}+{int(m[2]) - base}")
        return [(asset, kind, renumber(message), at) for asset, kind, message, at in rows]

    reference = seed(plan)
    expected = events_of(reference)
    services.demo_data_clear(run=reference)

    def person_edits_the_assets(run, chunk):
        if chunk is not None and chunk.index == 0:
            Asset.objects.filter(seed_run=parents).update(purchase_date=AS_OF.date())  # all bought "today"

    edited = services.seed_run_create(plan=plan)
    Asset.objects.filter(seed_run=parents).update(purchase_date=AS_OF.date() - timedelta(days=3))  # before it runs
    with CaptureQueriesContext(connection) as queries:  # writing, after the run was created
        services.seed_run_execute(run=edited, on_progress=person_edits_the_assets)  # ...and while it runs
    assert events_of(edited) == expected
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if '"inventory_asset"' in sql or '"inventory_deployment"' in sql]


def test_a_clear_just_before_a_run_is_created_is_a_plan_error_not_a_crash(make_plan, monkeypatch):
    seed(make_plan(deployments=0, events=0))
    real_record = run_service.record_parent_view

    # A clear committed by another process just before the view is taken: the rows are gone.
    def rows_vanish(**kwargs):
        Asset.objects.all().delete()
        Application.objects.all().delete()
        return real_record(**kwargs)

    monkeypatch.setattr(run_service, "record_parent_view", rows_vanish)
    with pytest.raises(services.PlanError) as caught:
        services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=100))
    assert caught.value.errors == {"events": "need assets: add some to the plan or to the database"}
    assert SeedRun.objects.count() == 1 and Asset.objects.count() == SMALL["assets"]  # all rolled back


def test_assets_bought_after_2038_do_not_overflow_the_view(make_plan, monkeypatch):
    # A base time in 2040 is more than a year ahead today: allowed as it will be once the clock gets there.
    monkeypatch.setattr(seed_plan, "AS_OF_MAX_AHEAD", timedelta(days=20 * 366))
    far = AS_OF.replace(year=2040)
    seed(make_plan(deployments=0, events=0, as_of=far))
    run = seed(make_plan(applications=0, assets=0, deployments=0, events=500, as_of=far.replace(month=12)))
    assert Event.objects.filter(seed_run=run).count() == 500


def test_runs_created_before_the_view_was_recorded_say_so_instead_of_resuming(make_plan):
    seed(make_plan(deployments=0, events=0))
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=100))
    services.seed_run_fail(run=run, error="stopped")
    SeedRun.objects.filter(pk=run.pk).update(parent_counts={})  # as migration 0004 leaves older runs
    run.refresh_from_db()
    with pytest.raises(services.RunNotResumable, match="created by an earlier version"):
        services.seed_run_execute(run=run, resume=True)


def test_events_stacked_onto_a_large_inventory_record_a_sample_of_it(make_plan, monkeypatch):
    from seeding.models import RunParent
    from seeding.persistence.parent_view import recording

    seed(make_plan(events=0))
    monkeypatch.setattr(recording, "VIEW_MIN_ROWS", 60)
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=20))
    counts = run.parent_counts
    refs = list(RunParent.objects.filter(run=run, kind="assets").order_by("position").values_list("ref", flat=True))
    assert counts["assets"] == 50 and refs == list(Asset.objects.order_by("pk").values_list("pk", flat=True))[::5]
    # The deployments recorded are those of the recorded assets, every 10th (600 in all, 60 at most).
    on_refs = list(Deployment.objects.filter(asset__in=refs).order_by("pk").values_list("pk", flat=True))
    recorded = RunParent.objects.filter(run=run, kind="deployments").order_by("position").values_list("ref", flat=True)
    assert list(recorded) == on_refs[::10] and counts["deployments"] == len(on_refs[::10])
    services.seed_run_execute(run=run)
    assert set(Event.objects.filter(seed_run=run).values_list("asset", flat=True)) <= set(refs)


@pytest.mark.postgres
def test_a_fresh_view_is_looked_up_by_position_through_its_index(make_plan):
    """Regression: with the view's rows not yet in the planner's statistics (autovacuum off or
    late), each chunk's lookup by position scanned the whole view per position: over a minute
    per chunk of an events-only run on plan 2xL's 200,000 deployments."""
    seed(make_plan(events=0))
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0, deployments=0, events=2_000))
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT position, ref FROM seeding_runparent WHERE run_id = %s AND kind = 'deployments' "
            "AND position = ANY(%s::bigint[])",
            [run.pk, list(range(0, 200, 3))],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert re.search(r"Index Cond: .*position", plan), plan
