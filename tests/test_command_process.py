"""`seed_demo_data` as a real process on an SQLite file: a reader that goes away, and Ctrl-C.

These need what only a real process has (a pipe that closes, a SIGINT between
two chunks) and a database file another process can read meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.databases import sqlite_index_sql
from tests.support.paths import MANAGE, REPO
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.once, pytest.mark.slow]


@pytest.fixture
def database(tmp_path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "command.sqlite3"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["DATABASE_URL"] = f"sqlite:///{path}"
    subprocess.run([*MANAGE, "migrate", "--verbosity=0"], env=env, check=True, cwd=REPO)
    return path, env


def query(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.parametrize("buffering", ["unbuffered", "buffered"])
def test_a_reader_that_goes_away_changes_nothing(database, buffering):
    """`seed_demo_data ... | head -1`: every row is written, the run succeeds, nothing on stderr."""
    path, env = database
    if buffering == "unbuffered":
        env = {**env, "PYTHONUNBUFFERED": "1"}  # every line hits the closed pipe at once
    process = subprocess.Popen(
        [*MANAGE, "seed_demo_data", "--assets=1000", "--events=20000", "--chunk-size=1000"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first_line = process.stdout.readline()
    process.stdout.close()  # what `head -1` does after its line
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert "Seed run #1 started" in first_line
    assert stderr == ""
    assert query(path, "SELECT status, assets_done, events_done, error FROM seeding_seedrun") == [
        ("succeeded", 1_000, 20_000, "")
    ]
    assert query(path, "SELECT COUNT(*) FROM inventory_event") == [(20_000,)]


# Timed: the interrupt must land while the load runs; once, under the load of the other passes, the command
# ran to the end (exit 0, nothing on stderr) as if the signal had come too late; its output is now in the message.
@pytest.mark.timed
def test_ctrl_c_cancels_the_run_keeps_its_chunks_rebuilds_indexes_and_says_how_to_resume(database):
    path, env = database
    indexes_after_migrate = sqlite_index_sql(path)
    process = subprocess.Popen(
        [*MANAGE, "seed_demo_data", "--assets=2000", "--events=1200000", "--chunk-size=2000", "--as-of=2026-11-01"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def loading_events() -> bool:
        assert process.poll() is None, process.communicate()
        return bool(query(path, "SELECT 1 FROM seeding_seedrun WHERE events_done >= 20000"))

    wait_until(loading_events, timeout=60, interval=0.05, message="the command's first 20,000 events")
    assert set(indexes_after_migrate) - set(sqlite_index_sql(path)), "the events' indexes are deferred while they load"
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1, (stderr, _stdout[-2000:])
    ((status, error, done, planned),) = query(
        path,
        "SELECT status, error, assets_done + events_done, assets + events FROM seeding_seedrun",
    )
    assert status == "cancelled" and error == "interrupted (Ctrl-C); committed chunks are kept"
    assert 20_000 <= done < planned
    assert f"Interrupted: run #1 stopped with {done:,} of {planned:,} rows committed." in stderr
    assert "Resume it with --resume 1, or delete its rows with --clear-run 1." in stderr
    assert "Traceback" not in stderr
    assert query(path, "SELECT COUNT(*) FROM inventory_event") == [(done - 2_000,)]  # whole chunks only
    assert sqlite_index_sql(path) == indexes_after_migrate
    assert query(path, "SELECT COUNT(*) FROM seeding_deferredindex") == [(0,)]

    resumed = subprocess.run(
        [*MANAGE, "seed_demo_data", "--resume=1"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Seed run #1 succeeded" in resumed.stdout
    assert query(path, "SELECT COUNT(*), COUNT(DISTINCT id) FROM inventory_event") == [(1_200_000, 1_200_000)]
    assert sqlite_index_sql(path) == indexes_after_migrate
