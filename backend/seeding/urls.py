"""Routes of the admin JSON API, mounted under /api/v1/admin/."""

from django.urls import path, re_path

from seeding import views

app_name = "seeding-api"

urlpatterns = [
    path("seed-demo-data", views.SeedDemoDataView.as_view(), name="seed-demo-data"),
    path("demo-data-stats", views.DemoDataStatsView.as_view(), name="demo-data-stats"),
    path("seed-runs/<int:run_id>", views.SeedRunView.as_view(), name="seed-run"),
    path("seed-runs/<int:run_id>/cancel", views.SeedRunCancelView.as_view(), name="seed-run-cancel"),
    path("openapi.json", views.openapi_document, name="openapi"),
    re_path(r"^(?P<path>.*)$", views.api_not_found),
]
