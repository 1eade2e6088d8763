"""``manage.py seed_demo_data``: seed realistic, reproducible demo data.

A thin caller of ``seeding.services``: turn flags into a plan and a mode, take
the same request path as the admin and the API, show progress. Every flag
either does what it says in the mode at hand or is refused before anything is
written (with ``--clear``, a plan is checked before the clear); ``--dry-run``
never writes, in any mode.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.utils import timezone

from inventory.models import Asset
from seeding import services
from seeding.catalogs import scenario_choices
from seeding.common import database_outage
from seeding.common.formatting import duration, format_utc, plural
from seeding.estimates import estimate_pending
from seeding.generation.kinds import KINDS
from seeding.management.live_display import LiveDisplay
from seeding.management.progress import ProgressReporter
from seeding.models import SeedRun
from seeding.named_plans import named_plan, plans_described
from seeding.plan import (
    DEFAULT_SEED,
    DEMO_PLAN,
    PlanError,
    SeedPlan,
    parse_as_of,
    validate_plan,
)
from seeding.selectors import seed_run_digest
from seeding.services import live as live_service

FLAG_FOR_FIELD = {
    "applications": "--applications",
    "assets": "--assets",
    "deployments": "--deployments",
    "events": "--events",
    "seed": "--seed",
    "chunk_size": "--chunk-size",
    "as_of": "--as-of",
    "total": "--applications/--assets/--deployments/--events",
    "rate": "--rate",
    "duration": "--duration",
    "estate": "--live",
    "scenario": "--scenario",
}
PLAN_FLAGS = ("--plan", "--seed", "--as-of", "--chunk-size", "--scenario")
#: Who the audit trail says resumed or cleared: the OS user running the command.
COMMAND_REQUESTER = services.Requester(SeedRun.Source.COMMAND)


@dataclass(frozen=True)
class Action:
    """What the flags ask for: which kind of work, and which flags make sense with it."""

    name: str  # "seed", "resume", "clear", "clear-run", "live" or "stop-live"
    allowed: frozenset[str]


ACTIONS = {
    "seed": Action(
        "seed", frozenset({"counts", *PLAN_FLAGS, "--clear", "--dry-run", "--digest", "--async", "--sync", "--wait"})
    ),
    "resume": Action("resume", frozenset({"--resume", "--dry-run", "--digest"})),
    "clear": Action("clear", frozenset({"--clear", "--dry-run"})),
    "clear-run": Action("clear-run", frozenset({"--clear-run", "--dry-run"})),
    "live": Action(
        "live",
        frozenset({"--live", "--rate", "--duration", "--seed", "--scenario", "--async", "--sync", "--dry-run"}),
    ),
    "stop-live": Action("stop-live", frozenset({"--stop-live"})),
}
LIVE_FLAGS = ("--rate", "--duration")


class Command(BaseCommand):
    help = (
        "Seed realistic, related, reproducible demo data (applications, assets, deployments, events) "
        "in chunked transactions. With no count flag, seeds the demo plan: "
        + ", ".join(f"{n:,} {kind}" for kind, n in DEMO_PLAN.items())
        + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        counts = parser.add_argument_group(
            "plan (a named plan, or counts: give any count flag and the others default to 0; "
            "with --plan, a count flag changes that count only)"
        )
        counts.add_argument(
            "--plan",
            metavar="NAME",
            help=f"a named plan: {plans_described()}",
        )
        for kind in KINDS:
            counts.add_argument(f"--{kind}", type=int, metavar="N", help=f"number of {kind} to write")
        parser.add_argument("--seed", type=int, metavar="N", help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument(
            "--as-of",
            metavar="ISO8601",
            help="base time of the data, e.g. 2026-01-31T12:00:00Z (default: now). "
            "The same plan, seed and --as-of give identical rows.",
        )
        parser.add_argument(
            "--scenario",
            metavar="NAME",
            help="a scenario pack that shapes what happens (a history's or a live stream's): "
            + (", ".join(scenario_choices()) or "none in this catalog")
            + " (the catalog's scenarios/ directory)",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            metavar="N",
            help=f"rows per transaction (default SEED_CHUNK_SIZE={settings.SEED_CHUNK_SIZE:,})",
        )
        parser.add_argument(
            "--clear",
            action="store_true",
            help="delete all demo data first (rows seeding did not write are never touched); "
            "with no count flag, only clear",
        )
        parser.add_argument("--clear-run", type=int, metavar="RUN_ID", help="delete one run's demo data and exit")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="continue a failed or interrupted run")
        parser.add_argument("--dry-run", action="store_true", help="say what would be done; write nothing")
        parser.add_argument("--digest", action="store_true", help="print a SHA-256 of the run's rows at the end")
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--async",
            dest="queued",
            action="store_true",
            help="queue the run for Dramatiq workers (needs REDIS_URL); by default plans over "
            "SEED_INLINE_THRESHOLD are queued when REDIS_URL is set, and everything runs here otherwise",
        )
        where.add_argument("--sync", dest="inline", action="store_true", help="write the run in this process")
        parser.add_argument("--wait", action="store_true", help="after queueing, follow the run until it ends")
        live = parser.add_argument_group(
            "live stream (the estate keeps moving: new events as they happen, on top of the seeded estate)"
        )
        live.add_argument(
            "--live",
            action="store_true",
            help="stream events in real time: here with a live display until it ends or Ctrl-C stops it, "
            "or with --async on the workers",
        )
        live.add_argument(
            "--rate", type=float, metavar="N", help=f"mean events per second (default {live_service.DEFAULT_RATE:g})"
        )
        live.add_argument(
            "--duration",
            metavar="TIME",
            help="how long the stream lasts: seconds, or with a unit: 90s, 30m, 2h, 1d (default 1h)",
        )
        live.add_argument("--stop-live", action="store_true", help="stop the live stream that is running")

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        self._output_closed = False
        action = self._action(options)
        try:
            if action.name == "live":
                self._live(options)
            elif action.name == "stop-live":
                self._stop_live()
            elif action.name == "clear-run":
                self._clear(run=self._get_run(options["clear_run"], "--clear-run"), dry_run=options["dry_run"])
            elif action.name == "resume":
                self._resume(self._get_run(options["resume"], "--resume"), options)
            elif action.name == "clear":
                self._clear(run=None, dry_run=options["dry_run"])
            else:
                self._seed(options)
        except DatabaseError as exc:
            if (problem := _database_problem(exc)) is None:
                raise
            raise CommandError(problem) from exc
        finally:
            self._flush()

    # --- which action, which flags ---------------------------------------------------------

    def _action(self, options: dict) -> Action:
        given = self._given_flags(options)
        if options["stop_live"]:
            action = ACTIONS["stop-live"]
        elif options["live"]:
            action = ACTIONS["live"]
        elif options["clear_run"] is not None:
            action = ACTIONS["clear-run"]
        elif options["resume"] is not None:
            action = ACTIONS["resume"]
        elif options["clear"] and not given & {"counts", "--plan"}:
            action = ACTIONS["clear"]
        else:
            action = ACTIONS["seed"]
        if refused := sorted(given - action.allowed):
            flags = ", ".join("count flags" if flag == "counts" else flag for flag in refused)
            raise CommandError(f"{flags}: {self._why_not(action, refused[0])}")
        if "--dry-run" in given and (followed := sorted(given & {"--digest", "--wait"})):
            raise CommandError(
                f"{', '.join(followed)}: a dry run starts no run, so there is nothing to follow or digest"
            )
        return action

    @staticmethod
    def _given_flags(options: dict) -> set[str]:
        given = set()
        if any(options[kind] is not None for kind in KINDS):
            given.add("counts")
        for flag in ("plan", "seed", "as_of", "chunk_size", "scenario", "clear_run", "resume"):
            if options[flag] is not None:
                given.add("--" + flag.replace("_", "-"))
        for flag in ("rate", "duration"):
            if options[flag] is not None:
                given.add("--" + flag)
        for flag, dest in (("--live", "live"), ("--stop-live", "stop_live")):
            if options[dest]:
                given.add(flag)
        for flag, dest in (("--clear", "clear"), ("--dry-run", "dry_run"), ("--digest", "digest")):
            if options[dest]:
                given.add(flag)
        for flag, dest in (("--async", "queued"), ("--sync", "inline"), ("--wait", "wait")):
            if options[dest]:
                given.add(flag)
        return given

    @staticmethod
    def _why_not(action: Action, flag: str) -> str:
        if flag in LIVE_FLAGS and action.name != "live":
            return "--rate and --duration shape a live stream; add --live"
        if action.name == "live":
            return (
                "a live stream is shaped by --rate, --duration, --seed and --scenario only; it writes events onto "
                "the estate"
            )
        if action.name == "stop-live":
            return "--stop-live only stops the running live stream; it cannot be combined with it"
        if action.name == "clear-run":
            return "--clear-run only deletes one run's rows; it cannot be combined with it"
        if action.name == "resume":
            if flag in ("counts", *PLAN_FLAGS):
                return "--resume continues an existing run with its own plan; these cannot change it"
            return "--resume writes the run here, in this process; it cannot be combined with it"
        return "--clear without count flags or --plan only clears; add them to seed after clearing"

    def _mode(self, options: dict) -> services.Mode:
        if options["inline"]:
            return "inline"
        if not settings.REDIS_URL:
            if options["queued"]:
                raise CommandError(
                    "--async: REDIS_URL is not set, so there are no workers to queue for "
                    "(an embedded worker would die with this command); drop --async or set REDIS_URL"
                )
            return "inline"
        return "queued" if options["queued"] else "auto"

    # --- seeding --------------------------------------------------------------------------------

    def _seed(self, options: dict) -> None:
        plan = self._plan(options)
        mode = self._mode(options)
        queued = not services.runs_inline(plan=plan, mode=mode)
        if options["wait"] and not queued:
            raise CommandError(
                "--wait: this plan runs here, in this process, which already waits for it; "
                "--wait follows a run queued for workers (add --async)"
            )
        if options["digest"] and queued and not options["wait"]:
            raise CommandError("--digest: a queued run's rows are written later by the workers; add --wait")
        if options["dry_run"]:
            self._print_seed_preview(plan, mode, clear=options["clear"])
            return
        if options["clear"]:
            try:
                # Refuse the plan before deleting anything (it is checked again when the run is created).
                services.seed_request_preview(plan=plan, mode=mode, after_clear=True)
            except (PlanError, services.SeedingError) as exc:
                raise self._command_error(exc, after_clear=True) from None
            self._clear(run=None)
        reporter = self._reporter()
        try:
            with reporter:
                outcome = services.seed_request(
                    plan=plan, source=SeedRun.Source.COMMAND, mode=mode, on_progress=self._announce(reporter)
                )
        except KeyboardInterrupt:
            raise self._interrupted() from None
        except (PlanError, services.SeedingError) as exc:
            raise self._command_error(exc) from None
        if outcome.queued:
            self._follow_queued(outcome.run, wait=options["wait"], digest=options["digest"])
        else:
            self._finish(outcome.run, reporter, digest=options["digest"])

    def _resume(self, run: SeedRun, options: dict) -> None:
        if run.is_live:
            self._restart_live(run, dry_run=options["dry_run"])
            return
        if options["dry_run"]:
            self._print_resume_preview(run)
            return
        reporter = self._reporter()
        self._current_run = run
        try:
            with reporter:  # the admin's path too; a terminal process writes it here, whatever its size
                services.seed_run_resume(
                    run=run, by=COMMAND_REQUESTER, mode="inline", on_progress=self._announce(reporter, resumed=True)
                )
        except KeyboardInterrupt:
            raise self._interrupted() from None
        except services.RunNotResumable as exc:
            raise CommandError(f"--resume: {exc}") from None
        except (PlanError, services.SeedingError) as exc:
            raise self._command_error(exc) from None
        self._finish(run, reporter, digest=options["digest"])

    def _restart_live(self, run: SeedRun, *, dry_run: bool) -> None:
        if dry_run:
            self._write(
                f"Dry run: would restart live stream #{run.pk} ({run.status}) from {format_utc(run.written_until)}, "
                f"here. Nothing was written."
            )
            return
        display = LiveDisplay(mode=self._live_mode(), write=self._write)
        try:
            services.live_stream_restart(run=run, by=COMMAND_REQUESTER, here=True, on_tick=display)
        except KeyboardInterrupt:
            display.close()
            raise self._live_interrupted() from None
        except services.RunNotResumable as exc:
            raise CommandError(f"--resume: {exc}") from None
        except services.SeedingError as exc:
            raise self._command_error(exc) from None
        display.close()
        self._live_summary(run, queued=False)

    def _announce(self, reporter: ProgressReporter, *, resumed: bool = False) -> services.ProgressCallback:
        """The progress callback: a heading when the run starts, then the reporter."""

        def on_progress(run: SeedRun, chunk) -> None:
            self._current_run = run
            if chunk is None:
                verb = "resumed" if resumed else "started"
                self._say(
                    f"Seed run #{run.pk} {verb}: {services.plan_summary(run=run)} "
                    f"(seed {run.seed}, as of {format_utc(run.as_of)})"
                )
            reporter(run, chunk)

        return on_progress

    def _finish(self, run: SeedRun, reporter: ProgressReporter, *, digest: bool) -> None:
        run.refresh_from_db()
        if run.status != SeedRun.Status.SUCCEEDED:
            self._say(
                self.style.WARNING(f"Seed run #{run.pk} stopped, now {run.status}, after {run.total_done:,} rows.")
            )
            return
        self._print_summary(run, written=run.total_done - reporter.initial_done, elapsed=reporter.elapsed)
        if digest:
            self._write(f"digest: {seed_run_digest(run)}")

    def _follow_queued(self, run: SeedRun, *, wait: bool, digest: bool) -> None:
        self._say(
            f"Seed run #{run.pk} is queued for the workers: {services.plan_summary(run=run)} "
            f"(seed {run.seed}, as of {format_utc(run.as_of)})."
        )
        if not wait:
            self._say(f"Follow it in the admin, with GET /api/v1/admin/seed-runs/{run.pk}, or add --wait.")
            return
        reporter = self._reporter()
        try:
            with reporter:
                while run.is_active:
                    time.sleep(0.5)
                    run.refresh_from_db()
                    reporter.poll(run)
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped following; run #{run.pk} goes on in the background (cancel it in the admin or with "
                f"POST /api/v1/admin/seed-runs/{run.pk}/cancel)."
            ) from None
        if run.status != SeedRun.Status.SUCCEEDED:
            raise CommandError(f"Seed run #{run.pk} {run.status}: {run.error}")
        self._print_summary(run, written=run.total_done - reporter.initial_done, elapsed=reporter.elapsed)
        if digest:
            self._write(f"digest: {seed_run_digest(run)}")

    # --- live streams ---------------------------------------------------------------------------

    def _live(self, options: dict) -> None:
        rate = options["rate"] if options["rate"] is not None else live_service.DEFAULT_RATE
        duration = _duration(options["duration"]) if options["duration"] is not None else DEFAULT_LIVE_DURATION
        seed = options["seed"] if options["seed"] is not None else DEFAULT_SEED
        here = not options["queued"]
        if options["queued"] and not settings.REDIS_URL:
            raise CommandError(
                "--async: REDIS_URL is not set, so there are no workers to queue for; drop --async to stream here"
            )
        if options["dry_run"]:
            try:
                events = live_service.live_stream_validate(
                    rate=rate, duration=duration, seed=seed, scenario=options["scenario"]
                )
            except PlanError as exc:
                raise self._command_error(exc) from None
            where = "here, in this process" if here else "on the workers"
            shaped = f", shaped by the {options['scenario']} scenario" if options["scenario"] else ""
            self._write(
                f"Dry run: nothing will be written. A live stream of about {events:,} events "
                f"({events / duration:g} a second on average, by each site's office hours) for {duration:,} s, "
                f"{where}, seed {seed}{shaped}."
            )
            return
        display = LiveDisplay(mode=self._live_mode(), write=self._write)
        try:
            run = services.live_stream_request(
                rate=rate,
                duration=duration,
                seed=seed,
                scenario=options["scenario"],
                source=SeedRun.Source.COMMAND,
                here=here,
                on_tick=display,
            )
        except KeyboardInterrupt:
            display.close()
            raise self._live_interrupted() from None
        except (PlanError, services.SeedingError) as exc:
            raise self._command_error(exc) from None
        display.close()
        self._live_summary(run, queued=not here)

    def _live_mode(self) -> str:
        return "off" if self.verbosity == 0 else ("line" if sys.stderr.isatty() else "log")

    def _live_summary(self, run: SeedRun, *, queued: bool) -> None:
        if queued:
            self._say(
                f"Live stream #{run.pk} is queued for the workers: about {run.events:,} events until "
                f"{format_utc(run.as_of)}. Stop it with --stop-live, in the admin, or with "
                "DELETE /api/v1/admin/live-stream."
            )
            return
        run.refresh_from_db()
        gaps = f"; {plural(len(run.gaps), 'gap')} skipped" if run.gaps else ""
        self._say(f"Live stream #{run.pk} {run.status}: {run.events_done:,} events written{gaps}.")

    def _live_interrupted(self) -> CommandError:
        run = SeedRun.objects.filter(mode=SeedRun.Mode.LIVE).order_by("-pk").first()
        if run is None:
            return CommandError("Interrupted before the stream started; nothing was written.")
        return CommandError(
            f"Stopped live stream #{run.pk} with {run.events_done:,} events written. Go on from where it stopped "
            f"with --resume {run.pk}, or delete its rows with --clear-run {run.pk}."
        )

    def _stop_live(self) -> None:
        run = SeedRun.objects.filter(mode=SeedRun.Mode.LIVE, is_active=True).first()
        if run is None:
            raise CommandError("--stop-live: no live stream is running")
        try:
            services.live_stream_stop(run=run, by=COMMAND_REQUESTER)
        except services.RunNotActive as exc:
            raise CommandError(f"--stop-live: {exc}") from None
        self._say(f"Stopped live stream #{run.pk}: {run.events_done:,} events written.")

    # --- clearing -------------------------------------------------------------------------------

    def _clear(self, *, run: SeedRun | None, dry_run: bool = False) -> None:
        what = f"run #{run.pk}'s demo data" if run else "all demo data"
        try:
            if dry_run:
                preview = services.demo_data_clear_preview(run=run)
                self._write(f"Dry run: would delete {what}: {_counts(preview.deleted)}. Nothing was deleted.")
                return
            result = services.demo_data_clear(run=run, by=COMMAND_REQUESTER)
        except services.SeedingError as exc:
            raise self._command_error(exc) from None
        if not result.total:
            self._say(f"Nothing to clear: {what} is already gone.")
            return
        self._say(f"Cleared {what}: {_counts(result.deleted)}")

    # --- output ---------------------------------------------------------------------------------

    def _print_seed_preview(self, plan: SeedPlan, mode: services.Mode, *, clear: bool) -> None:
        try:
            cleared = services.demo_data_clear_preview() if clear else None
            preview = services.seed_request_preview(plan=plan, mode=mode, after_clear=clear)
        except (PlanError, services.SeedingError) as exc:
            raise self._command_error(exc, after_clear=clear) from None
        where = "queued for the workers" if preview.queued else "written here, in this process"
        as_of = format_utc(plan.as_of) if plan.as_of else f"now ({format_utc(timezone.now())})"
        lines = ["Dry run: nothing will be written."]
        if cleared is not None:
            lines.append(f"  would first delete all demo data: {_counts(cleared.deleted)}")
        lines += [
            *(f"  {kind:<13}{plan.count(kind):>12,}" for kind in KINDS),
            f"  {'total':<13}{plan.total:>12,}",
            f"  seed {plan.seed}, as of {as_of}"
            + (f", shaped by the {plan.scenario} scenario" if plan.scenario else ""),
            f"  {plural(plan.chunk_count, 'chunk')} of up to {plan.chunk_size:,} rows, one transaction each, {where}",
        ]
        if (shape := services.plan_shape(plan=plan, as_of=plan.as_of or timezone.now())) is not None:
            lines.append(f"  the assets, by the catalog's profile: {_shape(shape)}")
        if preview.existing_parents:
            lines.append(f"  pointing at rows already in the database: {_counts(preview.existing_parents)}")
        lines.append(f"  estimated time: {duration(preview.estimated_seconds)} ({preview.estimate_basis})")
        self._write("\n".join(lines))

    def _print_resume_preview(self, run: SeedRun) -> None:
        try:
            pending = services.seed_run_resume_preview(run=run)
        except services.RunNotResumable as exc:
            raise CommandError(f"--resume: {exc}") from None
        rows = sum(chunk.rows for chunk in pending)
        estimate = estimate_pending(pending, queued=False, chunk_size=run.chunk_size)
        self._write(
            f"Dry run: would resume seed run #{run.pk} ({run.status}): {plural(len(pending), 'chunk')} "
            f"with {rows:,} rows left of {run.total_planned:,}, written here; "
            f"estimated time: {duration(estimate.seconds)} ({estimate.basis}). "
            "Nothing was written."
        )

    def _print_summary(self, run: SeedRun, *, written: int, elapsed: float) -> None:
        if self.verbosity == 0:
            return
        rate = written / elapsed if elapsed > 0 else 0.0
        resumed = f", {written:,} of them now" if written != run.total_done else ""
        lines = [
            self.style.SUCCESS(f"Seed run #{run.pk} succeeded in {duration(elapsed)} ({rate:,.0f} rows/s{resumed})")
        ]
        lines += [f"  {kind:<13}{run.done(kind):>12,}" for kind in KINDS]
        lines.append(f"  {'total':<13}{run.total_done:>12,}")
        if (shape := services.run_shape(run=run)) is not None:
            lines.append(f"  the assets: {_shape(shape)}")
        self._write("\n".join(lines))

    def _reporter(self) -> ProgressReporter:
        mode = "off" if self.verbosity == 0 else ("bar" if sys.stderr.isatty() else "log")
        return ProgressReporter(mode=mode, write=self._write)

    def _say(self, message: str) -> None:
        if self.verbosity >= 1:
            self._write(message)

    def _write(self, message: str) -> None:
        """Output is a courtesy: a reader that went away (``| head -1``) changes nothing else."""
        if self._output_closed:
            return
        try:
            self.stdout.write(message)
        except BrokenPipeError:
            self._close_output()

    def _flush(self) -> None:
        if self._output_closed:
            return
        try:
            self.stdout.flush()
        except BrokenPipeError:
            self._close_output()

    def _close_output(self) -> None:
        """Stop writing, and point stdout at /dev/null so the interpreter's final flush stays quiet."""
        self._output_closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # not a real file (a test's StringIO)
            pass
        finally:
            os.close(devnull)

    # --- errors ---------------------------------------------------------------------------------

    def _command_error(self, exc: Exception, *, after_clear: bool = False) -> CommandError:
        """Every service error as the command shows it: one place, naming the flag where there is one."""
        if isinstance(exc, PlanError):
            message = "; ".join(f"{FLAG_FOR_FIELD.get(field, field)}: {text}" for field, text in exc.errors.items())
            if after_clear:
                message += " (checked as after --clear, when only rows people entered remain); nothing was deleted"
            return CommandError(message)
        if isinstance(exc, services.RunFailed):
            run = exc.run
            return CommandError(
                f"{exc}. {run.total_done:,} rows in earlier chunks are committed; resume with --resume {run.pk} "
                f"or delete them with --clear-run {run.pk}.\n  cause: {run.error_detail}"
            )
        return CommandError(str(exc))

    def _interrupted(self) -> CommandError:
        run = getattr(self, "_current_run", None)
        if run is None:
            return CommandError("Interrupted before the run started; nothing was written.")
        run.refresh_from_db()
        return CommandError(
            f"Interrupted: run #{run.pk} stopped with {run.total_done:,} of {run.total_planned:,} rows committed. "
            f"Resume it with --resume {run.pk}, or delete its rows with --clear-run {run.pk}."
        )

    # --- parsing ---------------------------------------------------------------------------------

    def _plan(self, options: dict) -> SeedPlan:
        counts_given = {kind: options[kind] for kind in KINDS if options[kind] is not None}
        if options["plan"] is not None:
            try:
                counts = {**named_plan(options["plan"]), **counts_given}
            except ValueError as exc:
                raise CommandError(f"--plan: {exc}") from None
        elif counts_given:
            counts = {kind: counts_given.get(kind, 0) for kind in KINDS}
        else:
            counts = dict(DEMO_PLAN)
        try:
            as_of = parse_as_of(options["as_of"]) if options["as_of"] is not None else None
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from None
        plan = SeedPlan(
            **counts,
            seed=options["seed"] if options["seed"] is not None else DEFAULT_SEED,
            chunk_size=options["chunk_size"] if options["chunk_size"] is not None else settings.SEED_CHUNK_SIZE,
            as_of=as_of,
            scenario=options["scenario"],
        )
        try:
            validate_plan(plan)
        except PlanError as exc:
            raise self._command_error(exc) from None
        return plan

    def _get_run(self, run_id: int, flag: str) -> SeedRun:
        try:
            return SeedRun.objects.get(pk=run_id)
        except SeedRun.DoesNotExist:
            raise CommandError(f"{flag}: there is no seed run #{run_id}") from None


