"""Worker processes SIGKILLed at the worst moments, on real services with the default recovery settings
(docs/operations.md lists each with its measured cost).

Two faults the lease takeover test (test_workers) does not cover: a worker that
dies after its chunk committed but before Dramatiq acknowledged the message
(the broker will deliver it again), and many kills at random moments over a
long series of runs. Each run must end succeeded with every row exactly once
and no pause without a commit longer than RECOVERY_LIMIT_SECONDS.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from datetime import datetime

import pytest
from django.db.models import Max, Min

from inventory.models import Event
from seeding import services
from seeding.generation.kinds import chunks_of
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.persistence.tables import MODELS
from seeding.plan import SeedPlan
from tests.fault_middleware import LOG_PREFIX, MARKER_ENV
from tests.support.data import counts
from tests.support.paths import REPO
from tests.support.plans import AS_OF
from tests.support.processes import Workers
from tests.support.recovery import FAULT_PLAN as PLAN
from tests.support.recovery import RECOVERY_LIMIT_SECONDS, longest_pause, queue_through
from tests.support.runs import finished, leased_by, wait_for
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: Above the inline threshold, 18 chunks of 2,000 rows (15 of them events): a few seconds per run.
#: 10 applications, not 5: with 5, some seeds leave fewer than 1,500 free (application, host) pairs.
SOAK_PLAN = {"applications": 10, "assets": 2_000, "deployments": 1_500, "events": 30_000}
SOAK_RUNS = 20


def _rows_exactly_once(run: SeedRun, kind: str) -> tuple[int, int, int]:
    """(rows, lowest key offset, highest key offset) of ``run``'s rows of ``kind``.

    Keys are the run's reserved base plus the row's ordinal, so (planned, 0,
    planned - 1) means every ordinal is there exactly once: nothing missing,
    nothing written twice under another key.
    """
    found = MODELS[kind].objects.filter(seed_run=run).aggregate(low=Min("pk"), high=Max("pk"))
    rows = MODELS[kind].objects.filter(seed_run=run).count()
    if not rows:
        return 0, 0, -1
    base = run.id_base(kind)
    return rows, found["low"] - base, found["high"] - base


def _expected(planned: int) -> tuple[int, int, int]:
    return (planned, 0, planned - 1) if planned else (0, 0, -1)


def _with_the_repo_on_the_path() -> str:
    """PYTHONPATH for a worker that imports ``tests.*``: manage.py adds backend/, not the repository root."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join([str(REPO), *paths])


def test_sigkill_after_a_chunk_commits_but_before_its_message_is_acknowledged(settings, tmp_path, workers):
    """The victim dies with its events chunk committed and the message unacknowledged (tests/fault_middleware.py).

    The chunk must be neither written again nor counted as a second attempt,
    and the run must not wait for Redis to redeliver the victim's messages (60 s).
    """
    marker = tmp_path / "killed"
    victim = workers.start(
        threads=2,
        default_settings=True,
        env={
            "DJANGO_SETTINGS_MODULE": "tests.fault_settings",
            "PYTHONPATH": _with_the_repo_on_the_path(),
            MARKER_ENV: str(marker),
        },
    )
    workers.start(threads=2, default_settings=True)
    workers.wait_ready(2)
    run = queue_through(settings.REDIS_URL, settings)
    wait_until(
        marker.exists, timeout=120, message=workers.awaiting("the victim to commit an events chunk and kill itself")
    )
    assert victim.wait(timeout=15) == -signal.SIGKILL, workers.logs()
    fault = re.search(
        rf"{LOG_PREFIX}: run (\d+) (\w+) chunk (\d+) committed at (\S+) by \S+:(\d+), .*; SIGKILL at (\S+)",
        marker.read_text(),
    )
    assert fault, marker.read_text()
    run_id, kind, index, pid = int(fault[1]), fault[2], int(fault[3]), fault[5]
    committed_at, killed_at = datetime.fromisoformat(fault[4]), datetime.fromisoformat(fault[6])
    assert (run_id, kind) == (run.pk, "events") and committed_at < killed_at
    # The line came out of the victim's worker process itself, just before the kill.
    assert fault[0] in (tmp_path / "worker-0.log").read_text(), workers.logs()
    # Not a condition to await: a COMMIT the victim's other thread had already sent may still land, and
    # nothing outside says when the server has finished with it; a second is the margin recovery allows.
    time.sleep(1)
    committed = set(SeedChunk.objects.filter(run=run).values_list("kind", "index"))
    # Its other thread's chunk, if it was writing one (a lease outlives its commit by a moment: not that).
    held = [chunk for chunk in leased_by(run, {pid}) if chunk not in committed]
    run = wait_for(run, finished, workers, timeout=180)
    stall = longest_pause(run, since=killed_at)
    rewritten = [SeedChunk.objects.get(run=run, kind=k, index=i).committed_at for k, i in held]
    print(
        f"\nSIGKILL after {kind} chunk {index} committed, before its ack: longest pause between chunks "
        f"{stall:.1f} s; the chunks it had in flight ({held or 'none'}) written again "
        f"{max([(at - killed_at).total_seconds() for at in rewritten], default=0.0):.1f} s after the kill; "
        f"the run ended {(run.finished_at - killed_at).total_seconds():.1f} s after it"
    )
    assert run.status == SeedRun.Status.SUCCEEDED, (run.error, workers.logs())
    assert counts() == PLAN and Event.objects.values("pk").distinct().count() == PLAN["events"]
    assert all(_rows_exactly_once(run, k) == _expected(PLAN[k]) for k in PLAN)
    chunk = SeedChunk.objects.get(run=run, kind=kind, index=index)  # exactly one row: get() raises otherwise
    assert chunk.written_by.endswith(f":{pid}") and chunk.committed_at == committed_at  # the victim's, kept
    assert SeedChunkAttempt.objects.get(run=run, kind=kind, index=index).attempts == 1
    assert stall <= RECOVERY_LIMIT_SECONDS, workers.logs()


