"""Routes of the admin JSON API, mounted under /api/v1/admin/ (config/urls.py)."""

from django.urls import re_path
from django.views.decorators.http import require_safe

from seeding.api.endpoints import api
from seeding.api.errors import api_not_found, json_method_not_allowed

app_name = "seeding-api"

patterns, _, _ = api.urls
for pattern in patterns:
    if pattern.name == "api-root":  # django-ninja's page for its docs, which are off: nothing there
        pattern.callback = api_not_found
    elif pattern.name == "openapi-json":  # the document is read, never posted to
        pattern.callback = json_method_not_allowed(require_safe(pattern.callback))
    else:  # django-ninja answers a wrong method in plain text; the API answers JSON
        pattern.callback = json_method_not_allowed(pattern.callback)

# [\s\S], not ".": a path with a newline in it (%0A) is no endpoint either, and gets the same JSON 404
# (Schemathesis found Django's HTML page there); Django cannot reverse an inline (?s) flag.
urlpatterns = [*patterns, re_path(r"^(?P<path>[\s\S]*)$", api_not_found)]
