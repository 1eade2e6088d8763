"""Admin pages that show the estate well and stay fast on millions of rows.

Lists name hosts and applications, not ids; the first page of each list is
varied (assets newest first, applications in key order, which mixes third-party
and in-house ones); an asset's page shows its deployments and latest events.
Filters are on low-cardinality choice columns; search uses lookups the indexes
answer (prefix lookups on unique columns, which PostgreSQL serves from their
pattern indexes) or scans that stay cheap at the sizes each table reaches (see
each ``search_fields``); foreign keys are raw-id widgets (a <select> with
50,000 assets would not load); ``show_full_result_count`` is off so a filtered
page does not COUNT(*) the table twice. Counts, pages and facet counts of
large lists follow inventory/large_lists.py: exact where cheap, estimated
where exact ones would scan millions of rows, last pages read backwards.

The lists read well from 1280 to 1920 px with Django's navigation sidebar open (its default) or
closed: one line per row, the columns a reader needs most, one long text per list (an event's
message) taking the width the others leave and cut with its whole text on hover; the filters go
above a list whose box is too narrow to have them beside it (inventory/static/inventory/admin.css).
"""

import ipaddress
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from inventory.large_lists import ChoicesFilter, EstimatedFacets, LargeTablePaginator, ValuesFilter
from inventory.models import Application, Asset, Deployment, Event, Person
from inventory.selectors import events_around, newest_events_since, row_counts

#: An asset's page lists at most this many of its events, newest first, with a link to all of them.
ASSET_PAGE_EVENTS = 15
#: A search by the beginning of a host (or application) name covers at most this many of them (the page
#: says so when there are more).
HOSTS_SEARCHED = 500


def cut(text: str) -> str:
    """A cell's text that the page may cut to the column's width (inventory/admin.css), whole on hover."""
    return format_html('<span class="cut" title="{}">{}</span>', text, text)


class SeededAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50
    paginator = LargeTablePaginator

    class Media:
        # One line per row and a list that fits its box, sidebar open or not (see the file).
        css = {"all": ("inventory/admin_lists.css", "inventory/admin.css")}

    @admin.display(boolean=True, description="Demo", ordering="seed_run")
    def is_demo(self, obj) -> bool:
        return obj.seed_run_id is not None

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        paginator.request = request  # a slow exact count moves the page's other counts to estimates
        paginator.list_max_show_all = self.list_max_show_all
        return paginator

    @staticmethod
    def note_once(request, text: str) -> None:
        """A note on the page, once (the admin builds a list's queryset again for each filter's counts)."""
        noted = request.__dict__.setdefault("_demoseed_notes", set())
        if text not in noted:
            noted.add(text)
            messages.info(request, text)

    def beginning_with(self, request, queryset, term: str, what: str) -> list[int]:
        """The keys of the first HOSTS_SEARCHED rows of ``queryset`` (hosts or applications whose name begins
        with ``term``), with a note on the page when there are more."""
        keys = list(queryset.values_list("pk", flat=True)[: HOSTS_SEARCHED + 1])
        if len(keys) > HOSTS_SEARCHED:
            self.note_once(
                request,
                f"Only the first {HOSTS_SEARCHED} of the {queryset.count():,} {what} that begin with {term!r} "
                "were searched: type more of the name to narrow it.",
            )
        return keys[:HOSTS_SEARCHED]


class ChosenValueFilter(admin.SimpleListFilter):
    """A filter by one value of a column, shown only while it filters: the list was opened for it from a
    row's page ("Everyone in Payments", "Every device Janet Marshall uses"), and says so. Never a list of
    every value (tens of thousands of people; three dozen teams would bury the list under its filters)."""

    field = ""

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else []

    def has_output(self) -> bool:
        return bool(self.value())

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class PersonFilter(ChosenValueFilter):
    title = "person"
    parameter_name = "person"
    field = "assigned_to"


