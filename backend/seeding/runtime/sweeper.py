"""A Dramatiq middleware that, inside every worker process, takes over dead workers' chunks and
re-dispatches stalled runs (``services.workers.seed_runs_sweep``).

Living in the workers means no extra process to deploy. A chunk whose worker
died is re-sent once its lease lapses (SEED_CHUNK_LEASE_SECONDS) at the next
sweep (SEED_SWEEP_INTERVAL_SECONDS): about 12 s with the defaults, instead of
waiting for Redis to requeue a dead worker's messages (60 s and a random
maintenance pass). A run that lost its messages is re-dispatched after
SEED_STALL_AFTER_SECONDS without progress. It is added to the broker when the
app is ready (``SeedingConfig.ready``), once the services can be imported.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from dramatiq.middleware import Middleware

from seeding.common import database_outage
from seeding.runtime import broker_outage
from seeding.services import seed_runs_sweep

logger = logging.getLogger("seeding.sweeper")


class StalledRunSweeper(Middleware):
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker, worker) -> None:
        self._broker = broker
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="seed-run-sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(settings.SEED_SWEEP_INTERVAL_SECONDS):
            broker_outage.check_back(self._broker)
            if broker_outage.outage_ongoing():
                continue  # nothing could be re-sent, and each try would log a traceback
            try:
                close_old_connections()
                # Right after a database outage no run has moved for a while, but its
                # messages are being retried now: no stalled runs in this sweep.
                seed_runs_sweep(stalled_runs=not database_outage.outage_ongoing())
            except Exception as exc:  # keep sweeping: a database hiccup must not end the thread
                if database_outage.is_unreachable(exc):
                    database_outage.note_unreachable(exc)  # said once per outage; the next sweep is the retry
                else:
                    logger.exception("sweeping stalled seed runs failed")
            else:
                database_outage.note_reachable()
            finally:
                connection.close()
