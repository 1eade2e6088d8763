"""The admin JSON API (django-ninja): thin operations over the seeding services.

Why django-ninja: the API has five endpoints and one request body. Ninja
declares each operation's request, answers and authentication once, as
pydantic models and type hints, and from them parses the body (every bad field
at once), validates the answers on the way out and writes the OpenAPI 3.1
document; the hand-kept parser, document and error map it replaces had drifted
apart. Django REST framework with drf-spectacular would do the same with more
machinery (serializers, viewsets, a second schema layer) than five endpoints
need.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Status

from seeding import selectors, services
from seeding.api import errors
from seeding.api.auth import AUTHENTICATION, SEED_PERMISSION, VIEW_PERMISSION, require_permission
from seeding.api.parser import StrictJsonParser
from seeding.api.schemas import (
    CancelAnswer,
    Error,
    LiveAnswer,
    LiveRequest,
    LiveStatus,
    RunDetail,
    SeedAnswer,
    SeedRequest,
    Stats,
)
from seeding.common.formatting import plural
from seeding.generation.kinds import KINDS
from seeding.models import SeedRun
from seeding.named_plans import named_plan
from seeding.plan import SeedPlan

QUEUED_MESSAGE = "Demo data seeding started in background. Poll status_url for its progress."
CANCELLED_MESSAGE = (
    "No new chunk will start. Chunks already being written may still commit; their rows are kept and "
    "counted in this run, so poll status_url for the final figures."
)

LIVE_MESSAGE = "Live stream queued for the workers. Poll GET /api/v1/admin/live-stream for its figures and events."
STOPPED_MESSAGE = "The stream stopped; the events it wrote are kept."

api = NinjaAPI(
    title="demoseed admin API",
    version="1",
    description="Seed realistic, related, reproducible IT-inventory demo data, and follow the runs. "
    "Plans at or under SEED_INLINE_THRESHOLD items run inline (200); larger ones are queued (202).",
    urls_namespace="seeding-api",
    auth=AUTHENTICATION,
    parser=StrictJsonParser(),
    docs_url=None,  # Swagger UI would load its scripts from a CDN; the document is at openapi.json
)


@dataclass(frozen=True)
class Answer:
    """One documented answer of an operation: its body's schema, what it means, and the headers it carries."""

    schema: type
    description: str
    headers: tuple[tuple[str, str], ...] = ()


RETRY_AFTER = ("Retry-After", "Seconds before trying again.")
_ACCESS = {
    400: Answer(Error, "Refused before it reached the API (bad_request): a Host header the server does not serve."),
    401: Answer(Error, "Not authenticated (not_authenticated), or a bearer token unknown or revoked (invalid_token)."),
    403: Answer(
        Error, "Not staff, or without the permission (permission_denied); a session without CSRF (csrf_failed)."
    ),
    405: Answer(Error, "Another method (method_not_allowed).", (("Allow", "The methods this path takes."),)),
    500: Answer(Error, "An unexpected error (internal), logged; never a traceback."),
    503: Answer(
        Error,
        "The database refused: no free connection (database_busy, try again in seconds) or unreachable "
        "(database_unavailable).",
        (RETRY_AFTER,),
    ),
}
_NO_RUN = {404: Answer(Error, "No such run (not_found).")}


def documented(answers: dict[int, Answer]) -> dict:
    """The ``response`` and ``openapi_extra`` arguments of an operation that gives these answers."""
    answers = {**_ACCESS, **answers}
    extra = {}
    for status, answer in answers.items():
        extra[status] = {"description": answer.description}
        if answer.headers:
            extra[status]["headers"] = {
                name: {"description": text, "schema": {"type": "string"}} for name, text in answer.headers
            }
    return {
        "response": {status: answer.schema for status, answer in answers.items()},
        "openapi_extra": {"responses": extra},
    }


def status_url(request: HttpRequest, run: SeedRun) -> str:
    return request.build_absolute_uri(reverse("seeding-api:seed-run", args=[run.pk]))


def run_body(request: HttpRequest, run: SeedRun) -> dict:
    return {**selectors.seed_run_status(run), "status_url": status_url(request, run)}


