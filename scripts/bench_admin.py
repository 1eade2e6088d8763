"""`make bench-admin`: how long each admin list page takes on a large seeded database.

For each inventory list (applications, assets, deployments, events): the first
page, the last page, the middle page (not read when deeper than
ADMIN_DEEP_PAGE_ROWS from both ends: inventory/large_lists.py), the deepest
page that is read, the facet counts ("Show counts"), a filter with its last page
and facet counts, and a search; the seed runs list and GET
/api/v1/admin/demo-data-stats. Each is served
by Django's test client in this process (the whole view, template included,
no network), three times, and the median is printed, slowest first.

Point it at a database that holds the data to judge, e.g. after
`make bench-scale` (plan 10L left in demoseed_scale):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/demoseed_scale .venv/bin/python scripts/bench_admin.py
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SEED_EMBEDDED_WORKER", "false")  # measuring pages, not seeding

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import OperationalError, connection  # noqa: E402
from django.test import Client  # noqa: E402

from inventory.large_lists import LargeTablePaginator  # noqa: E402
from inventory.models import Application, Asset, Deployment, Event  # noqa: E402

PER_PAGE = 50
LISTS = {
    "application": (Application, {"tier__exact": "tier_1"}, "PAY"),
    "asset": (Asset, {"asset_type__exact": "server"}, "sfo1-srv"),
    "deployment": (Deployment, {"environment__exact": "production"}, "sfo1-srv-00"),
    "event": (Event, {"severity__exact": "critical"}, "failover"),
}


#: A page slower than this is cut short and reported as such (PostgreSQL's statement_timeout).
GIVE_UP_SECONDS = 30


def timed(client: Client, url: str, repeat: int = 3) -> float:
    """Median seconds over ``repeat`` requests; one request if the first takes over 5 s; inf past GIVE_UP_SECONDS."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            response = client.get(url)
        except OperationalError:  # the statement timeout
            connection.close()
            _limit_statements()
            return math.inf
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        if times[-1] > 5:
            break
    return statistics.median(times)


def _limit_statements() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{GIVE_UP_SECONDS}s'")


def main() -> int:
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a page cut short is reported below, not traced
    user, _ = get_user_model().objects.get_or_create(
        username="measure-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(raise_request_exception=True)
    client.force_login(user)
    _limit_statements()
    rows = []
    for name, (model, a_filter, term) in LISTS.items():
        base = f"/admin/inventory/{name}/"
        last = max(1, math.ceil(model.objects.count() / PER_PAGE))
        key, value = next(iter(a_filter.items()))
        middle = max(1, last // 2)
        # The page furthest from the start that is still read (from the end, for a short list)
        deepest = min(settings.ADMIN_DEEP_PAGE_ROWS // PER_PAGE + 1, last)
        # Numbered as the admin numbers it: exactly, or by the estimate it shows for a large list.
        last_filtered = LargeTablePaginator(model.objects.filter(**a_filter), PER_PAGE).num_pages
        for label, url in (
            ("first page", base),
            (f"last page ({last:,})", f"{base}?p={last}"),
            (f"middle page ({middle:,}){' - too deep, not read' if middle > deepest else ''}", f"{base}?p={middle}"),
            (f"deepest page read ({deepest:,})", f"{base}?p={deepest}"),
            ("facet counts", f"{base}?_facets=True"),
            (f"filter {key}={value}", f"{base}?{key}={value}"),
            (f"filter {key}={value}, last page", f"{base}?{key}={value}&p={last_filtered}"),
            (f"filter {key}={value}, facet counts", f"{base}?{key}={value}&_facets=True"),
            (f"search {term!r}", f"{base}?q={term}"),
        ):
            rows.append((f"{name} list, {label}", timed(client, url)))
            print(f"  {rows[-1][1]:8.2f} s  {rows[-1][0]}", flush=True)  # as it goes: some take long
    # Two filters on unindexed columns: few rows, but a whole-table scan to count them exactly.
    rare = "/admin/inventory/event/?severity__exact=critical&kind__exact=change"
    rows.append(("event list, filter severity=critical & kind=change", timed(client, rare)))
    rows.append(
        ("event list, filter severity=critical & kind=change, facet counts", timed(client, rare + "&_facets=True"))
    )
    rows.append(("event list, search 'failover' with severity=error, facet counts",
                 timed(client, "/admin/inventory/event/?q=failover&severity__exact=error&_facets=True")))  # fmt: skip
    rows.append(("seed runs list", timed(client, "/admin/seeding/seedrun/")))
    rows.append(("GET demo-data-stats", timed(client, "/api/v1/admin/demo-data-stats")))
    counts = {model.__name__: model.objects.count() for model, *_ in LISTS.values()}
    print(f"\nAdmin timings on {connection.vendor} ({', '.join(f'{n:,} {k}' for k, n in counts.items())}), "
          "median of 3, slowest first:")  # fmt: skip
    for label, seconds in sorted(rows, key=lambda row: -row[1]):
        shown = f"> {GIVE_UP_SECONDS} s" if math.isinf(seconds) else f"{seconds * 1000:6.0f} ms"
        print(f"  {shown:>10}  {'OVER 1 s' if seconds > 1 else '        '}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
