"""Seed runs in the admin: read-only history with progress (seeding itself is a service call)."""

from django.contrib import admin

from seeding.models import KINDS, SeedChunk, SeedRun


class SeedChunkInline(admin.TabularInline):
    model = SeedChunk
    extra = 0
    can_delete = False
    fields = ("kind", "index", "rows", "committed_at")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SeedRun)
class SeedRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "progress_display",
        "plan_display",
        "seed",
        "as_of",
        "source",
        "requested",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "source")
    readonly_fields = [field.name for field in SeedRun._meta.fields]
    inlines = [SeedChunkInline]

    @admin.display(description="Progress")
    def progress_display(self, run: SeedRun) -> str:
        return f"{run.total_done:,} / {run.total_planned:,} ({run.progress:.0%})"

    @admin.display(description="Plan")
    def plan_display(self, run: SeedRun) -> str:
        return ", ".join(f"{run.planned(kind):,} {kind}" for kind in KINDS if run.planned(kind))

    @admin.display(description="Requested by")
    def requested(self, run: SeedRun) -> str:
        return run.requested_by_label or "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
