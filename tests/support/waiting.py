"""One way to await a condition, used by every test that polls: a fixed sleep either wastes time or,
on a loaded machine, is too short; a loop of one's own tends to forget its deadline or say nothing
about what it was waiting for when it gives up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "the condition",
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Raises AssertionError naming ``message`` (what was awaited) after ``timeout`` seconds; a callable
    ``message`` is called only then, so it may read logs that grow meanwhile. ``condition`` may raise
    (an AssertionError, say, when the process it watches died) to give up early.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            said = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s waiting for {said}")
        time.sleep(interval)
