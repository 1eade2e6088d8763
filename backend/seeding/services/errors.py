"""Errors the seeding services raise. Each kind of entry point turns them into its
own answer in one place: a CommandError, a JSON error body, an admin message."""

from __future__ import annotations

from seeding.plan import PlanError


class SeedingError(Exception):
    """Something the caller asked for could not be done; the message says why."""


class RunFailed(SeedingError):
    """A run stopped with an error. ``run.error`` says where, ``run.error_detail`` the full cause."""

    def __init__(self, run):
        self.run = run
        super().__init__(f"seed run #{run.pk} failed: {run.error}")


class RunNotResumable(SeedingError):
    """The run cannot be continued (it succeeded, its rows were cleared, or another process writes it)."""


class RunCleared(RunNotResumable):
    """The run's rows were cleared under a chunk being written; the chunk is dropped."""


class RunNotActive(SeedingError):
    """Only a queued or running run can be cancelled."""


class ChunkFenced(SeedingError):
    """A worker's attempt at a chunk was taken over (its lease lapsed, another worker started the chunk again)
    before it wrote its rows: it writes none, so only the newer attempt writes."""


class CatalogMismatch(SeedingError):
    """This process draws from another catalog than the one the run was created with."""


class ClearRefused(SeedingError):
    """Clearing would touch rows seeding did not write, or a run is active."""


class RunAlreadyActive(SeedingError):
    """Only one run may be queued or running at a time."""

    def __init__(self, active_run):
        self.active_run = active_run
        super().__init__(
            f"seed run #{active_run.pk} is {active_run.status}; a new run can start once it has finished "
            "or been cancelled"
        )


class BrokerUnavailable(SeedingError):
    """The message broker could not be reached; the run was marked failed."""


__all__ = [
    "BrokerUnavailable",
    "CatalogMismatch",
    "ChunkFenced",
    "ClearRefused",
    "PlanError",
    "RunAlreadyActive",
    "RunCleared",
    "RunFailed",
    "RunNotActive",
    "RunNotResumable",
    "SeedingError",
]
