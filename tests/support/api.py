"""The admin JSON API as tests call it: its URLs, a user with given permissions, a JSON POST."""

from __future__ import annotations

import json

from django.contrib.auth.models import Permission
from django.test import Client

SEED_URL = "/api/v1/admin/seed-demo-data"
STATS_URL = "/api/v1/admin/demo-data-stats"
#: Both seeding permissions: to seed and clear, and to look at runs.
BOTH = ("run_seed", "view_seedrun")


def make_user(django_user_model, name: str, *, staff: bool, perms: tuple[str, ...] = ()):
    user = django_user_model.objects.create_user(name, password="pw-" + name, is_staff=staff)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="seeding"))
    return user


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, body, url: str = SEED_URL, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)
