"""Admin list views that stay fast on millions of rows.

Filters are on low-cardinality indexed or choice columns; search uses prefix
lookups that PostgreSQL answers from the unique indexes' pattern indexes;
foreign keys are raw-id widgets (a <select> with 50,000 assets would not load);
``show_full_result_count`` is off so a filtered page does not COUNT(*) the table twice.
"""

from django.contrib import admin

from inventory.models import Application, Asset, Deployment, Event


class SeededAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50

    @admin.display(boolean=True, description="Demo", ordering="seed_run")
    def is_demo(self, obj) -> bool:
        return obj.seed_run_id is not None


class DemoDataFilter(admin.SimpleListFilter):
    title = "origin"
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return [("demo", "Demo data"), ("real", "Entered by people")]

    def queryset(self, request, queryset):
        if self.value() == "demo":
            return queryset.demo()
        if self.value() == "real":
            return queryset.real()
        return queryset


@admin.register(Application)
class ApplicationAdmin(SeededAdmin):
    list_display = ("code", "name", "version", "vendor", "category", "tier", "lifecycle", "owner_team", "is_demo")
    list_filter = ("tier", "lifecycle", "category", DemoDataFilter)
    search_fields = ("code__startswith", "name__icontains", "vendor__icontains")
    raw_id_fields = ("seed_run",)


@admin.register(Asset)
class AssetAdmin(SeededAdmin):
    list_display = (
        "hostname",
        "ip_address",
        "asset_type",
        "operating_system",
        "location",
        "lifecycle_status",
        "purchase_date",
        "owner_team",
        "is_demo",
    )
    list_filter = ("asset_type", "lifecycle_status", DemoDataFilter)
    search_fields = ("hostname__startswith", "serial_number__startswith", "ip_address__exact")
    raw_id_fields = ("seed_run",)


@admin.register(Deployment)
class DeploymentAdmin(SeededAdmin):
    list_display = ("id", "application", "asset", "version", "environment", "status", "deployed_at", "is_demo")
    list_filter = ("environment", "status", DemoDataFilter)
    list_select_related = ("application", "asset")
    search_fields = ("asset__hostname__startswith", "application__code__startswith")
    raw_id_fields = ("application", "asset", "seed_run")


@admin.register(Event)
class EventAdmin(SeededAdmin):
    list_display = ("occurred_at", "severity", "kind", "asset", "source", "message", "is_demo")
    list_filter = ("severity", "kind", DemoDataFilter)
    list_select_related = ("asset",)
    search_fields = ("asset__hostname__startswith",)
    raw_id_fields = ("asset", "deployment", "seed_run")
    # Sorting by the indexed timestamp lets the database read the newest page
    # straight off the index instead of sorting a million rows.
    ordering = ("-occurred_at",)
    sortable_by = ("occurred_at",)
