"""A dead inline writer is recognised only where that can be known for sure (seeding/common/process_identity.py)."""

from __future__ import annotations

import multiprocessing

import pytest

from seeding.common.process_identity import is_gone, this_process

pytestmark = pytest.mark.once


def _identity_of_a_child() -> str:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(this_process)


def test_a_living_process_is_not_gone():
    assert not is_gone(this_process())


def test_a_process_that_exited_is_gone():
    identity = _identity_of_a_child()  # the pool's process has exited and been reaped
    assert identity.split(":")[1] != this_process().split(":")[1]
    assert is_gone(identity)


def test_a_pid_reused_by_another_process_is_gone():
    host, pid, boot, namespace, started = this_process().split(":")
    assert is_gone(":".join((host, pid, boot, namespace, str(int(started) - 1))))


@pytest.mark.parametrize(
    "identity",
    ["", "web-1:4242", "other-host:1:another-boot-id:4026531836:100", "this:999999:{boot}:1:100"],
    ids=["none", "no-proc-details", "another-kernel", "another-pid-namespace"],
)
def test_a_process_elsewhere_is_never_taken_for_gone(identity):
    boot = this_process().split(":")[2]
    assert not is_gone(identity.format(boot=boot))
