"""Worker hosts on one machine: Linux network namespaces, each with its own address and hostname.

Every multi-worker test so far ran its workers on one host, sharing its hostname and loopback. Here each
worker "host" is a network namespace and a UTS namespace of its own: its own interface and address on a
bridge, its own hostname (``ds-host-1`` ...), reaching PostgreSQL and Redis at the bridge's address, where a
relay (socat) forwards to the servers on loopback (they listen there only). Nothing else is shared but
the kernel and the PID namespace.

    sudo .venv/bin/python scripts/hosts.py up        # three hosts; prints their addresses
    sudo .venv/bin/python scripts/hosts.py down      # everything it made, gone

Needs root (``ip netns``), iproute2 and socat (``apt-get install iproute2 socat``). ``Hosts`` is the same
set-up as a context manager for tests and benchmarks: whatever happens inside, the namespaces, the veth
pairs, the bridge, the relays and every process started on a host are torn down on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

#: Every name this script makes starts with this, so ``down`` finds what a crashed run left behind.
PREFIX = "ds"
BRIDGE = f"{PREFIX}-br"
SUBNET = "10.77.0"
#: Where the hosts reach PostgreSQL and Redis: the bridge's own address in the root namespace.
SERVICES_ADDRESS = f"{SUBNET}.1"
#: What the relays forward: (port on the bridge's address, port on loopback).
SERVICE_PORTS = {"postgres": (5432, 5432), "redis": (6379, 6379)}


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(("netns", "exec", netns, "ip") if netns else ()), *args]
    return subprocess.run(command, check=check, capture_output=True, text=True)


class Hosts:
    """``count`` worker hosts (``host(1)`` ... ``host(count)``) on a bridge, torn down on exit."""

    def __init__(self, count: int = 3):
        self.count = count
        self.relays: list[subprocess.Popen] = []
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Hosts:
        missing = [tool for tool in ("ip", "socat") if shutil.which(tool) is None]
        if missing or os.geteuid() != 0:
            raise SystemExit(f"worker hosts need root, iproute2 and socat (missing: {', '.join(missing) or 'root'})")
        down()  # what an earlier run may have left
        try:
            self._up()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in [*self.processes, *self.relays]:
            _stop(process)
        self.processes.clear()
        self.relays.clear()
        down()

    def namespace(self, number: int) -> str:
        return f"{PREFIX}-h{number}"

    def hostname(self, number: int) -> str:
        return f"{PREFIX}-host-{number}"

    def address(self, number: int) -> str:
        return f"{SUBNET}.{10 + number}"

    def run(self, number: int, argv: Sequence[str], *, env: dict[str, str], log, cwd=None) -> subprocess.Popen:
        """Start ``argv`` on host ``number`` (its network and its hostname), in a process group of its own."""
        command = [
            "ip", "netns", "exec", self.namespace(number),
            "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname(number), *argv,
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def _up(self) -> None:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SERVICES_ADDRESS}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for number in range(1, self.count + 1):
            namespace, outside = self.namespace(number), f"{PREFIX}-v{number}"
            _ip("netns", "add", namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            _ip("link", "set", outside, "master", BRIDGE)
            _ip("link", "set", outside, "up")
            _ip("addr", "add", f"{self.address(number)}/24", "dev", "eth0", netns=namespace)
            _ip("link", "set", "eth0", "up", netns=namespace)
            _ip("link", "set", "lo", "up", netns=namespace)
        for outside_port, inside_port in SERVICE_PORTS.values():
            self.relays.append(
                subprocess.Popen(
                    [
                        "socat",
                        f"TCP-LISTEN:{outside_port},bind={SERVICES_ADDRESS},fork,reuseaddr",
                        f"TCP:127.0.0.1:{inside_port}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        _wait_for_relays()


def _wait_for_relays(timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    for port, _ in SERVICE_PORTS.values():
        while True:
            try:
                with socket.create_connection((SERVICES_ADDRESS, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the relay on {SERVICES_ADDRESS}:{port} did not start") from None
                time.sleep(0.1)


def _stop(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def down() -> None:
    """Remove every namespace, veth and bridge this script makes (and whatever still runs in them)."""
    namespaces = _ip("netns", "list", check=False).stdout.split()
    for namespace in [name for name in namespaces if name.startswith(f"{PREFIX}-h")]:
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", namespace, check=False)
    _ip("link", "del", BRIDGE, check=False)  # its veth ends went with their namespaces
    subprocess.run(["pkill", "-f", f"socat TCP-LISTEN:.*bind={SERVICES_ADDRESS}"], capture_output=True)


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
    print(f"PostgreSQL and Redis at {SERVICES_ADDRESS}; relays left running until `down`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
