"""The plan most tests seed: one moment and one size, so figures a test asserts are comparable across files.

Kept free of model imports: conftest.py imports it before Django is set up.
"""

from __future__ import annotations

from datetime import UTC, datetime

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
#: Small enough to be quick, big enough to span several chunks of every kind.
SMALL = {"applications": 30, "assets": 250, "deployments": 600, "events": 2_500}
