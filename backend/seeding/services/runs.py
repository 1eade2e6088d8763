"""The run lifecycle: create, claim, cancel, and every status move, whoever executes the run.

A run's life: created ``queued`` (plan validated against the parents it will
point at, keys reserved), then ``running``, then ``succeeded``, ``failed`` or
``cancelled``. The database allows one queued or running run at a time (a
partial unique index), whoever asks.

Every status move is a conditional UPDATE ("from these statuses to that one"),
so two processes racing on one run (a cancel and a worker, a resume and a
sweeper) can never undo each other: the loser's update matches no row and it
stands down.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from datetime import UTC, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import DurationField, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from inventory.selectors import table_row_count
from inventory.services import inventory_statistics_refresh, row_count_deltas_compact
from seeding.catalogs import active_catalog, active_scenario
from seeding.common.formatting import format_utc
from seeding.common.process_identity import is_gone, this_process
from seeding.generation.catalog import CatalogError
from seeding.generation.estate import software_taken
from seeding.generation.kinds import KINDS, Chunk, chunks_of
from seeding.generation.people import people_span
from seeding.generation.scenarios import Scenario
from seeding.generation.sites import site_host_counts
from seeding.models import AuditEntry, SeedChunk, SeedChunkAttempt, SeedRun
from seeding.persistence.indexes import restore_orphaned_indexes
from seeding.persistence.keys import reserve_ids
from seeding.persistence.parent_view.capacity import run_capacity
from seeding.persistence.parent_view.reading import (
    newest_recorded_purchase_day,
    recorded_in_use,
    recorded_taken_pairs,
)
from seeding.persistence.parent_view.recording import forget_parent_views, record_parent_view
from seeding.persistence.tables import COMPANION_MODELS, MODELS
from seeding.plan import (
    PlanError,
    SeedPlan,
    needed_parents,
    refuse_as_of_before_assets,
    refuse_beyond_capacity,
    validate_parents,
    validate_plan,
)
from seeding.services.audit import Requester, audit_record
from seeding.services.errors import RunAlreadyActive, RunNotActive, RunNotResumable, SeedingError

logger = logging.getLogger("seeding.services")

#: The command as people type it from the repository root (README: the venv's Python, which has Django).
COMMAND = ".venv/bin/python backend/manage.py seed_demo_data"


def seed_run_create(
    *,
    plan: SeedPlan,
    source: str = SeedRun.Source.COMMAND,
    executor: str = SeedRun.Executor.INLINE,
    requested_by=None,
    requested_by_label: str = "",
    live_window: int | None = None,
) -> SeedRun:
    """Validate ``plan`` and record a queued run: its view of existing parents fixed, its keys reserved.

    ``live_window``: a live stream's duration in seconds (``services.live``): its events fall in that
    many seconds before ``plan.as_of``, written as they pass.

    Everything that depends on the database (are there parents to point at?)
    is checked inside the creating transaction, against the very rows the run
    will use, and before the keys are reserved: PostgreSQL never gives back a
    sequence value, and a refused plan must not shift the next run's keys.
    Raises PlanError (per field) or RunAlreadyActive, writing nothing.
    """
    validate_plan(plan)
    recover_abandoned_runs()
    run = SeedRun(
        applications=plan.applications,
        assets=plan.assets,
        deployments=plan.deployments,
        events=plan.events,
        seed=plan.seed,
        as_of=(plan.as_of or timezone.now()).astimezone(UTC).replace(microsecond=0),
        chunk_size=plan.chunk_size,
        catalog_digest=active_catalog().digest,
        source=source,
        executor=executor,
        requested_by=requested_by,
        requested_by_label=requested_by_label or _default_requester(requested_by),
    )
    if live_window is not None:
        run.mode, run.window_seconds = SeedRun.Mode.LIVE, live_window
        run.written_until = run.window_start
    if plan.scenario:
        try:
            run.scenario = active_scenario(plan.scenario).to_json()
        except CatalogError as exc:
            raise PlanError({"scenario": str(exc)}) from None
    try:
        with transaction.atomic():
            run.save()  # first: the one-active-run index refuses here
            # Before the capacity check: which products the run takes decides where its applications go.
            run.application_positions = application_positions(plan, excluding=run.pk)
            view = record_parent_view(run=run, plan=plan, catalog=active_catalog())
            validate_parents(plan, existing=view, taken_pairs=recorded_taken_pairs(run))
            refuse_as_of_before_assets(as_of=run.as_of, newest_purchase_day=newest_recorded_purchase_day(run))
            if plan.deployments or plan.events:
                refuse_beyond_capacity(plan, capacity=run_capacity(run=run, catalog=active_catalog()))
            for kind in KINDS:
                setattr(run, f"{kind}_id_base", reserve_ids(MODELS[kind], plan.count(kind)))
            # A person's key is the base plus their first device's ordinal: at most one per asset.
            run.people_id_base = reserve_ids(COMPANION_MODELS["people"], plan.count("assets"))
            run.team_heads = _team_heads_before(run) if plan.assets else {}
            run.site_hosts = _number_site_hosts(plan, moving=_migrating_hosts(run))
            # Alive from here: a long creation must not look abandoned when it commits.
            run.save(
                update_fields=[
                    *(f"{kind}_id_base" for kind in KINDS),
                    "people_id_base",
                    "team_heads",
                    "site_hosts",
                    "application_positions",
                    "updated_at",
                ]
            )
            audit_record(
                action=AuditEntry.Action.SEEDED,
                by=Requester(source, requested_by, run.requested_by_label),
                run=run,
                summary=f"{plan_summary(run=run)}; seed {run.seed}, {executor}",
            )
    except IntegrityError:
        raise _already_active_error() from None
    logger.info("Created %s: %s", run, plan_summary(run=run))
    return run


def seed_run_claim(
    *, run: SeedRun, resume: bool, by: Requester | None = None, executor: str = SeedRun.Executor.INLINE
) -> int | None:
    """Take ``run`` to write it in this process (or, resuming with ``executor`` workers, on the workers);
    returns the claim.

    A new inline run is taken from queued only: one cancelled before it started
    stays cancelled (None is returned, nothing is to be written). A resume takes
    a failed or cancelled run. Claimed with a conditional update: a run another
    process is writing (inline or on workers) is never taken over, and a writer
    that later finds another claim than its own stands down. A resume handed to
    the workers goes straight to running (its ``started_at`` kept, as inline) and
    gives each chunk left its full SEED_CHUNK_MAX_ATTEMPTS again: a chunk the
    workers gave up on would otherwise fail the run at once. Its failed attempts'
    errors stay on record. Raises RunNotResumable or RunAlreadyActive.
    """
    to_workers = executor == SeedRun.Executor.WORKERS
    if resume:
        _refuse_unless_finished_unsuccessfully(run)
        _refuse_without_its_parent_view(run)
        recover_abandoned_runs()  # a resumed run may be one whose process died
        ready = Q(status__in=(SeedRun.Status.FAILED, SeedRun.Status.CANCELLED))
    else:
        ready = Q(status=SeedRun.Status.QUEUED, executor=SeedRun.Executor.INLINE)
    try:
        with transaction.atomic():
            claimed = transition(
                run=run,
                to=SeedRun.Status.RUNNING,
                only_from=ready & Q(cleared_at__isnull=True),
                executor=executor,
                claim=F("claim") + 1,
                writer_process="" if to_workers else this_process(),
                started_at=Coalesce("started_at", Value(timezone.now())),
                error="",
                error_detail="",
                finished_at=None,
                **({"phase_sent": -1} if to_workers else {}),  # the start message sends the current phase again
                **(_new_stretch() if resume else {}),
            )
            if claimed and to_workers:
                _give_chunks_left_fresh_attempts(run)
            if claimed and resume:
                audit_record(
                    action=AuditEntry.Action.RESUMED,
                    by=by or Requester(SeedRun.Source.COMMAND),
                    run=run,
                    summary=f"from {run.total_done:,} of {run.total_planned:,} rows"
                    + (", on the workers" if to_workers else ""),
                )
    except IntegrityError:
        raise _already_active_error() from None
    if claimed:
        return run.claim
    if not resume and run.status == SeedRun.Status.CANCELLED:
        return None  # cancelled before it started: it stays so
    if run.cleared_at is not None:
        raise RunNotResumable(f"seed run #{run.pk}'s rows were cleared; start a new run instead")
    where = "on the workers" if run.executor == SeedRun.Executor.WORKERS else "in another process"
    raise RunNotResumable(f"seed run #{run.pk} is {run.status} {where}; wait for it, or cancel it first")


def _new_stretch() -> dict:
    """The fields a resume moves, in its conditional update (every right-hand side reads the row as it
    was): the stretch that ended is added to the time spent writing, and a new one starts now, from the
    rows done now. A run cancelled before it started has no stretch to add."""
    ended = ExpressionWrapper(F("finished_at") - Coalesce("resumed_at", "started_at"), output_field=DurationField())
    return {
        "written_before": F("written_before") + Coalesce(ended, Value(timedelta(0))),
        "resumed_at": timezone.now(),
        "done_at_resume": sum((F(f"{kind}_done") for kind in KINDS[1:]), F(f"{KINDS[0]}_done")),
        "resumes": F("resumes") + 1,
    }


def _give_chunks_left_fresh_attempts(run: SeedRun) -> None:
    """Start the attempt count of every uncommitted chunk of ``run`` again (errors are kept)."""
    committed = SeedChunk.objects.filter(run=run, kind=OuterRef("kind"), index=OuterRef("index"))
    SeedChunkAttempt.objects.filter(run=run, attempts__gt=0).exclude(Exists(committed)).update(attempts=0)


def seed_run_resume_preview(*, run: SeedRun) -> list[Chunk]:
    """The chunks resuming ``run`` would write, read-only. Raises RunNotResumable as a resume would."""
    _refuse_unless_finished_unsuccessfully(run)
    _refuse_without_its_parent_view(run)
    if run.is_active and not abandoned(run):
        where = "on the workers" if run.executor == SeedRun.Executor.WORKERS else "in another process"
        raise RunNotResumable(f"seed run #{run.pk} is {run.status} {where}; wait for it, or cancel it first")
    return list(seed_run_pending_chunks(run=run))


def seed_run_cancel(
    *,
    run: SeedRun,
    by: Requester | None = None,
    reason: str = "cancelled on request; committed chunks are kept",
    audit: str | None = None,
) -> SeedRun:
    """Stop an active run: no chunk starts after this. Raises RunNotActive for a run that has ended.

    Chunks already being written may still commit; their rows are kept and
    counted (``refresh_progress`` moves ``finished_at`` to the last commit).
    ``by`` goes to the audit trail (default: this process's OS user, as a command); ``reason`` is the
    run's error, ``audit`` the audit entry's summary (default: how far it got).
    """
    with transaction.atomic():
        cancelled = transition(
            run=run,
            to=SeedRun.Status.CANCELLED,
            only_from=SeedRun.ACTIVE_STATUSES,
            error=reason,
            finished_at=timezone.now(),
        )
        if cancelled:
            audit_record(
                action=AuditEntry.Action.CANCELLED,
                by=by or Requester(SeedRun.Source.COMMAND),
                run=run,
                summary=audit or f"at {run.total_done:,} of {run.total_planned:,} rows",
            )
    if not cancelled:
        raise RunNotActive(
            f"seed run #{run.pk} has already {_ended(run)}; only a queued or running run can be cancelled"
        )
    logger.info("%s cancelled", run)
    return run


def seed_run_fail(*, run: SeedRun, error: str, detail: str = "", claim: int | None = None) -> bool:
    """Mark an active run failed; a run that already ended is left alone, and so is,
    with ``claim``, one another process has claimed since.

    ``error`` is short and stable (any API client may read it); ``detail`` holds
    the full cause (driver messages, key values) for staff.
    """
    active = Q(status__in=SeedRun.ACTIVE_STATUSES)
    failed = transition(
        run=run,
        to=SeedRun.Status.FAILED,
        only_from=active & Q(claim=claim) if claim is not None else active,
        error=error[:1000],
        error_detail=detail[:8000],
        finished_at=timezone.now(),
    )
    if failed:
        logger.warning("%s failed: %s", run, detail or error)
    return failed


def seed_run_succeed(*, run: SeedRun, claim: int | None = None) -> bool:
    """Mark a running run succeeded (not one that was cancelled, failed, or, with
    ``claim``, claimed by another inline writer meanwhile), with its counters
    recomputed from its checkpoints first."""
    refresh_progress(run=run)
    condition = Q(status=SeedRun.Status.RUNNING) & (Q(claim=claim) if claim is not None else Q())
    succeeded = transition(run=run, to=SeedRun.Status.SUCCEEDED, only_from=condition, finished_at=timezone.now())
    if succeeded:
        # Tidying up, after the caller's transaction (a worker holds the run row's lock in it).
        transaction.on_commit(lambda: _tidy_after_success(run.pk))
        logger.info("%s succeeded: %s rows", run, run.total_done)
    return succeeded


def _tidy_after_success(run_id: int) -> None:
    """Drop the run's view of existing parents (it will never write again), fold the count deltas and
    refresh the planner's statistics of the tables it wrote.

    The run has succeeded either way: a failure here is logged, not raised.
    """
    try:
        forget_parent_views(SeedRun.objects.filter(pk=run_id))
        row_count_deltas_compact()
        if _staled_statistics(SeedRun.objects.get(pk=run_id)):
            inventory_statistics_refresh()
    except DatabaseError:
        logger.exception("seed run #%s succeeded, but tidying up after it failed", run_id)


#: A run that adds less than this share of a table's rows leaves the planner's figures of it about right:
#: PostgreSQL's own default for re-analyzing a table (``autovacuum_analyze_scale_factor``).
STALE_STATISTICS_SHARE = 0.1


def _staled_statistics(run: SeedRun) -> bool:
    """Whether ``run`` wrote enough of a table for the planner's statistics of it to be stale."""
    return statistics_staled_by({kind: run.done(kind) for kind in KINDS})


def statistics_staled_by(changed: dict[str, int], *, deleted: bool = False) -> bool:
    """Whether writing (or, ``deleted``, deleting) ``changed`` rows per kind left the planner's statistics of
    a table stale: a tenth of its rows or more (``STALE_STATISTICS_SHARE``).

    ANALYZE of the inventory takes about a second at plan 10L's size whatever
    changed: worth it after a run that wrote a tenth of a table, waste after 5
    deployments stacked onto a million. Only PostgreSQL keeps such statistics
    (``inventory_statistics_refresh`` does nothing on SQLite), so nothing is
    counted there.
    """
    if connection.vendor != "postgresql":
        return False
    for kind, rows in changed.items():
        if rows:
            before = table_row_count(MODELS[kind]) + (rows if deleted else 0)  # a delete's rows are gone
            if rows >= STALE_STATISTICS_SHARE * before:
                return True
    return False


def transition(*, run: SeedRun, to: str, only_from: Q | tuple[str, ...], **fields) -> bool:
    """Move ``run`` to status ``to`` if it is currently in ``only_from``; True if it moved.

    Keeps ``is_active`` (the one-active-run guard) in step and refreshes ``run``.
    May raise IntegrityError when the move would make a second run active.
    """
    condition = only_from if isinstance(only_from, Q) else Q(status__in=only_from)
    fields.update(status=to, is_active=True if to in SeedRun.ACTIVE_STATUSES else None, updated_at=timezone.now())
    moved = SeedRun.objects.filter(condition, pk=run.pk).update(**fields)
    run.refresh_from_db()
    return bool(moved)


def refresh_progress(*, run: SeedRun) -> None:
    """Set the run's rows-done counters from its committed chunks (and mark it alive).

    Derived from the checkpoints, so the counters are exact whatever crashed
    between a chunk's commit and this update. A chunk that was in flight when
    its run ended (a cancel) still commits: it is counted, and the run's
    ``finished_at`` moves to that commit, so rate and duration stay honest.
    """
    committed = SeedChunk.objects.filter(run=OuterRef("pk"))
    counters = {
        f"{kind}_done": Coalesce(
            Subquery(committed.filter(kind=kind).values("run").annotate(total=Sum("rows")).values("total")), 0
        )
        for kind in KINDS
    }
    last_commit = Subquery(committed.values("run").annotate(last=Max("committed_at")).values("last"))
    SeedRun.objects.filter(pk=run.pk).update(**counters, updated_at=timezone.now())
    SeedRun.objects.filter(pk=run.pk, is_active__isnull=True, finished_at__lt=last_commit).update(
        finished_at=Greatest("finished_at", last_commit)
    )
    for name, value in SeedRun.objects.filter(pk=run.pk).values(*counters, "updated_at", "finished_at").first().items():
        setattr(run, name, value)


def recover_abandoned_runs() -> None:
    """Fail inline runs whose process died, and rebuild what they left undone.

    Nothing else would ever finish them, and as active runs they would block
    every new run. Abandoned: its writer process is known to be gone (same
    machine, ``process_identity``), or no progress for SEED_ABANDONED_AFTER_SECONDS.
    Worker runs are not touched: the sweeper re-dispatches those. Called before
    a new run, a resume and a clear.
    """
    for run in SeedRun.objects.filter(is_active=True, executor=SeedRun.Executor.INLINE):
        if not abandoned(run):
            continue
        gone = is_gone(run.writer_process)
        seed_run_fail(
            run=run,
            claim=run.claim,  # not a run a live process resumed since it was read
            error=f"abandoned: the process writing it stopped; committed chunks are kept (resume it with "
            f"Resume on its page in the admin, or {COMMAND} --resume {run.pk})",
            detail=f"its process ({':'.join(run.writer_process.split(':')[:2])}) is gone"
            if gone
            else f"no progress since {format_utc(run.updated_at)}",
        )
    restore_orphaned_indexes()


def seed_run_pending_chunks(*, run: SeedRun, kinds: tuple[str, ...] = KINDS) -> Iterator[Chunk]:
    """The run's chunks (of ``kinds``) not yet committed, in write order."""
    done = set(SeedChunk.objects.filter(run=run, kind__in=kinds).values_list("kind", "index"))
    for kind in kinds:
        for chunk in chunks_of(kind, run.planned(kind), run.chunk_size):
            if (chunk.kind, chunk.index) not in done:
                yield chunk


def plan_of(*, run: SeedRun) -> SeedPlan:
    return SeedPlan(
        applications=run.applications,
        assets=run.assets,
        deployments=run.deployments,
        events=run.events,
        seed=run.seed,
        chunk_size=run.chunk_size,
        as_of=run.as_of,
        scenario=run.scenario.get("name") if run.scenario else None,
    )


def plan_summary(*, run: SeedRun) -> str:
    """ "500 applications, 5,000 assets, 10,000 deployments, 100,000 events"."""
    return ", ".join(f"{run.planned(kind):,} {kind}" for kind in KINDS)


def _team_heads_before(run: SeedRun) -> dict[str, int]:
    """Each team's head among the people of the runs whose rows still exist (the first, should there be
    several): a run's people report to them rather than to a second head."""
    heads = (
        COMPANION_MODELS["people"]
        .objects.filter(manager__isnull=True, seed_run__isnull=False, seed_run__cleared_at__isnull=True)
        .exclude(seed_run=run)
        .order_by("-pk")
        .values_list("team", "pk")
    )
    return dict(heads)  # the smallest key wins: the latest written last


def _migrating_hosts(run: SeedRun) -> tuple[str, int] | None:
    """A live stream whose pack migrates hosts (``generation.relocations``): (the destination's site code, how
    many hosts may move there); None for any other run.

    Those that may move are the recorded assets of the source, in use, of the pack's types: counted in the
    stream's view (recorded just before, in the same transaction), so it costs what the view does, not a
    pass over every asset of the estate (0.5 s at 500,000).
    """
    migration = Scenario.from_json(run.scenario).migration if run.is_live and run.scenario else None
    if migration is None:
        return None
    source = next(site for site in active_catalog().sites if site.code == migration.source)
    return migration.destination, recorded_in_use(run, location=source.location, asset_types=migration.asset_types)


def _number_site_hosts(plan: SeedPlan, *, moving: tuple[str, int] | None = None) -> dict[str, list[int]]:
    """Where the run's hosts and people are numbered at each site: after every run whose rows still exist.
    ``moving``: a live stream's migration, hosts that take new numbers at a site (its code, how many).

    Runs are created one at a time (the one-active-run index), so no other
    creation can take the same numbers meanwhile.
    """
    if not plan.assets and not moving:
        return {}
    catalog = active_catalog()
    taken: dict[str, int] = {}
    people: dict[str, int] = {}
    for hosts in SeedRun.objects.filter(cleared_at__isnull=True).values_list("site_hosts", flat=True):
        for code, numbers in hosts.items():
            base, count = numbers[:2]
            taken[code] = max(taken.get(code, 0), base + count)
            # A run recorded before people were numbered per run: its hosts bound its people.
            first_person = numbers[2] if len(numbers) > 2 else base
            people[code] = max(people.get(code, 0), first_person + people_span(count))
    counts = site_host_counts(plan.seed, plan.assets, catalog) if plan.assets else [0] * len(catalog.sites)
    if moving:
        counts[[site.code for site in catalog.sites].index(moving[0])] += moving[1]
    return {
        site.code: [taken.get(site.code, 0), count, people.get(site.code, 0)]
        for site, count in zip(catalog.sites, counts)
        if count
    }


def application_positions(plan: SeedPlan, *, excluding: int | None = None, after_clear: bool = False) -> dict:
    """Where a run of ``plan`` takes its applications in the estate's orders (``generation.estate``): the
    catalog products and in-house names after every run whose rows still exist took theirs, in the orders
    of the estate's first run's seed (``plan.seed`` when there is none). Empty without applications.

    Runs are created one at a time (the one-active-run index), so no other creation can take the same
    positions meanwhile. ``excluding``: the run being created; ``after_clear``: as if no run were left.
    """
    if not plan.applications:
        return {}
    earlier = [] if after_clear else _earlier_positions(excluding)
    seed = earlier[-1]["seed"] if earlier else plan.seed
    software_from = max((p["software"][0] + p["software"][1] for p in earlier), default=0)
    in_house_from = max((p["in_house"][0] + p["in_house"][1] for p in earlier), default=0)
    software = software_taken(active_catalog(), plan.applications, software_from)
    return {
        "seed": seed,
        "software": [software_from, software],
        "in_house": [in_house_from, plan.applications - software],
    }


def _earlier_positions(excluding: int | None) -> list[dict]:
    """The recorded positions of the runs whose rows still exist, oldest first."""
    runs = SeedRun.objects.filter(cleared_at__isnull=True).exclude(pk=excluding).order_by("pk")
    return [positions for positions in runs.values_list("application_positions", flat=True) if positions]


def _refuse_without_its_parent_view(run: SeedRun) -> None:
    """Runs created before views of existing parents were recorded (an upgrade) cannot go on."""
    if needed_parents(plan_of(run=run)) and not run.parent_counts:
        raise RunNotResumable(
            f"seed run #{run.pk} was created by an earlier version that did not record the existing rows it "
            f"points at; delete its rows (Clear its rows on its page in the admin, or {COMMAND} --clear-run "
            f"{run.pk}) and start a new run"
        )


def _refuse_unless_finished_unsuccessfully(run: SeedRun) -> None:
    if run.status == SeedRun.Status.SUCCEEDED:
        raise RunNotResumable(f"seed run #{run.pk} already succeeded; there is nothing left to write")
    if run.cleared_at is not None:
        # Its checkpoints describe rows that no longer exist, and its reserved keys
        # may have been handed out again: finishing it would report a lie.
        raise RunNotResumable(f"seed run #{run.pk}'s rows were cleared; start a new run instead")


def seed_runs_settle() -> None:
    """Fail the active run if it is an abandoned inline run, before anyone is shown it as running.

    Entry points that show runs (the status and stats endpoints, the admin's run pages, the monitor)
    call this before reading them, so a run whose process was SIGKILLed reads as failed at once on
    its own host, not only after the next run, resume or clear. One indexed query (at most one run is
    active); a write only when the active run is actually found abandoned.
    """
    run = SeedRun.objects.filter(is_active=True).first()
    if run is not None and abandoned(run):
        recover_abandoned_runs()


def abandoned(run: SeedRun) -> bool:
    """An active inline run whose writer is known to be gone, or silent for SEED_ABANDONED_AFTER_SECONDS.

    No query: ``seed_runs_settle`` asks it of the active run, and calls ``recover_abandoned_runs``
    only when it says yes.
    """
    if not run.is_active or run.executor != SeedRun.Executor.INLINE:
        return False
    silent_since = timezone.now() - timedelta(seconds=settings.SEED_ABANDONED_AFTER_SECONDS)
    return run.updated_at < silent_since or is_gone(run.writer_process)


def _already_active_error() -> SeedingError:
    active = SeedRun.objects.filter(is_active=True).first()
    return RunAlreadyActive(active) if active else SeedingError("could not record the run; try again")


def _ended(run: SeedRun) -> str:
    return {SeedRun.Status.CANCELLED: "been cancelled"}.get(run.status, run.status)


def _default_requester(user) -> str:
    if user is not None:
        return user.get_username()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
