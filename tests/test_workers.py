"""End to end with real `rundramatiq` worker processes, real Redis and real PostgreSQL.

Workers are started the documented way (`python backend/manage.py rundramatiq`
from the repo root) against the test database. The sweeper's stall threshold and
the broker's heartbeat timeout are shortened so recovery from a killed worker
takes seconds instead of a minute.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from inventory.models import Asset, Event
from seeding import services
from seeding.models import SeedChunk, SeedChunkAttempt, SeedRun
from seeding.plan import SeedPlan
from seeding.selectors import seed_run_digest
from tests.support.data import at_once, counts, own_asset_value, real_asset, seed
from tests.support.plans import AS_OF
from tests.support.processes import Workers
from tests.support.runs import finished, leased_by, wait_for
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"applications": 40, "assets": 4_000, "deployments": 6_000, "events": 40_000}


def queue_run(settings, *, chunk_size: int = 1_000, **plan) -> SeedRun:
    settings.SEED_INLINE_THRESHOLD = 0
    outcome = services.seed_request(
        plan=SeedPlan(**(plan or PLAN), seed=5, as_of=AS_OF, chunk_size=chunk_size), source=SeedRun.Source.API
    )
    assert outcome.queued
    return outcome.run


def inline_digest_of_same_plan(run: SeedRun) -> str:
    """The digest the same plan gets when written inline into an emptied inventory."""
    services.demo_data_clear()
    plan = services.plan_of(run=run)
    return seed_run_digest(seed(plan))


@pytest.mark.slow
def test_a_queued_run_is_written_by_a_worker_with_exact_counts(settings, workers):
    services.demo_data_clear()  # keys from 1, to compare with a clean inline run afterwards
    run = queue_run(settings)
    workers.start(threads=2)
    run = wait_for(run, finished, workers)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == PLAN
    assert {kind: run.done(kind) for kind in PLAN} == PLAN
    assert SeedChunk.objects.filter(run=run).count() == 1 + 4 + 6 + 40
    assert run.rows_per_second() > 0 and run.eta_seconds() == 0.0
    # At the default log level, the worker says how the run went, naming it.
    log = (workers.tmp_path / "worker-0.log").read_text()
    for line in (
        f"Seed run #{run.pk} (running) started on the workers: 40 applications, 4,000 assets",
        f"Seed run #{run.pk} (running): phase 0 (applications, assets): sent 5 chunk messages",
        f"Seed run #{run.pk} (running): phase 2 (events): sent 40 chunk messages",
        f"Seed run #{run.pk} (succeeded) succeeded: {run.total_done} rows",
    ):
        assert line in log, log
    # Written by a worker or inline into an emptied inventory: the same rows.
    digest = seed_run_digest(run)
    assert inline_digest_of_same_plan(run) == digest


@pytest.mark.slow
def test_two_workers_share_one_run(settings, workers):
    workers.start()
    workers.start()
    workers.wait_ready(2)  # so neither can finish the run alone before the other boots
    run = queue_run(settings)
    run = wait_for(run, finished, workers)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == PLAN
    writers = set(SeedChunk.objects.filter(run=run).values_list("written_by", flat=True))
    assert len(writers) == 2, writers


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_run_completes_without_duplicates(settings, workers):
    services.demo_data_clear()  # keys from 1, to compare with a clean inline run afterwards
    plan = {**PLAN, "events": 120_000}
    run = queue_run(settings, chunk_size=2_000, **plan)
    victim = workers.start()
    wait_for(run, lambda r: r.events_done >= 10_000, workers)
    workers.kill(victim)  # SIGKILL of the whole process group, mid-chunk most likely
    run.refresh_from_db()
    killed_at = run.total_done
    assert run.status == SeedRun.Status.RUNNING and run.total_done < run.total_planned
    workers.start()
    run = wait_for(run, finished, workers)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert run.total_done > killed_at
    assert counts() == plan
    assert Event.objects.values("pk").distinct().count() == plan["events"]
    digest = seed_run_digest(run)
    assert inline_digest_of_same_plan(run) == digest  # nothing missing, nothing doubled


@pytest.mark.timed
@pytest.mark.slow
def test_a_killed_workers_chunks_are_taken_over_within_30_s_with_the_default_settings(settings, workers):
    """No shortened timeouts: the chunks a SIGKILLed worker held come back through their lapsed leases
    (SEED_CHUNK_LEASE_SECONDS 10 s, a sweep every 2 s), not Dramatiq's 60 s heartbeat timeout."""
    plan = {**PLAN, "events": 300_000}
    doomed = workers.start(threads=2, default_settings=True)
    workers.start(threads=2, default_settings=True)
    workers.wait_ready(2)
    run = queue_run(settings, chunk_size=20_000, **plan)  # events chunks of about a second each
    doomed_pids = {str(pid) for pid in _children(doomed.pid)}
    # Killed just after it started an events chunk, so the chunk is surely in flight.
    wait_for(run, lambda r: r.events_done >= 20_000 and bool(leased_by(r, doomed_pids, within=0.3)), workers)
    workers.kill(doomed)  # SIGKILL of its whole process group, with chunks in flight
    killed_at = time.monotonic()
    # Not a condition to await: a COMMIT the killed process had already sent may still land, and nothing
    # outside says when the server has finished with it; a second is the margin the recovery time allows.
    time.sleep(1)
    committed = set(SeedChunk.objects.filter(run=run).values_list("kind", "index"))
    orphaned = [chunk for chunk in leased_by(run, doomed_pids) if chunk not in committed]
    assert orphaned, "the killed worker had committed everything it held: nothing to take over"
    wait_until(
        lambda: set(orphaned) <= set(SeedChunk.objects.filter(run=run).values_list("kind", "index")),
        timeout=60,
        interval=0.2,
        message=lambda: f"another worker to write the chunks {orphaned} the killed one held\n{workers.logs()}",
    )
    recovery = time.monotonic() - killed_at
    print(f"\nrecovery after SIGKILL with the default settings: {recovery:.1f} s for {len(orphaned)} chunks")
    assert recovery <= 30, (recovery, orphaned, workers.logs())
    run = wait_for(run, finished, workers)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == plan and Event.objects.values("pk").distinct().count() == plan["events"]
    for kind, index in orphaned:  # the killed attempt counted, the takeover wrote it
        assert SeedChunkAttempt.objects.get(run=run, kind=kind, index=index).attempts == 2
    assert "took over" in workers.logs()


