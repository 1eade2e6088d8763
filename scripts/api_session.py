"""A logged-in session against demoseed's admin JSON API, over real HTTP.

Just enough of a browser (cookies, the CSRF header, JSON) for
the benchmark scripts (scripts/servers.py) and the end-to-end tests, with the standard library only.
"""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request


class ApiSession:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def login(self, username: str, password: str) -> None:
        """Log in through the admin's login form, as a person would."""
        self.opener.open(f"{self.base}/admin/login/").read()
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf(), "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(f"{self.base}/admin/login/", data=form, headers={"Referer": self.base})
        self.opener.open(request).read()

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        """Send a JSON request; returns (status, decoded body, milliseconds)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf(), "Referer": self.base}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        started = time.perf_counter()
        try:
            with self.opener.open(request) as response:
                payload, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            payload, status = error.read(), error.code
        return status, json.loads(payload), (time.perf_counter() - started) * 1000

    def page(self, path: str) -> tuple[int, float]:
        """GET an HTML page (the admin's); returns (status, milliseconds)."""
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        return status, (time.perf_counter() - started) * 1000
