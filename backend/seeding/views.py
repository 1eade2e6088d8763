"""The admin JSON API: thin views over the seeding services.

Every answer is JSON, errors included: 400 names each bad field, 401/403 for
access, 404/405/409/413/503 as HTTP means them, and an unexpected error is
logged and answered with a generic 500, never a traceback. A database that
refuses to serve is a 503 that says which refusal (``database_refused``): out
of connections (``database_busy``) or unreachable (``database_unavailable``).
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views import View
from django.views.csrf import csrf_failure as django_csrf_failure

from seeding import database_outage, openapi, selectors, services
from seeding.kinds import KINDS
from seeding.models import SeedRun
from seeding.requests import BadRequest, parse_seed_request
from seeding.text import plural

logger = logging.getLogger("seeding.api")

QUEUED_MESSAGE = "Demo data seeding started in background. Poll status_url for its progress."
CANCELLED_MESSAGE = (
    "No new chunk will start. Chunks already being written may still commit; their rows are kept and "
    "counted in this run, so poll status_url for the final figures."
)
SEED_PERMISSION = "seeding.run_seed"
VIEW_PERMISSION = "seeding.view_seedrun"


def json_response(data: dict, status: int = 200, **kwargs) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=DjangoJSONEncoder, **kwargs)


def error_response(status: int, code: str, message: str, *, headers: dict | None = None, **extra) -> JsonResponse:
    """Every error the API gives: a stable ``code`` for programs, a ``message`` for people."""
    return json_response({"status": "error", "code": code, "message": message, **extra}, status=status, headers=headers)


class ApiView(View):
    """Access checks, JSON for every failure, and no traceback ever leaving the server."""

    #: permission required per HTTP method
    permissions: dict[str, str] = {"get": VIEW_PERMISSION, "post": SEED_PERMISSION}

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            return self.http_method_not_allowed(request, *args, **kwargs)
        user = request.user
        if not user.is_authenticated:
            return error_response(
                401,
                "not_authenticated",
                "authentication required: send Authorization: Bearer <token> (staff create tokens in the admin, "
                "under API tokens), or log in through /admin/login/ and send the session cookie",
                headers={"WWW-Authenticate": 'Bearer realm="demoseed"'},
            )
        permission = self.permissions.get(method, SEED_PERMISSION)
        if not user.is_staff or not user.has_perm(permission):
            needs = "view seed runs" if permission == VIEW_PERMISSION else "seed demo data"
            return error_response(403, "permission_denied", f"you need staff status and the permission to {needs}")
        try:
            return super().dispatch(request, *args, **kwargs)
        except RequestDataTooBig:
            return error_response(413, "too_large", "the request body is too large")
        except Exception as exc:  # every service error, translated in one place
            return self.error_for(exc)

    def error_for(self, exc: Exception) -> JsonResponse:
        """The answer for an error raised while serving a request; never a traceback or driver text."""
        if isinstance(exc, BadRequest):
            return error_response(400, "invalid", "invalid request body", errors={"body": str(exc)})
        if isinstance(exc, services.PlanError):
            return error_response(400, "invalid", "invalid seed request", errors=exc.errors)
        if isinstance(exc, services.RunAlreadyActive):
            active = exc.active_run
            return error_response(
                409, "run_active", str(exc), active_run_id=active.pk, active_run_status_url=self.status_url(active)
            )
        if isinstance(exc, services.RunNotActive):
            return error_response(409, "run_not_active", str(exc))
        if isinstance(exc, services.BrokerUnavailable):
            return error_response(
                503,
                "broker_unavailable",
                "the background queue is unreachable; nothing was started, try again later",
                headers={"Retry-After": "30"},
            )
        if (refused := database_refused(self.request, exc)) is not None:
            return refused
        if isinstance(exc, services.RunFailed):
            run = exc.run
            return error_response(
                500,
                "seed_failed",
                "seeding failed; the chunks committed before the failure are kept. "
                "Staff can read the full error on the run's admin page.",
                error=run.error,
                run_id=run.pk,
                status_url=self.status_url(run),
            )
        logger.exception("unexpected error in %s %s", self.request.method, self.request.path, exc_info=exc)
        return error_response(500, "internal", "internal error; it has been logged")

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = [m.upper() for m in self.http_method_names if hasattr(self, m) and m != "options"]
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )

    def status_url(self, run: SeedRun) -> str:
        return self.request.build_absolute_uri(reverse("seeding-api:seed-run", args=[run.pk]))

    def run_body(self, run: SeedRun) -> dict:
        return {**selectors.seed_run_status(run), "status_url": self.status_url(run)}


class SeedDemoDataView(ApiView):
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest) -> JsonResponse:
        plan = parse_seed_request(request.body)
        outcome = services.seed_request(plan=plan, source=SeedRun.Source.API, requested_by=request.user)
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
            "status_url": self.status_url(run),
            "counts": {kind: run.done(kind) for kind in KINDS},
            "planned": {kind: run.planned(kind) for kind in KINDS},
        }
        if outcome.queued:
            return json_response(body, status=202, headers={"Location": body["status_url"], "Retry-After": "2"})
        return json_response(body)


class DemoDataStatsView(ApiView):
    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest) -> JsonResponse:
        services.seed_runs_settle()  # a run whose process died reads as failed, not running
        active = selectors.active_seed_run()
        return json_response(
            {
                "counts": selectors.inventory_counts(),
                "active_run": self.run_body(active) if active else None,
                "recent_runs": [self.run_body(run) for run in selectors.recent_seed_runs()],
            }
        )


class SeedRunView(ApiView):
    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest, run_id: int) -> JsonResponse:
        services.seed_runs_settle()  # a run whose process died reads as failed, not running
        if (run := SeedRun.objects.filter(pk=run_id).first()) is None:
            return run_not_found(run_id)
        # Each chunk that needed another start, and why, in a few words (no driver text).
        failed = [
            {key: attempt[key] for key in ("kind", "index", "starts", "committed", "cause")}
            for attempt in selectors.seed_run_failed_attempts(run.pk)
        ]
        return json_response({**self.run_body(run), "failed_attempts": failed})


class SeedRunCancelView(ApiView):
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, run_id: int) -> JsonResponse:
        if (run := SeedRun.objects.filter(pk=run_id).first()) is None:
            return run_not_found(run_id)
        run = services.seed_run_cancel(run=run, by=services.Actor(SeedRun.Source.API, request.user))
        return json_response({**self.run_body(run), "message": CANCELLED_MESSAGE})


def openapi_document(request: HttpRequest) -> JsonResponse:
    """The API's OpenAPI 3.1 document (seeding/openapi.py): public, it describes and holds no data."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", "use GET", headers={"Allow": "GET, HEAD"})
    return json_response(openapi.document())


