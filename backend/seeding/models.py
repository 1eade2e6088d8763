"""Seed runs and their per-chunk checkpoints.

The database, not the process, holds a run's state: a ``SeedChunk`` row is
written in the same transaction as the chunk's data, so "is this chunk done?"
has exactly one answer whatever crashed in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from seeding.generation.kinds import KINDS


class SeedRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    class Executor(models.TextChoices):
        INLINE = "inline", "Inline (in the requesting process)"
        WORKERS = "workers", "Background workers"

    class Path(models.TextChoices):
        """How a run's rows were written, as far as it changes how long they take (``seeding.estimates``)."""

        INLINE = "inline", "Inline"
        INLINE_BULK = "inline-bulk", "Inline into nearly empty tables, indexes built after the rows (SQLite)"
        EMBEDDED = "embedded", "Embedded in-process worker"
        WORKERS = "workers", "Worker processes (Redis)"

    class Mode(models.TextChoices):
        """What a run writes: a history up to its base time, or a live stream of what happens next."""

        SEED = "seed", "Seed"
        LIVE = "live", "Live stream"

    class Source(models.TextChoices):
        COMMAND = "command", "Management command"
        API = "api", "Admin API"
        ADMIN = "admin", "Django admin"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.SEED)
    # True while queued or running, NULL otherwise: a partial unique index on it
    # lets the database itself refuse a second active run.
    is_active = models.BooleanField(null=True, default=True, editable=False)
    executor = models.CharField(max_length=8, choices=Executor.choices, default=Executor.INLINE)
    task_id = models.CharField(max_length=64, blank=True, help_text="Message id of the run's start message.")
    # How its rows were last written (blank: not recorded, runs from before it was). Set once that is
    # known: when it is queued, and when an inline run or resume succeeds (whether SQLite's indexes were
    # deferred is decided phase by phase). Estimates learn from runs of the same path.
    path = models.CharField(max_length=12, choices=Path.choices, blank=True, editable=False)
    # Workers: the last phase whose chunk messages went out. Compared and moved under
    # the run's row lock, so each phase is sent once in the normal course.
    phase_sent = models.SmallIntegerField(
        default=-1, editable=False, help_text="Last phase whose chunk messages were sent (workers)."
    )
    # Bumped whenever a process claims the run to write it inline (a new run, a
    # resume); a writer that finds another claim than its own stands down.
    claim = models.PositiveIntegerField(default=0, editable=False)
    # The process holding the latest claim (seeding/common/process_identity.py): if it is
    # gone, the run is abandoned at once instead of after SEED_ABANDONED_AFTER_SECONDS.
    writer_process = models.CharField(max_length=200, blank=True, editable=False)
    # Rows per kind in the run's recorded view of existing parents (RunParent),
    # fixed when the run was created: {"assets": 5000, "settled": 4800, ...}.
    parent_counts = models.JSONField(default=dict, blank=True, editable=False)
    # The plan. Together with `seed` and `as_of` it fully determines the data.
    applications = models.PositiveIntegerField(default=0)
    assets = models.PositiveIntegerField(default=0)
    deployments = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    seed = models.BigIntegerField()
    as_of = models.DateTimeField(help_text="Base time: the newest timestamp any generated row may carry.")
    chunk_size = models.PositiveIntegerField()
    # Per site code, [first host number, how many, first person number] of the run's assets there,
    # fixed when the run is created after every earlier run's: addresses and people stay unique.
    site_hosts = models.JSONField(default=dict, blank=True, editable=False)
    # Where the run's applications are in the estate's orders of catalog products and in-house names,
    # fixed when the run is created after every earlier run's: {"seed": the orders' seed (the estate's
    # first run's), "software": [first position, how many], "in_house": [first position, how many]}.
    # Empty for a run without applications: no product and no name appears twice in an estate.
    application_positions = models.JSONField(default=dict, blank=True, editable=False)
    catalog_digest = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the catalog files the run draws from (SEED_CATALOG_DIR)."
    )
    # First primary key of each kind, reserved when the run was created; row k of
    # a kind gets id base + k, so a retried chunk rewrites the very same keys.
    applications_id_base = models.BigIntegerField(default=1)
    assets_id_base = models.BigIntegerField(default=1)
    deployments_id_base = models.BigIntegerField(default=1)
    events_id_base = models.BigIntegerField(default=1)
    #: A person's key is this plus the ordinal of their first device (``generation.directory``); empty for
    #: runs created before the directory existed, which write no people.
    people_id_base = models.BigIntegerField(null=True, blank=True, editable=False)
    #: Team name -> the key of its head in an earlier run, fixed when the run is created: the run's people
    #: report to that head instead of getting a second one (``generation.directory``).
    team_heads = models.JSONField(default=dict, blank=True, editable=False)
    # How long before ``as_of`` its events begin. A live stream's window is its duration, ahead of its start.
    window_seconds = models.PositiveIntegerField(default=90 * 86_400, editable=False)
    # A live stream's checkpoint, moved in the transaction that writes each tick: every event before it
    # is written, none after it (``services.live``).
    written_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The scenario pack that shapes what happens in its window, as it was when the run was created
    # (``generation.scenarios.Scenario.to_json``); empty: none.
    scenario = models.JSONField(default=dict, blank=True, editable=False)
    # A live stream's skipped stretches, where it fell too far behind: [[from, to, events], ...] (ISO 8601).
    gaps = models.JSONField(default=list, blank=True, editable=False)
    # Progress: rows of committed chunks, derived from the checkpoints after each commit.
    applications_done = models.PositiveIntegerField(default=0)
    assets_done = models.PositiveIntegerField(default=0)
    deployments_done = models.PositiveIntegerField(default=0)
    events_done = models.PositiveIntegerField(default=0)

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.COMMAND)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who asked, for runs with no user account (e.g. the OS user of a command).",
    )
    # What went wrong, short and stable enough to show to any API client...
    error = models.TextField(blank=True)
    # ...and the full text (driver messages, key values) for staff only.
    error_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="When this run's rows were deleted.")
    # A resume keeps started_at (the run's start), so the rate and ETA people see are taken over the
    # current stretch of writing, from the latest resume, and the time it took adds up the stretches:
    # the pause between a stop and a resume is no writing (``services.runs.seed_run_claim`` sets these).
    resumed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the current stretch of writing began (latest resume)."
    )
    done_at_resume = models.PositiveIntegerField(
        default=0, editable=False, help_text="Rows already written when it was last resumed."
    )
    written_before = models.DurationField(
        default=timedelta(0), editable=False, help_text="Time spent writing in the stretches before the latest resume."
    )
    resumes = models.PositiveSmallIntegerField(default=0, editable=False, help_text="How often it was resumed.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_seed", "Can seed and clear demo data")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="seedrun_one_active_run"
            ),
        ]

    def __str__(self) -> str:
        return f"Seed run #{self.pk} ({self.status})"

    # --- derived values, kept on the model because every entry point shows them ---
    def planned(self, kind: str) -> int:
        return getattr(self, kind)

    def done(self, kind: str) -> int:
        return getattr(self, f"{kind}_done")

    def id_base(self, kind: str) -> int:
        return getattr(self, f"{kind}_id_base")

    @property
    def is_live(self) -> bool:
        return self.mode == self.Mode.LIVE

    @property
    def window_start(self) -> datetime:
        return self.as_of - timedelta(seconds=self.window_seconds)

    @property
    def total_planned(self) -> int:
        return sum(self.planned(kind) for kind in KINDS)

    @property
    def total_done(self) -> int:
        return sum(self.done(kind) for kind in KINDS)

    @property
    def progress(self) -> float:
        """Fraction of rows written, 0..1 (1 for an empty plan)."""
        total = self.total_planned
        return self.total_done / total if total else 1.0

    @property
    def stretch_started_at(self) -> datetime | None:
        """When the current stretch of writing began: the latest resume, else the run's start."""
        return self.resumed_at or self.started_at

    @property
    def stretches(self) -> int:
        """Stretches of writing: one, and one more per resume."""
        return self.resumes + 1

    def _stretch_seconds(self, now: datetime | None) -> float | None:
        if self.stretch_started_at is None:
            return None
        end = self.finished_at or now or timezone.now()
        return max((end - self.stretch_started_at).total_seconds(), 0.0)

    def rows_per_second(self, *, now: datetime | None = None) -> float | None:
        """Write rate of the current stretch: rows since the latest resume (or the start) over the time since
        (None before it starts). Never over the pause before a resume: that would read as a slow run."""
        seconds = self._stretch_seconds(now)
        return (self.total_done - self.done_at_resume) / seconds if seconds else None

    def eta_seconds(self, *, now: datetime | None = None) -> float | None:
        """Seconds left at the current stretch's rate (0 when finished, None when unknown)."""
        if not self.is_active:
            return 0.0
        rate = self.rows_per_second(now=now)
        return (self.total_planned - self.total_done) / rate if rate else None

    def active_seconds(self, *, now: datetime | None = None) -> float | None:
        """Time spent writing, every stretch added up: what a resumed run took, without its pauses
        (None before it starts)."""
        seconds = self._stretch_seconds(now)
        return None if seconds is None else self.written_before.total_seconds() + seconds


