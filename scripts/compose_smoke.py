"""`make compose-smoke`: docker-compose.yml's services, run as compose would run them, without Docker.

There is no Docker engine where this runs (CI included), so the stack is proved
another way: each service's command from docker-compose.yml, with the
environment compose would give it (its variables interpolated from the
defaults in the file), is started here from the repository root, which is the
image's working directory. Only the addresses change: PostgreSQL and Redis are
the local ones (a scratch database ``demoseed_smoke`` and Redis database 13),
and the web and monitor ports are free ones (compose sets them through ``PORT``
and ``STREAMLIT_SERVER_PORT``). The image's build step (collectstatic) runs
first. Then: migrate runs to completion, web, worker and monitor start, a staff
user logs in through the web service and asks for a plan large enough to be
queued, the worker writes it, ``/healthz`` and the monitor's health endpoint
answer 200, and everything is stopped with SIGTERM, as `docker compose down` does.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (SMOKE_POSTGRES_URL
and SMOKE_REDIS_URL to change them). Exits non-zero, saying why, on any failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its neighbours, also when imported as scripts.compose_smoke
from api_session import ApiSession
from common import REPO
from databases import recreate_database
from processes import flush_redis, free_port

COMPOSE_FILE = REPO / "docker-compose.yml"
POSTGRES_URL = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed_smoke")
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
#: What an operator must put in .env before `docker compose up` (the file refuses to start without them).
REQUIRED = {"DJANGO_SECRET_KEY": "compose-smoke-" + "k" * 40, "POSTGRES_PASSWORD": "compose-smoke"}
#: Larger than SEED_INLINE_THRESHOLD (5,000 items): answered 202 and written by the worker.
PLAN = {"applications": 20, "assets": 2_000, "deployments": 3_000, "events": 20_000, "seed": 5}
USER, PASSWORD = "smoke", "compose-smoke-password"

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class ComposeError(Exception):
    """The compose file cannot be run as written (a required variable unset, a service missing)."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op == ":?" and not value:
            raise ComposeError(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def variables_used(text: str) -> set[str]:
    return {match["name"] for match in _VARIABLE.finditer(text) if match["name"]}


def load_compose(env: dict[str, str]) -> dict:
    """docker-compose.yml with its anchors merged and its variables substituted from ``env``."""

    def walk(node):
        if isinstance(node, str):
            return interpolate(node, env)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    return walk(yaml.safe_load(COMPOSE_FILE.read_text()))


def service_environment(service: dict, overrides: dict[str, str]) -> dict[str, str]:
    """What the container's process sees: the image's ENV, the service's environment, then ``overrides``."""
    env_lines = re.findall(r"^ENV (.+)$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    image_env = dict(pair.split("=", 1) for line in env_lines for pair in line.split())
    environment = {key: str(value) for key, value in (service.get("environment") or {}).items()}
    venv_bin = str(Path(sys.executable).parent)
    base = {"PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/tmp")}
    return {**base, **image_env, **environment, **overrides}


def command_of(service: dict) -> list[str]:
    """The service's command, with ``python`` meaning this interpreter (the image's only one)."""
    command = [str(part) for part in service["command"]]
    return [sys.executable if command[0] == "python" else command[0], *command[1:]]


class Smoke:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="demoseed-compose-smoke-"))
        self.compose = load_compose({**REQUIRED})
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports = {"web": free_port(), "monitor": free_port()}
        self.overrides = {
            "DATABASE_URL": POSTGRES_URL,
            "REDIS_URL": REDIS_URL,
            "DJANGO_STATIC_ROOT": str(self.workdir / "static"),
            # The smoke talks plain HTTP to gunicorn, with no TLS proxy in front (compose's default
            # DJANGO_HTTPS=true would redirect it to https), as a local run with DJANGO_HTTPS=false does.
            "DJANGO_HTTPS": "false",
        }

    def env(self, name: str, **extra: str) -> dict[str, str]:
        port = {"web": "PORT", "monitor": "STREAMLIT_SERVER_PORT"}.get(name)
        listen = {port: str(self.ports[name])} if port else {}
        return service_environment(self.compose["services"][name], {**self.overrides, **listen, **extra})

    def run(self) -> None:
        recreate_database(POSTGRES_URL, POSTGRES_URL.rsplit("/", 1)[1])
        flush_redis(REDIS_URL)
        self.step("the image's build step: collectstatic", self.build)
        self.step("migrate (one-shot)", lambda: self.once("migrate", command_of(self.compose["services"]["migrate"])))
        self.step("a staff user (docker compose run --rm web ... createsuperuser)", self.create_user)
        for name in ("web", "worker", "monitor"):
            self.start(name)
        web, monitor = f"http://127.0.0.1:{self.ports['web']}", f"http://127.0.0.1:{self.ports['monitor']}"
        self.step("web answers /healthz", lambda: self.wait_for(f"{web}/healthz", '"status": "ok"'))
        self.step("the monitor answers its health endpoint", lambda: self.wait_for(f"{monitor}/_stcore/health", "ok"))
        self.step("a queued plan through the web service, written by the worker", lambda: self.seed(web))
        self.step("/healthz: database and broker", lambda: self.healthz(web))
        self.step("docker compose down: SIGTERM, every service stops", self.stop)

    def step(self, what: str, action) -> None:
        started = time.monotonic()
        try:
            result = action()
        except Exception as error:
            self.stop(quiet=True)
            raise SystemExit(f"compose smoke FAILED at: {what}\n{error}\n{self.logs()}") from None
        print(f"ok  {what} ({time.monotonic() - started:.1f} s){f': {result}' if result else ''}", flush=True)

    def build(self) -> None:
        build_env = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "collectstatic-only"}  # as in the Dockerfile
        self.once("build", [sys.executable, "backend/manage.py", "collectstatic", "--noinput"], service="web",
                  **build_env)  # fmt: skip

    def create_user(self) -> None:
        self.once("createsuperuser", [sys.executable, "backend/manage.py", "createsuperuser", "--noinput"],
                  service="web", DJANGO_SUPERUSER_USERNAME=USER, DJANGO_SUPERUSER_PASSWORD=PASSWORD,
                  DJANGO_SUPERUSER_EMAIL="smoke@example.com")  # fmt: skip

    def once(self, label: str, command: list[str], *, service: str | None = None, **extra: str) -> None:
        done = subprocess.run(command, cwd=REPO, env=self.env(service or label, **extra), capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")

    def start(self, name: str) -> None:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(
            command_of(self.compose["services"][name]), cwd=REPO, env=self.env(name), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_for(self, url: str, expected: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = response.read().decode()
                if expected in body:
                    return body.strip()
            except (OSError, urllib.error.URLError):
                pass
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer {expected!r} within {timeout:.0f} s")
            time.sleep(0.5)

    def seed(self, web: str) -> str:
        session = ApiSession(web)
        session.login(USER, PASSWORD)
        status, body, _ = session.call("POST", "/api/v1/admin/seed-demo-data", PLAN)
        if status != 202:
            raise RuntimeError(f"expected 202 Accepted for a plan over the inline threshold, got {status}: {body}")
        path = body["status_url"].split(web, 1)[-1]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status, run, _ = session.call("GET", path)
            if run.get("status") in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
        if run.get("status") != "succeeded":
            raise RuntimeError(f"run did not succeed: {run}")
        expected = {kind: PLAN[kind] for kind in ("applications", "assets", "deployments", "events")}
        if run["done"] != expected:
            raise RuntimeError(f"rows written {run['done']} != plan {expected}")
        return f"run #{run['id']}: {run['total_done']:,} rows"

    def healthz(self, web: str) -> str:
        body = self.wait_for(f"{web}/healthz", '"status": "ok"')
        if '"database": "ok"' not in body or '"broker": "ok"' not in body:
            raise RuntimeError(body)
        return body

    def stop(self, quiet: bool = False) -> str:
        """SIGTERM to each service's main process, as Docker sends it to a container's PID 1; each must exit 0."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        grace = float(str(self.compose["services"]["worker"].get("stop_grace_period", "10s")).rstrip("s"))
        stopped = []
        for name, process in self.processes.items():
            try:
                process.wait(timeout=grace)
                stopped.append(f"{name} exited {process.returncode}")
                if process.returncode and not quiet:
                    raise RuntimeError(f"{name} exited {process.returncode} on SIGTERM")
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                if not quiet:
                    raise RuntimeError(f"{name} did not stop within {grace:.0f} s of SIGTERM") from None
        return ", ".join(stopped)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-2000:]}" for path in sorted(self.workdir.glob("*.log")))

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def main() -> None:
    smoke = Smoke()
    started = time.monotonic()
    try:
        smoke.run()
    finally:
        smoke.cleanup()
    print(f"compose smoke passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