class DemoDataFilter(EstimatedFacets, admin.SimpleListFilter):
    title = "origin"
    parameter_name = "origin"
    conditions = {"demo": Q(seed_run__isnull=False), "real": Q(seed_run__isnull=True)}

    def lookups(self, request, model_admin):
        return [("demo", "Demo data"), ("real", "Entered by people")]

    def queryset(self, request, queryset):
        if self.value() == "demo":
            return queryset.demo()
        if self.value() == "real":
            return queryset.real()
        return queryset

    def get_facet_queryset(self, changelist) -> dict:
        """Exact counts for the whole table from the row-count deltas, and 0 for an origin the table holds
        no rows of (the planner never estimates fewer than one row: "Entered by people (≈ 1)" when there are
        none); otherwise as every other filter (EstimatedFacets)."""
        counts = row_counts().get(changelist.model)
        if counts is None:  # a table without recorded counts (the people): as every other filter
            return super().get_facet_queryset(changelist)
        in_table = {"demo": counts["demo"], "real": counts["total"] - counts["demo"]}
        filtered = changelist.get_queryset(self.request, exclude_parameters=self.expected_parameters())
        if not filtered.query.has_filters():
            return {f"{i}__c": f"{in_table[value]:,}" for i, (value, _title) in enumerate(self.lookup_choices)}
        facets = super().get_facet_queryset(changelist)
        for i, (value, _title) in enumerate(self.lookup_choices):
            if in_table[value] == 0:  # none in the table: none in any part of it, whatever the estimate says
                facets[f"{i}__c"] = "0"
        return facets

    def get_facet_counts(self, pk_attname, filtered_qs):
        """The column's own condition (Django's default counts ``pk IN (the filtered list)``, a second scan)."""
        return {
            f"{i}__c": Count(pk_attname, filter=self.conditions[value])
            for i, (value, _title) in enumerate(self.lookup_choices)
        }


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page for reading; each links to its own page for editing.

    Drawn by a template of our own: Django's tabular inline writes each row's str() above it, which on
    a row that is only read repeats what the row says, and shows bare headers when there are no rows.
    """

    template = "admin/inventory/readonly_tabular.html"
    #: What the page says instead of an empty table.
    empty_text = ""
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DeploymentsOnAsset(ReadOnlyInline):
    model = Deployment
    fields = ("application", "version", "environment", "status", "deployed_at")
    readonly_fields = fields
    ordering = ("application__name",)
    verbose_name_plural = "Applications deployed here"
    empty_text = "No application is deployed on this asset."

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("application")


class LatestEventsOnAsset(ReadOnlyInline):
    model = Event
    fields = ("occurred_at", "severity", "kind", "source", "message", "application")
    readonly_fields = fields
    ordering = ("-occurred_at", "-id")
    verbose_name_plural = f"Latest events (the {ASSET_PAGE_EVENTS} newest)"
    empty_text = "No event has been recorded on this asset."

    def get_queryset(self, request):
        """Only the newest events of the asset on the page: a noisy host has thousands."""
        events = super().get_queryset(request).select_related("asset", "deployment__application")
        asset_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if asset_id is None:
            return events.none()
        newest = events.filter(asset_id=asset_id).order_by("-occurred_at", "-id").values_list("pk", flat=True)
        return events.filter(pk__in=list(newest[:ASSET_PAGE_EVENTS]))

    @admin.display(description="Application")
    def application(self, event: Event) -> str:
        return event.deployment.application.name if event.deployment_id else "-"


@admin.register(Application)
class ApplicationAdmin(SeededAdmin):
    list_display = (
        "name",
        "code",
        "version",
        "vendor_name",
        "category",
        "tier_number",
        "lifecycle",
        "owner_team",
        "is_demo",
    )
    list_filter = (("tier", ChoicesFilter), ("lifecycle", ChoicesFilter), ("category", ValuesFilter), DemoDataFilter)
    # Thousands of rows: a scan for a word in the name or vendor is cheap.
    search_fields = ("code__startswith", "name__icontains", "vendor__icontains")
    raw_id_fields = ("seed_run",)
    readonly_fields = ("the_team",)
    ordering = ("code",)  # key order: third-party and in-house, all domains, on page 1

    @admin.display(description="The owner team")
    def the_team(self, application: Application) -> str:
        """Who builds it and what they run: a click from the application to its team's people and hosts."""
        return _team_links(application.owner_team) if application.pk is not None else "-"

    @admin.display(description="Vendor", ordering="vendor")
    def vendor_name(self, application: Application) -> str:
        return cut(application.vendor)

    @admin.display(description="Tier", ordering="tier")
    def tier_number(self, application: Application) -> str:
        """ "Tier 1", what it means on hover: the whole label would take a fifth of the list's width."""
        label = application.get_tier_display()
        return format_html('<span title="{}">{}</span>', label, label.split(" (")[0])


