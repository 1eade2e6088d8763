"""URL routes: the Django admin and the admin JSON API."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "demoseed"
admin.site.site_title = "demoseed admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/admin/", include("seeding.urls")),
]