class SeedChunk(models.Model):
    """A committed chunk: the checkpoint written in the chunk's own transaction."""

    run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="chunks")
    kind = models.CharField(max_length=16)
    index = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    committed_at = models.DateTimeField(auto_now_add=True)
    written_by = models.CharField(max_length=120, blank=True, help_text="host:pid of the process that wrote it.")
    seconds = models.FloatField(
        null=True, blank=True, help_text="Seconds to generate and write it, up to its commit (null: not recorded)."
    )

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "kind", "index"], name="seedchunk_unique_per_run")]

    def __str__(self) -> str:
        return f"run #{self.run_id} {self.kind}[{self.index}] ({self.rows} rows)"


class SeedChunkAttempt(models.Model):
    """How often a chunk was started, counted before its work begins.

    Dramatiq's retry counter misses attempts that kill the worker (SIGKILL, OOM),
    which would otherwise be redelivered forever; this one sees every start.
    """

    run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="chunk_attempts")
    kind = models.CharField(max_length=16)
    index = models.PositiveIntegerField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_holder = models.CharField(
        max_length=160, blank=True, help_text="host:pid:thread of the worker writing it now (seeding.leases)."
    )
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="Its holder renews this while it works; lapsed, the sweeper re-sends it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind", "index"], name="seedchunkattempt_unique_per_run")]

    def __str__(self) -> str:
        return f"run #{self.run_id} {self.kind}[{self.index}]: {self.attempts} attempts"

    #: The cause of a start that left no error behind.
    STOPPED = "worker stopped (killed, out of memory, or the database went away while it wrote)"

    @property
    def cause(self) -> str:
        """The last failed start's cause in a few words: "time limit", an exception's name, or STOPPED.

        Errors are recorded as "<cause>: <details>" (services/workers.py); the
        details may hold driver text, which only staff pages show.
        """
        return self.last_error.split(":", 1)[0] if self.last_error else self.STOPPED


