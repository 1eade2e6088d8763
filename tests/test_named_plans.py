"""Named plans (demo, S, L, 2xL, 10L): one definition, taken by the command, the API and the admin's seed page."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from seeding.generation.kinds import KINDS
from seeding.models import SeedRun
from seeding.named_plans import PLANS
from seeding.plan import DEMO_PLAN
from tests.support.data import counts

pytestmark = pytest.mark.django_db(transaction=True)

L = {"applications": 5_000, "assets": 50_000, "deployments": 100_000, "events": 1_000_000}
SEED_URL = "/api/v1/admin/seed-demo-data"


def test_each_plan_is_a_multiple_of_l_and_the_demo_is_the_default():
    multiples = {"S": 0.01, "demo": 0.1, "L": 1, "2xL": 2, "10L": 10}
    assert {name: {kind: round(L[kind] * factor) for kind in KINDS} for name, factor in multiples.items()} == PLANS
    assert PLANS["demo"] == DEMO_PLAN


def dry_run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo_data", *args, "--dry-run", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_takes_a_plan_by_name_and_a_count_beside_it_changes_that_count_only():
    assert "1,000,000" in dry_run("--plan", "L") and "50,000" in dry_run("--plan", "L")
    changed = dry_run("--plan", "L", "--events", "7")
    assert "1,000,000" not in changed and "100,000" in changed and "50,000" in changed
    assert not SeedRun.objects.exists()


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--plan", "XL"], "--plan: unknown plan 'XL'; the plans are S, demo, L, 2xL, 10L"),
        (["--resume", "1", "--plan", "L"], "--plan: --resume continues an existing run with its own plan"),
    ],
)
def test_the_command_names_the_flag_when_a_plan_cannot_be(args, text):
    with pytest.raises(CommandError, match=text.replace("(", r"\(")):
        call_command("seed_demo_data", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_command_seeds_a_named_plan_after_clearing():
    call_command("seed_demo_data", "--plan", "S", "--clear", "--sync", stdout=io.StringIO(), stderr=io.StringIO())
    assert counts() == PLANS["S"]


def test_the_api_takes_a_plan_by_name_with_counts_beside_it(admin_client, settings):
    settings.SEED_INLINE_THRESHOLD = 20_000
    body = {"plan": "S", "events": 100, "seed": 3}
    response = admin_client.post(SEED_URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["counts"] == {**PLANS["S"], "events": 100} == counts()


def test_the_api_names_a_plan_it_does_not_know(admin_client):
    response = admin_client.post(SEED_URL, json.dumps({"plan": "XL"}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"plan": "must be the name of a plan: S, demo, L, 2xL, 10L"}


def test_the_seed_page_fills_the_counts_from_a_named_plan(admin_client):
    page = admin_client.get(reverse("admin:seeding_seedrun_seed") + "?plan=2xL")
    form = page.context["form"]
    assert {kind: form[kind].value() for kind in KINDS} == PLANS["2xL"]
    assert b"<strong>2xL</strong>" in page.content and b'href="?plan=10L"' in page.content
