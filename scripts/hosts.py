"""Separate hosts on one machine: Linux namespaces, each host with its own address, hostname and processes.

Every multi-worker test so far ran its workers on one host, sharing its hostname, its loopback and its
process table. Here each machine of a small deployment is a set of namespaces on a bridge (10.77.0.0/24):

- ``ds-pg`` (10.77.0.2): a PostgreSQL server of its own (initdb in a temporary directory), and ``ds-redis``
  (10.77.0.3): a Redis server of its own. They listen on those addresses only, so a host reaches them over
  the bridge the way a worker machine reaches a database server, and a partition is a real one: packets a
  host drops never arrive, and the server learns of it only through its own TCP timers.
- ``ds-h1`` .. ``ds-hN`` (10.77.0.11 ..): worker hosts. Whatever runs there gets its own network, hostname
  (``ds-host-1`` ..) and PID namespace (its processes cannot see another host's, as on another machine).
- The root namespace is on the bridge too (10.77.0.1): the test process, like a web host, reaches both servers.

    sudo .venv/bin/python scripts/hosts.py up        # the servers and three hosts; prints their addresses
    sudo .venv/bin/python scripts/hosts.py down      # everything it made, gone

Needs root (``ip netns``, iptables for ``cut``), iproute2, iptables, and PostgreSQL's and Redis's server
binaries (not running ones). ``Hosts`` is the same set-up as a context manager for tests: whatever happens
inside, the servers, every process started on a host, the namespaces, the veth pairs and the bridge are
torn down on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: Every name this script makes starts with this, so ``down`` finds what a crashed run left behind.
PREFIX = "ds"
BRIDGE = f"{PREFIX}-br"
SUBNET = "10.77.0"
#: The root namespace's address on the bridge.
BRIDGE_ADDRESS = f"{SUBNET}.1"
POSTGRES_NAMESPACE, POSTGRES_ADDRESS, POSTGRES_PORT = f"{PREFIX}-pg", f"{SUBNET}.2", 5432
REDIS_NAMESPACE, REDIS_ADDRESS, REDIS_PORT = f"{PREFIX}-redis", f"{SUBNET}.3", 6379
#: Where processes on the hosts (and the tests) find the two servers.
DATABASE_URL = f"postgres://postgres@{POSTGRES_ADDRESS}:{POSTGRES_PORT}/demoseed"
REDIS_URL = f"redis://{REDIS_ADDRESS}:{REDIS_PORT}/0"
#: What ``cut`` can cut a host off from.
SERVICES = {"postgres": POSTGRES_ADDRESS, "redis": REDIS_ADDRESS}
_DATA_PREFIX = f"{PREFIX}-hosts-pg-"
#: Where each host's CPU cgroup goes (cgroup v1's cpu controller), and its accounting period.
CPU_CGROUPS = Path("/sys/fs/cgroup/cpu")
CPU_PERIOD_US = 100_000


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(("netns", "exec", netns, "ip") if netns else ()), *args]
    return subprocess.run(command, check=check, capture_output=True, text=True)


class Hosts:
    """``count`` worker hosts (``host(1)`` ... ``host(count)``) and the two servers, torn down on exit."""

    def __init__(self, count: int = 3):
        self.count = count
        self.processes: list[subprocess.Popen] = []
        self._postgres: _Postgres | None = None
        #: Each host's first process (PID 1 of its PID namespace, in the root namespace's numbering).
        self._inits: dict[int, int] = {}
        self._starters: list[subprocess.Popen] = []

    def __enter__(self) -> Hosts:
        needed = ("ip", "iptables", "unshare", "nsenter", "runuser", "redis-server")
        missing = [tool for tool in needed if not shutil.which(tool)]
        if missing or os.geteuid() != 0:
            raise SystemExit(f"separate hosts need root, iproute2, iptables and redis-server "
                             f"(missing: {', '.join(missing) or 'root'})")  # fmt: skip
        down()  # what an earlier run may have left
        try:
            self._up()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            _stop(process)
        self.processes.clear()
        for starter in self._starters:  # each host's first process: its PID namespace goes with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()
        if self._postgres is not None:
            self._postgres.remove()
        down()

    def namespace(self, number: int) -> str:
        return f"{PREFIX}-h{number}"

    def hostname(self, number: int) -> str:
        return f"{PREFIX}-host-{number}"

    def address(self, number: int) -> str:
        return f"{SUBNET}.{10 + number}"

    def run(self, number: int, argv: Sequence[str], *, env: dict[str, str], log, cwd=None) -> subprocess.Popen:
        """Start ``argv`` on host ``number``: in its network, hostname, PID and mount namespaces (so it sees the
        host's processes only, in the host's /proc), in a process group of its own."""
        enter = ["nsenter", "--target", str(self._inits[number]), "--net", "--uts", "--pid", "--mount", "--"]
        # Into the host's CPU cgroup first (nsenter joins namespaces, not cgroups), so ``throttle`` reaches it.
        procs = _cgroup(self.namespace(number)) / "cgroup.procs"
        command = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *enter, *argv]
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen, grace: float = 15) -> None:
        """SIGTERM to what ``run`` started, SIGKILL to its process group after ``grace`` seconds."""
        _stop(process, grace)
        with contextlib.suppress(ValueError):
            self.processes.remove(process)

    def cut(self, number: int, *services: str, replies_only: bool = False) -> None:
        """Drop host ``number``'s traffic with ``services`` ("postgres", "redis"): both ways, or with
        ``replies_only`` only what comes back (its packets arrive; the server's answers are lost). The host
        and its processes go on as if nothing happened; only the network between them is gone. The rules
        go in at once (one iptables-restore), so a cut lands when it is asked for."""
        rules = []
        for service in services:
            rules.append(f"-A INPUT -s {SERVICES[service]} -j DROP")
            if not replies_only:
                rules.append(f"-A OUTPUT -d {SERVICES[service]} -j DROP")
        table = "*filter\n" + "\n".join(rules) + "\nCOMMIT\n"
        _in_namespace(self.namespace(number), ["iptables-restore", "--noflush", "-w"], stdin=table)

    def throttle(self, number: int, cpu_percent: float | None) -> None:
        """Give host ``number`` ``cpu_percent`` of one CPU (None: no limit), as an overcommitted virtual
        machine has: every process on the host shares it (a CPU cgroup of the host's own)."""
        quota = -1 if cpu_percent is None else round(CPU_PERIOD_US * cpu_percent / 100)
        (_cgroup(self.namespace(number)) / "cpu.cfs_quota_us").write_text(str(quota))

    def heal(self, number: int) -> None:
        """Undo every ``cut`` of host ``number``."""
        _in_namespace(self.namespace(number), ["iptables", "-w", "-F"])

    def _up(self) -> None:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        _namespace(POSTGRES_NAMESPACE, POSTGRES_ADDRESS, "pg")
        _namespace(REDIS_NAMESPACE, REDIS_ADDRESS, "redis")
        for number in range(1, self.count + 1):
            _namespace(self.namespace(number), self.address(number), str(number))
            self._inits[number] = self._boot(number)
        self._postgres = _Postgres()
        self._postgres.start()
        self._starters.append(
            subprocess.Popen(
                ["ip", "netns", "exec", REDIS_NAMESPACE, "redis-server", "--bind", REDIS_ADDRESS,
                 "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )  # fmt: skip
        _wait_for(REDIS_ADDRESS, REDIS_PORT)
        _wait_for(POSTGRES_ADDRESS, POSTGRES_PORT)
        self._postgres.create_database("demoseed")

    def _boot(self, number: int) -> int:
        """Give host ``number`` its hostname and a PID namespace of its own, kept by a first process that
        sleeps; returns that process's PID (``run`` joins its namespaces)."""
        starter = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace(number), "unshare", "--uts", "--pid", "--fork", "--kill-child",
             "--mount-proc", "sh", "-c", 'hostname "$0" && exec sleep infinity', self.hostname(number)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self._starters.append(starter)
        cgroup = _cgroup(self.namespace(number))
        cgroup.mkdir(exist_ok=True)
        (cgroup / "cgroup.procs").write_text(str(starter.pid))  # what it starts on the host inherits it
        children = Path(f"/proc/{starter.pid}/task/{starter.pid}/children")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid = children.read_text().split()[:1] if children.exists() else []
            if pid and Path(f"/proc/{pid[0]}/cmdline").read_bytes().startswith(b"sleep"):
                return int(pid[0])
            time.sleep(0.02)
        raise RuntimeError(f"host {number} did not start")


class _Postgres:
    """A PostgreSQL cluster of its own in the ``ds-pg`` namespace, its files in a temporary directory.

    Run as the ``postgres`` user (the server refuses root), trusting the bridge's addresses; fsync off,
    as for any throwaway test cluster.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=_DATA_PREFIX))
        shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        self.bin = Path(found) if found else Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        options = (
            f"-c listen_addresses={POSTGRES_ADDRESS} -p {POSTGRES_PORT} -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        log = str(self.directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start", netns=POSTGRES_NAMESPACE)

    def log(self) -> str:
        return (self.directory / "postgres.log").read_text()

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", POSTGRES_ADDRESS, "-p", str(POSTGRES_PORT), "-U", "postgres", name)

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, program: str, *args: str, netns: str | None = None) -> None:
        where = ["ip", "netns", "exec", netns] if netns else []
        command = [*where, "runuser", "-u", "postgres", "--", str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")


def _namespace(name: str, address: str, suffix: str) -> None:
    """A network namespace with one interface on the bridge at ``address``, and its loopback up."""
    outside = f"{PREFIX}-v{suffix}"
    _ip("netns", "add", name)
    _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", name)
    _ip("link", "set", outside, "master", BRIDGE)
    _ip("link", "set", outside, "up")
    _ip("addr", "add", f"{address}/24", "dev", "eth0", netns=name)
    _ip("link", "set", "eth0", "up", netns=name)
    _ip("link", "set", "lo", "up", netns=name)


def _cgroup(namespace: str) -> Path:
    return CPU_CGROUPS / namespace


def _in_namespace(namespace: str, argv: list[str], stdin: str | None = None) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *argv], input=stdin, text=True, check=True, capture_output=True)


def _wait_for(address: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered on {address}:{port}") from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM to what ``process`` started on its host, SIGKILL to its whole group after ``grace`` seconds.

    The signal goes to the child nsenter started, not to nsenter: nsenter would die at once, and its child,
    orphaned, would be left to the host's first process, which does not reap it.
    """
    if process.poll() is not None:
        return
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    with contextlib.suppress(OSError):
        for pid in children.read_text().split() or [str(process.pid)]:
            os.kill(int(pid), signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def down() -> None:
    """Remove every namespace, veth and bridge this script makes, whatever still runs in them, and the
    PostgreSQL cluster's files."""
    namespaces = _ip("netns", "list", check=False).stdout.split()
    for namespace in [name for name in namespaces if name.startswith(f"{PREFIX}-")]:
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", namespace, check=False)
    _ip("link", "del", BRIDGE, check=False)  # its veth ends went with their namespaces
    for cgroup in CPU_CGROUPS.glob(f"{PREFIX}-h*"):
        with contextlib.suppress(OSError):  # its processes may take a moment to be gone
            for _ in range(50):
                if not (cgroup / "cgroup.procs").read_text().strip():
                    break
                time.sleep(0.1)
            cgroup.rmdir()
    for directory in glob.glob(os.path.join(tempfile.gettempdir(), f"{_DATA_PREFIX}*")):
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    if args.action == "down":
        down()
        return 0
    hosts = Hosts(args.count).__enter__()
    for number in range(1, args.count + 1):
        print(f"{hosts.namespace(number)}: {hosts.address(number)} ({hosts.hostname(number)})")
    print(f"DATABASE_URL={DATABASE_URL}\nREDIS_URL={REDIS_URL}\n(left running until `down`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
