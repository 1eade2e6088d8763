"""What the Redis broker holds right now, read-only: messages per queue and the processes talking to it.

The keys are Dramatiq's own (``dramatiq/brokers/redis/dispatch.lua``):
``<ns>:<queue>`` lists the waiting message ids, ``<ns>:<queue>.DQ`` the delayed
ones (retries wait there for their backoff), ``<ns>:<queue>.XQ`` the
dead-lettered ones, ``<ns>:__acks__.<broker id>.<queue>`` each process's
fetched-but-unacknowledged ones, and ``<ns>:__heartbeats__`` every process's
last contact. ``seeding.runtime.presence`` adds which of those processes are workers
and where they run. Nothing here writes.

Its own client, with one-second timeouts, so a page asking while Redis is down
gets an answer (``BrokerUnreachable``) instead of hanging.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache

import dramatiq
import redis
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker

#: A worker talks to Redis at least once a second, even with every thread busy (its
#: delay-queue consumer polls): silent for longer than this, it is taken for gone.
ALIVE_WITHIN_SECONDS = 10.0
#: What reading the broker raises when Redis cannot be reached.
BrokerUnreachable = redis.exceptions.RedisError


def processes_key(namespace: str) -> str:
    """The Redis hash of worker processes (written by ``seeding.runtime.presence``): broker id -> JSON
    (process, threads, queues, started)."""
    return f"{namespace}:demoseed.processes"


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    delayed: int
    in_flight: int
    dead: int


@dataclass(frozen=True)
class ProcessState:
    broker_id: str
    #: host:pid for a worker process; empty for a process that only sends (a web process, the command).
    process: str
    threads: int
    seconds_since_contact: float
    #: In contact within ALIVE_WITHIN_SECONDS. Redis hands a silent process's unacknowledged
    #: messages to others only after Dramatiq's heartbeat timeout (60 s by default).
    alive: bool

    @property
    def worker(self) -> bool:
        return bool(self.process)


@dataclass(frozen=True)
class BrokerState:
    url: str
    queues: list[QueueState]
    processes: list[ProcessState]

    @property
    def live_workers(self) -> list[ProcessState]:
        return [process for process in self.processes if process.worker and process.alive]


def uses_redis() -> bool:
    """False for the embedded worker (no REDIS_URL): there is no queue to show."""
    return isinstance(dramatiq.get_broker(), RedisBroker)


def ping() -> None:
    """Raise BrokerUnreachable unless Redis answers within a second (nothing to do without REDIS_URL)."""
    if uses_redis():
        _client().ping()


def broker_state() -> BrokerState:
    """The seeding queue and Dramatiq's default one, and every process with a heartbeat. Raises BrokerUnreachable."""
    broker = dramatiq.get_broker()
    namespace, client = broker.namespace, _client()
    queues = [_queue_state(client, namespace, name) for name in (settings.SEED_QUEUE, "default")]
    now = time.time()
    workers = {
        broker_id.decode(): json.loads(record) for broker_id, record in client.hgetall(processes_key(namespace)).items()
    }
    processes = []
    for broker_id, millis in client.zrange(f"{namespace}:__heartbeats__", 0, -1, withscores=True):
        broker_id = broker_id.decode()
        age = max(0.0, now - millis / 1000)
        record = workers.get(broker_id, {})
        processes.append(
            ProcessState(
                broker_id=broker_id,
                process=record.get("process", ""),
                threads=record.get("threads", 0),
                seconds_since_contact=age,
                alive=age < ALIVE_WITHIN_SECONDS,
            )
        )
    processes.sort(key=lambda process: (not process.worker, process.seconds_since_contact))
    return BrokerState(url=_redacted(settings.REDIS_URL), queues=queues, processes=processes)


def _queue_state(client: redis.Redis, namespace: str, name: str) -> QueueState:
    with client.pipeline(transaction=False) as pipe:
        pipe.llen(f"{namespace}:{name}")
        pipe.llen(f"{namespace}:{name}.DQ")
        pipe.zcard(f"{namespace}:{name}.XQ")
        waiting, delayed, dead = pipe.execute()
    # A worker fetches delayed messages at once and holds them until they are
    # due, so most of them are among its unacknowledged ones on <queue>.DQ.
    return QueueState(
        name=name,
        waiting=waiting,
        delayed=delayed + _unacknowledged(client, namespace, f"{name}.DQ"),
        in_flight=_unacknowledged(client, namespace, name),
        dead=dead,
    )


def _unacknowledged(client: redis.Redis, namespace: str, queue: str) -> int:
    return sum(client.scard(key) for key in client.scan_iter(match=f"{namespace}:__acks__.*.{queue}", count=1000))


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def _redacted(url: str) -> str:
    """The broker's address without its password: the monitor shows no secrets."""
    parsed = redis.connection.parse_url(url)
    host, port, db = parsed.get("host", "localhost"), parsed.get("port", 6379), parsed.get("db", 0)
    return parsed.get("path", f"{host}:{port}/{db}")
