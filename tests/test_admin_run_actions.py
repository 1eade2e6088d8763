"""Resume, Clear, Cancel and Delete on the admin's seed runs.

The admin takes the command's paths (``--resume``, ``--clear-run``, ``--clear``):
the same previews, the same service calls, the same refusals. Expected numbers
are read from the database, never written down here.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import dramatiq
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import Event
from seeding import services
from seeding.common.formatting import duration
from seeding.estimates import estimate_pending
from seeding.generation.kinds import KINDS
from seeding.models import AuditEntry, SeedChunkAttempt, SeedRun
from seeding.persistence.tables import MODELS
from seeding.services.runs import recover_abandoned_runs
from tests.support.data import cancelled_run, counts, seed
from tests.support.pages import text
from tests.support.plans import AS_OF, SMALL
from tests.support.processes import Workers
from tests.support.runs import finished, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LIST = "admin:seeding_seedrun_changelist"


def page_of(run: SeedRun) -> str:
    return reverse("admin:seeding_seedrun_change", args=[run.pk])


def resume_url(run: SeedRun) -> str:
    return reverse("admin:seeding_seedrun_resume", args=[run.pk])


def clear_url(run: SeedRun) -> str:
    return reverse("admin:seeding_seedrun_clear", args=[run.pk])


CLEAR_ALL = "admin:seeding_seedrun_clear_all"


def rows_of(run: SeedRun) -> dict[str, int]:
    return {kind: MODELS[kind].objects.filter(seed_run=run).count() for kind in KINDS}


def left_of(run: SeedRun) -> dict[str, int]:
    return {kind: run.planned(kind) - run.done(kind) for kind in KINDS}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def viewer(client, django_user_model):
    """Staff who may look at runs but lacks "Can seed and clear demo data"."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_seedrun"), Permission.objects.get(codename="delete_seedrun")
    )
    client.force_login(user)
    return client


# --- the run's page says what can be done next ------------------------------------------------------


def test_a_cancelled_runs_page_offers_resume_clear_and_run_again(admin_client, make_plan):
    run = cancelled_run(make_plan())
    page = admin_client.get(page_of(run))
    html, words = page.content.decode(), text(page)
    assert f'href="{resume_url(run)}"' in html and f'href="{clear_url(run)}"' in html
    left = run.total_planned - run.total_done
    assert f"Resume writes the {left:,} rows left" in words
    assert f"Clear its rows deletes the {run.total_done:,} rows it wrote" in words
    again = re.search(r'href="([^"]*/seed/\?[^"]*)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(again).query)
    assert {kind: int(query[kind][0]) for kind in KINDS} == {kind: run.planned(kind) for kind in KINDS}
    assert int(query["seed"][0]) == run.seed


def test_the_seed_page_opens_with_the_plan_run_again_links_to(admin_client):
    page = admin_client.get(reverse("admin:seeding_seedrun_seed") + "?applications=2&assets=7&events=0&seed=9")
    form = page.context["form"]
    assert (form["applications"].value(), form["assets"].value(), form["seed"].value()) == ("2", "7", "9")


def test_a_succeeded_runs_page_offers_clear_not_resume(admin_client, make_plan):
    run = seed(make_plan())
    html = admin_client.get(page_of(run)).content.decode()
    assert f'href="{clear_url(run)}"' in html and f'href="{resume_url(run)}"' not in html


def test_an_active_runs_page_has_a_cancel_button(admin_client, make_plan):
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    cancel = reverse("admin:seeding_seedrun_cancel", args=[run.pk])
    assert f'formaction="{cancel}"'.encode() in admin_client.get(page_of(run)).content
    assert admin_client.post(cancel)["Location"] == page_of(run)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED


# --- resume ------------------------------------------------------------------------------------------


def test_the_resume_confirmation_says_what_is_left_and_that_it_runs_here(admin_client, make_plan):
    run = cancelled_run(make_plan())
    words = text(admin_client.get(resume_url(run)))
    left = left_of(run)
    chunks = len(services.seed_run_resume_preview(run=run))
    assert f"{chunks:,} chunks with {sum(left.values()):,} rows left of {run.total_planned:,}" in words
    assert left["applications"] == 0  # what a cancelled run has left: only the kinds with rows are named
    named = ", ".join(f"{left[kind]:,} {kind}" for kind in KINDS if left[kind])
    assert f"rows left of {run.total_planned:,}: {named} ." in words  # text() spaces the <strong> out
    assert "written in this request" in words


def test_posting_the_resume_confirmation_finishes_the_run_with_exact_counts(admin_client, make_plan):
    run = cancelled_run(make_plan())
    response = admin_client.post(resume_url(run), follow=True)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and run.error == ""
    assert counts() == SMALL and rows_of(run) == SMALL
    assert response.redirect_chain[-1][0] == page_of(run)
    assert f"Seed run #{run.pk} resumed and succeeded" in " ".join(messages_of(response))
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.RESUMED).get()
    assert (entry.source, entry.actor.username, entry.run_id) == ("admin", "admin", run.pk)


