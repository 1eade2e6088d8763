"""The seeding service: the only code that writes demo data.

The management command, the admin, the JSON API and the Dramatiq actors are
thin callers of these functions (docs/architecture.md walks each route):

- ``routing``: ``seed_request``, the one request path, and its read-only preview;
- ``runs``: the run lifecycle (create, claim, cancel, status moves);
- ``inline``: writing a run in this process;
- ``resuming``: continuing a failed or cancelled run, here or on the workers;
- ``workers``: the worker protocol (start, chunk messages, phases, sweeping);
- ``chunks``: the chunk transaction both executors share;
- ``live`` and ``live_requests``: live streams (the estate keeps moving: start, tick, stop, restart);
- ``clearing``: deleting demo data;
- ``shape``: the company a plan or a run makes of its assets (laptops for people, servers, ...);
- ``audit``: the audit trail, and ``Requester``, who asked (the person behind an entry point);
- ``errors``: what entry points translate into their answers.
"""

from seeding.services.audit import Requester
from seeding.services.chunk_transaction import seed_chunk_write
from seeding.services.clearing import ClearResult, demo_data_clear, demo_data_clear_preview
from seeding.services.errors import (
    BrokerUnavailable,
    ChunkFenced,
    ClearRefused,
    PlanError,
    RunAlreadyActive,
    RunFailed,
    RunNotActive,
    RunNotResumable,
    SeedingError,
)
from seeding.services.inline import ProgressCallback, seed_run_execute
from seeding.services.live import live_stream_stop, live_stream_turn
from seeding.services.live_requests import live_stream_request, live_stream_restart
from seeding.services.resuming import ResumePlan, seed_run_resume, seed_run_resume_plan
from seeding.services.routing import Mode, SeedOutcome, SeedPreview, runs_inline, seed_request, seed_request_preview
from seeding.services.runs import (
    plan_of,
    plan_summary,
    seed_run_cancel,
    seed_run_create,
    seed_run_fail,
    seed_run_pending_chunks,
    seed_run_resume_preview,
    seed_runs_settle,
)
from seeding.services.shape import plan_shape, run_shape
from seeding.services.workers import seed_chunk_process, seed_run_enqueue, seed_run_start, seed_runs_sweep

__all__ = [
    "BrokerUnavailable",
    "ChunkFenced",
    "ClearRefused",
    "ClearResult",
    "Mode",
    "PlanError",
    "ProgressCallback",
    "Requester",
    "ResumePlan",
    "RunAlreadyActive",
    "RunFailed",
    "RunNotActive",
    "RunNotResumable",
    "SeedOutcome",
    "SeedPreview",
    "SeedingError",
    "demo_data_clear",
    "demo_data_clear_preview",
    "live_stream_request",
    "live_stream_restart",
    "live_stream_stop",
    "live_stream_turn",
    "plan_of",
    "plan_shape",
    "plan_summary",
    "run_shape",
    "runs_inline",
    "seed_chunk_process",
    "seed_chunk_write",
    "seed_request",
    "seed_request_preview",
    "seed_run_cancel",
    "seed_run_create",
    "seed_run_enqueue",
    "seed_run_execute",
    "seed_run_fail",
    "seed_run_pending_chunks",
    "seed_run_resume",
    "seed_run_resume_plan",
    "seed_run_resume_preview",
    "seed_run_start",
    "seed_runs_settle",
    "seed_runs_sweep",
]
