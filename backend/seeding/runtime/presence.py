"""A Dramatiq middleware that names each worker process in Redis, next to Dramatiq's own heartbeats.

Dramatiq's Redis broker keeps ``<namespace>:__heartbeats__``, a sorted set of
broker ids by their last contact, written by every process that talks to the
broker: workers (every fetch, at least once a second) and senders alike (a web
process, on each enqueue). A broker id is a random UUID, so on its own it says
neither which machine a worker is on nor whether it is a worker at all. Each
worker process therefore records its id with ``host:pid`` (the name its chunks
carry in ``SeedChunk.written_by``) and its thread count when it boots, and
removes it when it shuts down; a process that dies without shutting down is
pruned by the next worker to boot once Dramatiq has dropped its heartbeat.
Read back by ``seeding.messaging.broker_state``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from seeding.messaging.broker_state import processes_key

logger = logging.getLogger("seeding.presence")


class WorkerPresence(Middleware):
    def after_worker_boot(self, broker, worker) -> None:
        if not isinstance(broker, RedisBroker):
            return  # the embedded worker: no Redis, nothing to show it to
        key = processes_key(broker.namespace)
        record = {
            "process": f"{socket.gethostname()}:{os.getpid()}",
            "threads": worker.worker_threads,
            "queues": sorted(broker.get_declared_queues()),
            "started": time.time(),
        }
        try:
            heartbeats = f"{broker.namespace}:__heartbeats__"
            alive = set(broker.client.zrange(heartbeats, 0, -1))
            gone = [broker_id for broker_id in broker.client.hkeys(key) if broker_id not in alive]
            if gone:
                broker.client.hdel(key, *gone)
            broker.client.hset(key, broker.broker_id, json.dumps(record))
        except Exception:  # the monitor loses a name; the worker must not lose its boot
            logger.warning("could not record this worker process in Redis", exc_info=True)

    def before_worker_shutdown(self, broker, worker) -> None:
        if not isinstance(broker, RedisBroker):
            return
        try:
            broker.client.hdel(processes_key(broker.namespace), broker.broker_id)
        except Exception:
            logger.warning("could not remove this worker process from Redis", exc_info=True)
