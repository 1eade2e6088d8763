"""``manage.py seed_demo_data``: seed realistic, reproducible demo data.

A thin caller of ``seeding.services``: parse flags, build a plan, show progress.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime

from seeding import services
from seeding.estimates import estimate_seconds
from seeding.models import KINDS, SeedRun
from seeding.plan import PlanError, SeedPlan, validate_plan
from seeding.progress import ProgressReporter
from seeding.selectors import seed_run_digest

#: What `seed_demo_data` writes when no count flag is given: big enough to look
#: real in the admin, small enough to finish in seconds.
DEMO_PLAN = {"applications": 500, "assets": 5_000, "deployments": 10_000, "events": 100_000}
DEFAULT_SEED = 1
FLAG_FOR_FIELD = {
    "applications": "--applications",
    "assets": "--assets",
    "deployments": "--deployments",
    "events": "--events",
    "seed": "--seed",
    "chunk_size": "--chunk-size",
    "as_of": "--as-of",
    "total": "--applications/--assets/--deployments/--events (their total)",
}


class Command(BaseCommand):
    help = (
        "Seed realistic, related, reproducible demo data (applications, assets, deployments, events) "
        "in chunked transactions. With no count flag, seeds the demo plan: "
        + ", ".join(f"{n:,} {kind}" for kind, n in DEMO_PLAN.items())
        + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        counts = parser.add_argument_group("plan (give any count flag and the others default to 0)")
        for kind in KINDS:
            counts.add_argument(f"--{kind}", type=int, metavar="N", help=f"number of {kind} to write")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument(
            "--as-of",
            metavar="ISO8601",
            help="base time of the data, e.g. 2026-01-31T12:00:00Z (default: now). "
            "The same plan, seed and --as-of give identical rows.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=None,
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
        parser.add_argument("--dry-run", action="store_true", help="print the plan and an estimate; write nothing")
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

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        if options["clear_run"] is not None:
            self._clear(run=self._get_run(options["clear_run"], "--clear-run"))
            return
        if options["resume"] is not None:
            if any(options[kind] is not None for kind in KINDS) or options["clear"]:
                raise CommandError(
                    "--resume continues an existing plan: it cannot be combined with count flags or --clear"
                )
            run = self._get_run(options["resume"], "--resume")
            try:
                self._execute(run, options)
            except services.RunNotResumable as exc:
                raise CommandError(f"--resume: {exc}") from None
            return

        counts_given = any(options[kind] is not None for kind in KINDS)
        if options["clear"] and not counts_given:
            self._clear(run=None, dry_run=options["dry_run"])
            return
        plan = self._plan_from(options, counts_given)
        if options["dry_run"]:
            self._print_dry_run(plan, clear=options["clear"])
            return
        queued = self._queued(plan, options)
        if options["clear"]:
            self._clear(run=None)
        try:
            if queued:
                outcome = services.seed_request(plan=plan, source=SeedRun.Source.COMMAND, mode="queued")
            else:
                run = services.seed_run_create(plan=plan, source=SeedRun.Source.COMMAND)
        except PlanError as exc:
            raise CommandError(self._describe_plan_error(exc)) from None
        except (services.RunAlreadyActive, services.BrokerUnavailable) as exc:
            raise CommandError(str(exc)) from None
        if queued:
            self._report_queued(outcome.run, wait=options["wait"], digest=options["digest"])
        else:
            self._execute(run, options)

    # --- steps ------------------------------------------------------------------

    def _queued(self, plan: SeedPlan, options: dict) -> bool:
        """Inline or queued: the service's routing rule, where a broker exists to queue on."""
        if options["inline"]:
            return False
        if not settings.REDIS_URL:
            if options["queued"]:
                raise CommandError(
                    "--async: REDIS_URL is not set, so there are no workers to queue for "
                    "(an embedded worker would die with this command); drop --async or set REDIS_URL"
                )
            return False
        return options["queued"] or not services.runs_inline(plan)

    def _report_queued(self, run: SeedRun, *, wait: bool, digest: bool) -> None:
        self._say(
            f"Seed run #{run.pk} is queued for the workers: {services.plan_summary(run)} "
            f"(seed {run.seed}, as of {run.as_of:%Y-%m-%dT%H:%M:%SZ})."
        )
        if not wait:
            self._say(f"Follow it in the admin, with GET /api/v1/admin/seed-runs/{run.pk}, or add --wait.")
            return
        reporter = self._reporter(run)
        started = time.monotonic()
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
        self._print_summary(run, time.monotonic() - started)
        if digest:
            self.stdout.write(f"digest: {seed_run_digest(run)}")

    def _reporter(self, run: SeedRun) -> ProgressReporter:
        return ProgressReporter(
            run,
            mode="off" if self.verbosity == 0 else ("bar" if sys.stderr.isatty() else "log"),
            write=lambda line: self.stdout.write(line),
        )

    def _plan_from(self, options: dict, counts_given: bool) -> SeedPlan:
        counts = {kind: options[kind] or 0 for kind in KINDS} if counts_given else dict(DEMO_PLAN)
        plan = SeedPlan(
            **counts,
            seed=options["seed"],
            chunk_size=options["chunk_size"] if options["chunk_size"] is not None else settings.SEED_CHUNK_SIZE,
            as_of=self._parse_as_of(options["as_of"]),
        )
        try:
            validate_plan(plan)
        except PlanError as exc:
            raise CommandError(self._describe_plan_error(exc)) from None
        return plan

    def _execute(self, run: SeedRun, options: dict) -> None:
        reporter = self._reporter(run)
        self._say(
            f"Seed run #{run.pk}: {services.plan_summary(run)} (seed {run.seed}, as of {run.as_of:%Y-%m-%dT%H:%M:%SZ})"
        )
        started = time.monotonic()
        try:
            with reporter:
                services.seed_run_execute(run=run, on_progress=reporter.update)
        except KeyboardInterrupt:
            raise CommandError(
                f"Interrupted: run #{run.pk} stopped with {run.total_done:,} of {run.total_planned:,} rows committed. "
                f"Resume it with --resume {run.pk}, or delete its rows with --clear-run {run.pk}."
            ) from None
        except services.RunNotResumable:
            raise
        except services.RunAlreadyActive as exc:
            raise CommandError(str(exc)) from None
        except services.SeedingError as exc:
            raise CommandError(
                f"{exc}. {run.total_done:,} rows in earlier chunks are committed; "
                f"resume with --resume {run.pk} or delete them with --clear-run {run.pk}."
            ) from None
        if run.status != SeedRun.Status.SUCCEEDED:
            self._say(self.style.WARNING(f"Run #{run.pk} stopped, now {run.status}, after {run.total_done:,} rows."))
            return
        elapsed = time.monotonic() - started
        self._print_summary(run, elapsed)
        if options["digest"]:
            self.stdout.write(f"digest: {seed_run_digest(run)}")

    def _clear(self, *, run: SeedRun | None, dry_run: bool = False) -> None:
        if dry_run:
            self._say("Dry run: would delete all demo data; nothing was deleted.")
            return
        try:
            result = services.demo_data_clear(run=run)
        except services.ClearRefused as exc:
            raise CommandError(str(exc)) from None
        what = f"run #{run.pk}'s demo data" if run else "all demo data"
        if not result.total:
            self._say(f"Nothing to clear: {what} is already gone.")
            return
        self._say(f"Cleared {what}: " + ", ".join(f"{n:,} {kind}" for kind, n in result.deleted.items()))

    # --- output ------------------------------------------------------------------

    def _print_dry_run(self, plan: SeedPlan, *, clear: bool) -> None:
        seconds = estimate_seconds(plan, vendor=connection.vendor)
        lines = [
            "Dry run: nothing will be written.",
            *(f"  {kind:<13}{plan.count(kind):>12,}" for kind in KINDS),
            f"  {'total':<13}{plan.total:>12,}",
            f"  seed {plan.seed}, as of {(plan.as_of or datetime.now(UTC)).replace(microsecond=0):%Y-%m-%dT%H:%M:%SZ}",
            f"  {plan.chunk_count:,} chunks of up to {plan.chunk_size:,} rows, one transaction each",
            f"  estimated time on {connection.vendor}: {_duration(seconds)}",
        ]
        if clear:
            lines.insert(1, "  all demo data would be deleted first")
        self.stdout.write("\n".join(lines))

    def _print_summary(self, run: SeedRun, elapsed: float) -> None:
        if self.verbosity == 0:
            return
        rate = run.total_done / elapsed if elapsed else 0.0
        lines = [self.style.SUCCESS(f"Seed run #{run.pk} succeeded in {_duration(elapsed)} ({rate:,.0f} rows/s)")]
        lines += [f"  {kind:<13}{run.done(kind):>12,}" for kind in KINDS]
        lines.append(f"  {'total':<13}{run.total_done:>12,}")
        self.stdout.write("\n".join(lines))

    def _say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)

    # --- parsing -------------------------------------------------------------------

    def _parse_as_of(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = parse_datetime(value)
            if parsed is None and (day := parse_date(value)) is not None:
                parsed = datetime(day.year, day.month, day.day)
        except ValueError:
            parsed = None
        if parsed is None:
            raise CommandError(f"--as-of: {value!r} is not an ISO 8601 date or date-time (e.g. 2026-01-31T12:00:00Z)")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def _get_run(self, run_id: int, flag: str) -> SeedRun:
        try:
            return SeedRun.objects.get(pk=run_id)
        except SeedRun.DoesNotExist:
            raise CommandError(f"{flag}: there is no seed run #{run_id}") from None

    @staticmethod
    def _describe_plan_error(exc: PlanError) -> str:
        return "; ".join(f"{FLAG_FOR_FIELD.get(field, field)}: {message}" for field, message in exc.errors.items())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
