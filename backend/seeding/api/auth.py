"""Who may call the API: a bearer token (scripts, CI jobs) or the admin's session (a browser), then a permission.

A token authenticates the API and nothing else: it is read here, by the API's
own operations, so the admin never sees it (a leaked token cannot mint tokens
or create users there). A request with a bearer token that is wrong, revoked or
whose user is inactive gets 401 ``invalid_token`` at once; it never falls back
to a session cookie sent along with it. A token is sent only by a client that
holds it, so no CSRF check applies to it.

A session is a cookie a browser sends on its own, so an unsafe method with a
session also passes Django's CSRF check (answered by ``CSRF_FAILURE_VIEW``, in
JSON for the API). A request with neither gets 401, never a CSRF refusal: it
has nothing a forged request could borrow.
"""

from __future__ import annotations

from apitokens.services import token_user
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

SEED_PERMISSION = "seeding.run_seed"
VIEW_PERMISSION = "seeding.view_seedrun"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class InvalidToken(Exception):
    """A bearer token that opens nothing: unknown, revoked, or its user deactivated."""


class CsrfRejected(Exception):
    """A session request that failed Django's CSRF check; ``response`` is the CSRF failure view's answer."""

    def __init__(self, response: HttpResponse):
        super().__init__("CSRF check failed")
        self.response = response


class ApiToken(HttpBearer):
    """``Authorization: Bearer <token>``: a token staff create in the admin, under API tokens."""

    openapi_description = "An API token made in the admin (API tokens); it opens the API only."

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser:
        user = token_user(token.strip()) if token.strip() else None
        if user is None:
            raise InvalidToken
        request.user = user  # the request acts as the token's user, as a session's would
        return user


class AdminSession(APIKeyCookie):
    """The admin's session cookie; unsafe methods also need the csrftoken cookie's value as X-CSRFToken."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The admin's session; unsafe methods also need the csrftoken cookie's value as X-CSRFToken."

    def __init__(self) -> None:
        super().__init__(csrf=False)  # checked below, and only once a session is known to be there

    def authenticate(self, request: HttpRequest, key: str | None) -> AbstractBaseUser | None:
        if not key or not request.user.is_authenticated:
            return None
        if request.method not in _SAFE_METHODS and (refusal := check_csrf(request)) is not None:
            raise CsrfRejected(refusal)
        return request.user


#: Every operation but the document takes either.
AUTHENTICATION = [ApiToken(), AdminSession()]


def require_permission(request: HttpRequest, permission: str) -> AbstractBaseUser:
    """The authenticated user, if staff with ``permission``; else PermissionDenied (403)."""
    user = request.auth
    if not user.is_staff or not user.has_perm(permission):
        needs = "view seed runs" if permission == VIEW_PERMISSION else "seed demo data"
        raise PermissionDenied(f"you need staff status and the permission to {needs}")
    return user