errors.install(api, status_url=status_url)


@api.post(
    "/seed-demo-data",
    operation_id="seed_demo_data",
    summary="Seed a plan: inline when small, queued for the workers when large.",
    url_name="seed-demo-data",
    **documented(
        {
            200: Answer(SeedAnswer, "Written inline (or cancelled while it ran)."),
            202: Answer(
                SeedAnswer,
                "Queued: poll status_url.",
                (("Location", "The run's status URL."), ("Retry-After", "Seconds before polling.")),
            ),
            400: Answer(
                Error,
                "A bad body or plan (invalid): every bad field named in errors, including the rules the "
                "request's description lists that JSON Schema cannot state (errors.total, errors.deployments, "
                "errors.events, errors.as_of); a Host header the server does not serve (bad_request).",
            ),
            409: Answer(Error, "Another run is active (run_active)."),
            413: Answer(Error, "The body is too large (too_large)."),
            500: Answer(
                Error,
                "An inline run failed (seed_failed; its committed chunks are kept), or an unexpected error (internal).",
            ),
            503: Answer(
                Error,
                "The queue is unreachable (broker_unavailable; nothing was started), or the database refused: "
                "no free connection (database_busy) or unreachable (database_unavailable).",
                (RETRY_AFTER,),
            ),
        }
    ),
)
def seed_demo_data(request: HttpRequest, response: HttpResponse, plan: SeedRequest):
    user = require_permission(request, SEED_PERMISSION)
    outcome = services.seed_request(plan=_seed_plan(plan), source=SeedRun.Source.API, requested_by=user)
    run = outcome.run
    if outcome.queued:
        status, message = "queued", QUEUED_MESSAGE
    elif run.status == SeedRun.Status.SUCCEEDED:
        status, message = "success", f"Seeded {plural(run.total_done, 'item')}."
    else:  # cancelled while it ran
        status, message = run.status, f"The run was {run.status} after {plural(run.total_done, 'item')}."
    body = {
        "status": status,
        "message": message,
        "run_id": run.pk,
        "task_id": outcome.task_id,
        "status_url": status_url(request, run),
        "counts": {kind: run.done(kind) for kind in KINDS},
        "planned": {kind: run.planned(kind) for kind in KINDS},
    }
    if not outcome.queued:
        return Status(200, body)
    response["Location"] = body["status_url"]
    response["Retry-After"] = "2"
    return Status(202, body)


@api.get(
    "/demo-data-stats",
    operation_id="demo_data_stats",
    summary="Exact rows per kind (total and demo), the active run and the ten most recent.",
    url_name="demo-data-stats",
    **documented({200: Answer(Stats, "The figures.")}),
)
def demo_data_stats(request: HttpRequest):
    require_permission(request, VIEW_PERMISSION)
    services.seed_runs_settle()  # a run whose process died reads as failed, not running
    active = selectors.active_seed_run()
    return Status(
        200,
        {
            "counts": selectors.inventory_counts(),
            "active_run": run_body(request, active) if active else None,
            "recent_runs": [run_body(request, run) for run in selectors.recent_seed_runs()],
        },
    )


@api.get(
    "/seed-runs/{int:run_id}",
    operation_id="seed_run",
    summary="One run's status, with its failed attempts: the place to poll.",
    url_name="seed-run",
    **documented({200: Answer(RunDetail, "The run."), **_NO_RUN}),
)
def seed_run(request: HttpRequest, run_id: int):
    require_permission(request, VIEW_PERMISSION)
    services.seed_runs_settle()  # a run whose process died reads as failed, not running
    run = _run_or_404(run_id)
    # Each chunk that needed another start, and why, in a few words (no driver text).
    failed = [
        {key: attempt[key] for key in ("kind", "index", "starts", "committed", "cause")}
        for attempt in selectors.seed_run_failed_attempts(run.pk)
    ]
    return Status(200, {**run_body(request, run), "failed_attempts": failed})


