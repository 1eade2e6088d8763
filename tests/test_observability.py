"""LOG_FORMAT=json carries run_id and chunk; DRAMATIQ_PROMETHEUS=true serves a real worker's metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from seeding import services
from seeding.models import SeedRun
from seeding.plan import SeedPlan
from tests.support.paths import MANAGE, REPO
from tests.support.plans import AS_OF
from tests.support.ports import free_port, http_body
from tests.support.processes import Workers
from tests.support.runs import finished, wait_for
from tests.support.waiting import wait_until


@pytest.mark.slow
@pytest.mark.once
def test_json_log_lines_name_the_run(tmp_path):
    """The command seeds inline with the seeding logger at INFO: every line is JSON, and the run's lines say which."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LOG_FORMAT": "json",
        "SEEDING_LOG_LEVEL": "INFO",
    }
    subprocess.run([*MANAGE, "migrate", "-v0"], cwd=REPO, env=env, check=True)
    done = subprocess.run([*MANAGE, "seed_demo_data", "--assets=50", "--events=200"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines and {"time", "level", "logger", "message", "run_id", "chunk"} <= set(lines[0])
    succeeded = [line for line in lines if line["message"].endswith("succeeded: 250 rows")]
    assert len(succeeded) == 1 and succeeded[0]["run_id"] == 1 and succeeded[0]["level"] == "INFO"


@pytest.mark.once
def test_a_bad_log_format_is_refused_at_start(tmp_path):
    env = {**os.environ, "LOG_FORMAT": "xml", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done = subprocess.run([*MANAGE, "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "LOG_FORMAT must be plain or json, not 'xml'" in done.stderr


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_json_log_lines_of_a_real_worker_name_the_run_and_the_chunk(tmp_path, settings):
    workers = Workers(tmp_path)
    try:
        workers.start(env={"LOG_FORMAT": "json"})
        workers.wait_ready(1)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(assets=100, events=1_000, seed=3, as_of=AS_OF, chunk_size=500)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_for(run, finished, workers)
    finally:
        workers.stop_all()
    assert run.status == SeedRun.Status.SUCCEEDED
    text = (tmp_path / "worker-0.log").read_text()
    # The worker processes (where actors run and Django's logging applies) write one JSON object per line.
    # Not theirs, and not JSON: rundramatiq's banner (" * Discovered tasks module ...") and the few lines of
    # Dramatiq's main process, which supervises them and never sets Django up (documented in the README).
    not_json = [line for line in text.splitlines() if line.strip() and not line.startswith("{")]
    main_process = re.compile(r"(\[[^]]+\] \[PID \d+\] \[MainThread\] \[dramatiq\.MainProcess\] | \* )")
    assert all(main_process.match(line) for line in not_json), not_json
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    about_run = [line for line in lines if line["run_id"] == run.pk]
    assert about_run and all(line["logger"].startswith(("seeding", "dramatiq")) for line in about_run), text
    in_chunks = {line["chunk"] for line in about_run if line["chunk"]}
    assert in_chunks and all(re.fullmatch(r"(assets|events)\[\d\]", chunk) for chunk in in_chunks), in_chunks
    assert any(line["message"].endswith(f"succeeded: {run.total_done} rows") for line in about_run), text


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prometheus_metrics_of_a_real_worker(tmp_path, settings):
    port = free_port()
    workers = Workers(tmp_path)
    try:
        workers.start(env={"DRAMATIQ_PROMETHEUS": "true", "dramatiq_prom_host": "127.0.0.1",
                           "dramatiq_prom_port": str(port), "dramatiq_prom_db": str(tmp_path / "prom")})  # fmt: skip
        workers.wait_ready(1)
        settings.SEED_INLINE_THRESHOLD = 0
        plan = SeedPlan(assets=100, events=1_000, seed=2, as_of=AS_OF, chunk_size=500)
        run = services.seed_request(plan=plan, source=SeedRun.Source.API).run
        wait_for(run, finished, workers)
        body = wait_until(
            lambda: (
                (metrics := http_body(f"http://127.0.0.1:{port}/metrics")) and "write_seed_chunk" in metrics and metrics
            ),
            timeout=30,
            interval=0.3,
            message=workers.awaiting("the worker's metrics to count write_seed_chunk"),
        )
    finally:
        workers.stop_all()
    assert run.status == SeedRun.Status.SUCCEEDED
    # One message per chunk (1 of assets, 2 of events) and the start message, counted by the worker.
    assert 'dramatiq_messages_total{actor_name="write_seed_chunk",queue_name="seeding"} 3.0' in body, body[:3000]
