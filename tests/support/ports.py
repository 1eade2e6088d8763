"""Free TCP ports, for the servers end-to-end tests start: never a fixed port, so two suites (or two
passes of one) on the same machine cannot collide."""

from __future__ import annotations

import socket
import urllib.request


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick; closed again, so also a refused one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_body(url: str, timeout: float = 2.0) -> str | None:
    """The body ``url`` answers with 200, or None while nothing answers there yet: for awaiting a server."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read().decode() if answer.status == 200 else None
    except OSError:
        return None
