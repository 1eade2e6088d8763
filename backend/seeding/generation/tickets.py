"""Ticket numbers: each names one thing, and no two things in an estate share one.

A ticket takes its number from the event that opens it: the incident record
of a story, the change that fixes it, the approval of a change wave, a single
change or maintenance window. Event keys are unique within the estate (every
run takes its own range), so the numbers are too, across stacked runs, and
they are a pure function of the run: a retried chunk writes the same ones.
They grow with time within a run, as a ticketing system's counter does.
"""

from __future__ import annotations

import numpy as np

from seeding.generation.spec import RunSpec

#: Added to the event's key, so that the first tickets look like a system that has been in use for a while.
TICKET_OFFSET = 10_000
INCIDENT, CHANGE = "INC", "CHG"


def ticket_numbers(spec: RunSpec, ordinals: np.ndarray) -> np.ndarray:
    """The number of the ticket each event at ``ordinals`` would open."""
    return TICKET_OFFSET + spec.id_base("events") + ordinals


def tickets(prefix: str, spec: RunSpec, ordinals: np.ndarray) -> list[str]:
    """``INC0012345``: the ticket each event at ``ordinals`` opens (seven digits at least, as ServiceNow's)."""
    return [f"{prefix}{number:07d}" for number in ticket_numbers(spec, ordinals).tolist()]


def ticket(prefix: str, spec: RunSpec, ordinal: int) -> str:
    """``tickets`` for one event."""
    return tickets(prefix, spec, np.array([ordinal], dtype=np.int64))[0]