def test_a_resume_over_the_inline_threshold_is_queued_and_said_so(admin_client, make_plan, settings, broker):
    run = cancelled_run(make_plan())
    settings.SEED_INLINE_THRESHOLD = run.total_planned - run.total_done - 1
    assert "queued for the background workers" in text(admin_client.get(resume_url(run)))
    done_before = counts()
    response = admin_client.post(resume_url(run), follow=True)
    run.refresh_from_db()
    assert run.executor == SeedRun.Executor.WORKERS and run.is_active and run.task_id
    assert counts() == done_before  # the request wrote nothing: the workers will
    assert "queued for the workers" in " ".join(messages_of(response))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RESUMED, source="admin").count() == 1


@pytest.mark.stub
def test_a_queued_resume_is_finished_by_the_embedded_worker_with_fresh_attempts(
    admin_client, make_plan, settings, stub_broker
):
    """A worker run that gave up on a chunk: resumed from the admin, each chunk left gets its attempts again."""
    run = services.seed_run_create(plan=make_plan(), executor=SeedRun.Executor.WORKERS)
    SeedChunkAttempt.objects.create(run=run, kind="events", index=0, attempts=3, last_error="IntegrityError: x")
    services.seed_run_fail(run=run, error="events chunk 0 failed 3 times (IntegrityError); committed chunks are kept")
    settings.SEED_INLINE_THRESHOLD = 100
    admin_client.post(resume_url(run))
    worker = dramatiq.Worker(stub_broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        stub_broker.join(settings.SEED_QUEUE, fail_fast=True)
        worker.join()
    finally:
        worker.stop()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == SMALL and {kind: run.done(kind) for kind in KINDS} == SMALL
    assert SeedChunkAttempt.objects.get(run=run, kind="events", index=0).last_error == "IntegrityError: x"


@pytest.mark.slow
@pytest.mark.postgres
def test_a_queued_resume_is_finished_by_a_real_worker(admin_client, make_plan, settings, tmp_path):
    run = cancelled_run(make_plan())
    settings.SEED_INLINE_THRESHOLD = 100
    admin_client.post(resume_url(run))
    run.refresh_from_db()
    assert run.is_active and run.executor == SeedRun.Executor.WORKERS
    workers = Workers(tmp_path)
    try:
        workers.start()
        wait_for(run, finished, workers)
    finally:
        workers.stop_all()
    assert run.status == SeedRun.Status.SUCCEEDED, f"{run.status}: {run.error}\n{workers.logs()}"
    assert counts() == SMALL and rows_of(run) == SMALL


def test_resuming_a_run_that_cannot_be_resumed_says_why(admin_client, make_plan):
    run = seed(make_plan())
    response = admin_client.get(resume_url(run), follow=True)
    assert response.redirect_chain[-1][0] == page_of(run)
    assert messages_of(response) == [f"Seed run #{run.pk} already succeeded; there is nothing left to write."]
    response = admin_client.post(resume_url(run), follow=True)
    assert messages_of(response) == [f"Seed run #{run.pk} already succeeded; there is nothing left to write."]


# --- clear -------------------------------------------------------------------------------------------


def test_the_clear_confirmation_counts_the_rows_by_kind(admin_client, make_plan):
    run = cancelled_run(make_plan())
    words = text(admin_client.get(clear_url(run)))
    rows = rows_of(run)
    assert f"{sum(rows.values()):,} rows" in words
    assert ", ".join(f"{rows[kind]:,} {kind}" for kind in KINDS if rows[kind]) in words


def test_posting_the_clear_confirmation_deletes_the_rows_and_marks_the_run(admin_client, make_plan):
    other = seed(make_plan(applications=3, assets=0, deployments=0, events=0, seed=2))
    run = cancelled_run(make_plan())
    deleted = rows_of(run)
    response = admin_client.post(clear_url(run), follow=True)
    run.refresh_from_db()
    assert run.cleared_at is not None and rows_of(run) == dict.fromkeys(KINDS, 0)
    assert rows_of(other) == {"applications": 3, "assets": 0, "deployments": 0, "events": 0}
    deleted_text = ", ".join(f"{deleted[k]:,} {k}" for k in KINDS if deleted[k])
    assert f"Cleared seed run #{run.pk}'s rows: {deleted_text}" in " ".join(messages_of(response))
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLEARED).get()
    assert (entry.source, entry.actor.username, entry.run_id) == ("admin", "admin", run.pk)
    # Once cleared, the page says so and offers neither resume nor clear.
    html = admin_client.get(page_of(run)).content.decode()
    assert f'href="{resume_url(run)}"' not in html and f'href="{clear_url(run)}"' not in html


