"""Starts the embedded worker with the web process's first request (no REDIS_URL).

Without it, a run queued before a restart of the web process would wait until
someone started another one; with it, the embedded worker's sweeper picks the
run up again as soon as the app serves anyone.
"""

from __future__ import annotations

from seeding.runtime.embedded import ensure_embedded_worker


class EmbeddedWorkerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ensure_embedded_worker()
        return self.get_response(request)
