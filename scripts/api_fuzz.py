"""`make api-fuzz` and tests/test_api_fuzz.py: Schemathesis, every check, against a live production-shaped stack.

Schemathesis generates requests from the OpenAPI document the server itself
publishes (/api/v1/admin/openapi.json) and checks every answer against it: no
server error, only documented statuses, content types and headers, bodies valid
against their schemas, schema-valid bodies accepted, invalid ones refused,
unsupported methods answered 405 with their Allow header, credentials not ignored.

The stack is shaped like docker-compose.yml's: a fresh PostgreSQL database
(``demoseed_fuzz``), migrated; gunicorn serving config.wsgi with debug off; one
``rundramatiq`` worker on Redis database 12; a staff superuser with an API token
minted by the apitokens service, as the admin does. Two runs:

* with ``Authorization: Bearer <token>``;
* without credentials: then every operation must answer a documented 401
  (the ``anonymous_is_refused_with_401`` check below).

Queued runs are cancelled through the API as soon as they are answered 202
(``after_call`` below): the server keeps its production settings (the inline
threshold, the 12,000,000-item cap), and a generated plan of millions of rows
costs the worker a chunk or two instead of minutes, and does not hold every later
POST at 409 run_active while it is written.

This module is also Schemathesis' hooks module (``SCHEMATHESIS_HOOKS=api_fuzz``):
the CLI imports it, which registers the hooks and the check at the bottom.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (FUZZ_POSTGRES_URL
and FUZZ_REDIS_URL to change them). Exits non-zero when either run fails, with
Schemathesis' output saying which request broke which check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import schemathesis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its neighbours, also when imported as scripts.api_fuzz
from common import MANAGE, PLANS, REPO
from databases import recreate_database
from processes import flush_redis, process, wait_http
from servers import server_env

CONFIG = REPO / "schemathesis.toml"
#: Test cases per operation and phase of the run without credentials: the server refuses before it reads a
#: body or a path parameter, so more cases only repeat the same 401 (the run with a token takes the toml's 100).
ANONYMOUS_EXAMPLES = 10
POSTGRES_URL = os.environ.get("FUZZ_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/demoseed_fuzz")
REDIS_URL = os.environ.get("FUZZ_REDIS_URL", "redis://127.0.0.1:6379/12")
#: This harness's own ports (the web server takes the first free one).
PORTS = range(18500, 18600)
SCHEMA_PATH = "/api/v1/admin/openapi.json"
#: The server's cap on a plan's items, given to it explicitly so the hooks below know the figure it applies.
MAX_TOTAL = 12_000_000
#: The earliest base time a plan may give (seeding.plan.AS_OF_MIN), and how far ahead of now the latest is.
AS_OF_MIN = datetime(2000, 1, 1, tzinfo=UTC)
AS_OF_MAX_AHEAD = timedelta(days=366)
#: The seeding operation's path ends so, whether the document's paths carry /api/v1/admin or a server entry does.
SEED_PATH = "/seed-demo-data"
LIVE_PATH = "/live-stream"
#: Where the API's paths begin in a request's URL (the stop URL is built from the start request's).
LIVE_PATH_PREFIX = "/api/v1/admin"
#: A stream's rate and duration when a request leaves them out (seeding.services.live.DEFAULT_RATE, DEFAULT_DURATION).
LIVE_DEFAULT_RATE, LIVE_DEFAULT_DURATION = 10.0, 3_600
KINDS = ("applications", "assets", "deployments", "events")


def free_port_in(ports: range) -> int:
    """The first port of ``ports`` nobody listens on (not processes.free_port: this harness has its own range)."""
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def stack_env(database_url: str, static_root: Path) -> dict[str, str]:
    """What the web and worker processes see: servers.server_env's debug-off server, with compose's figures."""
    env = server_env(database_url, redis_url=REDIS_URL)
    env.update(
        DJANGO_SECRET_KEY="api-fuzz-" + "k" * 40,
        DJANGO_STATIC_ROOT=str(static_root),
        SEED_MAX_TOTAL=str(MAX_TOTAL),
        LOG_LEVEL="WARNING",
    )
    return env


MINT_TOKEN = """
from django.contrib.auth import get_user_model
from apitokens.models import ApiToken
from apitokens.services import token_issue
user = get_user_model().objects.create_superuser("fuzz", "fuzz@example.com", None)
token = ApiToken(user=user, name="api-fuzz", created_by=user)
secret = token_issue(token)
token.save()
print(secret)
"""


def prepare(env: dict[str, str]) -> str:
    """Migrate, collect static files (as the image's build does), and mint a superuser's token; returns it."""
    subprocess.run([*MANAGE, "migrate", "--noinput", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    subprocess.run([*MANAGE, "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=True, cwd=REPO)
    minted = subprocess.run(
        [*MANAGE, "shell", "--no-startup", "-c", MINT_TOKEN],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return minted.stdout.strip().splitlines()[-1]


@contextmanager
def stack(logs: Path) -> Iterator[tuple[str, str]]:
    """A migrated database, gunicorn and one worker; yields (the server's base URL, an API token)."""
    database_url = recreate_database(POSTGRES_URL, POSTGRES_URL.rsplit("/", 1)[1])
    flush_redis(REDIS_URL)
    env = stack_env(database_url, logs / "static")
    token = prepare(env)
    port = free_port_in(PORTS)
    base = f"http://127.0.0.1:{port}"
    # docker-compose.yml's web and worker commands; the web process on this harness's port.
    web = ["gunicorn", "--chdir", "backend", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
           "--no-control-socket"]  # fmt: skip
    worker = [*MANAGE, "rundramatiq", "--processes", "1", "--threads", "2", "--worker-shutdown-timeout", "30000"]
    with ExitStack() as processes:
        processes.enter_context(process([str(Path(sys.executable).parent / web[0]), *web[1:]], env, logs / "web.log"))
        processes.enter_context(process(worker, env, logs / "worker.log"))
        wait_http(f"{base}{SCHEMA_PATH}", timeout=60)
        try:
            yield base, token
        finally:
            cancel_active_run(base, token)


def cancel_active_run(base: str, token: str) -> None:
    """Cancel whatever run is still active, so stopping the worker leaves nothing half written."""
    stats = json.loads(call("GET", f"{base}/api/v1/admin/demo-data-stats", token)[1])
    if stats.get("active_run"):
        call("POST", stats["active_run"]["status_url"] + "/cancel", token)


def call(method: str, url: str, token: str | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fuzz(label: str, base: str, token: str | None, args: argparse.Namespace, reports: Path) -> tuple[bool, str]:
    """One Schemathesis run (its CLI, every check); returns (passed, its output)."""
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run",
               f"{base}{SCHEMA_PATH}", "--checks", "all", "--report", "junit",
               "--report-junit-path", str(reports / f"{label.replace(' ', '-')}.xml")]  # fmt: skip
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    examples = args.max_examples if token else min(args.max_examples or ANONYMOUS_EXAMPLES, ANONYMOUS_EXAMPLES)
    if examples:
        command += ["--max-examples", str(examples)]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    command += args.extra
    exemptions = reports / f"{label.replace(' ', '-')}-exemptions.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")])
        ),
        "SCHEMATHESIS_HOOKS": "api_fuzz",
        "API_FUZZ_ANONYMOUS": "" if token else "1",
        "API_FUZZ_EXEMPTIONS": str(exemptions),
    }
    shown = " ".join(command).replace(token, "<token>") if token else " ".join(command)
    print(f"\n=== Schemathesis {label}: {shown}", flush=True)
    started = time.monotonic()
    # In the reports directory: Hypothesis keeps its .hypothesis cache in the working directory.
    done = subprocess.run(command, cwd=reports, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    print(output, flush=True)
    print(f"=== {label}: exit {done.returncode} after {time.monotonic() - started:.0f} s", flush=True)
    print(exemptions_summary(exemptions), flush=True)
    return done.returncode == 0, output


def exemptions_summary(path: Path) -> str:
    """How many schema-valid plans were refused by each rule JSON Schema cannot state, with an example of each."""
    if not path.exists():
        return "schema-valid plans refused by a rule the schema cannot state: none"
    examples: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        for rule in entry["rules"]:
            counts[rule] = counts.get(rule, 0) + 1
            examples.setdefault(rule, entry["body"])
    lines = [f"  {count:4d}  {rule}, e.g. {json.dumps(examples[rule])}" for rule, count in sorted(counts.items())]
    return "schema-valid plans refused by a rule the schema cannot state (not failures):\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, help="test cases per operation and phase (schemathesis.toml's)")
    parser.add_argument("--seed", type=int, help="Schemathesis' random seed, to replay a run")
    parser.add_argument("extra", nargs="*", help="after --: more options for `schemathesis run`")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="demoseed-api-fuzz-"))
    results = []
    with stack(logs) as (base, token):
        for label, credentials in (("with a bearer token", token), ("without credentials", None)):
            results.append((label, *fuzz(label, base, credentials, args, logs)))
            cancel_active_run(base, token)
    for label, passed, _ in results:
        print(f"{'ok' if passed else 'FAILED'}  Schemathesis {label}", flush=True)
    if not all(passed for _, passed, _ in results):
        print(f"server logs and reports kept in {logs}", flush=True)
        return 1
    shutil.rmtree(logs, ignore_errors=True)
    return 0