@admin.register(Asset)
class AssetAdmin(SeededAdmin):
    list_display = (
        "hostname",
        "ip_address",
        "asset_type",
        "hardware",
        "operating_system_name",
        "location",
        "lifecycle",
        "purchase_date",
        "is_demo",
    )
    list_filter = (
        ("asset_type", ChoicesFilter),
        ("lifecycle_status", ChoicesFilter),
        ("manufacturer", ValuesFilter),
        ("owner_team", ValuesFilter),
        PersonFilter,
        DemoDataFilter,
    )
    # Host names and serials through their unique indexes (IP addresses too: get_search_results);
    # maker, model and the person using it by a scan, cheap at the hundred thousand assets an estate has
    # ("ThinkPad T14", "Maeda").
    search_fields = (
        "hostname__startswith",
        "serial_number__startswith",
        "manufacturer__iexact",
        "model__icontains",
        "assigned_to__icontains",
    )
    raw_id_fields = ("seed_run",)
    readonly_fields = ("all_events", "person", "devices_of_the_person", "what_the_team_owns")
    inlines = (DeploymentsOnAsset, LatestEventsOnAsset)
    ordering = ("-id",)  # the newest records first: every type, several sites, on page 1

    def get_search_results(self, request, queryset, search_term):
        """An IP address is looked up as one, through its unique index (an admin text search would compare
        PostgreSQL's inet as text, "10.20.0.3/32", and find nothing)."""
        term = search_term.strip()
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(ip_address=term), False

    @admin.display(description="Hardware", ordering="manufacturer")
    def hardware(self, asset: Asset) -> str:
        return cut(f"{asset.manufacturer} {asset.model}")

    @admin.display(description="Operating system", ordering="operating_system")
    def operating_system_name(self, asset: Asset) -> str:
        return cut(asset.operating_system)

    @admin.display(description="Lifecycle", ordering="lifecycle_status")
    def lifecycle(self, asset: Asset) -> str:
        return asset.get_lifecycle_status_display()

    @admin.display(description="Used by")
    def person(self, asset: Asset) -> str:
        """The person in the directory: their title, team and manager are a click away."""
        # By name: the directory's names are unique in any estate a plan makes (models.Person.name).
        found = Person.objects.filter(name=asset.assigned_to).order_by("pk").first() if asset.assigned_to else None
        if found is None:
            return asset.assigned_to or "-"
        url = reverse("admin:inventory_person_change", args=[found.pk])
        return format_html('<a href="{}">{}</a>, {}, {}', url, found.name, found.title, found.team)

    @admin.display(description="The person's devices")
    def devices_of_the_person(self, asset: Asset) -> str:
        """Whoever uses it: their other devices are a click away (a person has one or two, at one site)."""
        return _assets_sharing(asset, "assigned_to", "Every device {} uses", parameter="person")

    @admin.display(description="The team's assets")
    def what_the_team_owns(self, asset: Asset) -> str:
        return _assets_sharing(asset, "owner_team", "Everything {} owns", parameter="owner_team")

    @admin.display(description="Events")
    def all_events(self, asset: Asset) -> str:
        if asset.pk is None:
            return "-"
        url = reverse("admin:inventory_event_changelist") + f"?asset__id__exact={asset.pk}"
        return format_html('<a href="{}">All events of {}</a>', url, asset.hostname)


def _assets_sharing(asset: Asset, field: str, text: str, *, parameter: str) -> str:
    """A link to the asset list filtered (by its filter ``parameter``) to the assets with ``asset``'s value
    of ``field``, or "-"."""
    value = getattr(asset, field)
    if asset.pk is None or not value:
        return "-"
    url = reverse("admin:inventory_asset_changelist") + "?" + urlencode({parameter: value})
    return format_html('<a href="{}">{}</a>', url, format_html(text, value))


class TeamFilter(ChosenValueFilter):
    title = "team"
    parameter_name = field = "team"


class ReportsToFilter(ChosenValueFilter):
    title = "reports to"
    parameter_name = "manager"
    field = "manager_id"

    def lookups(self, request, model_admin):
        """The manager by name (the parameter is their key)."""
        if not self.value() or not self.value().isdigit():
            return []
        manager = Person.objects.filter(pk=self.value()).first()
        return [(self.value(), manager.name if manager else self.value())]

    def queryset(self, request, queryset):
        if self.value() and not self.value().isdigit():
            return queryset.none()
        return super().queryset(request, queryset)


