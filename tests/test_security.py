"""Safe defaults: the Content-Security-Policy the admin and the API answer with."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize(
    "path", [reverse("admin:login"), reverse("admin:index"), "/api/v1/admin/demo-data-stats"], ids=str
)
def test_the_admin_and_the_api_answer_with_a_content_security_policy(path, admin_client):
    given = policy(admin_client.get(path))
    assert given.get("default-src") == ["'self'"]
    # No inline or foreign script may run: injected markup cannot execute.
    assert given.get("script-src") == ["'self'"]
    assert given.get("object-src") == ["'none'"] and given.get("base-uri") == ["'none'"]
    assert given.get("frame-ancestors") == ["'none'"] and given.get("form-action") == ["'self'"]


def test_the_policy_is_sent_to_visitors_who_are_not_logged_in_too():
    assert policy(Client().get(reverse("admin:login"))).get("script-src") == ["'self'"]


#: Pages with forms, widgets, actions and Django's inline <style>: what the policy could break.
BROWSED_PAGES = [
    "/admin/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/seeding/seedrun/",
    "/admin/seeding/seedrun/seed/",
    "/admin/apitokens/apitoken/add/",
    "/admin/inventory/asset/",
]


@pytest.mark.django_db(transaction=True)
def test_the_admin_works_under_its_policy_in_a_real_browser(live_server, django_user_model):
    """Chromium reports every resource the policy blocks on its console: none may be, on any admin page."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_FLAGS, chromium_path

    django_user_model.objects.create_superuser("admin", "admin@example.com", "a-long-test-password")
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("console", lambda message: violations.append(f"{page.url}: {message.text}"))
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "a-long-test-password")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        for path in BROWSED_PAGES:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            assert "script-src 'self'" in (response.header_value("Content-Security-Policy") or "")
        # The user form's widgets run scripts: one proves the admin's own JavaScript still runs.
        page.goto(f"{live_server.url}/admin/auth/user/add/")
        assert page.evaluate("typeof window.django === 'object'")
        browser.close()
    assert [line for line in violations if "Content Security Policy" in line] == []