def test_soak_twenty_queued_runs_back_to_back_with_random_worker_kills(workers):
    """20 runs, one after another, 2 worker processes x 2 threads; in about half, one process is SIGKILLed
    mid-run and replaced at once. Reproducible: the runs and the kills come from a seeded random.Random."""
    rng = random.Random(20_261_101)
    live: list[subprocess.Popen] = [workers.start(threads=2, default_settings=True) for _ in range(2)]
    workers.wait_ready(2)
    kills, worst, began = 0, 0.0, time.monotonic()
    for number in range(SOAK_RUNS):
        plan = SeedPlan(**SOAK_PLAN, seed=1_000 + number, as_of=AS_OF, chunk_size=2_000)
        run = services.seed_run_create(plan=plan, executor=SeedRun.Executor.WORKERS)
        services.seed_run_enqueue(run=run)
        if rng.random() < 0.5:
            # Once a random 10-70 % of the events are committed: mid-run (checked just after the kill).
            at = int(rng.uniform(0.1, 0.7) * SOAK_PLAN["events"])
            victim = live.pop(rng.randrange(len(live)))
            _until_events_done(run, at, workers)
            _kill(workers, victim)
            live.append(workers.start(threads=2, default_settings=True))
            run.refresh_from_db()
            assert run.status == SeedRun.Status.RUNNING and run.events_done < SOAK_PLAN["events"], run
            kills += 1
        run = wait_for(run, finished, workers, timeout=120)
        assert run.status == SeedRun.Status.SUCCEEDED, (number, run.error, workers.logs())
        for kind, planned in SOAK_PLAN.items():
            assert _rows_exactly_once(run, kind) == _expected(planned), (number, kind)
            assert SeedChunk.objects.filter(run=run, kind=kind).count() == len(list(chunks_of(kind, planned, 2_000)))
        pause = longest_pause(run, since=run.started_at)
        worst = max(worst, pause)
        assert pause <= RECOVERY_LIMIT_SECONDS, (number, pause, workers.logs())
    assert counts() == {kind: SOAK_RUNS * planned for kind, planned in SOAK_PLAN.items()}
    assert SeedRun.objects.filter(status=SeedRun.Status.SUCCEEDED).count() == SOAK_RUNS
    assert kills >= 5  # the seed above gives about half; fewer would make this a soak without faults
    print(
        f"\nsoak: {SOAK_RUNS} runs, {kills} worker kills, {time.monotonic() - began:.0f} s in all, "
        f"worst pause without a commit {worst:.1f} s"
    )


def _until_events_done(run: SeedRun, at: int, pool: Workers, timeout: float = 60.0) -> None:
    """Poll tightly: a run of this size writes its events in a couple of seconds."""
    wait_until(
        SeedRun.objects.filter(pk=run.pk, events_done__gte=at).exists,
        timeout=timeout,
        interval=0.02,
        message=pool.awaiting(f"{at} events of {run}"),
    )


def _kill(pool: Workers, victim: subprocess.Popen) -> None:
    pool.kill(victim)  # SIGKILL of its whole process group
    assert victim.returncode == -signal.SIGKILL, pool.logs()
