"""Every failure the API can meet, answered in JSON in one place: never a traceback, never driver text.

400 names each bad field at once, 401/403 for access, 404/405/409/413/503 as
HTTP means them, and an unexpected error is logged and answered with a generic
500. A database that refuses to serve is a 503 that says which refusal: out of
connections (``database_busy``) or unreachable (``database_unavailable``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from seeding import services
from seeding.api.auth import CsrfRejected, InvalidToken
from seeding.api.parser import BadBody
from seeding.common import database_outage
from seeding.generation.kinds import KINDS
from seeding.named_plans import PLANS
from seeding.plan import PER_KIND_MAX, SEED_MAX, PlanError

logger = logging.getLogger("seeding.api")

#: What django-ninja's answers carry; the errors carry the same.
CONTENT_TYPE = "application/json; charset=utf-8"

#: The fields a seed request may carry, in the order a message lists them.
REQUEST_FIELDS = ("plan", *KINDS, "seed", "as_of")
NOT_AUTHENTICATED = (
    "authentication required: send Authorization: Bearer <token> (staff create tokens in the admin, under API "
    "tokens), or log in through /admin/login/ and send the session cookie"
)


def error_response(status: int, code: str, message: str, *, headers: dict | None = None, **extra) -> JsonResponse:
    """Every error the API gives: a stable ``code`` for programs, a ``message`` for people."""
    return JsonResponse(
        {"status": "error", "code": code, "message": message, **extra},
        status=status,
        headers=headers,
        content_type=CONTENT_TYPE,
    )


def install(api: NinjaAPI, *, status_url: Callable[[HttpRequest, object], str]) -> None:
    """Answer every exception an operation (or its authentication) raises; ``status_url`` links a run."""

    def on(exc_class: type[Exception]):
        def register(handler):
            api.add_exception_handler(exc_class, handler)
            return handler

        return register

    @on(ValidationError)
    def invalid_fields(request, exc: ValidationError):
        return error_response(400, "invalid", _invalid(request), errors=field_errors(exc.errors))

    @on(PlanError)
    def invalid_plan(request, exc: PlanError):
        return error_response(400, "invalid", _invalid(request), errors=exc.errors)

    @on(HttpError)
    def unreadable_body(request, exc: HttpError):
        # django-ninja raises HttpError(400) from whatever the parser raised on the body.
        if isinstance(exc.__cause__, BadBody):
            return error_response(400, "invalid", "invalid request body", errors={"body": str(exc.__cause__)})
        return unexpected(request, exc)

    @on(RequestDataTooBig)
    def too_large(request, exc):
        return error_response(413, "too_large", "the request body is too large")

    @on(AuthenticationError)
    def not_authenticated(request, exc):
        return error_response(
            401, "not_authenticated", NOT_AUTHENTICATED, headers={"WWW-Authenticate": 'Bearer realm="demoseed"'}
        )

    @on(InvalidToken)
    def invalid_token(request, exc):
        return error_response(
            401,
            "invalid_token",
            "the API token is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="demoseed", error="invalid_token"'},
        )

    @on(CsrfRejected)
    def csrf_rejected(request, exc: CsrfRejected):
        return exc.response

    @on(PermissionDenied)
    def permission_denied(request, exc):
        return error_response(403, "permission_denied", str(exc) or "permission denied")

    @on(Http404)
    def not_found(request, exc):
        return error_response(404, "not_found", str(exc) or f"nothing at {request.path}")

    @on(services.RunAlreadyActive)
    def run_active(request, exc: services.RunAlreadyActive):
        active = exc.active_run
        return error_response(
            409,
            "run_active",
            str(exc),
            active_run_id=active.pk,
            active_run_status_url=status_url(request, active),
        )

    @on(services.RunNotActive)
    def run_not_active(request, exc):
        return error_response(409, "run_not_active", str(exc))

    @on(services.BrokerUnavailable)
    def broker_unavailable(request, exc):
        return error_response(
            503,
            "broker_unavailable",
            "the background queue is unreachable; nothing was started, try again later",
            headers={"Retry-After": "30"},
        )

    @on(services.RunFailed)
    def seed_failed(request, exc: services.RunFailed):
        if (refused := database_refused(request, exc)) is not None:
            return refused
        run = exc.run
        return error_response(
            500,
            "seed_failed",
            "seeding failed; the chunks committed before the failure are kept. "
            "Staff can read the full error on the run's admin page.",
            error=run.error,
            run_id=run.pk,
            status_url=status_url(request, run),
        )

    @on(Exception)
    def unexpected(request, exc):
        if (refused := database_refused(request, exc)) is not None:  # a refusal wrapped in another error
            return refused
        logger.exception("unexpected error in %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "internal", "internal error; it has been logged")


def field_errors(errors: list[dict]) -> dict[str, str]:
    """pydantic's errors for a request body, as one message per field (``body`` for the body as a whole)."""
    messages: dict[str, str] = {}
    for error in errors:
        location = error["loc"][2:]  # django-ninja's loc: ("body", the operation's argument, the field, ...)
        field = str(location[0]) if location else "body"
        messages.setdefault(field, _message(field, error))
    return messages


def _message(field: str, error: dict) -> str:
    kind = error["type"]
    if field == "body":
        if kind == "missing":
            return 'malformed JSON: the body is empty; send a JSON object, e.g. {"assets": 1000}'
        return 'the body must be a JSON object, e.g. {"assets": 1000}'
    if kind == "extra_forbidden":
        return f"unknown field; allowed: {', '.join(REQUEST_FIELDS)}"
    if kind == "value_error":  # the schema's own validators say what was wrong
        return str(error["ctx"]["error"])
    if field == "plan":
        return f"must be the name of a plan: {', '.join(PLANS)}"
    if field == "seed":
        return f"must be an integer from 0 to {SEED_MAX}"
    if kind == "greater_than_equal":
        return "must be a non-negative integer"
    if kind == "less_than_equal":
        return f"must be at most {PER_KIND_MAX:,}"
    return error["msg"]


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


def json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a django-ninja path view so that its 405 (plain text) is the API's JSON error, with ``Allow``.

    OPTIONS included: the API documents no OPTIONS operation, so it is refused like any other method.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = ", ".join(sorted(method.strip() for method in response["Allow"].split(",")))
            return error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allowed}",
                headers={"Allow": allowed},
            )
        return response

    return wrapper


@csrf_exempt  # nothing is there to protect: a POST to no endpoint is a 404, not a CSRF refusal
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return error_response(404, "not_found", f"no API endpoint at {request.path}")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF rejections in JSON for the API, Django's page elsewhere (CSRF_FAILURE_VIEW)."""
    if request.path.startswith("/api/"):
        return error_response(
            403,
            "csrf_failed",
            f"CSRF check failed: {reason.rstrip('.')}. Send the csrftoken cookie's value as X-CSRFToken.",
        )
    return django_csrf_failure(request, reason)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view (a Host it does not serve): JSON for the API (``handler400``)."""
    if request.path.startswith("/api/"):
        return error_response(400, "bad_request", "the request was refused before it reached the API")
    return defaults.bad_request(request, exception)


def _invalid(request) -> str:
    """What a 400 invalid says it refused: a live stream, or (every other body) a seed request."""
    return (
        "invalid live stream request" if request.path.rstrip("/").endswith("/live-stream") else "invalid seed request"
    )
