"""``GET /healthz``: is this web process able to serve? Checks the database and the message broker.

A middleware placed first, not a view: container healthchecks and load
balancers probe over plain HTTP with whatever Host header they have, and must
get the answer rather than an HTTPS redirect (``DJANGO_HTTPS``) or a 400 for a
host not in ``DJANGO_ALLOWED_HOSTS``. The answer names what failed, never how
(no driver text): 200 ``{"status": "ok", ...}`` or 503 ``{"status": "unavailable", ...}``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from seeding.messaging import broker_state

PATH = "/healthz"


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def checks() -> dict[str, str]:
    """Each dependency: "ok", "unreachable", or "not used" (the embedded broker)."""
    results = {}
    for name, probe in (("database", check_database), ("broker", broker_state.ping)):
        try:
            probe()
        except Exception:
            results[name] = "unreachable"
        else:
            results[name] = "ok" if name == "database" or broker_state.uses_redis() else "not used"
    return results


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "error", "message": "use GET"}, status=405, headers={"Allow": "GET, HEAD"})
        results = checks()
        healthy = all(result != "unreachable" for result in results.values())
        body = {"status": "ok" if healthy else "unavailable", **results}
        return JsonResponse(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
