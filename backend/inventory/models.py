"""The IT-inventory domain.

Every model carries a nullable ``seed_run`` foreign key: demo rows point at the
run that wrote them, rows entered by people leave it empty. Clearing demo data
deletes by that column only, so it can never touch real rows.
"""

from __future__ import annotations

from django.db import models


class SeededQuerySet(models.QuerySet):
    def demo(self) -> SeededQuerySet:
        return self.filter(seed_run__isnull=False)

    def real(self) -> SeededQuerySet:
        return self.filter(seed_run__isnull=True)


class SeededModel(models.Model):
    """Abstract base: the link to the seed run that wrote the row, if any."""

    seed_run = models.ForeignKey(
        "seeding.SeedRun",
        null=True,
        blank=True,
        # A run cannot be deleted while its rows exist: clear its data first.
        on_delete=models.PROTECT,
        related_name="+",
        # No database constraint: it would make the database look the run up once
        # per written row (a third of all foreign-key checks when writing events).
        # The run row is committed before any of its chunks and PROTECT keeps the
        # ORM from deleting it while rows point at it.
        db_constraint=False,
        help_text="The seed run that wrote this row; empty for rows entered by people.",
    )

    objects = SeededQuerySet.as_manager()

    class Meta:
        abstract = True


class Application(SeededModel):
    class Tier(models.TextChoices):
        TIER_1 = "tier_1", "Tier 1 (mission critical)"
        TIER_2 = "tier_2", "Tier 2 (business critical)"
        TIER_3 = "tier_3", "Tier 3 (business operational)"

    class Lifecycle(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        DEPRECATED = "deprecated", "Deprecated"
        RETIRED = "retired", "Retired"

    code = models.CharField(max_length=16, unique=True, help_text="Inventory identifier, e.g. APP000123.")
    name = models.CharField(max_length=120, db_index=True)
    vendor = models.CharField(max_length=120)
    category = models.CharField(max_length=40)
    version = models.CharField(max_length=32, help_text="Current release.")
    owner_team = models.CharField(max_length=60)
    tier = models.CharField(max_length=8, choices=Tier.choices)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    retired_on = models.DateField(null=True, blank=True, help_text="When a retired application was switched off.")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Asset(SeededModel):
    class Type(models.TextChoices):
        SERVER = "server", "Physical server"
        VIRTUAL_MACHINE = "virtual_machine", "Virtual machine"
        LAPTOP = "laptop", "Laptop"
        DESKTOP = "desktop", "Desktop"
        NETWORK = "network", "Network device"
        STORAGE = "storage", "Storage array"

    class Lifecycle(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        IN_STOCK = "in_stock", "In stock"
        IN_USE = "in_use", "In use"
        MAINTENANCE = "maintenance", "In maintenance"
        RETIRED = "retired", "Retired"

    hostname = models.CharField(max_length=63, unique=True)
    ip_address = models.GenericIPAddressField("IP address", unique=True, unpack_ipv4=True)
    serial_number = models.CharField(max_length=32, unique=True)
    asset_type = models.CharField(max_length=16, choices=Type.choices)
    manufacturer = models.CharField(max_length=60)
    model = models.CharField(max_length=80)
    operating_system = models.CharField(max_length=60)
    location = models.CharField(max_length=80)
    lifecycle_status = models.CharField(max_length=12, choices=Lifecycle.choices)
    purchase_date = models.DateField()
    retired_on = models.DateField(null=True, blank=True, help_text="When a retired asset left service.")
    owner_team = models.CharField(max_length=60)
    assigned_to = models.CharField(max_length=80, blank=True, help_text="Person using an end-user device.")

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class Person(SeededModel):
    """Someone in the organisation's directory: who uses the end-user devices (``Asset.assigned_to``)."""

    # Unique in any estate a plan makes (the directory's names run out only past hundreds of thousands of
    # people, generation.people), but a directory may hold two John Smiths: the address tells them apart.
    name = models.CharField(max_length=80, db_index=True)
    email = models.EmailField("e-mail address", max_length=120, unique=True)
    title = models.CharField(max_length=80)
    team = models.CharField(max_length=60, db_index=True)
    department = models.CharField(max_length=60)
    location = models.CharField(max_length=80)
    manager = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # A run's people are written chunk by chunk, a report before their manager at times: no database
        # constraint (the directory's keys are known before anything is written, generation.directory).
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="reports",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name


class Deployment(SeededModel):
    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        STAGING = "staging", "Staging"
        TEST = "test", "Test"
        DEVELOPMENT = "development", "Development"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DEGRADED = "degraded", "Degraded"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"
        DEPLOYING = "deploying", "Deploying"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="deployments")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="deployments")
    version = models.CharField(max_length=32)
    environment = models.CharField(max_length=12, choices=Environment.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    # Indexed for the admin's list, newest first: without it, its first page sorted every deployment
    # joined to its host and application (2 s at a million deployments).
    deployed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-deployed_at", "id"]
        constraints = [
            # An application is installed at most once on a given asset.
            models.UniqueConstraint(fields=["application", "asset"], name="deployment_unique_app_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.application.name} {self.version} on {self.asset.hostname}"


class Event(SeededModel):
    class Kind(models.TextChoices):
        ALERT = "alert", "Alert"
        CHANGE = "change", "Change"
        INCIDENT = "incident", "Incident"
        MAINTENANCE = "maintenance", "Maintenance"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"
        CRITICAL = "critical", "Critical"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="events")
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    source = models.CharField(max_length=40)
    message = models.CharField(max_length=255)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.asset.hostname}: {self.message}"


class RowCountDelta(models.Model):
    """A change in the row count of an inventory table, written by the database itself.

    On PostgreSQL, statement-level triggers (migration 0003) add one row per
    INSERT, DELETE, UPDATE or TRUNCATE statement with the rows it added or
    removed, in total and with a seed run: exact, inside every transaction,
    without a shared counter row that parallel writers would queue on. Summing
    them answers "how many rows" in well under a millisecond where COUNT(*)
    over millions of rows takes tens to hundreds of milliseconds
    (``selectors.row_counts``). Unused on SQLite, whose COUNT(*) is fast.
    """

    table_name = models.CharField(max_length=63)
    total = models.BigIntegerField()
    demo = models.BigIntegerField(help_text="Rows with a seed run.")

    def __str__(self) -> str:
        return f"{self.table_name}: {self.total:+,} ({self.demo:+,} demo)"