@pytest.mark.slow
def test_a_worker_process_stops_when_its_main_process_is_killed(settings, workers):
    """SIGKILL of rundramatiq's main process alone: its worker process stops instead of consuming as an orphan."""
    main = workers.start(threads=1)
    workers.wait_ready(1)
    (child,) = _children(main.pid)
    os.kill(main.pid, signal.SIGKILL)
    main.wait(timeout=10)
    try:
        # Without StopWithParent it is still running here (checked); its own log lines went
        # through its dead parent, so the stop is seen in /proc, not in the log.
        wait_until(
            lambda: not _running(child), timeout=20, message=lambda: f"worker process {child} to stop\n{workers.logs()}"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(main.pid, signal.SIGKILL)  # an orphan left by a failure must not outlive the test


@pytest.mark.slow
def test_sigterm_stops_a_worker_once_its_chunks_in_flight_are_written(settings, workers):
    """SIGTERM to rundramatiq's main process, as `docker stop` and systemd send it, with the documented
    30 s shutdown timeout and default settings: the worker writes the chunks it holds, hands back the
    messages it had fetched, and exits; the other worker writes the rest. No chunk starts twice."""
    plan = {**PLAN, "events": 300_000}
    stopping = workers.start(threads=2, default_settings=True, shutdown_timeout_ms=30_000)
    workers.start(threads=2, default_settings=True, shutdown_timeout_ms=30_000)
    workers.wait_ready(2)
    run = queue_run(settings, chunk_size=20_000, **plan)  # events chunks of about a second each
    pids = {str(pid) for pid in _children(stopping.pid)}
    in_flight: list[tuple[str, int]] = []

    def writing_events(r: SeedRun) -> bool:
        in_flight[:] = leased_by(r, pids, within=0.3) if r.events_done >= 20_000 else []
        return bool(in_flight)

    wait_for(run, writing_events, workers)
    signalled, since = time.monotonic(), timezone.now()
    os.kill(stopping.pid, signal.SIGTERM)
    stopping.wait(timeout=60)
    exited_after = time.monotonic() - signalled
    run = wait_for(run, finished, workers)
    commits = [since, *SeedChunk.objects.filter(run=run, committed_at__gt=since).order_by("committed_at")
               .values_list("committed_at", flat=True)]  # fmt: skip
    pause = max((later - earlier).total_seconds() for earlier, later in itertools.pairwise(commits))
    print(f"\nSIGTERM: the worker exited after {exited_after:.1f} s; longest pause between chunks {pause:.1f} s")
    assert stopping.returncode == 0 and exited_after < 30, (stopping.returncode, exited_after)
    assert run.status == SeedRun.Status.SUCCEEDED, run.error
    assert counts() == plan and Event.objects.values("pk").distinct().count() == plan["events"]
    for kind, index in in_flight:  # finished by the stopping worker itself, not taken over
        assert SeedChunk.objects.get(run=run, kind=kind, index=index).written_by.split(":")[1] in pids
    assert not SeedChunkAttempt.objects.filter(run=run, attempts__gt=1).exists()
    assert pause <= 30, workers.logs()


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list[int]:
    """The worker processes a `rundramatiq` main process forked."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_a_poison_chunk_fails_the_run_after_the_configured_attempts(settings, workers):
    run = queue_run(settings)
    # A row entered by a person holds the IP address that asset ordinal 1,500 will
    # derive from its key: every attempt at assets chunk 1 violates the unique index.
    taken_ip = own_asset_value(run, 1_500, "ip_address")
    real_asset(hostname="printer-3rd-floor", ip_address=taken_ip, serial_number="HP-REAL-1", asset_type="network")
    workers.start()
    run = wait_for(run, finished, workers)
    assert run.status == SeedRun.Status.FAILED
    assert run.error == "assets chunk 1 failed 3 times (IntegrityError); committed chunks are kept"
    assert "ip_address" in run.error_detail and taken_ip in run.error_detail  # for staff only
    attempt = SeedChunkAttempt.objects.get(run=run, kind="assets", index=1)
    assert attempt.attempts == settings.SEED_CHUNK_MAX_ATTEMPTS == 3
    assert not Asset.objects.filter(
        seed_run=run, pk__gte=run.assets_id_base + 1_000, pk__lt=run.assets_id_base + 2_000
    ).exists()
    assert run.deployments_done == run.events_done == 0  # later phases never started


@pytest.mark.slow
def test_cancel_mid_run_stops_at_a_chunk_boundary(settings, workers):
    run = queue_run(settings, chunk_size=1_000, **{**PLAN, "events": 200_000})
    workers.start()
    wait_for(run, lambda r: r.events_done >= 5_000, workers)
    services.seed_run_cancel(run=run)
    wait_until_no_message_is_in_flight(workers)  # a chunk in flight finishes; the others are skipped
    run.refresh_from_db()
    settled = counts()
    assert run.status == SeedRun.Status.CANCELLED
    assert settled["events"] < 200_000
    committed = SeedChunk.objects.filter(run=run, kind="events")
    assert settled["events"] == sum(committed.values_list("rows", flat=True)) == run.events_done  # whole chunks
    # A chunk that committed after the cancel is counted, and the run ends with it.
    assert run.finished_at >= max(committed.values_list("committed_at", flat=True))


def wait_until_no_message_is_in_flight(workers: Workers, timeout: float = 30.0) -> None:
    """Until the seeding queue is empty and no live worker holds an unacknowledged message of it.

    A worker killed by an earlier test leaves its acknowledgement set behind;
    only workers whose heartbeat is fresh count.
    """
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)

    def settled() -> bool:
        now_ms = time.time() * 1000
        live = {member.decode() for member in client.zrangebyscore("dramatiq:__heartbeats__", now_ms - 5_000, "+inf")}
        # Ready and delayed (retry) messages are lists; each consumer's unacknowledged ones a set.
        waiting = client.llen(f"dramatiq:{settings.SEED_QUEUE}") + client.llen(f"dramatiq:{settings.SEED_QUEUE}.DQ")
        in_flight = sum(
            client.scard(key)
            for key in client.scan_iter(f"dramatiq:__acks__.*.{settings.SEED_QUEUE}*")
            if key.decode().split(".")[1] in live
        )
        return waiting == in_flight == 0

    wait_until(settled, timeout=timeout, message=lambda: f"no message queued or in flight\n{workers.logs()}")


def test_twenty_concurrent_posts_start_exactly_one_run(settings, django_user_model):
    settings.SEED_INLINE_THRESHOLD = 100
    user = django_user_model.objects.create_superuser("root", password="pw")

    def post() -> int:
        client = Client()
        client.force_login(user)
        response = client.post(
            "/api/v1/admin/seed-demo-data", data=json.dumps({"assets": 1_000}), content_type="application/json"
        )
        return response.status_code

    assert sorted(at_once(20, post)) == [202] + [409] * 19
    assert SeedRun.objects.count() == 1


@pytest.mark.slow
def test_the_command_can_queue_and_follow_a_run(settings, workers):
    import io

    from django.core.management import call_command

    workers.start(threads=2)
    out = io.StringIO()
    call_command(
        "seed_demo_data", "--async", "--wait", "--assets=3000", "--events=20000", "--chunk-size=1000", stdout=out
    )
    run = SeedRun.objects.get()
    assert run.executor == SeedRun.Executor.WORKERS and run.status == SeedRun.Status.SUCCEEDED
    assert "is queued for the workers" in out.getvalue() and "succeeded" in out.getvalue()
    assert counts() == {"applications": 0, "assets": 3_000, "deployments": 0, "events": 20_000}
