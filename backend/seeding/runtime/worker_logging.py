"""Worker processes log what each run does at INFO by default; web processes and commands stay quieter.

An operator reads a worker's log to follow runs: when one starts, each phase
it sends, each retry and its cause, each takeover of a dead worker's chunk,
and how it ends, all naming the run. Those lines are INFO on the ``seeding``
logger, which web processes and the command keep at WARNING (``SEEDING_LOG_LEVEL``)
so a terminal with a progress bar is not interleaved with them. This
middleware raises the level (``SEEDING_WORKER_LOG_LEVEL``) where a Dramatiq
worker boots: `rundramatiq` processes, and the web process that runs the
embedded worker (no REDIS_URL), whose log is that worker's log.
"""

from __future__ import annotations

import logging

from django.conf import settings
from dramatiq.middleware import Middleware


class WorkerLogLevel(Middleware):
    def before_worker_boot(self, broker, worker) -> None:
        logging.getLogger("seeding").setLevel(settings.SEEDING_WORKER_LOG_LEVEL)
