"""API tokens: created in the admin and shown once, used as a bearer without CSRF, revoked, refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from apitokens.models import ApiToken
from apitokens.services import USAGE_RESOLUTION, token_issue
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

SEED_URL = "/api/v1/admin/seed-demo-data"
STATS_URL = "/api/v1/admin/demo-data-stats"


def staff_user(django_user_model, name: str, *codenames: str):
    user = django_user_model.objects.create_user(name, password=f"pw-{name}-123", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def token_for(user, name: str = "CI") -> str:
    token = ApiToken(user=user, name=name)
    secret = token_issue(token)
    token.save()
    return secret


def bearer(secret: str) -> Client:
    """A client that enforces CSRF like a browser-less script would meet it, and sends the token."""
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_a_staff_user_creates_a_token_in_the_admin_and_sees_it_once(django_user_model):
    seeder = staff_user(django_user_model, "seeder", "add_apitoken", "view_apitoken", "run_seed", "view_seedrun")
    admin = Client()
    admin.force_login(seeder)
    response = admin.post(reverse("admin:apitokens_apitoken_add"), {"user": seeder.pk, "name": "CI"}, follow=True)
    shown = re.search(r"is (dst_[A-Za-z0-9_-]{43})", response.content.decode())
    assert shown, response.content.decode()[:2000]
    token = ApiToken.objects.get()
    assert token.user == seeder and token.created_by == seeder and token.prefix == shown[1][:12]
    assert shown[1] not in {token.digest, token.prefix}  # stored as a hash only
    page = admin.get(reverse("admin:apitokens_apitoken_change", args=[token.pk])).content.decode()
    assert shown[1] not in page and f"{token.prefix}" in page  # never shown again
    assert bearer(shown[1]).get(STATS_URL).status_code == 200


def test_a_staff_user_cannot_make_a_token_for_someone_else(django_user_model):
    seeder = staff_user(django_user_model, "seeder", "add_apitoken", "view_apitoken")
    other = staff_user(django_user_model, "other", "run_seed")
    admin = Client()
    admin.force_login(seeder)
    response = admin.post(reverse("admin:apitokens_apitoken_add"), {"user": other.pk, "name": "theirs"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_bearer_token_seeds_without_csrf_or_a_session(django_user_model, settings):
    settings.SEED_INLINE_THRESHOLD = 10_000
    user = staff_user(django_user_model, "ci", "run_seed", "view_seedrun")
    response = bearer(token_for(user)).post(SEED_URL, {"assets": 20}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["assets"] == 20
    assert ApiToken.objects.get().last_used_at is not None


def test_a_revoked_token_is_refused(django_user_model, admin_client):
    secret = token_for(staff_user(django_user_model, "ci", "view_seedrun"))
    assert bearer(secret).get(STATS_URL).status_code == 200
    token = ApiToken.objects.get()
    admin_client.post(
        reverse("admin:apitokens_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    response = bearer(secret).get(STATS_URL)
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    listed = admin_client.get(reverse("admin:apitokens_apitoken_changelist"), {"state": "revoked"})
    assert list(listed.context["cl"].result_list) == [token]


@pytest.mark.parametrize("header", ["Bearer dst_not-a-real-token", "Bearer ", "bearer wrong"])
def test_a_wrong_token_is_401_even_with_a_valid_session_alongside(header, admin_client):
    response = admin_client.get(STATS_URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_a_token_of_a_user_without_the_permission_is_403(django_user_model):
    viewer = staff_user(django_user_model, "viewer", "view_seedrun")  # may look, may not seed
    client = bearer(token_for(viewer))
    assert client.get(STATS_URL).status_code == 200
    response = client.post(SEED_URL, {"assets": 20}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_an_inactive_users_token_is_refused(django_user_model):
    user = staff_user(django_user_model, "gone", "view_seedrun")
    secret = token_for(user)
    user.is_active = False
    user.save()
    assert bearer(secret).get(STATS_URL).status_code == 401


def test_without_any_credentials_the_api_says_how_to_authenticate():
    response = Client().get(STATS_URL)
    assert response.status_code == 401 and "Authorization: Bearer" in response.json()["message"]
    assert response["WWW-Authenticate"] == 'Bearer realm="demoseed"'


def test_last_used_is_written_at_most_once_a_minute_per_token(django_user_model):
    secret = token_for(staff_user(django_user_model, "ci", "view_seedrun"))
    client = bearer(secret)
    assert client.get(STATS_URL).status_code == 200
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get(STATS_URL)
    assert ApiToken.objects.get().last_used_at == first  # a second call within the minute writes nothing
    ApiToken.objects.update(last_used_at=first - USAGE_RESOLUTION - timedelta(seconds=1))
    client.get(STATS_URL)
    assert ApiToken.objects.get().last_used_at > first  # a minute later, it moves


# --- A token opens the API only -----------------------------------------------------------------------------------


@pytest.fixture
def superuser_token(django_user_model) -> str:
    """The worst leak: a superuser's token, which the API accepts for everything it offers."""
    return token_for(django_user_model.objects.create_superuser("root", password="pw-root-123"))


def test_a_token_does_not_open_the_admin(superuser_token):
    response = bearer(superuser_token).get(reverse("admin:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    listed = bearer(superuser_token).get(reverse("admin:apitokens_apitoken_changelist"))
    assert listed.status_code == 302


def test_a_token_cannot_mint_another_token_through_the_admin(superuser_token):
    root = ApiToken.objects.get().user
    response = bearer(superuser_token).post(reverse("admin:apitokens_apitoken_add"), {"user": root.pk, "name": "x"})
    assert response.status_code == 403  # no session: CSRF applies, and nobody is logged in either
    assert ApiToken.objects.count() == 1


def test_a_token_cannot_create_a_user_through_the_admin(superuser_token, django_user_model):
    form = {"username": "intruder", "password1": "Zx9-long-enough!", "password2": "Zx9-long-enough!"}
    response = bearer(superuser_token).post(reverse("admin:auth_user_add"), form)
    assert response.status_code == 403
    assert not django_user_model.objects.filter(username="intruder").exists()


def test_a_stray_token_beside_a_session_does_not_lift_csrf_in_the_admin(superuser_token, django_user_model):
    """A browser session that also carries a bearer header is still a browser: the admin keeps its CSRF check."""
    browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {superuser_token}")
    browser.force_login(ApiToken.objects.get().user)
    form = {"username": "intruder", "password1": "Zx9-long-enough!", "password2": "Zx9-long-enough!"}
    assert browser.post(reverse("admin:auth_user_add"), form).status_code == 403
    assert not django_user_model.objects.filter(username="intruder").exists()


def test_the_api_still_answers_a_superusers_token(superuser_token, settings):
    settings.SEED_INLINE_THRESHOLD = 10_000
    client = bearer(superuser_token)
    assert client.get(STATS_URL).status_code == 200
    assert client.post(SEED_URL, {"assets": 5}, content_type="application/json").status_code == 200


def test_a_session_on_the_api_still_needs_csrf(django_user_model):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user(django_user_model, "seeder", "run_seed", "view_seedrun"))
    response = browser.post(SEED_URL, {"assets": 5}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
