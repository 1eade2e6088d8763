"""The lock files install exactly what requirements*.txt pin: `make lock` was run after every change to them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.paths import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def pins(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of every ``name==version`` line, following ``-r`` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        elif match := PIN.match(line):
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_the_lock_pins_every_requirement_at_its_version(requirements, lock):
    wanted = pins(REPO / requirements)
    locked = pins(REPO / lock)
    assert "django" in wanted and len(locked) > len(wanted)  # the lock holds the dependencies too
    assert {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version} == {}


def test_the_runtime_lock_holds_nothing_only_the_tests_need():
    assert not {"pytest", "ruff", "playwright", "schemathesis"} & set(pins(REPO / "requirements.lock"))
