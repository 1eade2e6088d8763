"""The admin's seed page and actions: same validation, same routing, same services."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from seeding import services
from seeding.models import SeedRun
from tests.support.data import counts, seed
from tests.support.paths import REPO

pytestmark = pytest.mark.django_db(transaction=True)

SEED_PAGE = "admin:seeding_seedrun_seed"
FORM = {"applications": 3, "assets": 20, "deployments": 10, "events": 100, "seed": 4}


def test_the_list_links_to_the_seed_page(admin_client):
    response = admin_client.get(reverse("admin:seeding_seedrun_changelist"))
    assert reverse(SEED_PAGE).encode() in response.content


def test_a_small_plan_runs_inline_and_redirects_to_the_run(admin_client):
    response = admin_client.post(reverse(SEED_PAGE), FORM)
    run = SeedRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:seeding_seedrun_change", args=[run.pk]
    )
    assert run.status == SeedRun.Status.SUCCEEDED and run.source == SeedRun.Source.ADMIN
    assert counts() == {k: v for k, v in FORM.items() if k != "seed"}
    page = admin_client.get(response["Location"])
    assert b"succeeded" in page.content and b"wrote 133 rows" in page.content


def test_a_large_plan_is_queued(admin_client, settings):
    settings.SEED_INLINE_THRESHOLD = 50
    admin_client.post(reverse(SEED_PAGE), FORM)
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.QUEUED and run.executor == SeedRun.Executor.WORKERS
    page = admin_client.get(reverse("admin:seeding_seedrun_change", args=[run.pk]))
    assert b'http-equiv="refresh"' in page.content  # follows progress while active


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({**FORM, "assets": -1}, "assets", "greater than or equal to 0"),
        ({**FORM, "assets": "many"}, "assets", "Enter a whole number"),
        ({**FORM, "assets": 0, "applications": 0}, "deployments", "need applications"),
        ({**FORM, "seed": -2}, "seed", "greater than or equal to 0"),
    ],
)
def test_bad_input_shows_the_field_error_and_writes_nothing(admin_client, data, field, text):
    response = admin_client.post(reverse(SEED_PAGE), data)
    assert response.status_code == 200
    assert text in str(response.context["form"].errors[field])
    assert not SeedRun.objects.exists()


def test_total_over_the_cap_is_a_form_error(admin_client, settings):
    settings.SEED_MAX_TOTAL = 100
    response = admin_client.post(reverse(SEED_PAGE), FORM)
    assert "limit is 100" in str(response.context["form"].non_field_errors())


def test_an_active_run_blocks_the_form_with_a_clear_error(admin_client, settings):
    settings.SEED_INLINE_THRESHOLD = 50
    admin_client.post(reverse(SEED_PAGE), FORM)
    active = SeedRun.objects.get()
    response = admin_client.post(reverse(SEED_PAGE), FORM)
    assert response.status_code == 200
    page = response.content.decode()
    # One explanation, with a link to the active run; not a second, near-identical form error.
    assert page.count("errornote") == 1
    assert f'Run <a href="{reverse("admin:seeding_seedrun_change", args=[active.pk])}">#{active.pk}</a>' in page
    assert "is queued; a new run can start when it is finished or cancelled" in page
    assert not response.context["form"].non_field_errors()
    assert SeedRun.objects.count() == 1


def test_staff_without_the_permission_cannot_open_the_page(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_seedrun"))
    client.force_login(user)
    assert client.get(reverse(SEED_PAGE)).status_code == 403
    listing = client.get(reverse("admin:seeding_seedrun_changelist"))
    assert listing.status_code == 200 and reverse(SEED_PAGE).encode() not in listing.content


def test_run_again_action_repeats_the_plan(admin_client, make_plan):
    first = seed(make_plan())
    response = admin_client.post(
        reverse("admin:seeding_seedrun_changelist"), {"action": "run_again", ACTION_CHECKBOX_NAME: [first.pk]}
    )
    assert response.status_code == 302
    second = SeedRun.objects.exclude(pk=first.pk).get()
    assert services.plan_summary(run=second) == services.plan_summary(run=first) and second.seed == first.seed
    assert second.status == SeedRun.Status.SUCCEEDED


def test_cancel_action(admin_client, settings):
    settings.SEED_INLINE_THRESHOLD = 50
    admin_client.post(reverse(SEED_PAGE), FORM)
    run = SeedRun.objects.get()
    admin_client.post(
        reverse("admin:seeding_seedrun_changelist"), {"action": "cancel_runs", ACTION_CHECKBOX_NAME: [run.pk]}
    )
    run.refresh_from_db()
    assert run.status == SeedRun.Status.CANCELLED and run.is_active is None


def test_the_list_shows_rate_eta_and_error_columns(admin_client, make_plan):
    seed(make_plan())
    response = admin_client.get(reverse("admin:seeding_seedrun_changelist"))
    for header in (b"Progress", b"Rows/s", b"ETA", b"Error"):
        assert header in response.content


def test_a_one_row_plan_says_row_not_rows(admin_client):
    response = admin_client.post(
        reverse(SEED_PAGE), {**FORM, "applications": 1, "assets": 0, "deployments": 0, "events": 0}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [f"Seed run #{SeedRun.objects.get().pk} wrote 1 row."]


def test_the_form_takes_a_base_time_in_any_offset_and_stores_it_in_utc(admin_client):
    admin_client.post(reverse(SEED_PAGE), {**FORM, "as_of": "2026-11-01T00:00:00+05:00"})
    assert SeedRun.objects.get().as_of == datetime(2026, 10, 31, 19, tzinfo=UTC)
    response = admin_client.post(reverse(SEED_PAGE), {**FORM, "as_of": "last week"})
    assert "not an ISO 8601" in str(response.context["form"].errors["as_of"])


def test_an_empty_plan_gets_the_same_answer_as_everywhere_else(admin_client):
    response = admin_client.post(
        reverse(SEED_PAGE), {**FORM, "applications": 0, "assets": 0, "deployments": 0, "events": 0}
    )
    assert "the plan writes nothing: give at least one positive count" in str(
        response.context["form"].non_field_errors()
    )
    assert not SeedRun.objects.exists()


def test_a_forbidden_seed_page_is_logged_once_without_a_traceback(client, django_user_model, caplog):
    user = django_user_model.objects.create_user("viewer2", password="pw", is_staff=True)
    client.force_login(user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse(SEED_PAGE)).status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden: /admin/seeding/seedrun/seed/"]
    assert records[0].exc_info is None


@pytest.mark.once
def test_every_log_line_is_printed_once(tmp_path):
    """Django's own console handler used to print every django.* warning a second time."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}"}
    result = subprocess.run(
        [
            sys.executable,
            "backend/manage.py",
            "shell",
            "-c",
            "import logging; logging.getLogger('django.request').warning('marker-one');"
            "logging.getLogger('seeding.services').warning('marker-two')",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr.count("marker-one") == 1 and result.stderr.count("marker-two") == 1, result.stderr
