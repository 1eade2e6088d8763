"""Safe defaults: the Content-Security-Policy the admin and the API answer with, the monitor's password gate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import reverse
from streamlit.testing.v1 import AppTest

from monitor import gate
from tests.support.paths import REPO

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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_admin_works_under_its_policy_in_a_real_browser(live_server, django_user_model):
    """Chromium reports every resource the policy blocks on its console: none may be, on any admin page."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_FLAGS, chromium_path

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


# --- The monitor's password gate --------------------------------------------------------------------------------

MONITOR_APP = str(REPO / "monitor" / "streamlit_app.py")


@pytest.fixture
def gated_monitor(monkeypatch) -> Iterator[Callable[[], AppTest]]:
    """New monitor sessions behind MONITOR_PASSWORD, in a process whose gate has seen no attempt yet."""
    monkeypatch.setenv("MONITOR_PASSWORD", "s3cret-enough")
    gate.attempts.clear()

    def session() -> AppTest:
        app = AppTest.from_file(MONITOR_APP, default_timeout=30)
        app.run()
        assert not app.exception and app.text_input, app.exception
        return app

    yield session
    gate.attempts.clear()


def attempt(app: AppTest, password: str) -> AppTest:
    app.text_input(key="monitor_password").input(password).run()
    assert not app.exception, app.exception
    return app


def errors(app: AppTest) -> str:
    return " ".join(error.value for error in app.error)


@pytest.mark.django_db(transaction=True)
def test_the_monitor_gate_locks_after_repeated_wrong_passwords(gated_monitor):
    app = gated_monitor()
    for _ in range(gate.MAX_FAILURES):
        attempt(app, "guess")  # the same guess again is another attempt: the field is cleared after each
    assert "Too many wrong passwords" in errors(attempt(app, "s3cret-enough"))
    assert not app.metric  # even the right password is refused while locked
    # A fresh session (another tab, another script) meets the same lock.
    other = gated_monitor()
    assert "Too many wrong passwords" in errors(attempt(other, "s3cret-enough")) and not other.metric


@pytest.mark.django_db(transaction=True)
def test_the_monitor_gate_opens_again_once_the_lockout_is_over(gated_monitor):
    app = gated_monitor()
    for _ in range(gate.MAX_FAILURES):
        attempt(app, "guess")
    gate.attempts().locked_until = time.monotonic()  # the lockout's time has passed
    assert attempt(app, "s3cret-enough").metric  # the overview


@pytest.mark.django_db(transaction=True)
def test_a_right_password_before_the_limit_resets_the_count(gated_monitor):
    app = gated_monitor()
    for _ in range(gate.MAX_FAILURES - 1):
        attempt(app, "guess")
    assert "Wrong password" in errors(app) and not app.metric
    assert attempt(app, "s3cret-enough").metric
    assert gate.attempts().failures == 0
