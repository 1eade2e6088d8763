"""Faults on real services with real worker processes and the default recovery settings
(docs/operations.md lists each with its measured cost).

Each test that stops a service starts its own throwaway instance. Each asserts
exact counts, no duplicates and the final status, and prints how long recovery took.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from datetime import datetime

import psycopg
import pytest
from django.utils import timezone

from inventory.models import Event
from seeding import services
from seeding.generation.kinds import chunks_of
from seeding.messaging import queue
from seeding.messaging.broker_state import broker_state
from seeding.models import SeedChunkAttempt, SeedRun
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan
from seeding.selectors import seed_run_failed_attempts
from seeding.services.runs import recover_abandoned_runs
from tests.support.data import counts, seed
from tests.support.databases import PostgresServer, database_url
from tests.support.paths import REPO
from tests.support.plans import AS_OF
from tests.support.processes import RedisServer, Workers
from tests.support.recovery import FAULT_PLAN as PLAN
from tests.support.recovery import RECOVERY_LIMIT_SECONDS, longest_pause, longest_pause_in, queue_through
from tests.support.runs import finished, wait_for
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.mark.parametrize("aof", [False, True], ids=["no-persistence", "aof"])
def test_redis_stopped_mid_run_and_restarted(settings, tmp_path, aof):
    redis = RedisServer(tmp_path, aof=aof)
    redis.start()
    workers = Workers(tmp_path)
    try:
        workers.start(threads=2, default_settings=True, redis_url=redis.url)
        workers.wait_ready(1)
        run = queue_through(redis.url, settings)
        wait_for(run, lambda r: r.events_done >= 100_000, workers)
        redis.stop()
        stopped = timezone.now()
        time.sleep(3)  # the fault itself: down for a few seconds, so the workers' connections fail
        redis.start()
        wait_for(run, finished, workers, timeout=120)
    finally:
        workers.stop_all()
        redis.stop()
    stall = longest_pause(run, since=stopped)
    print(f"\nRedis restart ({'AOF' if aof else 'no persistence'}): longest pause between chunks {stall:.1f} s")
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert stall <= RECOVERY_LIMIT_SECONDS, workers.logs()
    log = (tmp_path / "worker-0.log").read_text()
    # The outage, said once when it starts and once when it ends, instead of every 3 s per queue.
    assert log.count("the message broker is unreachable") == 1, log[-4000:]
    assert log.count("the message broker is reachable again after") == 1, log[-4000:]
    assert "Consumer encountered a connection error" not in log and "Restarting consumer" not in log


@pytest.mark.timed
def test_a_chunk_over_its_time_limit_fails_its_run_saying_so(settings, tmp_path):
    """A real worker, a 0.1 s time limit (Dramatiq checks once a second), a 200,000-event chunk: the error says so.

    The assets are seeded here first: a chunk of them on the worker could meet the limit too (its first
    chunk loads the catalog; on a busy machine that took over a second), and this is about the events'."""
    seed(SeedPlan(assets=2_000, seed=3, as_of=AS_OF))
    workers = Workers(tmp_path)
    try:
        workers.start(
            threads=1, default_settings=True, env={"SEED_CHUNK_TIME_LIMIT_MS": "100", "SEED_CHUNK_MAX_ATTEMPTS": "2"}
        )
        workers.wait_ready(1)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(events=200_000, seed=3, as_of=AS_OF, chunk_size=200_000)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_for(run, finished, workers, timeout=120)
    finally:
        workers.stop_all()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED, (run.status, workers.logs())
    assert run.error == "events chunk 0 failed 2 times (time limit); committed chunks are kept"
    assert "SEED_CHUNK_TIME_LIMIT_MS (0.1 s)" in run.error_detail
    failed = [
        (a["kind"], a["index"], a["starts"], a["committed"], a["cause"]) for a in seed_run_failed_attempts(run.pk)
    ]
    assert failed == [("events", 0, 2, False, "time limit")]  # what the admin and the API show
    assert counts()["events"] == 0 and counts()["assets"] == 2_000  # the committed chunk is kept


