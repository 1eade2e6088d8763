"""The JSON API answers a 503 in JSON when its database refuses it, before anything else asks the database.

Django turns an exception raised inside a middleware into its 500 page (a
traceback page with debug on) before any outer code sees it, and the bearer
token middleware reads the database before any view runs. So a refused
connection there could never reach the API's own JSON error handling. This
middleware sits in front of it (settings.MIDDLEWARE) and, for an API request
that will need the database, opens the connection first (or health-checks a
persistent one): if the server refuses, the request gets the API's 503
(``database_busy`` or ``database_unavailable``, seeding.views) and nothing
else runs. A connection already open costs nothing; a new one is the one the
request would have opened anyway. Failures later in the request are the
views' to translate (``ApiView.error_for``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from seeding.views import ApiView, database_refused

#: Where the JSON API is mounted (config/urls.py).
API_PATH_PREFIX = "/api/"


class ApiDatabaseRefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if needs_database(request):
            try:
                connection.close_if_health_check_failed()
                connection.ensure_connection()
            except DatabaseError as exc:
                if (answer := database_refused(request, exc)) is None:
                    raise
                return answer
        return self.get_response(request)


def needs_database(request: HttpRequest) -> bool:
    """An API request with a token to look up, or for an endpoint that reads runs (not the OpenAPI document)."""
    if not request.path_info.startswith(API_PATH_PREFIX):
        return False
    if "Authorization" in request.headers:
        return True
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return False
    return issubclass(getattr(view, "view_class", object), ApiView)
