"""The README and docs/*.md say what is true: every shell command a reader copies works as printed.

Each fenced ``sh`` block of README.md and docs/*.md is split into commands. A
command either runs here, as printed, in a scratch directory that looks like
the repository after ``make demo`` (its own SQLite file, so a developer's
var/demoseed.sqlite3 is never touched), or names a program this test cannot run
(a make target that installs or runs the suite, a server, Docker, curl against a
running server, pg_dump): for those the test checks what they name exists. The
plain ``python`` on PATH here is an interpreter without Django, as on a fresh
machine after ``make demo``: a command that forgets the venv fails as a reader's
would, with "No module named 'django'".

``make help`` lists every target with its description starting in one column.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.urls import Resolver404, resolve

from seeding.management.commands.seed_demo_data import Command as SeedCommand
from tests.support.paths import REPO

# A scratch directory and SQLite file of its own, the same in either pass: the first pass only.
pytestmark = pytest.mark.once

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
VENV_PYTHON = ".venv/bin/python"
#: A seed_demo_data command in the docs writing more items than this runs here with --dry-run
#: added: plan L takes tens of seconds on a busy machine, and the dry run checks the same plan.
RUN_FOR_REAL_UP_TO = 200_000

_FENCE = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    document: str
    text: str  # as printed, continuation lines joined

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text, comments=True)

    @property
    def program(self) -> str:
        """The first word that is not a variable assignment ('' for a line of assignments only)."""
        return next((word for word in self.words if not _ASSIGNMENT.match(word)), "")

    @property
    def arguments(self) -> list[str]:
        words = self.words
        return words[words.index(self.program) + 1 :] if self.program else []


def shell_commands() -> list[Command]:
    commands = []
    for path in DOCUMENTS:
        for block in _FENCE.findall(path.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                if shlex.split(line, comments=True):
                    commands.append(Command(document=path.name, text=line.strip()))
    return commands


def inline_code() -> list[tuple[str, str]]:
    """Every `code span` of the documents, outside fenced blocks."""
    spans = []
    for path in DOCUMENTS:
        prose = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
        spans += [(path.name, span) for span in _INLINE_CODE.findall(prose)]
    return spans


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))


def seed_options(arguments: list[str]):
    """seed_demo_data's own parser: a flag it does not know fails here as it would for a reader."""
    parser = SeedCommand().create_parser("manage.py", "seed_demo_data")
    try:
        return parser.parse_args(arguments)
    except SystemExit as exc:
        raise AssertionError(f"seed_demo_data refuses {arguments}") from exc


# --- what this test cannot run, and what it checks instead ----------------------------------------


def check_make(command: Command) -> None:
    """`make demo` (installs into .venv and replaces the developer's demo data), `make test` (the suite
    itself), servers (`make serve`): the targets exist."""
    targets = [word for word in command.arguments if not word.startswith("-") and "=" not in word]
    assert targets and set(targets) <= make_targets(), command


def check_curl(command: Command) -> None:
    """curl against a running server with an API token: every path it names is a route of the app."""
    urls = [word for word in command.arguments if "/api/" in word or word.startswith(("http:", "https:", "$"))]
    assert urls, command
    for url in urls:
        path = re.sub(r"^(\$\{?base\}?|https?://[^/]+)", "", url)
        try:
            resolve(path)
        except Resolver404:
            raise AssertionError(f"{command.document}: {path} is no route of the app ({command.text})") from None


