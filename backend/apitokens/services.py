"""Issuing, checking and revoking API tokens. The admin and the middleware call these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from apitokens.models import ApiToken

#: Every token starts with this, so a leaked one is recognisable (and secret scanners can match it).
TOKEN_PREFIX = "dst_"
#: last_used_at is written at most this often per token: a busy script must not write on every call.
USAGE_RESOLUTION = timedelta(minutes=1)


def token_issue(token: ApiToken) -> str:
    """Give ``token`` (unsaved) a new secret; returns the secret, which only its hash outlives."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.digest = secret[:12], _digest(secret)
    return secret


def token_user(secret: str) -> AbstractBaseUser | None:
    """The active user a live token belongs to, or None (unknown, revoked, or its user deactivated)."""
    token = ApiToken.objects.select_related("user").filter(digest=_digest(secret), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > USAGE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(token: ApiToken) -> bool:
    """Revoke ``token`` from now on; False if it already was."""
    return bool(ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