@admin.register(Person)
class PersonAdmin(SeededAdmin):
    """The directory: who uses the end-user devices, their team, site and manager."""

    list_display = ("name", "title_text", "team", "department", "location", "manager_name", "is_demo")
    list_filter = (
        ("department", ValuesFilter),
        ("location", ValuesFilter),
        TeamFilter,
        ReportsToFilter,
        DemoDataFilter,
    )
    # Tens of thousands of people at most: a scan for part of a name or title is cheap.
    search_fields = ("name__icontains", "email__istartswith", "title__icontains")
    list_select_related = ("manager",)
    raw_id_fields = ("manager", "seed_run")
    readonly_fields = ("devices", "reports", "team_links")
    fieldsets = (
        (None, {"fields": ("name", "email", "title", "team", "department", "location", "manager")}),
        ("Around this person", {"fields": ("devices", "reports", "team_links")}),
        ("Origin", {"fields": ("seed_run",)}),
    )

    @admin.display(description="Title", ordering="title")
    def title_text(self, person: Person) -> str:
        return cut(person.title)

    @admin.display(description="Manager", ordering="manager__name")
    def manager_name(self, person: Person) -> str:
        return person.manager.name if person.manager_id and person.manager else "-"

    @admin.display(description="Devices")
    def devices(self, person: Person) -> str:
        """What they use, each linked: one or two devices, at their site."""
        if person.pk is None:
            return "-"
        assets = Asset.objects.filter(assigned_to=person.name).order_by("hostname")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a> ({} {})',
            (
                (reverse("admin:inventory_asset_change", args=[a.pk]), a.hostname, a.manufacturer, a.model)
                for a in assets
            ),
        )
        return links or "No device is assigned to them."

    @admin.display(description="Reports")
    def reports(self, person: Person) -> str:
        if person.pk is None:
            return "-"
        count = Person.objects.filter(manager_id=person.pk).count()
        if not count:
            return "Nobody reports to them."
        url = reverse("admin:inventory_person_changelist") + "?" + urlencode({"manager": person.pk})
        return format_html('<a href="{}">{} people report to {}</a>', url, f"{count:,}", person.name)

    @admin.display(description="Team")
    def team_links(self, person: Person) -> str:
        return _team_links(person.team) if person.pk is not None else "-"


def _team_links(team: str) -> str:
    """Everyone in ``team`` and everything it owns, where it has people and assets (a business team owns
    none; a team may own assets and have nobody in the directory); "-" when it has neither."""
    links = []
    if team and Person.objects.filter(team=team).exists():
        people = reverse("admin:inventory_person_changelist") + "?" + urlencode({"team": team})
        links.append(format_html('<a href="{}">Everyone in {}</a>', people, team))
    if team and Asset.objects.filter(owner_team=team).exists():
        assets = reverse("admin:inventory_asset_changelist") + "?" + urlencode({"owner_team": team})
        links.append(format_html('<a href="{}">Everything {} owns</a>', assets, team))
    return format_html_join(" · ", "{}", ((link,) for link in links)) if links else "-"