def check_docker(command: Command) -> None:
    """Docker compose (no Docker engine here): the services it names are in docker-compose.yml."""
    services = set(yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"])
    arguments = command.arguments
    assert arguments[:1] == ["compose"], command
    named = {value.split("=")[0] for flag, value in itertools.pairwise(arguments) if flag == "--scale"}
    if "run" in arguments:
        named.add(next(word for word in arguments[arguments.index("run") + 1 :] if not word.startswith("-")))
    assert named <= services, (command, services)


def check_pg_dump(command: Command) -> None:
    """pg_dump needs a PostgreSQL server: each --table pattern matches tables of the project."""
    tables = {model._meta.db_table for model in apps.get_models()}
    patterns = [word.split("=", 1)[1] for word in command.arguments if word.startswith("--table=")]
    assert patterns, command
    for pattern in patterns:
        matching = re.compile(pattern.replace("*", ".*") + "$")
        assert any(matching.match(table) for table in tables), (pattern, command)


def check_assignments(command: Command) -> None:
    """Shell variables for the commands after them (the curl example's base URL and token)."""
    assert not command.program, command


NOT_RUN = {
    "make": check_make,
    "curl": check_curl,
    "docker": check_docker,
    "pg_dump": check_pg_dump,
    "": check_assignments,
}


# --- running the rest -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A directory where the repo's files are (symlinked) and `make demo` has run, and its environment."""
    root = tmp_path_factory.mktemp("readme")
    for entry in REPO.iterdir():
        if entry.name not in {"var", ".env", ".git"}:
            (root / entry.name).symlink_to(entry)
    bare = root / "bare-bin"  # `python` as on a machine where only the venv has Django
    bare.mkdir()
    base_python = getattr(sys, "_base_executable", sys.executable)
    for name in ("python", "python3"):
        (bare / name).write_text(f'#!/bin/sh\nexec "{base_python}" -I -S "$@"\n')
        (bare / name).chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(
        DATABASE_URL=f"sqlite:///{root / 'readme.sqlite3'}",
        REDIS_URL="",  # the README's commands run as on a fresh machine: no Redis
        PATH=f"{bare}{os.pathsep}{env.get('PATH', '')}",
    )
    # What `make demo` runs after installing: its own recipe, printed by make -n, with .venv present.
    recipe = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "demo"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    steps = [line for line in recipe if line.startswith(VENV_PYTHON)]
    assert len(steps) >= 2, recipe  # migrate, seed
    for step in steps:
        subprocess.run(step, shell=True, cwd=root, env=env, check=True, capture_output=True)
    return root, env


def runnable_form(command: Command) -> str:
    """The command as printed, or with --dry-run added when it would write a big plan or start a live stream
    (which lasts its duration)."""
    words = command.arguments
    if command.program == VENV_PYTHON and words[:2] == ["backend/manage.py", "seed_demo_data"]:
        options = seed_options(words[2:])
        total = sum(getattr(options, kind) or 0 for kind in ("applications", "assets", "deployments", "events"))
        if (total > RUN_FOR_REAL_UP_TO or options.live) and not options.dry_run:
            return command.text.replace(" seed_demo_data", " seed_demo_data --dry-run", 1)  # before any comment
    return command.text


def test_the_documents_have_shell_commands():
    """The parsing below sees the README's commands (an empty list would pass everything)."""
    programs = {command.program for command in shell_commands()}
    assert {"make", VENV_PYTHON, "curl"} <= programs, programs


@pytest.mark.slow
def test_every_command_runs_as_printed_or_names_what_exists(scratch):
    root, env = scratch
    for command in shell_commands():
        if command.program in NOT_RUN:
            NOT_RUN[command.program](command)
            continue
        done = subprocess.run(
            runnable_form(command), shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command.document}: {command.text}\n{done.stdout}\n{done.stderr}"


def test_project_python_is_the_venvs():
    """A command that runs the project's Python names the venv's interpreter (or is a make target):
    right after `make demo` nothing else has Django. Inside a container the image's python is meant."""
    offenders = []
    for command in shell_commands():
        words = command.words
        inside_container = command.program == "docker"
        if not inside_container and any(word in {"python", "python3"} for word in words):
            offenders.append(f"{command.document}: {command.text}")
    for document, span in inline_code():
        words = [word for word in span.split() if not _ASSIGNMENT.match(word)]
        if words[:1] in (["python"], ["python3"]) or words[:1] == ["backend/manage.py"]:
            offenders.append(f"{document}: `{span}`")
    assert not offenders, "use .venv/bin/python or a make target:\n" + "\n".join(offenders)


def test_every_make_target_named_exists():
    named = {span.split()[1] for _, span in inline_code() if span.startswith("make ") and len(span.split()) > 1}
    named |= {span.split()[-1] for _, span in inline_code() if re.fullmatch(r"[A-Z_]+=\S+ make \S+", span)}
    assert named, "no `make <target>` in the documents"
    assert named <= make_targets(), named - make_targets()


def test_every_flag_in_the_readmes_table_is_the_commands():
    """The flags table of `seed_demo_data` lists flags its parser accepts, and all of them."""
    readme = (REPO / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `--")]
    listed = set(re.findall(r"`(--[a-z-]+)", "\n".join(table)))
    parser = SeedCommand().create_parser("manage.py", "seed_demo_data")
    own = {option for action in parser._actions for option in action.option_strings}
    django_common = {"--settings", "--pythonpath", "--traceback", "--no-color", "--force-color", "--skip-checks"}
    assert listed <= own, listed - own
    assert own - django_common - {"-h", "--help", "-v", "--version"} <= listed | {"--verbosity"}, (
        own - django_common - listed
    )


def test_make_help_lines_up_every_description():
    """`make help`: every description starts in the same column, whatever the longest target name."""
    output = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    lines = [line for line in output.splitlines() if line.strip()]
    documented = set(re.findall(r"^([a-z-]+):.*## ", (REPO / "Makefile").read_text(), flags=re.MULTILINE))
    assert {line.split()[1] for line in lines} == documented
    columns = {}
    for line in lines:
        match = re.fullmatch(r"  make (\S+)( +)(\S.*)", line)
        assert match, line
        columns[match[1]] = match.start(3)
    assert len(set(columns.values())) == 1, columns
