"""A real PostgreSQL that refuses: the API answers JSON 503s that say which refusal, the command a
CommandError, and the log names the connection budget once instead of "unreachable ... after 0 s".

"Too many connections" comes from a throwaway role with CONNECTION LIMIT 0 (the same SQLSTATE 53300 refusal
as an exhausted max_connections, without touching the shared server); "unreachable" from a closed port.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psycopg
import pytest
from apitokens.models import ApiToken
from apitokens.services import token_issue
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test import Client

from seeding.common import database_outage
from tests.support.api import SEED_URL, STATS_URL, make_user
from tests.support.databases import database_url
from tests.support.ports import free_port
from tests.support.processes import Workers
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ENDPOINTS = [
    ("get", STATS_URL),
    ("get", "/api/v1/admin/seed-runs/1"),
    ("post", "/api/v1/admin/seed-runs/1/cancel"),
    ("post", SEED_URL),
]


@pytest.fixture
def refusing_role() -> Iterator[str]:
    """A login role PostgreSQL refuses every connection to: too many connections for role."""
    role = f"{connection.settings_dict['NAME']}_refused"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def switch_database():
    """Point the default connection elsewhere for the test's body; put it back before teardown's flush."""
    saved = dict(connection.settings_dict)

    def switch(**changes) -> None:
        connection.close()
        connection.settings_dict.update(changes)

    yield switch
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.fixture
def token(django_user_model) -> str:
    """A bearer token: the token middleware's database read comes before any view's."""
    token = ApiToken(user=make_user(django_user_model, "seeder", staff=True, perms=("run_seed", "view_seedrun")))
    secret = token_issue(token)
    token.save()
    return secret


def refused_error(**connect) -> DatabaseError:
    """The Django error a refused connection raises (what every caller sees)."""
    params = {
        "host": connection.settings_dict["HOST"] or "127.0.0.1",
        "port": connection.settings_dict["PORT"] or 5432,
        "dbname": connection.settings_dict["NAME"],
        "user": connection.settings_dict["USER"],
        "connect_timeout": 3,
        **connect,
    }
    try:
        with connection.wrap_database_errors:
            psycopg.connect(**params).close()
    except DatabaseError as exc:
        return exc
    raise AssertionError("PostgreSQL accepted the connection")


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_every_endpoint_answers_json_503_database_busy_when_connections_are_refused(
    method, url, token, refusing_role, switch_database
):
    switch_database(USER=refusing_role)
    response = getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Bearer {token}", content_type="application/json")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "database_busy"
    assert response["Retry-After"]


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_every_endpoint_answers_json_503_database_unavailable_when_the_server_is_unreachable(
    method, url, token, switch_database
):
    switch_database(PORT=free_port())
    response = getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Bearer {token}", content_type="application/json")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_the_command_says_the_database_refused_it(refusing_role, switch_database):
    switch_database(USER=refusing_role)
    with pytest.raises(CommandError, match="PostgreSQL refused a connection: too many connections for role"):
        call_command("seed_demo_data", "--events=10")


def test_the_command_says_the_database_is_unreachable(switch_database):
    port = free_port()
    switch_database(PORT=port)
    with pytest.raises(CommandError, match=f"cannot reach the database .*:{port}"):
        call_command("seed_demo_data", "--events=10")


def test_refused_connections_are_logged_once_naming_the_budget_and_the_settings(
    refusing_role, caplog, settings, monkeypatch
):
    """23 refusals and successes between them (what a worker met): one line, the budget, not 'unreachable'."""
    monkeypatch.setattr(database_outage, "_busy_said_at", None)  # this process said nothing yet
    settings.DATABASE_CONNECTION_BUDGET = {"web_processes": 3, "worker_processes": 2, "worker_threads": 2,
                                           "monitor": 5, "max_connections": 100}  # fmt: skip
    settings.SEED_WRITER_THREADS = 2
    error = refused_error(user=refusing_role)
    assert database_outage.is_out_of_connections(error)
    assert not database_outage.is_out_of_connections(refused_error(port=free_port()))
    with caplog.at_level(logging.INFO, logger="seeding.database"):
        for _ in range(23):
            database_outage.note_unreachable(error)
            database_outage.note_reachable()
    lines = [record.getMessage() for record in caplog.records if record.name == "seeding.database"]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(f'PostgreSQL refused a connection: too many connections for role "{refusing_role}"')
    assert "max_connections=100" in line
    assert "up to 24: web 3 x (1 + 2 SEED_WRITER_THREADS) = 9 + worker replica 2 WORKER_PROCESSES" in line
    assert "WORKER_THREADS" in line and "unreachable" not in line


@pytest.mark.slow
def test_a_worker_refused_connections_logs_the_budget_once(refusing_role, tmp_path, settings):
    """A real worker whose sweeper meets the refusal every 0.5 s: one budget line, no "unreachable" pairs."""
    url = database_url().replace(f"//{connection.settings_dict['USER']}", f"//{refusing_role}", 1)
    workers = Workers(tmp_path)
    try:
        workers.start(env={"DATABASE_URL": url})
        workers.wait_ready(1)
        wait_until(
            lambda: "PostgreSQL refused a connection" in workers.logs(),
            timeout=30,
            message=workers.awaiting("the refusal to be logged"),
        )
        # The test's subject is that nothing more is said, which no condition can await:
        # give the sweeper (every 0.5 s) ten more refusals to say it in.
        time.sleep(10 * 0.5)
    finally:
        workers.stop_all()
    log = workers.logs()
    assert log.count("PostgreSQL refused a connection") == 1, log
    assert f'too many connections for role "{refusing_role}"' in log
    assert "unreachable" not in log and "reachable again" not in log, log
