"""Errors the seeding services raise; entry points turn each into their own answer
(a CommandError, a 4xx/5xx JSON body, an admin message)."""

from __future__ import annotations

from seeding.plan import PlanError


class SeedingError(Exception):
    """A run could not be completed; the message says why and what was kept."""

    def __init__(self, message: str, *, run=None):
        super().__init__(message)
        self.run = run


class RunNotResumable(SeedingError):
    """The run cannot be continued (it succeeded, or its rows were cleared)."""


class RunCleared(RunNotResumable):
    """The run's rows were cleared under a chunk being written; the chunk is dropped."""


class ClearRefused(SeedingError):
    """Clearing would touch rows seeding did not write, or a run is active."""


class RunAlreadyActive(SeedingError):
    """Only one run may be queued or running at a time."""

    def __init__(self, active_run):
        self.active_run = active_run
        super().__init__(f"seed run #{active_run.pk} is {active_run.status}; wait for it or cancel it first")


class BrokerUnavailable(SeedingError):
    """The message broker could not be reached; the run was marked failed."""


__all__ = [
    "BrokerUnavailable",
    "ClearRefused",
    "PlanError",
    "RunAlreadyActive",
    "RunCleared",
    "RunNotResumable",
    "SeedingError",
]
