"""The admin JSON API: thin views over the seeding services.

Every answer is JSON, errors included: 400 names each bad field, 401/403 for
access, 404/405/409/413/503 as HTTP means them, and an unexpected error is
logged and answered with a generic 500, never a traceback.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views import View

from seeding import selectors, services
from seeding.models import KINDS, SeedRun
from seeding.requests import BadRequest, parse_seed_request

logger = logging.getLogger("seeding.api")

QUEUED_MESSAGE = "Demo data seeding started in background. Check demo-data-stats endpoint for progress."
SEED_PERMISSION = "seeding.run_seed"
VIEW_PERMISSION = "seeding.view_seedrun"


def json_response(data: dict, status: int = 200, **kwargs) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=DjangoJSONEncoder, **kwargs)


def error_response(status: int, message: str, *, headers: dict | None = None, **extra) -> JsonResponse:
    return json_response({"status": "error", "message": message, **extra}, status=status, headers=headers)


def run_not_found(run_id: int) -> JsonResponse:
    return error_response(404, f"there is no seed run #{run_id}")


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
                "authentication required: log in through /admin/login/ and send the session cookie",
                headers={"WWW-Authenticate": 'Session realm="demoseed admin"'},
            )
        if not user.is_staff or not user.has_perm(self.permissions.get(method, SEED_PERMISSION)):
            return error_response(403, "you need staff status and the permission to seed demo data")
        try:
            return super().dispatch(request, *args, **kwargs)
        except RequestDataTooBig:
            return error_response(413, "the request body is too large")
        except Exception:
            logger.exception("unexpected error in %s %s", request.method, request.path)
            return error_response(500, "internal error; it has been logged")

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = [m.upper() for m in self.http_method_names if hasattr(self, m) and m != "options"]
        return error_response(
            405,
            f"{request.method} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )

    def status_url(self, run: SeedRun) -> str:
        return self.request.build_absolute_uri(reverse("seeding-api:seed-run", args=[run.pk]))


class SeedDemoDataView(ApiView):
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            plan = parse_seed_request(request.body)
            outcome = services.seed_request(plan=plan, source=SeedRun.Source.API, requested_by=request.user)
        except BadRequest as exc:
            return error_response(400, "invalid request body", errors={"body": str(exc)})
        except services.PlanError as exc:
            return error_response(400, "invalid seed request", errors=exc.errors)
        except services.RunAlreadyActive as exc:
            active = exc.active_run
            return error_response(409, str(exc), active_run_id=active.pk, active_run_status_url=self.status_url(active))
        except services.BrokerUnavailable:
            return error_response(
                503,
                "the background queue is unreachable; nothing was started, try again later",
                headers={"Retry-After": "30"},
            )
        except services.SeedingError as exc:
            failed = {"run_id": exc.run.pk, "status_url": self.status_url(exc.run)} if exc.run else {}
            return error_response(500, f"seeding failed: {exc}", **failed)
        run = outcome.run
        if outcome.queued:
            status, message = "queued", QUEUED_MESSAGE
        elif run.status == SeedRun.Status.SUCCEEDED:
            status, message = "success", f"Seeded {run.total_done:,} items."
        else:  # cancelled while it ran
            status, message = run.status, f"The run was {run.status} after {run.total_done:,} items."
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
        active = selectors.active_seed_run()
        return json_response(
            {
                "counts": selectors.inventory_counts(),
                "active_run": self._with_url(active) if active else None,
                "recent_runs": [self._with_url(run) for run in selectors.recent_seed_runs()],
            }
        )

    def _with_url(self, run: SeedRun) -> dict:
        return {**selectors.seed_run_status(run), "status_url": self.status_url(run)}


class SeedRunView(ApiView):
    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest, run_id: int) -> JsonResponse:
        if (run := SeedRun.objects.filter(pk=run_id).first()) is None:
            return run_not_found(run_id)
        return json_response({**selectors.seed_run_status(run), "status_url": self.status_url(run)})


class SeedRunCancelView(ApiView):
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, run_id: int) -> JsonResponse:
        if (run := SeedRun.objects.filter(pk=run_id).first()) is None:
            return run_not_found(run_id)
        try:
            run = services.seed_run_cancel(run=run)
        except services.RunNotResumable:
            return error_response(409, f"seed run #{run.pk} is {run.status}, not active")
        return json_response({**selectors.seed_run_status(run), "status_url": self.status_url(run)})


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return error_response(404, f"no API endpoint at {request.path}")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF rejections in JSON for the API, Django's page elsewhere (CSRF_FAILURE_VIEW)."""
    if request.path.startswith("/api/"):
        return error_response(403, f"CSRF check failed: {reason}. Send the csrftoken cookie's value as X-CSRFToken.")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)
