"""Which process is writing an inline run, recorded so that a dead one is noticed at once.

An inline run (the command, a small web request) has no lease: nothing else
writes it. If its process dies, the run stays "running" and blocks every new
run until SEED_ABANDONED_AFTER_SECONDS pass without progress (90 s, longer than
an inline run's slowest step). Where the dead process ran on this machine, it
can be known for sure instead: the run records its writer's identity, and a
later process on the same kernel and in the same PID namespace that finds that
process gone (or its PID now used by another, younger process) takes the run
for abandoned at once. Anywhere else (another machine, another container, not
Linux) the answer is "cannot tell", and the time threshold decides.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


def this_process() -> str:
    """host:pid, then what makes the pid unambiguous on Linux: boot id, PID namespace, start time."""
    return ":".join((socket.gethostname(), str(os.getpid()), *_here(), _started(os.getpid()) or ""))


def is_gone(identity: str) -> bool:
    """True only when ``identity`` names a process of this kernel and PID namespace that no longer runs."""
    parts = identity.split(":")
    if len(parts) != 5 or not all(parts[2:]) or tuple(parts[2:4]) != _here():
        return False  # recorded elsewhere, or by a platform without /proc: cannot tell
    try:
        started = _started(int(parts[1]))
    except PermissionError:  # /proc mounted with hidepid, another user's process: alive, as far as we know
        return False
    return started != parts[4]


@cache
def _here() -> tuple[str, str]:
    """(boot id, PID namespace) of this process, or empty strings where /proc cannot tell."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "", ""
    return boot, namespace


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None if it is gone.

    A zombie (dead, not yet reaped by its parent) counts as gone. Raises
    PermissionError when /proc will not say.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]
