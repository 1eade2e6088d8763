"""`Authorization: Bearer <token>` on the JSON API: the request acts as the token's user, without CSRF.

CSRF protects cookies a browser sends on its own; a bearer token is sent only
by a client that holds it, so a request the token authenticated is exempt
(Django's CsrfViewMiddleware honours ``request._dont_enforce_csrf_checks``, as
Django REST framework's token authentication relies on). A request to the API
with a bearer token that is wrong, revoked or whose user is inactive gets 401
at once: it never falls back to a session cookie sent along with it.

A token opens the API and nothing else. Everywhere else (the Django admin) the
header is ignored, not answered with 401: those pages are for browsers, which
log in with a session and keep their CSRF check, so a request there is handled
exactly as if it carried no header at all. A leaked token can then do no more
than the API offers: it cannot mint tokens or create users through the admin.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apitokens.services import token_user

#: Where the JSON API is mounted (config/urls.py): the only paths a token authenticates.
API_PATH_PREFIX = "/api/"


class BearerTokenMiddleware:
    """After AuthenticationMiddleware, before CsrfViewMiddleware's view check runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not request.path_info.startswith(API_PATH_PREFIX):
            return self.get_response(request)
        user = token_user(secret.strip()) if secret.strip() else None
        if user is None:
            return JsonResponse(
                {"status": "error", "code": "invalid_token", "message": "the API token is unknown or revoked"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="demoseed", error="invalid_token"'},
            )
        request.user = user
        request._dont_enforce_csrf_checks = True
        return self.get_response(request)