# --- Schemathesis hooks (this module is SCHEMATHESIS_HOOKS in the runs above) ------------------------------------


@schemathesis.hook
def after_call(context, case, response) -> None:
    """Cancel a queued run at once through the API, as its requester could.

    The server keeps its production settings, so a generated plan of millions of
    rows is queued (202); cancelled, it costs the worker at most the chunks in
    flight, and the next POST is judged on its own body instead of meeting 409
    run_active for minutes. The Authorization header of the request is reused.
    """
    if _is_live_operation(case) and response.status_code == 202:
        token = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
        base = response.request.url.split(LIVE_PATH_PREFIX)[0]
        call("POST", f"{base}{LIVE_PATH_PREFIX}{LIVE_PATH}/stop", token or None)  # a stream runs for minutes
        return
    if not _is_seed_operation(case) or response.status_code != 202:
        return
    try:
        status_url = json.loads(response.content)["status_url"]
    except (ValueError, KeyError, TypeError):
        return  # response_schema_conformance reports the body; nothing to cancel without its status URL
    token = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
    call("POST", f"{status_url}/cancel", token or None)


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure except a schema-valid plan refused by a rule JSON Schema cannot state.

    positive_data_acceptance expects a body the schema allows to be accepted. A
    plan is also refused, with 400 invalid naming the rule, when it breaks a rule
    across fields or against the data already written, which the document states
    in prose only. Such a refusal is dropped here, and only after checking from
    the request that the rule named really applies to it (``_rule_broken``);
    any other 400 to a schema-valid body stays a failure.
    """
    if type(failure).__name__ != "RejectedPositiveData" or not (_is_seed_operation(case) or _is_live_operation(case)):
        return True
    if response.status_code != 400 or not isinstance(case.body, dict):
        return True
    try:
        answer = json.loads(response.content)
    except ValueError:
        return True
    errors = answer.get("errors") if answer.get("code") == "invalid" else None
    if not errors:
        return True
    judge = _live_rule_broken if _is_live_operation(case) else _rule_broken
    rules = [judge(field, message, case.body) for field, message in errors.items()]
    if not all(rules):
        return True
    if log := os.environ.get("API_FUZZ_EXEMPTIONS"):
        with open(log, "a") as out:
            out.write(json.dumps({"rules": rules, "body": case.body, "errors": errors}, default=str) + "\n")
    return False


def _is_seed_operation(case) -> bool:
    return case.operation.method.upper() == "POST" and case.operation.path.endswith(SEED_PATH)


def _is_live_operation(case) -> bool:
    return case.operation.method.upper() == "POST" and case.operation.path.endswith(LIVE_PATH)


def _live_rule_broken(field: str, message: str, body: dict) -> str | None:
    """The rule a live stream request ``body`` breaks, if it is the one ``message`` names; else None."""
    rate, duration = body.get("rate", LIVE_DEFAULT_RATE), body.get("duration", LIVE_DEFAULT_DURATION)
    seconds = _count(duration)
    if field == "rate" and "(SEED_MAX_TOTAL)" in message and isinstance(rate, int | float) and seconds is not None:
        return "at most SEED_MAX_TOTAL events" if round(rate * seconds) > MAX_TOTAL else None
    # Against the data: a stream happens to assets in service (none while nothing is seeded).
    if field == "estate" and message.startswith("a live stream needs assets in service"):
        return "a stream needs an estate"
    return None


def _rule_broken(field: str, message: str, body: dict) -> str | None:
    """The rule the request ``body`` breaks, if it is the one ``message`` (for ``field``) names; else None."""
    if body.get("plan", "") not in ("", *PLANS):
        return None
    # A named plan's counts, each overridden by a count given beside it (as the API reads {"plan": "L"}).
    base = PLANS.get(body.get("plan", ""), {})
    counts = {kind: _count(body.get(kind, base.get(kind, 0))) for kind in KINDS}
    if None in counts.values():
        return None
    total = sum(counts.values())
    # Across fields: at least one count above zero, and at most SEED_MAX_TOTAL items in all.
    # These two and the as_of range are judged from the request alone, whatever the message's wording.
    if field == "total" and total == 0:
        return "a plan writes something"
    if field == "total" and total > MAX_TOTAL:
        return "at most SEED_MAX_TOTAL items in all"
    as_of = _as_of(body)
    # A range relative to now, which JSON Schema cannot state (the document says it in prose).
    if field == "as_of" and as_of and not AS_OF_MIN <= as_of <= datetime.now(UTC) + AS_OF_MAX_AHEAD:
        return "as_of within its range"
    # Against the data: an existing asset bought after the base time (written by an earlier plan).
    purchase = re.match(r"is before (\d{4}-\d{2}-\d{2}), the purchase date of an asset", message)
    if field == "as_of" and as_of and purchase:
        newest = datetime.fromisoformat(purchase[1]).replace(tzinfo=UTC)
        return "as_of after the assets it points at" if as_of < newest + timedelta(days=1) else None
    # Against the data: children need parents the plan writes or the database holds.
    if field == "deployments" and message.startswith("need applications") and not counts["applications"]:
        return "deployments need applications"
    if field in ("deployments", "events") and message.startswith("need assets") and not counts["assets"]:
        return f"{field} need assets"
    if field == "events" and message.startswith("need an asset that is or was in service"):
        return "events need an asset in service"
    # Against the data: at most one deployment per free (application, host that can run it) pair.
    room = re.match(r"at most ([\d,]+): each application is deployed", message)
    if field == "deployments" and room and counts["deployments"] > int(room[1].replace(",", "")):
        return "deployments within the free pairs"
    return None


def _count(value: object) -> int | None:
    """A count as JSON Schema reads it: an integer, or a number with a zero fraction (162.0); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if isinstance(value, int) or value.is_integer() else None


def _as_of(body: dict) -> datetime | None:
    """The plan's base time as the server reads it (now when absent), or None when it does not parse."""
    if "as_of" not in body:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(str(body["as_of"]).replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@schemathesis.check
def anonymous_is_refused_with_401(ctx, response, case) -> bool | None:
    """In the run without credentials, every operation answers 401 (documented for each), nothing else.

    Not for a request that reaches no operation: a method the path does not take
    (unsupported_method's probes) or a path the routes do not match (a run id
    that is not a number, e.g. ``null,null``); the other checks still judge those.
    """
    if not os.environ.get("API_FUZZ_ANONYMOUS") or case.method.upper() != case.operation.method.upper():
        return None
    parameters = case.path_parameters or {}
    if "run_id" in parameters and not str(parameters["run_id"]).isdigit():
        return None
    if response.status_code != 401:
        raise AssertionError(f"without credentials, expected 401, got {response.status_code}: {response.text[:300]}")
    return None


if __name__ == "__main__":
    sys.exit(main())