class RunParent(models.Model):
    """One row of a run's view of the parents that existed when it was created.

    A run that points at rows already in the database (events on existing
    assets, say) records, in its creating transaction, which rows those are
    and the columns its generation depends on. Chunks read back only the
    positions they need, so memory stays bounded however large the tables are,
    and a row a person changes or deletes mid-run cannot change the data.

    ``kind`` is a parent kind, "taken" (per recorded application position
    ``ref``, the existing deployments it has on the recorded assets, in
    ``asset_ref``) or "pairs" (existing deployments as application position
    ``ref`` and asset position ``asset_ref``).
    """

    run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    position = models.PositiveIntegerField()
    ref = models.BigIntegerField(help_text="The parent's primary key (for pairs: the application's position).")
    asset_ref = models.BigIntegerField(null=True, help_text="Deployments: their asset; pairs: the asset's position.")
    application_ref = models.BigIntegerField(null=True, help_text="Deployments: their application.")
    rolling_out = models.BooleanField(
        null=True, help_text="A live stream's applications: one of their deployments is deploying (no new release)."
    )
    version = models.CharField(
        max_length=32, blank=True, help_text="Applications: the current release; deployments: the release they run."
    )
    day = models.IntegerField(null=True, help_text="Assets: the purchase date as an epoch day.")
    not_before = models.BigIntegerField(
        null=True, help_text="Deployments: the epoch second from which an event may concern them."
    )
    label = models.CharField(
        max_length=120, blank=True, help_text="Applications: the name; assets and deployments: the asset's system."
    )
    asset_type = models.CharField(max_length=16, blank=True, help_text="Assets and deployments: the asset's type.")
    lifecycle = models.CharField(
        max_length=12, blank=True, help_text="Applications and assets: the lifecycle; deployments: the status."
    )
    environment = models.CharField(
        max_length=12,
        blank=True,
        help_text="Assets: the environment their deployments already serve, if any; deployments: theirs.",
    )
    location = models.CharField(max_length=80, blank=True, help_text="Assets: where they are (a catalog site's).")
    retired_day = models.IntegerField(
        null=True,
        help_text="Applications and assets: the retirement as an epoch day; deployments: the earlier of their "
        "asset's and application's.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind", "position"], name="runparent_position")]
        indexes = [models.Index(fields=["run", "kind", "ref"], name="runparent_ref")]

    def __str__(self) -> str:
        return f"run #{self.run_id} {self.kind}[{self.position}] = {self.ref}"