DEFAULT_LIVE_DURATION = 3_600
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


def _duration(text: str) -> int:
    """Seconds from "90", "90s", "30m", "2h" or "1d"."""
    value, unit = (text[:-1], text[-1]) if text and text[-1] in _DURATION_UNITS else (text, "s")
    try:
        seconds = float(value) * _DURATION_UNITS[unit]
    except ValueError:
        raise CommandError(f"--duration: {text!r} is not a duration such as 90s, 30m, 2h or 1d") from None
    if seconds != int(seconds):
        raise CommandError(f"--duration: {text!r} is not a whole number of seconds")
    return int(seconds)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind}" for kind, n in counts.items())


def _database_problem(exc: DatabaseError) -> str | None:
    """What to tell the operator when the database refuses the command, or None for any other database error."""
    refusal = database_outage.refusal(exc)
    if refusal == database_outage.BUSY:
        return database_outage.out_of_connections_line(exc)
    if refusal == database_outage.UNAVAILABLE:
        where = f"{connection.settings_dict['HOST'] or 'localhost'}:{connection.settings_dict['PORT'] or 5432}"
        reason = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        return f"cannot reach the database at {where} ({reason}); is PostgreSQL running, and is DATABASE_URL right?"
    return None


def _shape(shape) -> str:
    """ "2,410 laptops and 790 desktops for 2,050 people; 1,300 virtual machines; ..." in the admin's words."""
    return shape.describe({value: f"{label.lower()}s" for value, label in Asset.Type.choices})
