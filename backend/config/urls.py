"""URL routes: the Django admin (the API arrives with the async-seeding work)."""

from django.contrib import admin
from django.urls import path

admin.site.site_header = "demoseed"
admin.site.site_title = "demoseed admin"

urlpatterns = [
    path("admin/", admin.site.urls),
]
