"""Admin lists on large tables (inventory/large_lists.py): exact counts where cheap, marked estimates where
not, last pages read backwards yet identical to Django's, fast facet counts, bounded searches.

The estimates need PostgreSQL's planner; tests that set ADMIN_EXACT_COUNT_LIMIT low make the seeded
tables "large" so those paths run on a few thousand rows.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from inventory import admin as inventory_admin
from inventory import large_lists
from inventory.large_lists import LargeTablePaginator, approximately
from inventory.models import Application, Asset, Deployment, Event
from inventory.selectors import answered_within, estimated_count
from inventory.services import inventory_statistics_refresh
from seeding import services
from tests.support.data import seed

pytestmark = pytest.mark.django_db
#: The planner's estimates exist on PostgreSQL only (the PostgreSQL pass of `make test`).
postgres_only = pytest.mark.postgres


def changelist(admin_client, model: str, **params):
    response = admin_client.get(reverse(f"admin:inventory_{model}_changelist"), params)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("per_page", [50, 7])
def test_every_page_holds_the_rows_djangos_paginator_gives(seeded, per_page):
    events = Event.objects.filter(severity__in=["warning", "error"]).order_by("-occurred_at", "-id")
    expected, paginator = Paginator(events, per_page), LargeTablePaginator(events, per_page)
    assert paginator.count == expected.count and not paginator.estimated
    last = expected.num_pages
    for number in sorted({1, 2, last // 2, last // 2 + 1, last - 2, last - 1, last}):
        assert list(paginator.page(number)) == list(expected.page(number)), number


def test_the_last_page_is_read_backwards_without_skipping_the_rows_before_it(admin_client, seeded):
    last = math.ceil(Event.objects.count() / 50)
    with_offsets = []

    def remember(execute, sql, params, many, context):
        with_offsets.extend(re.findall(r"OFFSET (\d+)", sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(remember):
        response = changelist(admin_client, "event", p=last)
    shown = list(response.context["cl"].result_list)
    assert shown == list(Event.objects.order_by("-occurred_at", "-pk")[(last - 1) * 50 :])
    assert all(int(offset) < 50 for offset in with_offsets)  # no query skipped the 2,450 rows before it


def test_a_page_deep_in_a_long_list_is_not_read_and_the_page_says_why(admin_client, seeded, settings):
    settings.ADMIN_DEEP_PAGE_ROWS = 500
    pages = math.ceil(Event.objects.count() / 50)  # 2,500 events: 50 pages
    deep = changelist(admin_client, "event", p=pages // 2)
    assert list(deep.context["cl"].result_list) == [] and deep.context["cl"].paginator.too_deep
    assert "too deep to read quickly" in deep.content.decode()
    reachable = changelist(admin_client, "event", p=pages - 9)  # 450 rows after it: within the limit
    assert len(reachable.context["cl"].result_list) == 50 and "too deep" not in reachable.content.decode()


def test_an_unfiltered_list_is_counted_exactly_however_large(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    response = changelist(admin_client, "event")
    assert response.context["cl"].result_count == Event.objects.count()
    assert not response.context["cl"].paginator.estimated
    assert f"{Event.objects.count():,} events" in response.content.decode()


def test_a_small_filtered_list_is_counted_exactly(admin_client, seeded):
    response = changelist(admin_client, "event", severity__exact="critical")
    assert response.context["cl"].result_count == Event.objects.filter(severity="critical").count()
    assert not response.context["cl"].paginator.estimated and "about" not in response.content.decode()


@postgres_only
def test_a_large_filtered_list_shows_a_marked_estimate(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    response = changelist(admin_client, "event", severity__exact="warning")
    cl, exact = response.context["cl"], Event.objects.filter(severity="warning").count()
    assert cl.paginator.estimated and abs(cl.paginator.estimate - exact) <= 0.25 * exact
    assert f"about {cl.paginator.estimate:,} events" in re.sub(r"<[^>]+>", "", response.content.decode())
    # Its last page is still the true end of the list: the oldest warnings.
    last_page = changelist(admin_client, "event", severity__exact="warning", p=cl.paginator.num_pages)
    last = list(last_page.context["cl"].result_list)
    assert last[-1] == Event.objects.filter(severity="warning").order_by("occurred_at", "pk").first()


@pytest.mark.parametrize("model", ["application", "asset", "deployment", "event"])
def test_exact_facet_counts_on_small_lists(admin_client, seeded, model):
    page = changelist(admin_client, model, _facets="True").content.decode()
    model_class = {"application": Application, "asset": Asset, "deployment": Deployment, "event": Event}[model]
    assert f"Demo data ({model_class.objects.demo().count():,})" in page
    assert "Entered by people (0)" in page


def test_the_origin_facet_counts_by_its_column_not_a_subquery(admin_client, seeded):
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        changelist(admin_client, "event", _facets="True", severity__exact="error")
    facet_queries = [sql for sql in queries if "FILTER" in sql or "CASE WHEN" in sql]
    assert facet_queries and not [sql for sql in facet_queries if " IN (SELECT" in sql]


@postgres_only
def test_facet_counts_of_a_large_list_are_estimated(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    page = changelist(admin_client, "event", _facets="True").content.decode()
    for severity in ("Info", "Warning", "Error"):
        shown = re.search(rf"{severity} \(≈ ([\d.]+)(k?)\)", page)
        assert shown, severity
        estimate = float(shown[1]) * (1000 if shown[2] else 1)
        exact = Event.objects.filter(severity=severity.lower()).count()
        assert abs(estimate - exact) <= 0.25 * exact + 10, (severity, estimate, exact)


@postgres_only
def test_the_origin_facets_of_a_whole_large_table_are_exact(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    page = changelist(admin_client, "event", _facets="True").content.decode()
    assert f"Demo data ({Event.objects.count():,})" in page and "Entered by people (0)" in page
    assert re.search(r"Info \(≈ [\d.]+k?\)", page)  # while the other filters' counts are estimated
    filtered = changelist(admin_client, "event", _facets="True", kind__exact="alert").content.decode()
    assert re.search(r"Demo data \(≈ [\d.]+k?\)", filtered) and "Entered by people (0)" in filtered


@postgres_only
def test_an_unfiltered_list_is_counted_from_the_row_count_deltas_not_by_count(admin_client, seeded):
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        response = changelist(admin_client, "event")
    assert response.context["cl"].result_count == Event.objects.count()
    assert not [sql for sql in queries if "COUNT(" in sql.upper() and '"inventory_event"' in sql]


@postgres_only
def test_a_list_expected_to_be_short_is_counted_by_reading_its_rows(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    asset = Event.objects.values_list("asset_id", flat=True).first()
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        response = changelist(admin_client, "event", asset__id__exact=asset)
    cl = response.context["cl"]
    assert cl.result_count == Event.objects.filter(asset_id=asset).count() and not cl.paginator.estimated
    assert not [sql for sql in queries if "COUNT(" in sql.upper() and '"inventory_event"' in sql]


@postgres_only
def test_a_page_that_takes_too_long_to_read_is_given_up_and_says_why(admin_client, seeded, monkeypatch):
    monkeypatch.setattr(large_lists, "answered_within", lambda seconds, query: None)  # every read too slow
    asset = Event.objects.values_list("asset_id", flat=True).first()
    response = changelist(admin_client, "event", asset__id__exact=asset, _facets="True")
    cl = response.context["cl"]
    assert cl.paginator.cut_short and list(cl.result_list) == []
    assert "so it was given up" in response.content.decode()
    assert re.search(r"Info \(≈ [\d.]+k?\)", response.content.decode())  # facets estimated, not counted


@postgres_only
def test_estimates_never_exceed_the_rows_the_table_holds(admin_client, seeded, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 10
    Event.objects.all()._raw_delete(Event.objects.db)  # the statistics still describe 2,500 events
    assert estimated_count(Event.objects.filter(severity="warning")) > 10
    response = changelist(admin_client, "event", severity__exact="warning")
    assert response.context["cl"].result_count == 0 and "0 events" in response.content.decode()


@postgres_only
def test_a_clear_refreshes_the_planners_statistics(seeded):
    assert estimated_count(Event.objects.filter(severity="warning")) > 10
    services.demo_data_clear()
    assert estimated_count(Event.objects.filter(severity="warning")) <= 1


@postgres_only
def test_an_exact_count_that_takes_too_long_gives_way_and_the_transaction_goes_on(seeded):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (before,) = cursor.fetchone()
    slow = Event.objects.extra(where=["(SELECT pg_sleep(0.3)) IS NOT NULL"])
    assert answered_within(0.05, slow.count) is None
    assert answered_within(5, Event.objects.count) == 2_500  # the same transaction, still usable
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == (before,)


@postgres_only
def test_a_slow_exact_count_shows_the_estimate_and_the_pages_other_counts_follow(admin_client, seeded, monkeypatch):
    asked = []
    monkeypatch.setattr(large_lists, "answered_within", lambda seconds, query: asked.append(query) and None)
    response = changelist(admin_client, "event", severity__exact="warning", _facets="True")
    cl = response.context["cl"]
    assert cl.paginator.estimated and "about" in response.content.decode()
    assert re.search(r"Alert \(≈ [\d.]+k?\)", response.content.decode())  # estimated without asking again
    assert [query.__name__ for query in asked].count("count") == 1  # the list's count; no facet count tried


@postgres_only
def test_a_run_refreshes_the_planners_statistics(make_plan, django_capture_on_commit_callbacks):
    inventory_statistics_refresh()  # of the empty tables
    assert estimated_count(Event.objects.filter(severity="info")) <= 1
    with django_capture_on_commit_callbacks(execute=True):
        seed(make_plan())
    exact = Event.objects.filter(severity="info").count()
    assert abs(estimated_count(Event.objects.filter(severity="info")) - exact) <= 0.25 * exact


@postgres_only
def test_a_message_search_of_a_long_list_covers_its_newest_events_and_says_so(admin_client, seeded, settings):
    settings.ADMIN_MESSAGE_SEARCH_EVENTS = 500
    response = changelist(admin_client, "event", q="installed", _facets="True")
    found = list(response.context["cl"].queryset)
    notes = [str(message) for message in response.context["messages"]]
    assert len(notes) == 1 and "newest 500 or so events, those since" in notes[0]  # once, facets or not
    since = datetime.strptime(re.search(r"since (.+? UTC)", notes[0])[1], "%Y-%m-%d %H:%M:%S %Z")
    since = since.replace(tzinfo=UTC)
    searched = Event.objects.filter(occurred_at__gte=since).count()
    assert 250 <= searched <= 1000  # about the newest 500 of 2,500 events spread over the window
    assert found and all("installed" in event.message.lower() and event.occurred_at >= since for event in found)
    assert len(found) == Event.objects.filter(occurred_at__gte=since, message__icontains="installed").count()
    # A filtered list is searched over the same period: the rows scanned are the period's, filter or not.
    infos = list(changelist(admin_client, "event", q="installed", severity__exact="info").context["cl"].queryset)
    assert infos and {event.pk for event in infos} == {event.pk for event in found if event.severity == "info"}


def test_a_message_search_of_a_short_list_covers_all_of_it(admin_client, seeded):
    response = changelist(admin_client, "event", q="installed")
    assert len(response.context["cl"].queryset) == Event.objects.filter(message__icontains="installed").count()
    assert not list(response.context["messages"])


@pytest.mark.parametrize("term", ["host", "code", "name"])
def test_deployment_search_finds_hosts_and_applications_by_their_beginning(admin_client, seeded, term):
    deployment = Deployment.objects.select_related("application", "asset").order_by("pk")[11]
    query = {
        "host": deployment.asset.hostname[:5],
        "code": deployment.application.code,
        "name": deployment.application.name[:4].lower(),
    }[term]
    found = set(changelist(admin_client, "deployment", q=query).context["cl"].queryset)
    expected = Deployment.objects.filter(
        Q(asset__hostname__startswith=query)
        | Q(application__code__startswith=query)
        | Q(application__name__istartswith=query)
    )
    assert deployment in found and found == set(expected)


def test_a_search_by_a_common_beginning_covers_the_first_hosts_and_says_so(admin_client, seeded, monkeypatch):
    monkeypatch.setattr(inventory_admin, "HOSTS_SEARCHED", 3)
    prefix = Asset.objects.order_by("hostname").first().hostname[:4]
    matching = Asset.objects.filter(hostname__startswith=prefix).order_by("hostname")
    assert matching.count() > 3
    for model, parent in (("deployment", "asset"), ("event", "asset")):
        response = changelist(admin_client, model, q=prefix)
        notes = [str(message) for message in response.context["messages"]]
        assert notes == [f"Only the first 3 of the {matching.count():,} hosts that begin with {prefix!r} were "
                         "searched: type more of the name to narrow it."]  # fmt: skip
        first = set(matching.values_list("pk", flat=True)[:3])
        assert {getattr(row, f"{parent}_id") for row in response.context["cl"].queryset} <= first


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "≈ 0"), (999, "≈ 999"), (1_000, "≈ 1k"), (1_249, "≈ 1.2k"), (481_234, "≈ 480k"), (2_481_234, "≈ 2.5M")],
)
def test_estimates_read_as_estimates(count, shown):
    assert approximately(count) == shown