def test_clearing_all_demo_data_from_the_list(admin_client, make_plan):
    first, second = seed(make_plan(seed=1)), cancelled_run(make_plan(seed=2))
    expected = {kind: rows_of(first)[kind] + rows_of(second)[kind] for kind in KINDS}
    listing = admin_client.get(reverse(LIST)).content.decode()
    assert f'href="{reverse(CLEAR_ALL)}"' in listing
    words = text(admin_client.get(reverse(CLEAR_ALL)))
    assert ", ".join(f"{expected[kind]:,} {kind}" for kind in KINDS) in words
    admin_client.post(reverse(CLEAR_ALL))
    assert counts() == dict.fromkeys(KINDS, 0)
    assert not SeedRun.objects.filter(cleared_at=None).exists()
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLEARED).get()
    assert (entry.source, entry.actor.username, entry.run_id) == ("admin", "admin", None)


def test_a_refused_clear_says_why_and_deletes_nothing(admin_client, make_plan):
    run = seed(make_plan())
    asset = MODELS["assets"].objects.filter(seed_run=run).first()
    Event.objects.create(asset=asset, kind="alert", severity="info", source="x", message="x", occurred_at=AS_OF)
    page = admin_client.get(clear_url(run))
    assert "1 events of other runs or people refer to the assets to delete" in text(page)
    assert b'type="submit"' not in re.search(rb'<div id="content-main">.*', page.content, re.S).group(0)
    response = admin_client.post(clear_url(run), follow=True)
    assert "refer to the assets to delete; delete or re-point them first" in " ".join(messages_of(response))
    assert rows_of(run) == SMALL


# --- list actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "url"), [("resume_run", resume_url), ("clear_run_rows", clear_url)])
def test_the_list_actions_lead_to_the_confirmation(admin_client, make_plan, action, url):
    run = cancelled_run(make_plan())
    response = admin_client.post(reverse(LIST), {"action": action, ACTION_CHECKBOX_NAME: [run.pk]})
    assert response.status_code == 302 and response["Location"] == url(run)
    other = seed(make_plan(applications=2, assets=0, deployments=0, events=0, seed=5))
    response = admin_client.post(reverse(LIST), {"action": action, ACTION_CHECKBOX_NAME: [run.pk, other.pk]})
    assert response.status_code == 302 and response["Location"] == reverse(LIST)


# --- permission ---------------------------------------------------------------------------------------


def test_staff_without_the_seeding_permission_can_neither_resume_nor_clear(viewer, make_plan):
    run = cancelled_run(make_plan())
    for url in (
        resume_url(run),
        clear_url(run),
        reverse(CLEAR_ALL),
        reverse("admin:seeding_seedrun_cancel", args=[run.pk]),
    ):
        assert viewer.get(url).status_code == 403
        assert viewer.post(url).status_code == 403
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and run.cleared_at is None and rows_of(run) != {}
    page = viewer.get(page_of(run))
    html = page.content.decode()
    assert f'href="{resume_url(run)}"' not in html and f'href="{clear_url(run)}"' not in html
    assert "Can seed and clear demo data" in text(page)
    actions = viewer.get(reverse(LIST)).context["action_form"].fields["action"].choices
    assert not {"resume_run", "clear_run_rows", "cancel_runs", "run_again"} & {name for name, _ in actions}
    assert reverse(CLEAR_ALL).encode() not in viewer.get(reverse(LIST)).content


# --- delete (item 6) ----------------------------------------------------------------------------------


