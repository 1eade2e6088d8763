"""Resuming a failed or cancelled run: the one path the command (``--resume``) and the admin take.

What is left of a run is routed like a new plan of that size (``routing.runs_inline``):
at or under SEED_INLINE_THRESHOLD rows it is written here, in the caller's
process; above, it is handed to the workers (the embedded worker without Redis),
so a web request never holds on to a long resume. The command asks for
``mode="inline"``: a terminal process can wait, and shows progress while it does.
"""

from __future__ import annotations

import dataclasses

from seeding.generation.kinds import KINDS, Chunk, rows_by_kind
from seeding.models import SeedRun
from seeding.plan import SeedPlan
from seeding.services.audit import Requester
from seeding.services.inline import ProgressCallback, seed_run_execute
from seeding.services.live_requests import live_stream_restart
from seeding.services.routing import Mode, SeedOutcome, runs_inline
from seeding.services.runs import seed_run_claim, seed_run_resume_preview
from seeding.services.workers import broker_ensure_reachable, seed_run_enqueue


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """What resuming a run would write, and where."""

    chunks: list[Chunk]
    queued: bool  # True: handed to the workers; False: written by the caller

    @property
    def rows(self) -> int:
        return sum(chunk.rows for chunk in self.chunks)

    @property
    def rows_by_kind(self) -> dict[str, int]:
        """Rows left per kind, every kind named (0 for a kind that is done)."""
        left = rows_by_kind(self.chunks)
        return {kind: left.get(kind, 0) for kind in KINDS}


def seed_run_resume_plan(*, run: SeedRun, mode: Mode = "auto") -> ResumePlan:
    """What ``seed_run_resume`` would do with ``run``, read-only. Raises RunNotResumable as it would."""
    if run.is_live:  # a stream restarts from its checkpoint, by time: no chunks are left as such
        return ResumePlan(chunks=[], queued=mode != "inline")
    chunks = seed_run_resume_preview(run=run)
    left = SeedPlan(**rows_by_kind(chunks), chunk_size=run.chunk_size)
    return ResumePlan(chunks=chunks, queued=not runs_inline(plan=left, mode=mode))


def seed_run_resume(
    *, run: SeedRun, by: Requester, mode: Mode = "auto", on_progress: ProgressCallback | None = None
) -> SeedOutcome:
    """Continue ``run`` after its last committed chunk: here (returns the finished run) or on the workers
    (returns at once, the run running and its start message sent).

    Raises RunNotResumable (it succeeded, its rows were cleared, another process
    writes it), RunAlreadyActive, BrokerUnavailable (asked before the run is
    claimed, so a refused resume leaves it as it was) or RunFailed (written here
    and failed again; its committed chunks are kept). The audit trail records
    the resume, by ``by``.
    """
    if run.is_live:
        here = mode == "inline"
        return SeedOutcome(run=live_stream_restart(run=run, by=by, here=here), queued=not here)
    plan = seed_run_resume_plan(run=run, mode=mode)
    if not plan.queued:
        return SeedOutcome(run=seed_run_execute(run=run, resume=True, on_progress=on_progress, by=by), queued=False)
    broker_ensure_reachable()
    seed_run_claim(run=run, resume=True, by=by, executor=SeedRun.Executor.WORKERS)
    return SeedOutcome(run=run, queued=True, task_id=seed_run_enqueue(run=run))
