"""The admin JSON API: routing, the answers' shape, access, CSRF and every bad input."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from dramatiq.brokers.redis import RedisBroker

from seeding import services, tasks
from seeding.messaging import queue
from seeding.models import SeedChunkAttempt, SeedRun
from seeding.plan import PER_KIND_MAX
from seeding.services import chunk_transaction as chunk_service
from tests.support.api import BOTH, SEED_URL, STATS_URL, make_user, post
from tests.support.data import counts, record_failed_attempts, seed
from tests.support.faults import failing_writes

pytestmark = pytest.mark.django_db(transaction=True)

EMPTY = {"applications": 0, "assets": 0, "deployments": 0, "events": 0}


# --- routing and the answers' shape -------------------------------------------------


def test_a_plan_at_the_threshold_runs_inline_and_answers_200_with_counts(api, settings):
    settings.SEED_INLINE_THRESHOLD = 5_000
    response = post(api, {"applications": 50, "assets": 450, "deployments": 500, "events": 4_000, "seed": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success"
    assert body["counts"] == {"applications": 50, "assets": 450, "deployments": 500, "events": 4_000}
    assert body["task_id"] is None
    run = SeedRun.objects.get(pk=body["run_id"])
    assert run.status == SeedRun.Status.SUCCEEDED and run.executor == SeedRun.Executor.INLINE
    assert run.source == SeedRun.Source.API and run.requested_by.username == "seeder"
    assert body["status_url"].endswith(f"/api/v1/admin/seed-runs/{run.pk}")
    assert counts() == body["counts"]


def test_a_plan_over_the_threshold_is_queued_with_202_and_location(api, settings, broker):
    settings.SEED_INLINE_THRESHOLD = 5_000
    response = post(api, {"assets": 5_001})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["message"] == "Demo data seeding started in background. Poll status_url for its progress."
    assert response["Location"] == body["status_url"]
    run = SeedRun.objects.get(pk=body["run_id"])
    assert run.status == SeedRun.Status.QUEUED and run.executor == SeedRun.Executor.WORKERS
    assert body["task_id"] == run.task_id and len(run.task_id) == 36
    assert set(body) == {"status", "message", "run_id", "task_id", "status_url", "counts", "planned"}
    assert counts() == EMPTY  # nothing written yet: the workers do it
    # Both answers share one shape.
    refused = post(api, {"assets": 1})
    assert refused.status_code == 409 and refused.json()["code"] == "run_active"  # one active run at a time...
    services.seed_run_cancel(run=run)
    assert set(post(api, {"assets": 1}).json()) == set(body)  # ...and once it is gone, the same keys


@pytest.mark.stub
def test_the_queued_run_is_one_start_message_on_the_seeding_queue(api, settings, stub_broker):
    settings.SEED_INLINE_THRESHOLD = 10
    body = post(api, {"assets": 11}).json()
    messages = stub_broker.queues[settings.SEED_QUEUE]
    assert messages.qsize() == 1
    message = tasks.start_seed_run.broker.queues[settings.SEED_QUEUE].get()
    messages.task_done()  # or a later test that joins this shared stub queue waits forever
    decoded = json.loads(message)
    assert decoded["actor_name"] == "start_seed_run"
    assert decoded["args"] == [body["run_id"]] and decoded["message_id"] == body["task_id"]


@pytest.mark.stub
def test_worker_steps_write_the_run_phase_by_phase(api, settings, stub_broker, make_plan):
    """Drive the actors by hand from the stub queue: the phase logic, without threads."""
    settings.SEED_INLINE_THRESHOLD = 10
    body = post(api, {"applications": 30, "assets": 250, "deployments": 600, "events": 2_500, "seed": 7}).json()
    run = SeedRun.objects.get(pk=body["run_id"])
    SeedRun.objects.filter(pk=run.pk).update(chunk_size=100)
    queue = stub_broker.queues[settings.SEED_QUEUE]
    seen = []
    while not queue.empty():
        message = json.loads(queue.get())
        queue.task_done()  # or a later test that joins this shared stub queue waits forever
        seen.append((message["actor_name"], *message["args"][1:]))
        actor = {"start_seed_run": tasks.start_seed_run, "write_seed_chunk": tasks.write_seed_chunk}
        actor[message["actor_name"]].fn(*message["args"])
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED
    assert counts() == {"applications": 30, "assets": 250, "deployments": 600, "events": 2_500}
    kinds_in_order = [kind for _, *rest in seen if rest for kind in rest[:1]]
    assert kinds_in_order.index("deployments") > max(i for i, k in enumerate(kinds_in_order) if k == "assets")
    assert kinds_in_order.index("events") > max(i for i, k in enumerate(kinds_in_order) if k == "deployments")
    assert len([m for m in seen if m[0] == "write_seed_chunk"]) == 1 + 3 + 6 + 25


# --- conflicts and outages -------------------------------------------------------------


def test_a_second_run_while_one_is_active_gets_409_with_its_id(api, settings):
    settings.SEED_INLINE_THRESHOLD = 10
    first = post(api, {"assets": 100}).json()
    response = post(api, {"assets": 5})
    assert response.status_code == 409
    assert response.json()["active_run_id"] == first["run_id"]
    assert SeedRun.objects.count() == 1


def test_broker_down_gives_503_and_writes_nothing(api, settings, monkeypatch):
    settings.SEED_INLINE_THRESHOLD = 10
    before = post(api, {"assets": 3}).json()  # inline
    dead = RedisBroker(url="redis://127.0.0.1:1/0", socket_connect_timeout=1)  # nothing listens on port 1
    monkeypatch.setattr(queue, "broker", lambda: dead)
    for _ in range(2):
        response = post(api, {"assets": 100})
        assert response.status_code == 503
        assert "unreachable" in response.json()["message"] and "Traceback" not in response.content.decode()
    assert post(api, {"assets": -1}).status_code == 400  # a bad plan is still named, broker or not
    assert SeedRun.objects.count() == 1  # no failed runs left behind
    monkeypatch.undo()
    after = post(api, {"assets": 3}).json()
    assert SeedRun.objects.get(pk=after["run_id"]).status == SeedRun.Status.SUCCEEDED
    first = SeedRun.objects.get(pk=before["run_id"])
    # No keys were reserved by the refused requests: the next run's keys follow on, so its data is unchanged.
    assert SeedRun.objects.get(pk=after["run_id"]).assets_id_base == first.assets_id_base + 3


def test_a_broker_lost_between_the_check_and_the_send_fails_the_run_instead_of_leaving_it(api, settings, monkeypatch):
    settings.SEED_INLINE_THRESHOLD = 10
    monkeypatch.setattr(queue, "ensure_reachable", lambda: None)  # it answered, then went away
    dead = RedisBroker(url="redis://127.0.0.1:1/0", socket_connect_timeout=1)
    monkeypatch.setattr(queue, "broker", lambda: dead)
    response = post(api, {"assets": 100})
    assert response.status_code == 503
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.FAILED and run.is_active is None
    assert "broker" in run.error and "Connection refused" in run.error_detail
    monkeypatch.undo()
    assert post(api, {"assets": 3}).status_code == 200  # nothing dangling blocks the next run


# --- reading and cancelling ---------------------------------------------------------------


def test_stats_show_counts_and_runs_with_progress(api, settings):
    post(api, {"applications": 2, "assets": 10, "events": 40})
    settings.SEED_INLINE_THRESHOLD = 10
    queued = post(api, {"assets": 100}).json()
    body = api.get(STATS_URL).json()
    assert body["counts"]["events"] == {"total": 40, "demo": 40}
    assert body["active_run"]["id"] == queued["run_id"]
    assert body["active_run"]["status"] == "queued"
    assert [run["id"] for run in body["recent_runs"]][:2] == [queued["run_id"], queued["run_id"] - 1]
    finished = body["recent_runs"][1]
    assert finished["progress"] == 1.0 and finished["total_done"] == 52 and finished["eta_seconds"] == 0.0
    assert finished["rows_per_second"] > 0


def test_run_status_and_cancel(api, settings):
    settings.SEED_INLINE_THRESHOLD = 10
    queued = post(api, {"assets": 100}).json()
    status = api.get(queued["status_url"]).json()
    assert status["id"] == queued["run_id"] and status["planned"]["assets"] == 100
    cancelled = api.post(f"/api/v1/admin/seed-runs/{queued['run_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/admin/seed-runs/{queued['run_id']}/cancel")
    assert again.status_code == 409
    assert api.get("/api/v1/admin/seed-runs/999999").status_code == 404
    assert api.post("/api/v1/admin/seed-runs/999999/cancel").json()["status"] == "error"


def test_run_status_names_the_cause_of_each_failed_attempt_without_driver_text(api, make_plan):
    run = seed(make_plan())
    record_failed_attempts(
        run, error='OperationalError: terminating connection\nCONTEXT: COPY inventory_asset, line 3: "1 web"'
    )
    body = api.get(f"/api/v1/admin/seed-runs/{run.pk}").json()
    assert body["failed_attempts"] == [
        {"kind": "assets", "index": 0, "starts": 2, "committed": True, "cause": "OperationalError"},
        {"kind": "events", "index": 9_999, "starts": 3, "committed": False, "cause": SeedChunkAttempt.STOPPED},
    ]
    assert "COPY" not in json.dumps(body) and "terminating" not in json.dumps(body)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"assets": -1}, "assets", "non-negative"),
        ({"assets": True}, "assets", "boolean"),
        ({"assets": 1.5}, "assets", "fraction"),
        ({"assets": "10"}, "assets", "string"),
        ({"assets": None}, "assets", "null"),
        ({"assets": [1]}, "assets", "array"),
        ({"assets": {"n": 1}}, "assets", "object"),
        ('{"assets": 1e400}', "assets", "at most"),
        ('{"assets": ' + "9" * 5_000 + "}", "assets", "at most"),
        ('{"assets": -' + "9" * 50 + "}", "assets", "negative"),
        ({"assets": PER_KIND_MAX + 1}, "assets", "at most"),
        ({"assets": 1, "seed": -1}, "seed", "integer from 0"),
        ({"assets": 1, "servers": 3}, "servers", "unknown field"),
        ({"deployments": 10}, "deployments", "need applications"),
        ({"events": 10}, "events", "need assets"),
        ({}, "total", "writes nothing"),
        ({"assets": 0, "events": 0}, "total", "writes nothing"),
        ({"assets": 1, "as_of": "yesterday"}, "as_of", "not an ISO 8601"),
        ({"assets": 1, "as_of": 20261101}, "as_of", "string"),
        ({"assets": 1, "as_of": "0001-01-01T00:00:00Z"}, "as_of", "must be from 2000-01-01"),
        ({"assets": 1, "as_of": "0006-06-01T00:00:00Z"}, "as_of", "must be from 2000-01-01"),
        ({"assets": 1, "as_of": "1999-12-31T23:59:59Z"}, "as_of", "must be from 2000-01-01"),
        ({"assets": 1, "as_of": "9999-12-31T00:00:00Z"}, "as_of", "one year after now"),
    ],
)
def test_bad_fields_get_400_naming_the_field_and_write_nothing(api, body, field, text):
    response = post(api, body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors and text in errors[field], errors
    assert counts() == EMPTY and not SeedRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ('{"assets": NaN}', "NaN is not allowed"),
        ('{"assets": Infinity}', "Infinity is not allowed"),
        ('{"assets": 10', "malformed JSON"),
        ("", "malformed JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"assets"', "must be a JSON object"),
        ("[" * 100_000, "nested too deeply"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_body_that_is_not_a_json_object_gets_400(api, body, text):
    response = post(api, body)
    assert response.status_code == 400
    assert text in response.json()["errors"]["body"]
    assert not SeedRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"events": -5, "assets": 1.5}, {"events": "non-negative", "assets": "fraction"}),
        ({"events": -5, "foo": 1}, {"events": "non-negative", "foo": "unknown field"}),
        (
            {"applications": "7", "assets": True, "seed": -1, "as_of": "yesterday", "servers": 2},
            {
                "applications": "string",
                "assets": "boolean",
                "seed": "from 0",
                "as_of": "ISO 8601",
                "servers": "unknown",
            },
        ),
    ],
)
def test_every_bad_field_is_named_at_once(api, body, named):
    response = post(api, body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert set(errors) == set(named), errors
    for field, text in named.items():
        assert text in errors[field], errors
    assert not SeedRun.objects.exists()


def test_a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says(api):
    response = post(api, {"assets": 162.0, "seed": 4.0})
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["assets"] == 162 and SeedRun.objects.get().seed == 4


def test_options_is_a_documented_405_and_an_anonymous_post_without_a_cookie_is_401_not_a_csrf_refusal(api):
    options = api.options(STATS_URL)
    assert options.status_code == 405 and options.json()["code"] == "method_not_allowed"
    assert options["Allow"] == "GET"
    anonymous = Client(enforce_csrf_checks=True).post(SEED_URL, {"assets": 1}, content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert 'Bearer realm="demoseed"' in anonymous["WWW-Authenticate"]
    assert not SeedRun.objects.exists()


def test_totals_over_the_cap_get_400(api, settings):
    settings.SEED_MAX_TOTAL = 1_000
    response = post(api, {"assets": 600, "events": 401})
    assert response.status_code == 400
    assert "limit is 1,000" in response.json()["errors"]["total"]


def test_a_body_over_the_upload_limit_gets_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = post(api, json.dumps({"assets": 1, "seed": 1}) + " " * 200)
    assert response.status_code == 413


def test_wrong_methods_get_405_in_json(api):
    response = api.get(SEED_URL)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["status"] == "error"
    assert api.post(STATS_URL).status_code == 405
    assert api.delete("/api/v1/admin/seed-runs/1").status_code == 405


def test_a_host_the_server_does_not_serve_gets_a_documented_json_400_on_the_api_only(api):
    response = api.get(STATS_URL, HTTP_HOST="elsewhere.example")
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert api.get("/admin/", HTTP_HOST="elsewhere.example")["Content-Type"].startswith("text/html")


def test_unknown_api_paths_get_404_in_json(api, staff):
    response = api.get("/api/v1/admin/nothing-here")
    assert response.status_code == 404 and response.json()["status"] == "error"
    newline = api.get("/api/v1/admin/seed-runs/a%0Ab")  # Schemathesis sent one; it got Django's HTML page
    assert newline.status_code == 404 and newline.json()["code"] == "not_found"
    browser = Client(enforce_csrf_checks=True)  # a session cookie without a CSRF token: still nothing there
    browser.force_login(staff)
    assert browser.post("/api/v1/admin/seed-runs/null/cancel").status_code == 404


def test_unexpected_errors_get_a_generic_500_without_traceback(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "seed_request", explode)
    response = post(api, {"assets": 1})
    assert response.status_code == 500
    assert "secret internals" not in response.content.decode()
    assert response.json() == {"status": "error", "code": "internal", "message": "internal error; it has been logged"}


# --- access -----------------------------------------------------------------------------------


ENDPOINTS = [
    ("post", SEED_URL, 200, "seeding.run_seed"),
    ("get", STATS_URL, 200, "seeding.view_seedrun"),
    ("get", "/api/v1/admin/seed-runs/{run}", 200, "seeding.view_seedrun"),
    ("post", "/api/v1/admin/seed-runs/{run}/cancel", 409, "seeding.run_seed"),  # the run has finished
]


@pytest.mark.parametrize(("method", "url", "allowed_status", "permission"), ENDPOINTS)
def test_access_matrix(django_user_model, make_plan, method, url, allowed_status, permission):
    run = seed(make_plan(events=0, deployments=0))
    url = url.format(run=run.pk)
    users = {
        "anonymous": None,
        "non-staff with both permissions": make_user(django_user_model, "plain", staff=False, perms=BOTH),
        "staff without permissions": make_user(django_user_model, "nostaffperm", staff=True),
        "staff with the other permission only": make_user(
            django_user_model,
            "other",
            staff=True,
            perms=("view_seedrun",) if permission == "seeding.run_seed" else ("run_seed",),
        ),
        "staff with both permissions": make_user(django_user_model, "ok", staff=True, perms=BOTH),
    }
    seen = {}
    for label, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        response = post(client, {"assets": 1}, url=url) if method == "post" else client.get(url)
        assert response["Content-Type"].startswith("application/json"), label  # JSON, never a login redirect
        if response.status_code >= 400:
            assert response.json()["status"] == "error", label
        seen[label] = response.status_code
    assert seen == {
        "anonymous": 401,
        "non-staff with both permissions": 403,
        "staff without permissions": 403,
        "staff with the other permission only": 403,
        "staff with both permissions": allowed_status,
    }


def test_viewing_permission_alone_cannot_seed(django_user_model):
    viewer = Client()
    viewer.force_login(make_user(django_user_model, "viewer", staff=True, perms=("view_seedrun",)))
    assert viewer.get(STATS_URL).status_code == 200
    assert post(viewer, {"assets": 1}).status_code == 403


def test_csrf_is_enforced_for_session_posts(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    rejected = post(client, {"assets": 1})
    assert rejected.status_code == 403
    assert rejected.json()["message"] == (
        "CSRF check failed: CSRF cookie not set. Send the csrftoken cookie's value as X-CSRFToken."
    )
    assert not SeedRun.objects.exists()
    client.get(reverse("admin:index"))  # any admin page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = post(client, {"assets": 1}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200


# --- one set of defaults, times in UTC ---------------------------------------------------------


def test_defaults_match_the_command_and_as_of_is_accepted_in_any_offset(api):
    body = post(api, {"assets": 3, "as_of": "2026-11-01T00:00:00+05:00"}).json()
    run = SeedRun.objects.get(pk=body["run_id"])
    assert run.seed == 1  # the same default seed as the command and the admin
    status = api.get(body["status_url"]).json()
    assert status["as_of"] == "2026-10-31T19:00:00Z"


# --- failures never leak database text --------------------------------------------------------------


def test_an_inline_failure_answers_500_with_a_stable_error_and_the_run(api, monkeypatch):
    error = 'duplicate key value violates unique constraint "x"\nDETAIL:  Key (ip)=(10.0.0.1)'
    monkeypatch.setattr(chunk_service, "write_rows", failing_writes(error))
    response = post(api, {"assets": 10, "events": 20})
    assert response.status_code == 500
    body = response.json()
    assert (
        body["code"] == "seed_failed"
        and body["error"] == "events chunk 0 failed (RuntimeError); committed chunks are kept"
    )
    run = SeedRun.objects.get(pk=body["run_id"])
    assert body["status_url"].endswith(f"/seed-runs/{run.pk}")
    assert "DETAIL" not in response.content.decode() and "10.0.0.1" not in response.content.decode()
    assert "DETAIL" not in json.dumps(api.get(body["status_url"]).json())  # the status is for clients too
    assert "10.0.0.1" in run.error_detail  # staff see it in the admin
    assert counts() == {**EMPTY, "assets": 10}


def test_cancel_says_chunks_in_flight_may_still_commit(api, settings):
    settings.SEED_INLINE_THRESHOLD = 10
    queued = post(api, {"assets": 100}).json()
    body = api.post(f"/api/v1/admin/seed-runs/{queued['run_id']}/cancel").json()
    assert body["status"] == "cancelled" and "may still commit" in body["message"]
    again = api.post(f"/api/v1/admin/seed-runs/{queued['run_id']}/cancel")
    assert again.status_code == 409
    assert again.json()["message"] == (
        f"seed run #{queued['run_id']} has already been cancelled; only a queued or running run can be cancelled"
    )


def test_a_queued_answer_points_at_the_runs_own_status(api, settings):
    settings.SEED_INLINE_THRESHOLD = 10
    body = post(api, {"assets": 100}).json()
    assert body["status_url"].endswith(f"/api/v1/admin/seed-runs/{body['run_id']}")
    assert "status_url" in body["message"] and "demo-data-stats" not in body["message"]