@admin.register(Deployment)
class DeploymentAdmin(SeededAdmin):
    list_display = ("application_name", "asset", "version", "environment", "status", "deployed_at", "is_demo")
    list_filter = (("environment", ChoicesFilter), ("status", ChoicesFilter), DemoDataFilter)
    list_select_related = ("application", "asset")
    search_fields = ("asset__hostname__startswith", "application__code__startswith", "application__name__istartswith")
    raw_id_fields = ("application", "asset", "seed_run")

    @admin.display(description="Application", ordering="application")
    def application_name(self, deployment: Deployment) -> str:
        return cut(deployment.application.name)

    def get_search_results(self, request, queryset, search_term):
        """The deployments on hosts whose name begins with the term, or of applications whose code or name
        does: hosts and applications found first through their indexes (at most HOSTS_SEARCHED of each),
        then their deployments through the deployment's own indexes. The admin's search would join every
        deployment to its host and application to compare them (2 s at a million deployments)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        hosts = self.beginning_with(request, Asset.objects.filter(hostname__startswith=term), term, "hosts")
        applications = Application.objects.filter(Q(code__startswith=term) | Q(name__istartswith=term))
        applications = self.beginning_with(request, applications, term, "applications")
        return queryset.filter(Q(asset_id__in=hosts) | Q(application_id__in=applications)), False


@admin.register(Event)
class EventAdmin(SeededAdmin):
    # The message takes the width the others leave: severity and kind share a column ("Warning alert"),
    # source and origin are on the event's page (and origin has its filter).
    list_display = ("occurred", "what", "asset", "application", "message_text")
    list_filter = (("severity", ChoicesFilter), ("kind", ChoicesFilter), DemoDataFilter)
    list_select_related = ("asset", "deployment__application")
    search_fields = ("message__icontains",)
    raw_id_fields = ("asset", "deployment", "seed_run")
    # Sorting by the indexed timestamp lets the database read the newest page
    # straight off the index instead of sorting a million rows.
    ordering = ("-occurred_at",)
    sortable_by = ("occurred",)
    readonly_fields = ("around",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The whole message in view (up to 255 characters), not a short text box.
        kwargs["widgets"] = {"message": forms.Textarea(attrs={"rows": 2, "cols": 100})}
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="Around this event")
    def around(self, event: Event) -> str:
        """What happened around it (``selectors.events_around``): for an incident, its story from the first
        alert to the resolution; for a change, its wave; else the same application's (or asset's) events."""
        if event.pk is None:
            return "-"
        nearby = events_around(event)
        rows = format_html_join(
            "",
            '<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">{}</a></td></tr>',
            (
                (
                    mark_safe(' style="font-weight: bold"') if other.pk == event.pk else "",
                    date_format(timezone.localtime(other.occurred_at), "DATETIME_FORMAT"),
                    other.get_severity_display(),
                    other.get_kind_display(),
                    other.asset.hostname,
                    reverse("admin:inventory_event_change", args=[other.pk]),
                    other.message,
                )
                for other in nearby
            ),
        )
        header = mark_safe("<tr><th>Occurred at</th><th>Severity</th><th>Kind</th><th>Asset</th><th>Message</th></tr>")
        return format_html("<table>{}{}</table>", header, rows)

    def get_search_results(self, request, queryset, search_term):
        """A host name (or its beginning) finds the host's events through the host name index; anything
        else, the events whose message contains it ("failover", "INC0012345").

        The message search scans: at plan L's million events, 0.2 to 0.5 s on SQLite and 0.3 to 0.5 s on
        PostgreSQL. A trigram index (pg_trgm) answers it in milliseconds, but it nearly doubled the time to
        write plan L (11.8 s to 21.5 s on PostgreSQL), so demoseed does without it, and on PostgreSQL a
        table of more than ADMIN_MESSAGE_SEARCH_EVENTS events is searched among its newest that many,
        filtered or not (the filters on severity, kind and origin have no index: the rows scanned are
        those of the period); the page says so and since when. One OR of both searches would join every
        event to its asset and take three times as long.
        """
        term = search_term.strip()
        if term and Asset.objects.filter(hostname__startswith=term).exists():
            hosts = self.beginning_with(request, Asset.objects.filter(hostname__startswith=term), term, "hosts")
            return queryset.filter(asset_id__in=hosts), False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        window = settings.ADMIN_MESSAGE_SEARCH_EVENTS
        if term and (since := newest_events_since(Event.objects.all(), window)) is not None:
            found = found.filter(occurred_at__gte=since)
            when = date_format(timezone.localtime(since), "DATETIME_FORMAT")
            self.note_once(
                request,
                f"Messages were searched in the newest {window:,} or so events, those since {when}; "
                "search a host name for all of a host's events.",
            )
        return found, may_have_duplicates

    @admin.display(description=f"Occurred ({settings.TIME_ZONE})", ordering="occurred_at")
    def occurred(self, event: Event) -> str:
        """To the second, without the zone on every row: the header names it."""
        return date_format(timezone.localtime(event.occurred_at), "Y-m-d H:i:s")

    @admin.display(description="What")
    def what(self, event: Event) -> str:
        return f"{event.get_severity_display()} {event.get_kind_display().lower()}"

    @admin.display(description="Application")
    def application(self, event: Event) -> str:
        return cut(event.deployment.application.name) if event.deployment_id else "-"

    @admin.display(description="Message")
    def message_text(self, event: Event) -> str:
        return cut(event.message)
