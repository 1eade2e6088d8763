"""One event of an episode (an incident story or a change wave), before it takes its row."""

from __future__ import annotations

from typing import NamedTuple


class EpisodeEvent(NamedTuple):
    stage: int  # its key, counted from the episode's first key
    at: int  # epoch second
    asset_id: int
    deployment_id: int | None  # None: about the host
    kind: str
    severity: str
    source: str
    message: str
