"""The audit trail: who seeded, cancelled, resumed and cleared what, and when, visible in the admin."""

from __future__ import annotations

import getpass
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from seeding import services
from seeding.models import AuditEntry, SeedRun
from tests.support.api import post

pytestmark = pytest.mark.django_db(transaction=True)


def entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("id").values_list("action", "source", "actor_label", "run_number", "summary")
    )


def test_seeding_and_cancelling_through_the_api_name_the_user(api, settings):
    settings.SEED_INLINE_THRESHOLD = 10  # queued: it can be cancelled
    run_id = post(api, {"assets": 100, "seed": 4}).json()["run_id"]
    assert api.post(f"/api/v1/admin/seed-runs/{run_id}/cancel").status_code == 200
    assert entries() == [
        ("seeded", "api", "seeder", run_id, "0 applications, 100 assets, 0 deployments, 0 events; seed 4, workers"),
        ("cancelled", "api", "seeder", run_id, "at 0 of 100 rows"),
    ]
    assert AuditEntry.objects.get(action="seeded").actor.username == "seeder"


def test_a_refused_request_leaves_no_entry(api):
    assert post(api, {"assets": -1}).status_code == 400
    assert entries() == []


def test_resuming_and_clearing_from_the_command_name_the_os_user():
    out = io.StringIO()
    call_command("seed_demo_data", "--assets=50", "--events=100", stdout=out, stderr=io.StringIO())
    run = SeedRun.objects.get()
    SeedRun.objects.filter(pk=run.pk).update(status=SeedRun.Status.FAILED, is_active=None)
    call_command("seed_demo_data", f"--resume={run.pk}", stdout=out, stderr=io.StringIO())
    call_command("seed_demo_data", "--clear", stdout=out, stderr=io.StringIO())
    me = getpass.getuser()
    assert [entry[:4] for entry in entries()] == [
        ("seeded", "command", me, run.pk),
        ("resumed", "command", me, run.pk),
        ("cleared", "command", me, None),
    ]
    assert entries()[-1][4] == "all demo data: 0 applications, 50 assets, 0 deployments, 100 events"


def test_the_admin_lists_the_trail_and_nobody_can_edit_it(admin_client, django_user_model):
    run = services.seed_run_create(plan=services.plan_of(run=SeedRun(assets=10, seed=1, chunk_size=100)))
    services.seed_run_cancel(run=run, by=services.Requester(SeedRun.Source.ADMIN, django_user_model.objects.get()))
    page = admin_client.get(reverse("admin:seeding_auditentry_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cancelled a run" in text and "Seeded (run created)" in text and f">#{run.pk}</a>" in text
    assert admin_client.get(reverse("admin:seeding_auditentry_add")).status_code == 403
    entry = AuditEntry.objects.first()
    assert (
        admin_client.post(reverse("admin:seeding_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.count() == 2
