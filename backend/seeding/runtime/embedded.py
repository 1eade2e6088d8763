"""The embedded default: with no REDIS_URL, an in-process broker and worker.

It lets `make serve` seed large plans in the background with nothing but the web
process. Its limits: messages live in that process's memory, so a restart loses
queued work (the run stays in the database and the next start of the worker
sweeps it up again); one worker thread; no other machine can help. Use Redis and
`rundramatiq` workers for anything beyond a demo on one laptop.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from django.conf import settings
from dramatiq.brokers.stub import StubBroker

from seeding import tasks

#: The actors this worker runs (importing the module declares them on the broker).
ACTORS = (tasks.start_seed_run, tasks.write_seed_chunk)

logger = logging.getLogger("seeding.embedded")
_lock = threading.Lock()
_worker: dramatiq.Worker | None = None


def ensure_embedded_worker() -> None:
    """Start the in-process worker once, if the broker is the embedded (stub) one."""
    global _worker
    broker = dramatiq.get_broker()
    if not settings.SEED_EMBEDDED_WORKER or not isinstance(broker, StubBroker) or _worker is not None:
        return
    with _lock:
        if _worker is None:
            broker.emit_after("process_boot")
            _worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=200)
            _worker.start()
            logger.info("started the embedded in-process worker (no REDIS_URL set)")