def database_refused(request: HttpRequest, exc: BaseException) -> JsonResponse | None:
    """The 503 for a database that refuses to serve ``request`` (``database_outage.refusal``), else None.

    Out of connections is said once in a while with the budget that was exceeded; an
    unreachable database once per request, as the access log would. Never driver text in the answer.
    """
    refusal = database_outage.refusal(exc)
    if refusal == database_outage.BUSY:
        database_outage.say_out_of_connections(exc)
        return error_response(
            503,
            refusal,
            "the database has no free connection (too many clients); try again shortly",
            headers={"Retry-After": "5"},
        )
    if refusal == database_outage.UNAVAILABLE:
        logger.warning("%s %s: the database is unreachable (%s)", request.method, request.path, _first_line(exc))
        return error_response(
            503, refusal, "the database is unreachable; try again later", headers={"Retry-After": "30"}
        )
    return None


def _first_line(exc: BaseException) -> str:
    return next(iter(str(exc).strip().splitlines()), type(exc).__name__)


def run_not_found(run_id: int) -> JsonResponse:
    return error_response(404, "not_found", f"there is no seed run #{run_id}")


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return error_response(404, "not_found", f"no API endpoint at {request.path}")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF rejections in JSON for the API, Django's page elsewhere (CSRF_FAILURE_VIEW)."""
    if request.path.startswith("/api/"):
        return error_response(
            403,
            "csrf_failed",
            f"CSRF check failed: {reason.rstrip('.')}. Send the csrftoken cookie's value as X-CSRFToken.",
        )
    return django_csrf_failure(request, reason)
