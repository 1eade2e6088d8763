"""Pages as a reader sees them: what tests hold the admin's rendered text to."""

from __future__ import annotations

import re


def text(response) -> str:
    """The page's text without tags, whitespace folded: what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
