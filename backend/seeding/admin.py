"""Seed runs in the Django admin: history with live progress, a "Seed demo data"
page, and the ways forward from a run: run again, cancel, resume, clear its rows
(or all demo data), delete its record once its rows are gone. Resume and clear
take the command's paths (``--resume``, ``--clear-run``, ``--clear``) behind a
confirmation page that says what will happen. All of it calls the services."""

from __future__ import annotations

import contextlib
import dataclasses
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.defaults import permission_denied
from django_dramatiq.models import Task

from seeding import services
from seeding.common.formatting import duration, format_utc, plural
from seeding.estimates import estimate_pending
from seeding.forms import SeedDemoDataForm
from seeding.generation.kinds import KINDS
from seeding.live_admin import live_stream_view
from seeding.models import AuditEntry, SeedChunk, SeedChunkAttempt, SeedRun
from seeding.named_plans import PLANS, named_plan

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
    # What a person needs to tell runs apart and see how they went; who asked, how and where it ran
    # are filters and on the run's page. Read at 1280-1920 px, sidebar open or closed (admin.css).
    list_display = (
        "id",
        "status_display",
        "progress_display",
        "rate_display",
        "eta_display",
        "plan_display",
        "created",
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
    actions = ["run_again", "resume_run", "clear_run_rows", "cancel_runs", "delete_selected"]
    # One field: with the model's two ("-created_at", "-id") the header numbers each column's sort priority.
    ordering = ("-id",)
    change_list_template = "admin/seeding/seedrun/change_list.html"

    class Media:
        css = {"all": ("inventory/admin_lists.css", "seeding/admin.css")}

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
        # No bar here (the run's page has one): the list's width goes to the error.
        return f"{run.total_done:,} / {run.total_planned:,} ({progress_percent(run)})"

    @admin.display(description="Rows/s")
    def rate_display(self, run: SeedRun) -> str:
        rate = run.rows_per_second()
        return f"{rate:,.0f}" if rate else "—"

    @admin.display(description="ETA or time")
    def eta_display(self, run: SeedRun) -> str:
        return run_timing(run, short=True)

    @admin.display(description="Plan")
    def plan_display(self, run: SeedRun) -> str:
        """The counts in the order of KINDS, the kinds named on hover: sentences push the columns apart."""
        return format_html(
            '<span title="{}">{}</span>',
            ", ".join(f"{run.planned(kind):,} {kind}" for kind in KINDS),
            " / ".join(f"{run.planned(kind):,}" for kind in KINDS),
        )

    @admin.display(description="Created", ordering="created_at")
    def created(self, run: SeedRun) -> str:
        return f"{run.created_at:%Y-%m-%d %H:%M}"

    @admin.display(description="Error")
    def error_display(self, run: SeedRun) -> str:
        """Cut to the column's width (admin.css), whole on hover and on the run's page."""
        return format_html('<span class="cut" title="{}">{}</span>', run.error, run.error) if run.error else ""

    # --- permissions: runs are written by the services only ---------------------------

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A run's rows point at it: clear them first. Once they are gone its record may go
        # too; the audit trail keeps its number (AuditEntry.run_number).
        if obj is not None and keeps_rows(obj):
            return False
        return super().has_delete_permission(request, obj)

    def has_run_seed_permission(self, request) -> bool:
        return request.user.has_perm(SEED_PERMISSION)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        services.seed_runs_settle()  # a run whose process died reads as failed, not running
        run = self.get_object(request, unquote(object_id))
        if run is not None:
            rate = run.rows_per_second()
            extra_context = {
                **(extra_context or {}),
                "run_progress": f"{run.total_done:,} / {plural(run.total_planned, 'row')} ({progress_percent(run)})",
                "run_rate": f"{rate:,.0f} rows/s" if rate else "no rows/s yet",
                "run_timing": run_timing(run),
                **self._next_steps(request, run),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _next_steps(self, request: HttpRequest, run: SeedRun) -> dict:
        """What the run's page offers: Cancel while it is active; then Resume (a failed or cancelled run),
        Clear its rows (while they exist) and Run again, each with what it would do."""
        steps = {
            "can_seed": self.has_run_seed_permission(request),
            "cancel_url": reverse("admin:seeding_seedrun_cancel", args=[run.pk]),
            "again_url": again_url(run),
            "clear_rows": plural(run.total_done, "row") if run.cleared_at is None and run.total_done else "",
        }
        if run.status in (SeedRun.Status.FAILED, SeedRun.Status.CANCELLED) and run.cleared_at is None:
            try:
                left = services.seed_run_resume_plan(run=run)
            except services.RunNotResumable as exc:
                steps["resume_refused"] = str(exc)
            else:
                # A stream goes on from its checkpoint: the events it has not written yet, as time passes.
                steps["resume_left"] = plural(run.events - run.done("events") if run.is_live else left.rows, "row")
                steps["resume_where"] = "on the background workers" if left.queued else "while you wait"
        return steps

    def changelist_view(self, request, extra_context=None):
        services.seed_runs_settle()
        extra_context = {**(extra_context or {}), "any_active": SeedRun.objects.filter(is_active=True).exists()}
        return super().changelist_view(request, extra_context)

    # --- the "Seed demo data" page ------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("seed/", view(self.seed_view), name="seeding_seedrun_seed"),
            path("live/", view(self.live_view), name="seeding_seedrun_live"),
            path("clear/", view(self.clear_all_view), name="seeding_seedrun_clear_all"),
            path("<path:object_id>/resume/", view(self.resume_view), name="seeding_seedrun_resume"),
            path("<path:object_id>/clear/", view(self.clear_view), name="seeding_seedrun_clear"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="seeding_seedrun_cancel"),
            *super().get_urls(),
        ]

    def live_view(self, request: HttpRequest) -> HttpResponse:
        return live_stream_view(self, request)

    def seed_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_run_seed_permission(request):
            return self._forbidden(request)
        # A named plan fills the counts (?plan=L); "Run again" on a run's page opens this form with the
        # run's plan and seed (?assets=…&seed=…).
        chosen = request.GET.get("plan") if request.GET.get("plan") in PLANS else None
        initial = {
            **(named_plan(chosen) if chosen else {}),
            **{name: request.GET[name] for name in SeedDemoDataForm.base_fields if name in request.GET},
        }
        form = SeedDemoDataForm(request.POST or None, initial=initial)
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
            "plans": [(name, plural(sum(counts.values()), "row")) for name, counts in PLANS.items()],
            "chosen_plan": chosen,
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

    def _forbidden(self, request: HttpRequest) -> HttpResponse:
        """A 403 page, logged as one line: a person without the permission is no server error."""
        return permission_denied(request, PermissionDenied())

    def _run(self, request: HttpRequest, object_id: str) -> SeedRun:
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"There is no seed run #{object_id}.")
        return run

    def _requester(self, request: HttpRequest) -> services.Requester:
        return services.Requester(SeedRun.Source.ADMIN, request.user)

    def _back_to(self, run: SeedRun | None) -> HttpResponseRedirect:
        if run is None:
            return HttpResponseRedirect(reverse("admin:seeding_seedrun_changelist"))
        return HttpResponseRedirect(reverse("admin:seeding_seedrun_change", args=[run.pk]))

    def _confirmation(self, request: HttpRequest, template: str, title: str, run: SeedRun | None, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "run": run,
            "back_url": self._back_to(run)["Location"],
            **context,
        }
        return TemplateResponse(request, f"admin/seeding/seedrun/{template}", context)

    # --- resume, clear, cancel: confirmation pages and their POSTs -------------------------

    def resume_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: what resuming would write, and where; POST: resume (``--resume``), inline or queued by size."""
        if not self.has_run_seed_permission(request):
            return self._forbidden(request)
        run = self._run(request, object_id)
        try:
            if request.method == "POST":
                self._resume(request, run)
                return self._back_to(run)
            left = services.seed_run_resume_plan(run=run)
        except services.SeedingError as exc:
            self._report(request, exc)
            return self._back_to(run)
        threshold = f"{settings.SEED_INLINE_THRESHOLD:,}"
        if not left.queued:
            where = (
                f"They will be written in this request (up to {threshold} rows are written at once); "
                "the run's page opens when they are."
            )
        else:
            workers = (
                "the worker processes"
                if settings.REDIS_URL
                else "the embedded worker in the web process, as no REDIS_URL is set"
            )
            where = (
                f"More than {threshold} rows are left, so they will be queued for the background workers, "
                f"{workers}. This page returns at once, and the run's page follows their progress."
            )
        # On the path it will take: written here (inline, maybe into nearly empty tables) or on the workers.
        estimate = estimate_pending(left.chunks, queued=left.queued, chunk_size=run.chunk_size)
        return self._confirmation(
            request,
            "resume_confirmation.html",
            f"Resume seed run #{run.pk}?",
            run,
            done=f"{run.total_done:,}",
            planned=f"{run.total_planned:,}",
            chunks=plural(len(left.chunks), "chunk"),
            rows=f"{left.rows:,}",
            by_kind=counts_text(left.rows_by_kind),
            as_of=format_utc(run.as_of),
            where=where,
            estimate=duration(estimate.seconds),
            estimate_basis=estimate.basis,
        )

    def _resume(self, request: HttpRequest, run: SeedRun) -> None:
        done_before = run.total_done
        outcome = services.seed_run_resume(run=run, by=self._requester(request))
        run = outcome.run
        if outcome.queued:
            left = run.total_planned - run.total_done
            self.message_user(
                request,
                f"Seed run #{run.pk} resumed: queued for the workers, {plural(left, 'row')} left to write.",
                messages.SUCCESS,
            )
        elif run.status == SeedRun.Status.SUCCEEDED:
            written = plural(run.total_done - done_before, "row")
            self.message_user(
                request,
                f"Seed run #{run.pk} resumed and succeeded: wrote {written}, {run.total_done:,} in all.",
                messages.SUCCESS,
            )
        else:  # cancelled meanwhile
            self.message_user(request, f"Seed run #{run.pk} resumed, then stopped: now {run.status}.", messages.WARNING)

    def clear_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the rows clearing this run would delete, by kind; POST: clear them (``--clear-run``)."""
        if not self.has_run_seed_permission(request):
            return self._forbidden(request)
        return self._clear(request, self._run(request, object_id))

    def clear_all_view(self, request: HttpRequest) -> HttpResponse:
        """GET: every row seeding wrote, by kind; POST: delete them all (``--clear``)."""
        if not self.has_run_seed_permission(request):
            return self._forbidden(request)
        return self._clear(request, None)

    def _clear(self, request: HttpRequest, run: SeedRun | None) -> HttpResponse:
        what = f"seed run #{run.pk}'s rows" if run is not None else "all demo data"
        if request.method == "POST":
            try:
                result = services.demo_data_clear(run=run, by=self._requester(request))
            except services.SeedingError as exc:
                self._report(request, exc)
            else:
                self.message_user(request, f"Cleared {what}: {counts_text(result.deleted)}.", messages.SUCCESS)
            return self._back_to(run)
        try:
            preview = services.demo_data_clear_preview(run=run)
        except services.SeedingError as exc:
            self._report(request, exc)  # shown at the top of the page, which offers no button
            preview = None
        title = f"Clear seed run #{run.pk}'s rows?" if run is not None else "Clear all demo data?"
        return self._confirmation(
            request,
            "clear_confirmation.html",
            title,
            run,
            refused=preview is None,
            rows=plural(preview.total, "row") if preview else "",
            by_kind=counts_text(preview.deleted) if preview else "",
        )

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST (the Cancel button on an active run's page): cancel it, as the list action does."""
        if not self.has_run_seed_permission(request):
            return self._forbidden(request)
        run = self._run(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.cancel_runs(request, SeedRun.objects.filter(pk=run.pk))
        return self._back_to(run)

    # --- actions -------------------------------------------------------------------------

    @admin.action(description="Run again with the same plan", permissions=["run_seed"])
    def run_again(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to run again.", messages.WARNING)
            return None
        run = queryset.get()
        # The same plan and seed with a fresh base time, like a new request.
        return self._start(request, dataclasses.replace(services.plan_of(run=run), as_of=None))

    @admin.action(description="Resume…", permissions=["run_seed"])
    def resume_run(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """To the run's resume confirmation: one run, as only one can be active at a time."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to resume.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:seeding_seedrun_resume", args=[queryset.get().pk]))

    @admin.action(description="Clear its rows…", permissions=["run_seed"])
    def clear_run_rows(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """To the run's clear confirmation; for every run's rows, "Clear all demo data" above the list."""
        if queryset.count() != 1:
            self.message_user(
                request,
                'Select exactly one run to clear its rows, or use "Clear all demo data" for every run\'s.',
                messages.WARNING,
            )
            return None
        return HttpResponseRedirect(reverse("admin:seeding_seedrun_clear", args=[queryset.get().pk]))

    @admin.action(description=django_delete_selected.short_description, permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """Django's delete, after saying which runs still have rows (or are active) and the way forward:
        Django alone would tell a superuser "your account doesn't have permission"."""
        if blocked := [run for run in queryset.order_by("pk") if keeps_rows(run)]:
            self.message_user(request, why_not_deleted(blocked), messages.ERROR)
            return None
        return django_delete_selected(self, request, queryset)

    @admin.action(description="Cancel", permissions=["run_seed"])
    def cancel_runs(self, request: HttpRequest, queryset) -> None:
        cancelled = []
        for run in queryset.filter(is_active=True):
            with contextlib.suppress(services.RunNotActive):  # it ended meanwhile
                by = services.Requester(SeedRun.Source.ADMIN, request.user)
                stop = services.live_stream_stop if run.is_live else services.seed_run_cancel
                cancelled.append(stop(run=run, by=by).pk)
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


def progress_percent(run: SeedRun) -> str:
    """Rows written as a whole percent, floored so that "100%" means done; the list and the run's page
    both show this one (rounding there and flooring here once showed 59 % and 58 % for one run)."""
    planned = run.total_planned
    return f"{run.total_done * 100 // planned if planned else 100}%"


def counts_text(counts: dict[str, int]) -> str:
    """ "2,000 deployments, 40,000 events": the kinds there are rows of, in write order ("0 applications,
    0 assets" before them is noise a reader has to skip on a confirmation page)."""
    return ", ".join(f"{n:,} {kind}" for kind, n in counts.items() if n) or "no rows"


def keeps_rows(run: SeedRun) -> bool:
    """True while deleting the run's record must wait: it is active, or its rows are still in the inventory."""
    return bool(run.is_active or (run.cleared_at is None and run.total_done))


def again_url(run: SeedRun) -> str:
    """The seed page filled in with ``run``'s plan, seed and scenario (the base time left to now, as "Run
    again"); for a live stream, the live stream page with its rate, duration, seed and scenario."""
    scenario = {"scenario": run.scenario["name"]} if run.scenario else {}
    if run.is_live:
        rate = round(run.events / run.window_seconds / run.scenario.get("rate", 1.0), 3)  # as asked, before the pack
        query = {"rate": f"{rate:g}", "minutes": run.window_seconds // 60, "seed": run.seed, **scenario}
        return f"{reverse('admin:seeding_seedrun_live')}?{urlencode(query)}"
    query = {**{kind: run.planned(kind) for kind in KINDS}, "seed": run.seed, **scenario}
    return f"{reverse('admin:seeding_seedrun_seed')}?{urlencode(query)}"


def why_not_deleted(runs: list[SeedRun]) -> SafeString:
    """Why these runs' records cannot be deleted yet, with the way forward for each."""
    active = [run for run in runs if run.is_active]
    with_rows = [run for run in runs if not run.is_active]
    parts = []
    if active:
        parts.append(
            format_html(
                "{} {}: cancel {} first, or wait for {} to finish.",
                _runs_named(active),
                "is still active" if len(active) == 1 else "are still active",
                "it" if len(active) == 1 else "them",
                "it" if len(active) == 1 else "them",
            )
        )
    if with_rows:
        links = format_html_join(
            " · ",
            '<a href="{}">clear #{}\'s rows</a>',
            ((reverse("admin:seeding_seedrun_clear", args=[run.pk]), run.pk) for run in with_rows),
        )
        if len(with_rows) > 1:  # one run's rows may be parents of another's: clearing everything is one step
            links = format_html(
                '{} · or <a href="{}">all demo data</a>', links, reverse("admin:seeding_seedrun_clear_all")
            )
        parts.append(
            format_html(
                "{} {} in the inventory, which point at {}: clear them first ({}), then delete {}; "
                "the audit trail keeps a deleted run's number.",
                _runs_named(with_rows),
                "still has its rows" if len(with_rows) == 1 else "still have their rows",
                "it" if len(with_rows) == 1 else "them",
                links,
                "it" if len(with_rows) == 1 else "them",
            )
        )
    return format_html("{} Nothing was deleted.", format_html_join(" ", "{}", ((part,) for part in parts)))


def _runs_named(runs: list[SeedRun]) -> str:
    return ("Seed run " if len(runs) == 1 else "Seed runs ") + ", ".join(f"#{run.pk}" for run in runs)


def run_timing(run: SeedRun, *, short: bool = False) -> str:
    """ETA while a run is active (at the current stretch's rate), its time spent writing once it has ended:
    a resumed run's pauses are no part of it, and it says over how many stretches it wrote (``short``,
    for the list: "took 1.2 s, 2 stretches")."""
    if run.is_active:
        eta = run.eta_seconds()
        return f"ETA {duration(eta)}" if eta is not None else "ETA …"
    if run.started_at is None or run.finished_at is None:
        return "—"
    took = duration(run.active_seconds())
    if run.stretches == 1:
        return f"took {took}"
    return (
        f"took {took}, {run.stretches} stretches" if short else f"took {took} of writing over {run.stretches} stretches"
    )


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
