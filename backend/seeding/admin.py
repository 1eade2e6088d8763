"""Seed runs in the Django admin: history with live progress, a "Seed demo data"
page, and actions to run a plan again or cancel. All of it calls the services."""

from __future__ import annotations

import contextlib
import dataclasses

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.defaults import permission_denied
from django_dramatiq.models import Task

from seeding import services
from seeding.forms import SeedDemoDataForm
from seeding.kinds import KINDS
from seeding.models import AuditEntry, SeedChunk, SeedChunkAttempt, SeedRun
from seeding.text import duration, plural

SEED_PERMISSION = "seeding.run_seed"


class SeedChunkInline(admin.TabularInline):
    model = SeedChunk
    extra = 0
    can_delete = False
    fields = ("kind", "index", "rows", "committed_at", "written_by")
    readonly_fields = fields
    show_change_link = False
    classes = ["collapse"]  # a large run has hundreds of chunks

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class FailedAttemptInline(admin.TabularInline):
    """Chunks that needed another start, and why: what an operator looks for when a run stalled or failed."""

    model = SeedChunkAttempt
    verbose_name = "failed attempt"
    verbose_name_plural = "Failed attempts (chunks that needed another start)"
    extra = 0
    can_delete = False
    fields = ("kind", "index", "attempts", "cause", "last_error", "updated_at")
    readonly_fields = fields
    ordering = ("updated_at", "kind", "index")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(Q(attempts__gt=1) | ~Q(last_error=""))

    @admin.display(description="Cause")
    def cause(self, attempt: SeedChunkAttempt) -> str:
        return attempt.cause

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SeedRun)
class SeedRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status_display",
        "progress_display",
        "rate_display",
        "eta_display",
        "plan_display",
        "executor",
        "source",
        "requested",
        "created_at",
        "error_display",
    )
    list_filter = ("status", "source", "executor")
    fieldsets = [
        (
            None,
            {
                "fields": [  # the error and its detail are in the summary above
                    "status",
                    "executor",
                    "source",
                    "requested_by",
                    "requested_by_label",
                    "task_id",
                ]
            },
        ),
        ("Plan", {"fields": [*KINDS, "seed", "as_of", "chunk_size"]}),
        ("Progress", {"fields": [f"{kind}_done" for kind in KINDS]}),
        ("Times", {"fields": ["created_at", "started_at", "finished_at", "updated_at", "cleared_at"]}),
        ("Reserved keys", {"classes": ["collapse"], "fields": [f"{kind}_id_base" for kind in KINDS]}),
    ]
    readonly_fields = [field.name for field in SeedRun._meta.fields]
    inlines = [FailedAttemptInline, SeedChunkInline]
    actions = ["run_again", "cancel_runs"]
    change_list_template = "admin/seeding/seedrun/change_list.html"
    change_form_template = "admin/seeding/seedrun/change_form.html"

    # --- columns -----------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_display(self, run: SeedRun) -> str:
        if run.cleared_at is not None:
            return f"{run.get_status_display()} · rows cleared"
        return run.get_status_display()

    @admin.display(description="Progress")
    def progress_display(self, run: SeedRun) -> str:
        if run.cleared_at is not None:
            return f"{run.total_done:,} / {run.total_planned:,}, cleared"
        return format_html(
            '<progress value="{}" max="100" style="width:6em"></progress> {} / {} ({}%)',
            int(run.progress * 100),
            f"{run.total_done:,}",
            f"{run.total_planned:,}",
            int(run.progress * 100),
        )

    @admin.display(description="Rows/s")
    def rate_display(self, run: SeedRun) -> str:
        rate = run.rows_per_second()
        return f"{rate:,.0f}" if rate else "—"

    @admin.display(description="ETA or duration")
    def eta_display(self, run: SeedRun) -> str:
        return run_timing(run)

    @admin.display(description="Plan")
    def plan_display(self, run: SeedRun) -> str:
        return ", ".join(f"{run.planned(kind):,} {kind}" for kind in KINDS if run.planned(kind))

    @admin.display(description="Requested by")
    def requested(self, run: SeedRun) -> str:
        return run.requested_by_label or "—"

    @admin.display(description="Error")
    def error_display(self, run: SeedRun) -> str:
        return (run.error[:120] + "…") if len(run.error) > 120 else run.error

    # --- permissions: runs are written by the services only ---------------------------

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A run's rows point at it: clear them first (seed_demo_data --clear-run).
        if obj is not None and (obj.is_active or (obj.cleared_at is None and obj.total_done)):
            return False
        return super().has_delete_permission(request, obj)

    def has_run_seed_permission(self, request) -> bool:
        return request.user.has_perm(SEED_PERMISSION)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None:
            rate = run.rows_per_second()
            extra_context = {
                **(extra_context or {}),
                "run_progress": f"{run.total_done:,} / {plural(run.total_planned, 'row')} ({run.progress:.0%})",
                "run_rate": f"{rate:,.0f} rows/s" if rate else "no rows/s yet",
                "run_timing": run_timing(run),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "any_active": SeedRun.objects.filter(is_active=True).exists()}
        return super().changelist_view(request, extra_context)

    # --- the "Seed demo data" page ------------------------------------------------------

    def get_urls(self):
        return [
            path("seed/", self.admin_site.admin_view(self.seed_view), name="seeding_seedrun_seed"),
            *super().get_urls(),
        ]

    def seed_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_run_seed_permission(request):
            # A 403 page, logged as one line: a person without the permission is no server error.
            return permission_denied(request, PermissionDenied())
        form = SeedDemoDataForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            response = self._start(request, form.plan(), form=form)
            if response is not None:
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Seed demo data",
            "form": form,
            "active_run": SeedRun.objects.filter(is_active=True).first(),
            "inline_threshold": f"{settings.SEED_INLINE_THRESHOLD:,}",
        }
        return TemplateResponse(request, "admin/seeding/seedrun/seed_form.html", context)

    def _start(self, request: HttpRequest, plan, *, form: SeedDemoDataForm | None = None) -> HttpResponse | None:
        """Start a run; on success redirect to it, otherwise report why and return None."""
        try:
            outcome = services.seed_request(plan=plan, source=SeedRun.Source.ADMIN, requested_by=request.user)
        except services.RunFailed as exc:
            self._report(request, exc, form=form)
            return HttpResponseRedirect(reverse("admin:seeding_seedrun_change", args=[exc.run.pk]))
        except (services.PlanError, services.SeedingError) as exc:
            self._report(request, exc, form=form)
            return None
        run = outcome.run
        if outcome.queued:
            self.message_user(request, f"Seed run #{run.pk} is queued: workers are writing it in the background.")
        else:
            self.message_user(request, f"Seed run #{run.pk} wrote {plural(run.total_done, 'row')}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:seeding_seedrun_change", args=[run.pk]))

    def _report(self, request: HttpRequest, exc: Exception, *, form: SeedDemoDataForm | None = None) -> None:
        """Every service error as the admin shows it: on the form's fields where it names one, else a message."""
        if isinstance(exc, services.PlanError):
            for field, message in exc.errors.items():
                if form is not None:
                    form.add_error(field if field in form.fields else None, message)
                else:
                    self.message_user(request, f"{field}: {message}", messages.ERROR)
            return
        if isinstance(exc, services.RunAlreadyActive) and form is not None:
            return  # the seed page already says which run is active, with a link to it
        if isinstance(exc, services.RunFailed):
            self.message_user(request, f"{exc} The run's page has the full error.", messages.ERROR)
            return
        if form is not None:
            form.add_error(None, str(exc))
        else:
            self.message_user(request, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", messages.ERROR)

    # --- actions -------------------------------------------------------------------------

    @admin.action(description="Run again with the same plan", permissions=["run_seed"])
    def run_again(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to run again.", messages.WARNING)
            return None
        run = queryset.get()
        # The same plan and seed with a fresh base time, like a new request.
        return self._start(request, dataclasses.replace(services.plan_of(run=run), as_of=None))

    @admin.action(description="Cancel", permissions=["run_seed"])
    def cancel_runs(self, request: HttpRequest, queryset) -> None:
        cancelled = []
        for run in queryset.filter(is_active=True):
            with contextlib.suppress(services.RunNotActive):  # it ended meanwhile
                by = services.Actor(SeedRun.Source.ADMIN, request.user)
                cancelled.append(services.seed_run_cancel(run=run, by=by).pk)
        if cancelled:
            which = ", ".join(f"#{pk}" for pk in cancelled)
            self.message_user(
                request,
                f"Cancelled seed run {which}: no new chunk starts. Chunks already being written may still commit; "
                "their rows are kept and counted.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, "None of the selected runs was queued or running.", messages.WARNING)


def run_timing(run: SeedRun) -> str:
    """ETA while a run is active, its duration once it has ended."""
    if run.is_active:
        eta = run.eta_seconds()
        return f"ETA {duration(eta)}" if eta is not None else "ETA …"
    if run.started_at and run.finished_at:
        return f"took {duration((run.finished_at - run.started_at).total_seconds())}"
    return "—"


# django-dramatiq registers its Task model, which stays empty here (its
# AdminMiddleware is not used: runs and chunks are tracked in SeedRun/SeedChunk).
if admin.site.is_registered(Task):
    admin.site.unregister(Task)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, read-only: who seeded, cancelled, resumed or cleared what, and when."""

    list_display = ("at", "actor_label", "action", "source", "run_link", "summary")
    list_filter = ("action", "source")
    search_fields = ("actor_label", "summary")
    date_hierarchy = "at"
    list_select_related = ("run",)

    @admin.display(description="Run", ordering="run_number")
    def run_link(self, entry: AuditEntry) -> str:
        if entry.run_id is None:
            return f"#{entry.run_number} (deleted)" if entry.run_number else "—"
        url = reverse("admin:seeding_seedrun_change", args=[entry.run_id])
        return format_html('<a href="{}">#{}</a>', url, entry.run_id)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
