"""A live stream moves its assets through their lifecycles: back from maintenance, delivered, put into service.

One estate per module, on the database of the current pass (with a history, so some assets are in
maintenance), and a day's stream on it at half an event a second, written tick by tick as its writer
would. The tests read what it did; the last one writes it again another way (stopped between a delivery
and its going into service, restarted, taken over) and compares every event and every asset's state.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from inventory.models import Asset, Event
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.catalog import CatalogError, load_catalog
from seeding.models import PendingEvent, SeedRun
from seeding.plan import SeedPlan
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.data import forget_estate, seed
from tests.support.episodes import pattern_of
from tests.support.live import lifecycles, rewind, rows
from tests.support.plans import AS_OF

pytestmark = pytest.mark.django_db

START = AS_OF + timedelta(days=2, hours=6)  # a Tuesday, early in Europe
DAY = 86_400


def write(run: SeedRun, claim: int, *, until: int, step: int, since: int | None = None) -> None:
    second = since if since is not None else int((run.written_until - run.window_start).total_seconds())
    while second < until:
        second = min(until, second + step)
        assert live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + second)


@pytest.fixture(scope="module", autouse=True)
def stream(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(SeedPlan(applications=30, assets=2_000, deployments=2_500, events=4_000, seed=3, as_of=AS_OF))
        before = lifecycles()
        run = live.live_stream_start(rate=0.5, duration=DAY, seed=12, start=START)
        claim = seed_run_claim(run=run, resume=False)
        with override_settings(SEED_LIVE_TICK_SECONDS=60):  # fewer, larger commits: the same rows
            write(run, claim, until=DAY, step=240)
        # Left running at its end (its writer would now mark it succeeded and drop its view of the estate):
        # the last test writes it again.
        yield run, before
        run.refresh_from_db()
        if run.is_active:
            services.live_stream_stop(run=run)
        forget_estate()


def moves_told(run: SeedRun) -> dict[int, list[tuple[str, Event]]]:
    """Per asset: the moves the stream told of it, in order, as (move, event)."""
    patterns = [(move.move, move.source, pattern_of(move.message)) for move in active_catalog().moves]
    told = defaultdict(list)
    for event in Event.objects.filter(seed_run=run, kind="maintenance").order_by("occurred_at", "pk"):
        for move, source, pattern in patterns:
            if source == event.source and pattern.match(event.message):
                told[event.asset_id].append((move, event))
                break
    return told


def test_assets_come_back_from_maintenance_and_ordered_ones_are_delivered_and_put_into_service(stream):
    run, before = stream
    told = moves_told(run)
    firsts = defaultdict(int)
    for moves in told.values():
        firsts[moves[0][0]] += 1
    # A day moves a third of those that may move: some of each.
    assert firsts["returned"] >= 3 and firsts["delivered"] + firsts["in_service"] >= 2, dict(firsts)
    after = lifecycles()
    expected_before = {"returned": "maintenance", "delivered": "ordered", "in_service": "in_stock"}
    for asset_id, moves in told.items():
        names = [move for move, _ in moves]
        assert names in (["returned"], ["delivered", "in_service"], ["in_service"])  # each asset moves once
        assert before[asset_id] == expected_before[names[0]]
        assert after[asset_id] == "in_use"
    # Nothing else moved.
    assert {pk for pk in after if after[pk] != before[pk]} == set(told)


def test_a_delivered_asset_goes_into_service_minutes_later_as_the_catalog_says(stream):
    run, _ = stream
    catalog = active_catalog()
    bounds = {move.asset_types: move.minutes for move in catalog.moves if move.move == "in_service"}
    sites = {site.location: site.city for site in catalog.sites}
    delivered = 0
    for asset_id, moves in moves_told(run).items():
        if moves[0][0] != "delivered":
            continue
        delivered += 1
        asset = Asset.objects.get(pk=asset_id)
        (_, arrival), (_, into_service) = moves
        assert sites[asset.location] in arrival.message  # delivered to its own site
        low, high = next(b for types, b in bounds.items() if types is None or asset.asset_type in types)
        assert low * 60 <= (into_service.occurred_at - arrival.occurred_at).total_seconds() < (high + 1) * 60
        assert asset.purchase_date <= arrival.occurred_at.date()
    assert delivered >= 1


def test_moved_assets_keep_every_rule(stream):
    run, _ = stream
    moved = set(moves_told(run))
    assets = Asset.objects.filter(pk__in=moved)
    assert not assets.exclude(lifecycle_status="in_use")
    # What an asset in use is: an end-user device has its person, a server none (test_realism's rules).
    assert not assets.filter(asset_type__in=["laptop", "desktop"], assigned_to="")
    assert not assets.exclude(asset_type__in=["laptop", "desktop"]).exclude(assigned_to="")
    # No asset on order or in stock has an event, and the stream told nothing of one before it moved.
    assert not Event.objects.filter(asset__lifecycle_status__in=["ordered", "in_stock"])
    for asset_id, moves in moves_told(run).items():
        first = moves[0][1].occurred_at
        if moves[0][0] != "returned":
            assert not Event.objects.filter(asset_id=asset_id, occurred_at__lt=first).exists()
    assert not PendingEvent.objects.filter(run=run).exists()


def test_between_its_delivery_and_its_service_an_asset_is_in_stock_and_the_rest_waits(stream):
    """Written again to the minute after a delivery: the asset is in stock, told of once, and its going into
    service waits as a pending event carrying what it will change."""
    run, before = stream
    uninterrupted, after = rows(run), lifecycles()
    asset_id, moves = next((a, m) for a, m in moves_told(run).items() if m[0][0] == "delivered")
    delivered_at = int((moves[0][1].occurred_at - run.window_start).total_seconds())

    claim = rewind(run, lifecycles=before)
    write(run, claim, until=delivered_at + 60, step=290)
    assert Asset.objects.get(pk=asset_id).lifecycle_status == "in_stock"
    [pending] = PendingEvent.objects.filter(run=run, asset_id=asset_id)
    assert pending.effect == {"table": "assets", "row": asset_id, "changes": {"lifecycle_status": "in_use"}}

    # Stopped there, restarted from the checkpoint, then taken over by another writer: the same stream.
    services.live_stream_stop(run=run)
    restarted = seed_run_claim(run=run, resume=True)
    write(run, restarted, since=delivered_at + 60, until=delivered_at + 3_000, step=170)
    SeedRun.objects.filter(pk=run.pk).update(executor=SeedRun.Executor.WORKERS)
    assert services.seed_run_start(run_id=run.pk).startswith("handed on")
    run.refresh_from_db()
    write(run, run.claim, until=DAY, step=300)
    assert rows(run) == uninterrupted
    assert lifecycles() == after


def test_a_seeded_history_moves_nothing(stream):
    """Moves are a stream's: a history is written in its final state (its events tell no move)."""
    run, _ = stream
    history = Event.objects.exclude(seed_run=run).filter(kind="maintenance")
    patterns = [pattern_of(move.message) for move in active_catalog().moves]
    assert history.exists()
    assert not [m for m in history.values_list("message", flat=True) if any(p.match(m) for p in patterns)]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("teleported,server,Field Services,Beamed up,", "move", "must be one of returned, delivered, in_service"),
        ("delivered,virtual_machine,Field Services,Delivered,", "asset_types", "only physical asset types"),
        ("in_service,server,Field Services,Racked,", "minutes", "must not be empty"),
        ("returned,server,Field Services,Back,30", "minutes", "is for in_service moves"),
        ("returned,server,Field Services,Back at {city},", "message", "city"),
    ],
)
def test_a_broken_lifecycle_file_is_named_with_line_and_column(tmp_path, row, column, message):
    catalog = shutil.copytree(settings.SEED_CATALOG_DIR, tmp_path / "catalog")
    (catalog / "lifecycle.csv").write_text(f"move,asset_types,source,message,minutes\n{row}\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"lifecycle\.csv: line 2, column {column}: .*{re.escape(message)}"):
        load_catalog(catalog)


def test_a_catalog_without_a_lifecycle_file_moves_nothing(tmp_path):
    catalog = shutil.copytree(settings.SEED_CATALOG_DIR, tmp_path / "catalog")
    (catalog / "lifecycle.csv").unlink()
    assert load_catalog(catalog).moves == ()
    assert load_catalog(settings.SEED_CATALOG_DIR).moves
