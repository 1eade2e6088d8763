"""Read-only queries about the inventory."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import psycopg
from django.db import OperationalError, connection, transaction
from django.db.models import Max, Min, Model, Q, QuerySet, Sum

from inventory.models import Application, Asset, Deployment, Event, RowCountDelta

COUNTED_MODELS: tuple[type[Model], ...] = (Application, Asset, Deployment, Event)

T = TypeVar("T")

#: A ticket number in a message: an incident, a change or a problem, as ServiceNow numbers them.
TICKET = re.compile(r"\b(?:INC|CHG|PRB)\d{7,}\b")
#: An event's page shows what happened around it on the same application (or asset): from this long before...
STORY_BEFORE = timedelta(minutes=30)
#: ...to this long after, at most this many events.
STORY_AFTER, STORY_EVENTS = timedelta(hours=3), 25
#: The events of one ticket lie within this long of each other (a laptop replaced takes a day or two).
TICKET_SPAN = timedelta(days=2)


def row_counts() -> dict[type[Model], dict[str, int]]:
    """Exact rows per inventory model, in total and written by seeding: ``{Asset: {"total": n, "demo": m}}``.

    Cheap at any size. PostgreSQL sums the deltas its triggers record (see
    RowCountDelta), since COUNT(*) there scans millions of rows. SQLite counts
    a table by walking its smallest index page by page, which takes well under
    a millisecond for millions of rows; rows entered by people (no seed run)
    are few and found through the seed-run index, and the rest are demo rows.
    """
    if connection.vendor == "postgresql":
        recorded = {
            row["table_name"]: row
            for row in RowCountDelta.objects.values("table_name").annotate(total=Sum("total"), demo=Sum("demo"))
        }
        if all(model._meta.db_table in recorded for model in COUNTED_MODELS):
            return {
                model: {
                    "total": int(recorded[model._meta.db_table]["total"]),
                    "demo": int(recorded[model._meta.db_table]["demo"]),
                }
                for model in COUNTED_MODELS
            }
    counts = {}
    for model in COUNTED_MODELS:
        total = model.objects.count()
        counts[model] = {"total": total, "demo": total - model.objects.real().count()}
    return counts


def table_row_count(model: type[Model]) -> int:
    """Exact rows in ``model``'s table, cheap at any size (see ``row_counts``)."""
    if connection.vendor == "postgresql" and model in COUNTED_MODELS:
        return row_counts()[model]["total"]
    return model._default_manager.count()


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of how many rows ``queryset`` returns, in about a millisecond; None where the
    database gives none (SQLite).

    Good to a few per cent for equality and range filters on analyzed tables (seeding analyzes them after
    each run and clear: ``inventory.services.inventory_statistics_refresh``); rough for text patterns.
    Callers that show it say it is an estimate.
    """
    if connection.vendor != "postgresql":
        return None
    plan = queryset.order_by().values("pk").explain(format="json")
    if not plan:  # a query Django knows to be empty (``pk__in=[]``) is never sent: nothing to explain
        return 0
    return int(json.loads(plan)[0]["Plan"]["Plan Rows"])


def newest_events_since(events: QuerySet, count: int) -> datetime | None:
    """When the newest ``count`` or so of ``events`` begin, if it holds (by the planner's estimate) more;
    else None.

    An estimate: the list's time span cut in proportion, which is close for events spread evenly over
    their window, as seeded ones are. Three index lookups and an estimate, where finding the exact
    ``count``-th newest event would read every event before it.
    """
    size = estimated_count(events)
    if size is None or size <= count:
        return None
    span = events.aggregate(newest=Max("occurred_at"), oldest=Min("occurred_at"))
    if span["newest"] is None:
        return None
    return span["newest"] - (span["newest"] - span["oldest"]) * (count / size)


def answered_within(seconds: float, query: Callable[[], T]) -> T | None:
    """``query()``'s answer if the database gives it within ``seconds``, else None (PostgreSQL: a statement
    timeout inside a savepoint, so the caller's transaction goes on). Other databases always answer.

    For exact counts that are usually quick but can scan a whole table (a rare combination of filters on
    unindexed columns): the caller falls back to an estimate rather than keeping a page waiting.
    """
    if connection.vendor != "postgresql":
        return query()
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (previous,) = cursor.fetchone()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [f"{max(1, round(seconds * 1000))}ms"])
            answer = query()
            with connection.cursor() as cursor:  # SET LOCAL outlives a released savepoint: put it back
                cursor.execute("SET LOCAL statement_timeout = %s", [previous])
            return answer
    except OperationalError as error:
        if isinstance(error.__cause__, psycopg.errors.QueryCanceled):
            return None
        raise


def events_around(event: Event) -> list[Event]:
    """What a viewer reads on an event's page to understand it, in time order.

    An event that names tickets: every event naming one of them (within
    ``TICKET_SPAN``, where the time index narrows the scan), and for an
    incident the alerts on the same application (or asset) from shortly before
    its first event to its last: its story from the first alert (or call) to the
    resolution, a change wave from its approval to its closing. Any other
    event: the events on the same application (or asset) from shortly before to
    a few hours after.
    """
    same = (
        Q(deployment__application_id=event.deployment.application_id)
        if event.deployment_id
        else Q(asset_id=event.asset_id)
    )
    events = Event.objects.select_related("asset").order_by("occurred_at", "pk")
    numbers = TICKET.findall(event.message)
    if not numbers:
        window = (event.occurred_at - STORY_BEFORE, event.occurred_at + STORY_AFTER)
        return list(events.filter(same, occurred_at__range=window)[:STORY_EVENTS])
    naming = Q()
    for number in numbers:
        naming |= Q(message__contains=number)
    window = (event.occurred_at - TICKET_SPAN, event.occurred_at + TICKET_SPAN)
    ticket = list(events.filter(naming, occurred_at__range=window)[:STORY_EVENTS])
    incidents = {number for number in numbers if number.startswith("INC")}
    incidents.update(n for other in ticket for n in TICKET.findall(other.message) if n.startswith("INC"))
    alerts: list[Event] = []
    if incidents:
        span = (ticket[0].occurred_at - STORY_BEFORE, ticket[-1].occurred_at)
        alerts = list(events.filter(same, kind=Event.Kind.ALERT, occurred_at__range=span)[:STORY_EVENTS])
    together = sorted({e.pk: e for e in (*ticket, *alerts)}.values(), key=lambda e: (e.occurred_at, e.pk))
    return together[:STORY_EVENTS]