def test_deleting_runs_that_still_have_rows_says_to_clear_them_first(admin_client, make_plan):
    run = cancelled_run(make_plan())
    response = admin_client.post(
        reverse(LIST), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [run.pk]}, follow=True
    )
    assert b"permission" not in response.content
    [message] = messages_of(response)
    assert f"#{run.pk} still has its rows" in message and "clear them first" in message
    assert f'href="{clear_url(run)}"' in message
    assert SeedRun.objects.filter(pk=run.pk).exists()
    other = seed(make_plan(applications=2, assets=0, deployments=0, events=0, seed=5))
    response = admin_client.post(
        reverse(LIST), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [run.pk, other.pk]}, follow=True
    )
    [message] = messages_of(response)
    assert f"#{run.pk}, #{other.pk} still have their rows" in message
    assert f'href="{reverse(CLEAR_ALL)}"' in message  # one run's rows may be another's parents
    assert SeedRun.objects.count() == 2


def test_a_cleared_run_can_be_deleted_and_the_audit_keeps_its_number(admin_client, make_plan):
    run = cancelled_run(make_plan())
    admin_client.post(clear_url(run))
    confirm = admin_client.post(reverse(LIST), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [run.pk]})
    assert confirm.status_code == 200 and b"Are you sure you want to delete the selected seed run?" in confirm.content
    admin_client.post(reverse(LIST), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [run.pk], "post": "yes"})
    assert not SeedRun.objects.filter(pk=run.pk).exists()
    assert set(AuditEntry.objects.values_list("action", "run_number", "run_id")) == {
        ("seeded", run.pk, None),
        ("cancelled", run.pk, None),
        ("cleared", run.pk, None),
    }


# --- the list's header and percent (item 8b) ---------------------------------------------------------


def test_the_list_header_shows_no_sort_priority(admin_client, make_plan):
    seed(make_plan())
    assert b"sortpriority" not in admin_client.get(reverse(LIST)).content


@pytest.mark.parametrize("done_events", [1_410, 2_499])  # 58.87 % and 99.97 % of 3,380 rows
def test_the_list_and_the_page_show_the_same_floored_percent(admin_client, make_plan, done_events):
    run = seed(make_plan())
    SeedRun.objects.filter(pk=run.pk).update(events_done=done_events, status=SeedRun.Status.FAILED)
    run.refresh_from_db()
    floored = run.total_done * 100 // run.total_planned
    assert f"({floored}%)" in text(admin_client.get(reverse(LIST)))
    assert f"({floored}%)" in text(admin_client.get(page_of(run)))


# --- what people are told, and how long a resume will take --------------------------------------------


def test_an_abandoned_runs_error_names_the_admins_resume_and_the_readmes_command(admin_client, make_plan, settings):
    run = services.seed_run_create(plan=make_plan())
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.RUNNING)
    settings.SEED_ABANDONED_AFTER_SECONDS = 0  # no progress "for too long"
    recover_abandoned_runs()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED
    assert "Resume on its page in the admin" in run.error
    assert f".venv/bin/python backend/manage.py seed_demo_data --resume {run.pk}" in run.error
    assert run.error in text(admin_client.get(page_of(run)))


def test_a_run_too_old_to_resume_names_the_admins_clear_and_the_readmes_command(admin_client, make_plan):
    seed(make_plan(deployments=0, events=0))
    run = services.seed_run_create(plan=make_plan(applications=0, assets=0))  # pointing at those
    services.seed_run_cancel(run=run)
    SeedRun.objects.filter(pk=run.pk).update(parent_counts={})  # as an earlier version left it
    run.refresh_from_db()
    words = text(admin_client.get(page_of(run)))
    assert (
        f"Clear its rows on its page in the admin, or .venv/bin/python backend/manage.py seed_demo_data "
        f"--clear-run {run.pk}" in words
    )


@pytest.mark.parametrize("queued", [False, True], ids=["inline", "queued"])
def test_the_resume_confirmation_says_how_long_on_the_path_it_takes(admin_client, make_plan, settings, broker, queued):
    run = cancelled_run(make_plan())
    left = services.seed_run_resume_preview(run=run)
    if queued:
        settings.SEED_INLINE_THRESHOLD = sum(chunk.rows for chunk in left) - 1
    words = text(admin_client.get(resume_url(run)))
    expected = estimate_pending(left, queued=queued, chunk_size=run.chunk_size)
    assert f"It should take about {duration(expected.seconds)} ({expected.basis})." in words
    assert expected.path.describe() in words
