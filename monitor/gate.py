"""The monitor's password gate (``MONITOR_PASSWORD``), with a limit on wrong guesses.

After ``MAX_FAILURES`` wrong passwords in a row, every attempt is refused, the right
password too, for ``LOCKOUT_SECONDS``: a script guessing through the gate gets a
handful of tries a minute. The count is kept once per monitor process
(``st.cache_resource``), not per browser session: a new session is only a new
websocket away, so a per-session count would stop nobody.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

#: Wrong passwords in a row before the gate locks.
MAX_FAILURES = 5
#: How long it then refuses every attempt.
LOCKOUT_SECONDS = 60.0


@dataclass
class Attempts:
    """Wrong passwords since the last right one, and until when (time.monotonic) the gate is locked."""

    failures: int = 0
    locked_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seconds_locked(self) -> float:
        return max(0.0, self.locked_until - time.monotonic())

    def check(self, entered: str, expected: str) -> str | None:
        """None when ``entered`` opens the gate, else what to tell the person."""
        with self.lock:
            if self.seconds_locked():
                return locked_message(self.seconds_locked())
            if hmac.compare_digest(entered.encode(), expected.encode()):
                self.failures = 0
                return None
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self.failures, self.locked_until = 0, time.monotonic() + LOCKOUT_SECONDS
                return locked_message(LOCKOUT_SECONDS)
            return f"Wrong password ({MAX_FAILURES - self.failures} more tries before the monitor locks for a while)."


def locked_message(seconds: float) -> str:
    return f"Too many wrong passwords: the monitor refuses every password for {seconds:.0f} s more."


@st.cache_resource
def attempts() -> Attempts:
    """The one count for this monitor process, shared by every session."""
    return Attempts()


def password_ok() -> bool:
    """True when no password is configured, or this session entered the right one in time."""
    expected = os.environ.get("MONITOR_PASSWORD", "")
    if not expected or st.session_state.get("monitor_unlocked"):
        return True
    st.title("demoseed monitor")
    st.markdown(
        "Live progress of demo-data seed runs, the workers writing them, and a look at the seeded inventory. "
        "It is read-only; enter the monitor's password to open it."
    )
    st.text_input(
        "Password",
        type="password",
        key="monitor_password",
        on_change=_attempt,
        args=(expected,),
        help="Set by MONITOR_PASSWORD where the monitor runs.",
    )
    if message := st.session_state.get("monitor_gate_message"):
        st.error(message)
    return False


def _attempt(expected: str) -> None:
    """One attempt per password typed (an on_change callback: a rerun with the field unchanged is none)."""
    entered = st.session_state.get("monitor_password", "")
    if not entered:
        return
    message = attempts().check(entered, expected)
    st.session_state["monitor_unlocked"] = message is None
    st.session_state["monitor_gate_message"] = message
    st.session_state["monitor_password"] = ""  # the same wrong password typed again is another attempt
