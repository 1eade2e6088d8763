"""The seeding service: the only code that writes demo data.

The management command, the admin, the JSON API and the Dramatiq actors are
thin callers of these functions (see docs/architecture.md for the flow).
"""

from seeding.services.chunks import seed_chunk_process, seed_chunk_write
from seeding.services.clearing import ClearResult, demo_data_clear
from seeding.services.dispatch import (
    SeedOutcome,
    runs_inline,
    seed_request,
    seed_run_enqueue,
    seed_run_start,
    seed_runs_sweep,
    send_phase,
)
from seeding.services.errors import (
    BrokerUnavailable,
    ClearRefused,
    PlanError,
    RunAlreadyActive,
    RunNotResumable,
    SeedingError,
)
from seeding.services.runs import (
    plan_of,
    plan_summary,
    seed,
    seed_run_cancel,
    seed_run_create,
    seed_run_execute,
    seed_run_pending_chunks,
)
from seeding.services.status import seed_run_fail

__all__ = [
    "BrokerUnavailable",
    "ClearRefused",
    "ClearResult",
    "PlanError",
    "RunAlreadyActive",
    "RunNotResumable",
    "SeedOutcome",
    "SeedingError",
    "demo_data_clear",
    "plan_of",
    "plan_summary",
    "runs_inline",
    "seed",
    "seed_chunk_process",
    "seed_chunk_write",
    "seed_request",
    "seed_run_cancel",
    "seed_run_create",
    "seed_run_enqueue",
    "seed_run_execute",
    "seed_run_fail",
    "seed_run_pending_chunks",
    "seed_run_start",
    "seed_runs_sweep",
    "send_phase",
]
