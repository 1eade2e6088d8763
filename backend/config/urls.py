"""URL routes: the Django admin and the admin JSON API.

demoseed has no public site: the admin is where people look at the data. So the admin offers no
"View site" link (Django's default points at "/", which had no page), and the server's own address
leads to the admin, for whoever opens it first.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "demoseed"
admin.site.site_title = "demoseed admin"
admin.site.site_url = None

# A request Django refuses before any view (a Host it does not serve) is answered in JSON on the API.
handler400 = "seeding.api.errors.bad_request"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index")),
    path("admin/", admin.site.urls),
    path("api/v1/admin/", include("seeding.api.urls")),
]
