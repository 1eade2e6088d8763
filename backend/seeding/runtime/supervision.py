"""A Dramatiq middleware: a worker process stops when the process that started it dies.

``rundramatiq`` (Dramatiq's CLI) runs a main process that forks the worker
processes. Kill the main process alone with SIGKILL (an OOM killer, a
supervisor that only knows the main PID) and its children, being ordinary
processes, go on consuming messages with nobody left to stop or restart them:
orphans that a new ``rundramatiq`` then competes with. On Linux each worker
process asks the kernel, at boot, for a SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), which Dramatiq handles as a graceful shutdown:
chunks in flight finish or are requeued, and the process exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

logger = logging.getLogger("seeding.supervision")

PR_SET_PDEATHSIG = 1


class StopWithParent(Middleware):
    def after_worker_boot(self, broker, worker) -> None:
        if not sys.platform.startswith("linux") or not isinstance(broker, RedisBroker):
            return  # the embedded worker lives in the web process: its server manages that one
        parent = os.getppid()
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            logger.warning("could not ask to be stopped with the parent process (errno %s)", ctypes.get_errno())
            return
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)