@api.post(
    "/seed-runs/{int:run_id}/cancel",
    operation_id="seed_run_cancel",
    summary="Cancel an active run: no chunk starts after this; chunks in flight may commit.",
    url_name="seed-run-cancel",
    **documented(
        {
            200: Answer(CancelAnswer, "Cancelled."),
            **_NO_RUN,
            409: Answer(Error, "The run has ended (run_not_active)."),
        }
    ),
)
def seed_run_cancel(request: HttpRequest, run_id: int):
    user = require_permission(request, SEED_PERMISSION)
    run = services.seed_run_cancel(run=_run_or_404(run_id), by=services.Requester(SeedRun.Source.API, user))
    return Status(200, {**run_body(request, run), "message": CANCELLED_MESSAGE})


@api.post(
    "/live-stream",
    operation_id="live_stream_start",
    summary="Start a live stream: events as they happen, on top of the estate, written by the workers.",
    url_name="live-stream",
    **documented(
        {
            202: Answer(
                LiveAnswer,
                "Queued for the workers: poll GET /live-stream or status_url.",
                (("Location", "The stream's status URL."),),
            ),
            400: Answer(
                Error,
                "A bad body (invalid): every bad field named in errors, including errors.rate (rate x duration "
                "over SEED_MAX_TOTAL) and errors.estate (no asset in service); a Host header the server does not "
                "serve (bad_request).",
            ),
            409: Answer(Error, "A run or another stream is active (run_active)."),
            413: Answer(Error, "The body is too large (too_large)."),
            503: Answer(
                Error,
                "The queue is unreachable (broker_unavailable; nothing was started), or the database refused: "
                "no free connection (database_busy) or unreachable (database_unavailable).",
                (RETRY_AFTER,),
            ),
        }
    ),
)
def live_stream_start(request: HttpRequest, response: HttpResponse, stream: LiveRequest):
    user = require_permission(request, SEED_PERMISSION)
    run = services.live_stream_request(
        rate=stream.rate,
        duration=stream.duration,
        seed=stream.seed,
        scenario=stream.scenario,
        source=SeedRun.Source.API,
        requested_by=user,
    )
    response["Location"] = status_url(request, run)
    return Status(202, {**run_body(request, run), "message": LIVE_MESSAGE})


@api.get(
    "/live-stream",
    operation_id="live_stream",
    summary="The running live stream (else the latest one) and its latest events.",
    url_name="live-stream-status",
    **documented({200: Answer(LiveStatus, "The stream, or null.")}),
)
def live_stream(request: HttpRequest):
    require_permission(request, VIEW_PERMISSION)
    services.seed_runs_settle()
    run = selectors.live_stream_latest()
    recent = selectors.live_stream_recent_events(run) if run else []
    return Status(
        200,
        {
            "stream": run_body(request, run) if run else None,
            "recent_events": [{**event, "hostname": event.pop("asset__hostname")} for event in recent],
        },
    )


@api.post(
    "/live-stream/stop",
    operation_id="live_stream_stop",
    summary="Stop the running live stream: no tick commits after this; what it wrote is kept.",
    url_name="live-stream-stop",
    **documented(
        {
            200: Answer(LiveAnswer, "Stopped."),
            409: Answer(Error, "No live stream is running (run_not_active)."),
        }
    ),
)
def live_stream_stop(request: HttpRequest):
    user = require_permission(request, SEED_PERMISSION)
    run = selectors.live_stream_latest()
    if run is None or not run.is_active:
        raise services.RunNotActive("no live stream is running")
    run = services.live_stream_stop(run=run, by=services.Requester(SeedRun.Source.API, user))
    return Status(200, {**run_body(request, run), "message": STOPPED_MESSAGE})


def _seed_plan(request: SeedRequest) -> SeedPlan:
    """The plan a request asks for: its named plan's counts, changed by the counts it gives, or those alone."""
    given = request.model_dump(exclude_unset=True)
    name = given.pop("plan", None)
    return SeedPlan(**{**(named_plan(name) if name else {}), **given})


def _run_or_404(run_id: int) -> SeedRun:
    if (run := SeedRun.objects.filter(pk=run_id).first()) is None:
        raise Http404(f"there is no seed run #{run_id}")
    return run
