"""`Authorization: Bearer <token>`: the request acts as the token's user, without a session or CSRF.

CSRF protects cookies a browser sends on its own; a bearer token is sent only
by a client that holds it, so a request carrying one is exempt (Django's
CsrfViewMiddleware honours ``request._dont_enforce_csrf_checks``, as Django
REST framework's token authentication relies on). A request with a bearer
token that is wrong, revoked or whose user is inactive gets 401 at once: it
never falls back to a session cookie sent along with it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apitokens.services import token_user


class BearerTokenMiddleware:
    """After AuthenticationMiddleware, before CsrfViewMiddleware's view check runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
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
