"""A broker outage in a worker's log: once when it starts, once when it ends (seeding/broker_outage.py)."""

from __future__ import annotations

import logging

import pytest

from seeding.runtime import broker_outage


@pytest.fixture(autouse=True)
def _no_outage():
    broker_outage.outage_ended()
    yield
    broker_outage.outage_ended()


def record(message: str, level: int = logging.CRITICAL) -> logging.LogRecord:
    return logging.LogRecord("dramatiq.worker.ConsumerThread(seeding.DQ)", level, __file__, 1, message, (), None)


class FakeBroker:
    def __init__(self, up: bool):
        self.up = up
        self.client = self

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("Connection refused")
        return True


def test_an_outage_is_one_warning_then_quiet_until_the_broker_answers(caplog):
    quiet = broker_outage.QuietBrokerOutage()
    first = record("Consumer encountered a connection error: Error 111 connecting to 127.0.0.1:6379.")
    assert quiet.filter(first)
    assert first.levelname == "WARNING" and first.getMessage().startswith(
        "the message broker is unreachable (Error 111 connecting to 127.0.0.1:6379.)"
    )
    assert not quiet.filter(record("Consumer encountered a connection error: Error 111 again"))
    assert not quiet.filter(record("Failed to post_process_message(m) due to a connection error: Error 111\n..."))
    assert not quiet.filter(record("Restarting consumer in 3.00 seconds.", logging.INFO))
    assert quiet.filter(record("Worker process is ready for action.", logging.INFO))  # the rest passes
    with caplog.at_level(logging.WARNING, logger="seeding.broker"):
        broker_outage.check_back(FakeBroker(up=False))
        assert broker_outage.outage_ongoing() and not caplog.records
        broker_outage.check_back(FakeBroker(up=True))
    assert not broker_outage.outage_ongoing()
    assert [r.getMessage().split(" after ")[0] for r in caplog.records] == ["the message broker is reachable again"]
    assert quiet.filter(record("Restarting consumer in 3.00 seconds.", logging.INFO))  # no outage: it passes again
