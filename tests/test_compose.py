"""docker-compose.yml, proved without Docker: its shape, its commands, its variables; and the smoke run.

There is no Docker engine here, so the file is checked as data (every service's
command exists and parses, every variable it uses is documented in
.env.example, the production defaults hold) and then run service by service by
`make compose-smoke` (scripts/compose_smoke.py), which the last test calls.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from monitor.rollups import PARALLEL
from scripts.compose_smoke import COMPOSE_FILE, REQUIRED, ComposeError, command_of, load_compose, variables_used
from tests.support.paths import REPO

from scripts.bench_scale import BULK_LOAD_SETTINGS  # isort: skip (after compose_smoke, which puts scripts/ on the path)

APP_SERVICES = ("migrate", "web", "worker", "monitor")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose(dict(REQUIRED))


@pytest.mark.once
def test_every_variable_the_file_uses_is_documented_in_env_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), flags=re.MULTILINE))
    assert variables_used(COMPOSE_FILE.read_text()) - documented == set()


@pytest.mark.once
@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_the_stack_refuses_to_start_without_its_secrets(variable):
    with pytest.raises(ComposeError, match=variable):
        load_compose({name: value for name, value in REQUIRED.items() if name != variable})


@pytest.mark.once
def test_one_image_for_every_python_service_with_production_defaults(compose):
    services = compose["services"]
    assert {services[name]["image"] for name in APP_SERVICES} == {"demoseed:latest"}
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert (
            environment["DJANGO_DEBUG"] == "false" and environment["DJANGO_SECRET_KEY"] == REQUIRED["DJANGO_SECRET_KEY"]
        )
        assert environment["DATABASE_URL"].startswith("postgres://") and environment["REDIS_URL"].startswith("redis://")
    assert "runserver" not in " ".join(services["web"]["command"])
    assert command_of(services["web"])[0] == "gunicorn"
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]  # --scale worker=N
    assert services["redis"]["command"][1:3] == ["--appendonly", "yes"]
    assert "collectstatic" in (REPO / "Dockerfile").read_text()


@pytest.mark.once
def test_ports_are_published_on_loopback_unless_configured(compose):
    published = [port for service in compose["services"].values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    opened = load_compose({**REQUIRED, "WEB_BIND": "0.0.0.0"})["services"]["web"]["ports"]
    assert opened == ["0.0.0.0:8000:8000"]


@pytest.mark.once
def test_services_start_in_order_and_say_when_they_are_healthy(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "web", "monitor"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "monitor"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    assert services["web"]["healthcheck"]["test"][-1].endswith("/healthz')")


@pytest.mark.once
@pytest.mark.parametrize("service", ["migrate", "worker"])
def test_management_commands_exist_and_accept_their_arguments(compose, service):
    command = command_of(compose["services"][service])
    assert command[1] == "backend/manage.py"
    name, arguments = command[2], command[3:]
    assert name in get_commands(), name
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    parser.parse_args(arguments)  # exits (fails the test) on an unknown flag


@pytest.mark.once
@pytest.mark.parametrize("service", ["web", "monitor"])
def test_server_commands_exist_and_accept_their_arguments(compose, service):
    command = command_of(compose["services"][service])
    executable = Path(sys.executable).parent / command[0]
    assert executable.exists(), executable
    if service == "web":
        from gunicorn.config import Config

        parser = Config().parser()
        parsed = parser.parse_args(command[1:])
        assert parsed.chdir == "backend" and parsed.args == ["config.wsgi"]
        assert (REPO / "backend" / "config" / "wsgi.py").exists()
    else:
        assert command[1] == "run" and (REPO / command[2]).exists()
        help_text = subprocess.run([str(executable), "run", "--help"], capture_output=True, text=True).stdout
        for flag in (part for part in command[3:] if part.startswith("--")):
            assert flag in help_text, flag


@pytest.mark.once
def test_postgresql_gets_the_bulk_load_settings_make_bench_scale_measures(compose):
    """docker-compose.yml and `scripts/bench_scale.py --tune-postgres` name the same settings."""
    command = compose["services"]["postgres"]["command"]
    given = dict(part.split("=", 1) for part in command[1:] if part != "-c")
    assert {name: given.get(name) for name in BULK_LOAD_SETTINGS} == BULK_LOAD_SETTINGS
    assert given["shared_buffers"] == "2GB" and command[-1].startswith("max_connections=")


@pytest.mark.once
def test_the_connection_budget_stays_under_postgresqls_limit_with_eight_worker_replicas(compose):
    """The sum stated in docker-compose.yml, from the defaults actually in the file."""
    services = compose["services"]
    max_connections = int(services["postgres"]["command"][-1].split("=")[1])
    web = int(services["web"]["environment"]["WEB_CONCURRENCY"]) * (
        1 + int(services["web"]["environment"]["SEED_WRITER_THREADS"])
    )
    worker_command = services["worker"]["command"]
    processes = int(worker_command[worker_command.index("--processes") + 1])
    threads = int(worker_command[worker_command.index("--threads") + 1])
    per_worker = processes * (2 * threads + 1)
    monitor = 1 + PARALLEL  # its own connection, and the rollups' parallel ones
    assert web + 8 * per_worker + monitor + 1 <= max_connections - 3


@pytest.mark.once
def test_check_deploy_is_clean_under_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))},
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "a-production-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "demoseed.example.com",
    }
    done = subprocess.run([sys.executable, "backend/manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=REPO, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.postgres
def test_compose_smoke_runs_every_service_as_compose_would():
    """`make compose-smoke`: migrate, web, worker and monitor from their compose commands, a queued plan
    through the web service written by the worker, both health endpoints, then a clean stop."""
    done = subprocess.run([sys.executable, "scripts/compose_smoke.py"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "compose smoke passed" in done.stdout


def env_example_values() -> dict[str, str]:
    """The variables `cp .env.example .env` sets (its uncommented lines)."""
    lines = (REPO / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.once
def test_a_copied_env_example_leaves_debug_off_and_https_on():
    """`cp .env.example .env`, as the compose file's header says: production defaults still hold."""
    copied = env_example_values()
    assert "DJANGO_DEBUG" not in copied
    environment = load_compose({**copied, **REQUIRED})["services"]["web"]["environment"]
    assert environment["DJANGO_DEBUG"] == "false" and environment["DJANGO_HTTPS"] == "true"


@pytest.mark.once
def test_gunicorns_control_socket_is_off_in_the_image_and_in_compose(compose):
    from gunicorn.config import Config

    dockerfile_cmd = json.loads(re.search(r"^CMD (\[.*\])$", (REPO / "Dockerfile").read_text(), re.MULTILINE)[1])
    for command in (command_of(compose["services"]["web"]), dockerfile_cmd):
        assert command[0] == "gunicorn" and "--no-control-socket" in command
        assert Config().parser().parse_args(command[1:]).control_socket_disable is True


@pytest.mark.once
def test_streamlit_listens_on_loopback_unless_compose_says_otherwise(compose):
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert "COPY .streamlit" in (REPO / "Dockerfile").read_text()  # the image starts streamlit in /app
    command = command_of(compose["services"]["monitor"])
    assert command[command.index("--server.address") + 1] == "0.0.0.0"  # inside its container, on purpose
    assert compose["services"]["monitor"]["ports"][0].startswith("127.0.0.1:")