class DeferredIndex(models.Model):
    """An index dropped for a bulk load and not yet rebuilt (SQLite; see seeding/indexes.py).

    Written in the same transaction as its DROP, so a process that dies
    mid-load leaves the recipe behind. Protects its run from deletion until the
    index is rebuilt.
    """

    name = models.CharField(max_length=128, primary_key=True)
    table = models.CharField(max_length=128)
    sql = models.TextField(help_text="The CREATE INDEX statement that rebuilds it.")
    run = models.ForeignKey(SeedRun, on_delete=models.PROTECT, related_name="+")
    dropped_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} (dropped by run #{self.run_id})"


class AuditEntry(models.Model):
    """Who seeded, cancelled, resumed or cleared what, and when: one row per action, never edited.

    Written by the services in the same transaction as the action, so an entry
    exists exactly when the action happened. Kept when its run is deleted
    (``run_number`` still says which).
    """

    class Action(models.TextChoices):
        SEEDED = "seeded", "Seeded (run created)"
        CANCELLED = "cancelled", "Cancelled a run"
        RESUMED = "resumed", "Resumed a run"
        CLEARED = "cleared", "Cleared demo data"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=8, choices=SeedRun.Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="The user, or the OS user of a command.")
    run = models.ForeignKey(SeedRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries")
    run_number = models.PositiveIntegerField(null=True, blank=True, help_text="The run's id, kept if it is deleted.")
    summary = models.TextField(help_text="What was done, e.g. the plan or the rows deleted.")

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label or 'someone'} {self.action}"


class PendingEvent(models.Model):
    """An event of a live stream that has not happened yet: a later step of an incident or a change wave
    that began in a tick already written (``services.live``). Written into the inventory by the tick it
    happens in, in that tick's transaction; kept here meanwhile so that a stream taken over by another
    process need not tell its episodes again."""

    run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="pending_events")
    event_id = models.BigIntegerField(help_text="The key the event will have.")
    asset_id = models.BigIntegerField()
    deployment_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=12)
    severity = models.CharField(max_length=8)
    source = models.CharField(max_length=40)
    message = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()
    effects = models.JSONField(
        null=True,
        blank=True,
        help_text="What the event changes in the estate with it, in order (generation.effects), if anything.",
    )

    class Meta:
        indexes = [models.Index(fields=["run", "occurred_at"], name="pendingevent_due")]

    def __str__(self) -> str:
        return f"run #{self.run_id} event {self.event_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
