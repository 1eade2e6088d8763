"""Separate hosts for the tests in this directory (scripts/hosts.py): a PostgreSQL and a Redis server of their
own, each at its own address on a bridge, and three worker hosts, each with its own address, hostname and
processes. `make test-hosts` runs these tests (as root) with DATABASE_URL and REDIS_URL naming those servers;
the other passes of `make test` deselect them (marker ``hosts``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.hosts import Hosts
from tests.support.databases import database_url
from tests.support.paths import MANAGE, REPO
from tests.support.waiting import wait_until

HOST_NUMBERS = (1, 2, 3)


@pytest.fixture(scope="session", autouse=True)
def hosts() -> Iterator[Hosts]:
    """The servers and the three hosts, up before anything talks to a database or a broker, and torn down
    (namespaces, links, servers, every process started on a host) however the session ends."""
    with Hosts(len(HOST_NUMBERS)) as made:
        yield made


@pytest.fixture(scope="session")
def django_db_setup(hosts, django_db_setup):
    """pytest-django's test database, made on the hosts' PostgreSQL server once it is up."""
    return django_db_setup


@dataclass
class OnHosts:
    """Processes a test started on the hosts, and what they logged."""

    hosts: Hosts
    directory: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, number: int, argv: list[str]) -> subprocess.Popen:
        """Start ``argv`` on host ``number``, logging to a file called ``name``."""
        log = open(self.directory / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        self.processes[name] = self.hosts.run(number, argv, env=self.env, log=log, cwd=REPO)
        return self.processes[name]

    def manage(self, number: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """``manage.py args`` on host ``number``, to its end."""
        name = f"manage-{len(self.processes)}"
        process = self.start(name, number, [*MANAGE, *args])
        process.wait(timeout=timeout)
        return subprocess.CompletedProcess(args, process.returncode, self.log(name))

    def start_workers(self, *, threads: int) -> None:
        """A `rundramatiq` on each host (one process), with the project's default settings; returns once all
        are ready."""
        for number in HOST_NUMBERS:
            self.start(
                f"worker-{number}",
                number,
                [*MANAGE, "rundramatiq", "--processes", "1", "--threads", str(threads),
                 "--worker-shutdown-timeout", "3000"],
            )  # fmt: skip
        wait_until(
            lambda: self.logs().count("Worker process is ready for action.") >= len(HOST_NUMBERS),
            timeout=60,
            interval=0.2,
            message=lambda: f"the hosts' workers ready\n{self.logs()}",
        )

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"--- worker-{n} ---\n{self.log(f'worker-{n}')[-3000:]}" for n in HOST_NUMBERS)

    def stop_all(self) -> None:
        for number in HOST_NUMBERS:
            self.hosts.heal(number)
            self.hosts.throttle(number, None)
        for process in self.processes.values():
            self.hosts.stop(process)


@pytest.fixture
def on_hosts(hosts, transactional_db, tmp_path) -> Iterator[OnHosts]:
    """Start processes on the hosts, against the test database and the hosts' Redis; all healed and
    stopped after the test."""
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    started = OnHosts(hosts, tmp_path, env)
    yield started
    started.stop_all()


@pytest.fixture
def host_workers(on_hosts) -> OnHosts:
    """A `rundramatiq` on each host (one process, two threads), with the project's default settings, ready."""
    on_hosts.start_workers(threads=2)
    return on_hosts