def test_many_copies_of_a_chunk_message_across_worker_processes_burn_no_attempts(settings, tmp_path):
    """12 copies of one chunk message (as redeliveries and re-sends make them) to 2 processes x 4 threads."""
    workers = Workers(tmp_path)
    try:
        for _ in range(2):
            workers.start(threads=4, default_settings=True)
        workers.wait_ready(2)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(**PLAN, seed=5, as_of=AS_OF, chunk_size=10_000)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_for(run, lambda r: r.events_done > 0, workers)
        last = list(chunks_of("events", PLAN["events"], 10_000))[-1]
        queue.send_chunks(run.pk, [last] * 12)
        wait_for(run, finished, workers, timeout=120)
    finally:
        workers.stop_all()
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert SeedChunkAttempt.objects.get(run=run, kind="events", index=last.index).attempts == 1
    assert SeedChunkAttempt.objects.filter(run=run, attempts__gt=1).count() == 0
    stood_down = workers.logs().count("this copy stands down")
    print(f"\n{stood_down} of 12 copies found the chunk being written and stood down; the others found it written")


class OnThrowawayPostgres:
    """demoseed's own commands against a throwaway PostgreSQL cluster, and its tables read back with psycopg.

    The test's Django connection stays on the shared test database: the cluster
    under test is the one that gets stopped.
    """

    def __init__(self, server: PostgresServer, redis_url: str):
        self.server, self.redis_url = server, redis_url

    def manage(self, *args: str) -> str:
        env = {**os.environ, "DATABASE_URL": self.server.url, "REDIS_URL": self.redis_url}
        done = subprocess.run([sys.executable, "backend/manage.py", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def queue(self, plan: dict[str, int], seed: int) -> int:
        counts = itertools.chain(*((f"--{kind}", str(count)) for kind, count in plan.items()))
        self.manage("seed_demo_data", "--async", "--seed", str(seed), "--as-of", AS_OF.isoformat(), "--chunk-size",
                    "10000", *counts)  # fmt: skip
        return self.one("SELECT max(id) FROM seeding_seedrun")

    def one(self, sql: str, *params):
        """The first column of the first row, or None while the cluster is down."""
        try:
            with psycopg.connect(self.server.url.replace("postgres://", "postgresql://"), connect_timeout=2) as db:
                row = db.execute(sql, params).fetchone()
        except psycopg.OperationalError:
            return None
        return row[0] if row else None

    def commits(self, run_id: int) -> list[datetime]:
        with psycopg.connect(self.server.url.replace("postgres://", "postgresql://")) as db:
            sql = "SELECT committed_at FROM seeding_seedchunk WHERE run_id = %s ORDER BY committed_at"
            return [committed_at for (committed_at,) in db.execute(sql, (run_id,))]


@pytest.mark.parametrize("down_for", [0, 20], ids=["restarted", "stopped-20s"])
def test_postgres_restarted_or_stopped_mid_run(settings, tmp_path, down_for):
    server = PostgresServer()
    workers = Workers(tmp_path)
    dead_before = broker_state().queues[0].dead
    try:
        server.init()
        db = OnThrowawayPostgres(server, settings.REDIS_URL)
        db.manage("migrate", "--no-input")
        workers.start(threads=2, default_settings=True, env={"DATABASE_URL": server.url})
        workers.wait_ready(1)
        run_id = db.queue(PLAN, seed=13)
        wait_until(lambda: (db.one("SELECT events_done FROM seeding_seedrun WHERE id = %s", run_id) or 0) >= 100_000,
                   timeout=90, message=workers.awaiting("events"))  # fmt: skip
        stopped = timezone.now()
        server.stop()
        time.sleep(down_for)  # the fault itself: how long the server stays down
        server.start()
        back = timezone.now()
        wait_until(lambda: db.one("SELECT is_active FROM seeding_seedrun WHERE id = %s", run_id) is None,
                   timeout=180, message=workers.awaiting("the run to end"))  # fmt: skip
        status = db.one("SELECT status || ' ' || error FROM seeding_seedrun WHERE id = %s", run_id)
        rows = {kind: db.one(f"SELECT count(DISTINCT id) FROM {m._meta.db_table}") for kind, m in MODELS.items()}
        attempts = db.one("SELECT max(attempts) FROM seeding_seedchunkattempt WHERE run_id = %s", run_id)
        commits = db.commits(run_id)
        dead_letters = broker_state().queues[0].dead - dead_before
    finally:
        workers.stop_all()
        server.remove()
    after_back = [t for t in commits if t > back]
    pause = longest_pause_in([stopped, *[t for t in commits if t > stopped]])
    recovery = (after_back[0] - back).total_seconds() if after_back else 0.0
    print(f"\nPostgreSQL {'restarted' if not down_for else f'down {down_for} s'}: longest pause {pause:.1f} s, "
          f"first commit {recovery:.1f} s after it was back")  # fmt: skip
    assert status.strip() == SeedRun.Status.SUCCEEDED, (status, workers.logs())
    assert rows == PLAN, rows
    assert attempts <= 2, attempts  # at most the attempt the outage interrupted
    assert recovery <= RECOVERY_LIMIT_SECONDS, workers.logs()
    assert pause <= down_for + RECOVERY_LIMIT_SECONDS, workers.logs()
    assert dead_letters == 0  # no message used up its retries while the database was away
    log = (tmp_path / "worker-0.log").read_text()
    # The outage, said once when it starts and once when it ends; no traceback per message and try.
    assert log.count("the database is unreachable") == 1, log[-4000:]
    assert log.count("the database is reachable again after") == 1, log[-4000:]
    assert "Traceback" not in log and "Retries exceeded" not in log, log[-4000:]


def test_an_inline_run_whose_process_is_killed_is_abandoned_at_once_then_resumes(settings, tmp_path):
    """`seed_demo_data --sync` SIGKILLed halfway: on the same machine the next process sees its writer gone
    and takes the run for abandoned at once, not after SEED_ABANDONED_AFTER_SECONDS; a resume finishes it."""
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.pop("REDIS_URL", None)
    counts_flags = itertools.chain(*((f"--{kind}", str(count)) for kind, count in PLAN.items()))
    command = [sys.executable, "backend/manage.py", "seed_demo_data", "--sync", "--seed", "17", "--as-of",
               AS_OF.isoformat(), "--chunk-size", "10000", *counts_flags]  # fmt: skip
    writer = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:

        def halfway() -> bool:
            assert writer.poll() is None, writer.stderr.read()
            return SeedRun.objects.filter(events_done__gte=100_000).exists()

        wait_until(halfway, timeout=120, interval=0.05, message="the inline writer's first 100,000 events")
    finally:
        writer.kill()
        writer.wait()
    killed = time.monotonic()
    run = SeedRun.objects.get()
    assert run.status == SeedRun.Status.RUNNING and run.events_done < PLAN["events"]
    recover_abandoned_runs()  # what a new run, a resume or a clear does first
    noticed = time.monotonic() - killed
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED and run.error.startswith("abandoned: the process writing it stopped")
    assert run.error_detail == f"its process ({':'.join(run.writer_process.split(':')[:2])}) is gone"
    resumed = subprocess.run([sys.executable, "backend/manage.py", "seed_demo_data", "--resume", str(run.pk)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    print(f"\ninline writer SIGKILLed: abandoned {noticed:.2f} s later (the threshold is "
          f"{settings.SEED_ABANDONED_AFTER_SECONDS:.0f} s), then resumed")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    run.refresh_from_db()
    assert run.status == SeedRun.Status.SUCCEEDED and run.error == ""
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert noticed <= RECOVERY_LIMIT_SECONDS
