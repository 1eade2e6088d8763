"""The admin's "Live stream" page: start a stream, watch it (figures and the latest events), stop it.

A view of ``SeedRunAdmin`` (its URL sits beside the seed page's), kept here so
the run admin stays about runs. It calls the services like every entry point;
the stream itself runs on the workers (the embedded worker without Redis).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from seeding import selectors, services
from seeding.common.formatting import plural
from seeding.forms import LiveStreamForm
from seeding.models import SeedRun

#: The form's field for each field a PlanError names.
FORM_FIELD = {"rate": "rate", "duration": "minutes", "seed": "seed", "scenario": "scenario"}


def live_stream_view(model_admin, request: HttpRequest) -> HttpResponse:
    """GET: the running stream (else the form and the latest stream); POST _start: start one; POST _stop:
    stop the running one."""
    services.seed_runs_settle()
    can_seed = model_admin.has_run_seed_permission(request)
    here = HttpResponseRedirect(reverse("admin:seeding_seedrun_live"))
    # "Run again" on a stream's page opens this form with its rate, duration, seed and scenario.
    initial = {name: request.GET[name] for name in LiveStreamForm.base_fields if name in request.GET}
    form = LiveStreamForm(request.POST if "_start" in request.POST else None, initial=initial)
    if request.method == "POST":
        if not can_seed:
            return model_admin._forbidden(request)
        if "_stop" in request.POST:
            _stop(model_admin, request)
            return here
        if form.is_valid() and _start(model_admin, request, form):
            return here
    stream = selectors.live_stream_latest()
    active = SeedRun.objects.filter(is_active=True).first()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": SeedRun._meta,
        "title": "Live stream",
        "form": form,
        "can_seed": can_seed,
        "stream": stream,
        "figures": selectors.live_stream_figures(stream) if stream else None,
        "events": selectors.live_stream_recent_events(stream) if stream else [],
        "other_active": active if active is not None and not active.is_live else None,
    }
    return TemplateResponse(request, "admin/seeding/seedrun/live_stream.html", context)


def _start(model_admin, request: HttpRequest, form: LiveStreamForm) -> bool:
    data = form.cleaned_data
    try:
        run = services.live_stream_request(
            rate=data["rate"],
            duration=data["minutes"] * 60,
            seed=data["seed"],
            scenario=data["scenario"] or None,
            source=SeedRun.Source.ADMIN,
            requested_by=request.user,
        )
    except services.PlanError as exc:
        for field, message in exc.errors.items():
            form.add_error(FORM_FIELD.get(field), message)  # on the form as a whole: the estate
        return False
    except services.SeedingError as exc:
        form.add_error(None, str(exc))
        return False
    model_admin.message_user(
        request, f"Live stream #{run.pk} started: about {plural(run.events, 'event')} over {data['minutes']} minutes."
    )
    return True


def _stop(model_admin, request: HttpRequest) -> None:
    stream = selectors.live_stream_latest()
    try:
        if stream is None:
            raise services.RunNotActive("no live stream is running")
        services.live_stream_stop(run=stream, by=services.Requester(SeedRun.Source.ADMIN, request.user))
    except services.RunNotActive as exc:
        model_admin.message_user(request, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", messages.WARNING)
        return
    model_admin.message_user(
        request,
        f"Stopped live stream #{stream.pk}; its {plural(stream.events_done, 'event')} are kept.",
        messages.SUCCESS,
    )
