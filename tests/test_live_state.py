"""A live stream moves the estate's state, not only its event log: assets come back from maintenance, are
delivered and put into service; releases roll out to applications' hosts, their deployments deploying, then
running or failed, an in-house application's version moving on.

One estate per module, on the database of the current pass (with a history, so some assets are in
maintenance), and a day's stream on it at half an event a second, written tick by tick as its writer
would. The tests read what it did, and the rules seeded data obeys are checked again on the estate it
left; the last one writes it again another way (looked at in the middle of a release and of a delivery,
stopped, restarted, taken over) and compares every event and the state of every asset, deployment and
application.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import zoneinfo
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from inventory.models import Application, Asset, Deployment, Event, Person
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.catalog import CatalogError, load_catalog
from seeding.management.live_display import LiveDisplay
from seeding.models import PendingEvent, SeedRun
from seeding.plan import SeedPlan
from seeding.selectors import live_stream_figures
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.catalogs import catalog_with
from tests.support.data import forget_estate, seed
from tests.support.episodes import pattern_of
from tests.support.live import estate_state, rewind, rows, write_stream
from tests.support.plans import AS_OF

# The rules of seeded data that a stream's state changes could break, checked again on the estate it left.
# Imported by name: each is a test that reads every row.
from tests.test_realism import (  # noqa: F401
    test_a_ticket_names_one_thing,
    test_asset_lifecycles_agree_with_their_history,
    test_devices_in_service_belong_to_people_and_servers_to_none,
    test_versions_are_real_never_newer_than_the_release_and_roll_out_in_waves,
)
from tests.test_realism_applications import (  # noqa: F401
    test_retired_and_planned_applications_run_nowhere_and_deploying_is_what_happened_lately,
)

pytestmark = pytest.mark.django_db

START = AS_OF + timedelta(days=2, hours=6)  # a Tuesday, early in Europe
DAY = 86_400


#: Catch up with a clock that moves ``step`` seconds at a time to ``until`` seconds into the stream.
write = functools.partial(write_stream, start=START)


@pytest.fixture(scope="module", autouse=True)
def stream(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(SeedPlan(applications=30, assets=2_000, deployments=2_500, events=4_000, seed=3, as_of=AS_OF))
        before = estate_state()
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


def releases_told(run: SeedRun) -> dict[str, dict[str, list[tuple[Event, re.Match]]]]:
    """Per change number: the events of the stream's release waves, by part (opened, step, failed, closed)."""
    wave = next(wave for wave in active_catalog().waves if wave.scope == "release")
    parts = {part: pattern_of(getattr(wave, part)) for part in ("opened", "step", "failed", "closed")}
    told = defaultdict(lambda: defaultdict(list))
    for event in Event.objects.filter(seed_run=run, kind="change").select_related("deployment").order_by("occurred_at"):
        for part, pattern in parts.items():
            if match := pattern.match(event.message):
                told[match["change"]][part].append((event, match))
                break
    return told


# --- lifecycle moves -------------------------------------------------------------------------------


def test_assets_come_back_from_maintenance_and_ordered_ones_are_delivered_and_put_into_service(stream):
    run, before = stream
    told = moves_told(run)
    firsts = defaultdict(int)
    for moves in told.values():
        firsts[moves[0][0]] += 1
    # A day moves a third of those that may move: some of each.
    assert firsts["returned"] >= 3 and firsts["delivered"] + firsts["in_service"] >= 2, dict(firsts)
    after = estate_state()["Asset"]
    expected_before = {"returned": "maintenance", "delivered": "ordered", "in_service": "in_stock"}
    for asset_id, moves in told.items():
        names = [move for move, _ in moves]
        assert names in (["returned"], ["delivered", "in_service"], ["in_service"])  # each asset moves once
        assert before["Asset"][asset_id][0] == expected_before[names[0]]
        # The same name, address and site; a laptop or desktop from stock has its person now (below).
        assert after[asset_id][:-1] == ("in_use", *before["Asset"][asset_id][1:-1])
        assert after[asset_id][-1] == before["Asset"][asset_id][-1] or names != ["returned"]
    # Nothing else moved.
    assert {pk for pk in after if after[pk] != before["Asset"][pk]} == set(told)


def local_time(event: Event, location: str) -> datetime:
    zone = {site.location: site.time_zone for site in active_catalog().sites}[location]
    return event.occurred_at.astimezone(zoneinfo.ZoneInfo(zone))


def at_work(event: Event, location: str) -> bool:
    """Whether ``event`` happened in the working hours of ``location`` (a weekday, 8 to 12 or 13 to 17)."""
    local = local_time(event, location)
    return local.weekday() < 5 and (8 <= local.hour < 12 or 13 <= local.hour < 17)


def test_a_delivered_asset_goes_into_service_minutes_later_as_the_catalog_says_in_working_hours(stream):
    """Delivered, racked and handed over as the catalog says, by people at work: what would fall outside a
    weekday's working hours at the site waits for the next one (within its first hour)."""
    run, _ = stream
    catalog = active_catalog()
    bounds = {move.asset_types: move.minutes for move in catalog.moves if move.move == "in_service"}
    sites = {site.location: site.city for site in catalog.sites}
    delivered = 0
    for asset_id, moves in moves_told(run).items():
        asset = Asset.objects.get(pk=asset_id)
        if moves[0][0] != "returned":
            assert all(at_work(event, asset.location) for _, event in moves), [e.occurred_at for _, e in moves]
        if moves[0][0] != "delivered":
            continue
        delivered += 1
        (_, arrival), (_, into_service) = moves
        assert sites[asset.location] in arrival.message  # delivered to its own site
        low, high = next(b for types, b in bounds.items() if types is None or asset.asset_type in types)
        gap = (into_service.occurred_at - arrival.occurred_at).total_seconds()
        if gap >= (high + 1) * 60:  # the next working hour's first
            assert local_time(into_service, asset.location).hour in (8, 13)
        assert low * 60 <= gap
        assert asset.purchase_date <= arrival.occurred_at.date()
    assert delivered >= 1


def test_a_laptop_or_desktop_is_issued_to_a_colleague_at_its_site_who_already_uses_one(stream):
    """Delivered or taken from stock, an end-user device goes to a person of the directory at its site, of
    the run that bought it, who has another device in use (a replacement or a second device): one to three
    devices each, as everywhere (test_realism)."""
    run, before = stream
    issued = Counter()
    for asset_id, moves in moves_told(run).items():
        asset = Asset.objects.get(pk=asset_id)
        if asset.asset_type not in ("laptop", "desktop") or moves[0][0] == "returned":
            continue
        assert before["Asset"][asset_id][-1] == "" and asset.assigned_to  # nobody's until issued
        person = Person.objects.get(name=asset.assigned_to)
        assert (person.location, person.seed_run_id) == (asset.location, asset.seed_run_id)
        devices = Asset.objects.filter(assigned_to=person.name).exclude(pk=asset_id)
        assert devices.filter(lifecycle_status__in=["in_use", "maintenance"]).exists()
        assert devices.count() + 1 <= 3
        assert person.name in moves[-1][1].message and moves[-1][1].source == "Service Desk"
        if moves[0][0] == "delivered":
            assert person.name in moves[0][1].message  # imaged and enrolled for them
        issued[moves[0][0]] += 1
    assert sum(issued.values()) >= 2, issued


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


# --- releases --------------------------------------------------------------------------------------


def test_releases_roll_out_and_deployments_and_versions_move_with_them(stream):
    run, before = stream
    told = releases_told(run)
    assert len(told) >= 4
    software = {item.name: item for item in active_catalog().software}
    changed_deployments, changed_applications = set(), set()
    for parts in told.values():
        [(opened, first)], [(closed, last)] = parts["opened"], parts["closed"]
        steps = sorted(parts["step"] + parts["failed"], key=lambda told: int(told[1]["step"]))
        version, name = first["version"], first["app"]
        assert [int(match["step"]) for _, match in steps] == list(range(1, int(first["hosts"]) + 1))
        assert opened.occurred_at < steps[0][0].occurred_at and steps[-1][0].occurred_at < closed.occurred_at
        assert int(last["healthy"]) == len(parts["step"]) and last["version"] == version
        application = Application.objects.get(name=name)
        for event, _ in steps:
            deployment = Deployment.objects.get(pk=event.deployment_id)
            assert deployment.application_id == application.pk and deployment.version == version
            failed = (event, _) in parts["failed"]
            assert deployment.status == ("failed" if failed else "running")
            assert event.severity == ("warning" if failed else "info")
            changed_deployments.add(deployment.pk)
        if name in software:  # a product's hosts brought up to its current release; it has no other
            assert version == application.version == software[name].versions[-1]
            assert all(before["Deployment"][event.deployment_id][1] != version for event, _ in steps)
        else:  # an in-house application's next release: its current version moved on
            assert application.version == version != before["Application"][application.pk][0]
            changed_applications.add(application.pk)
    after = estate_state()
    assert {pk for pk, state in after["Deployment"].items() if state != before["Deployment"][pk]} == changed_deployments
    assert {pk for pk, state in after["Application"].items() if state != before["Application"][pk]} == (
        changed_applications
    )
    assert changed_applications  # in-house releases among them


def test_a_stream_releases_no_agent_and_nothing_that_is_not_active(stream):
    run, _ = stream
    agents = {item.name for item in active_catalog().software if item.reach}
    names = {parts["opened"][0][1]["app"] for parts in releases_told(run).values()}
    assert names and not names & agents
    assert set(Application.objects.filter(name__in=names).values_list("lifecycle", flat=True)) == {"active"}


def test_the_commands_display_prints_a_release_as_it_is_approved_and_closed(stream, capsys):
    run, _ = stream
    parts = next(iter(releases_told(run).values()))
    [(closed, _)] = parts["closed"]
    watching = copy.copy(run)
    watching.written_until = closed.occurred_at + timedelta(seconds=1)  # as the tick after the closing
    LiveDisplay(mode="line", write=print)(watching)
    shown = capsys.readouterr().err
    assert f"{closed.asset.hostname}: {closed.message}" in shown and "live stream #" in shown


# --- written again another way ---------------------------------------------------------------------


def test_midway_through_a_release_and_a_delivery_and_after_a_stop_restart_and_takeover(stream):
    """Written again, and looked at a minute after a release opened (its hosts deploying its version, an
    in-house application's version moved on) and after a delivery (the asset in stock, told of once, its
    going into service waiting as a pending event with what it will change); then stopped, restarted from
    the checkpoint and taken over: the same events and the same state as the stream written in one go."""
    run, before = stream
    uninterrupted, after = rows(run), estate_state()
    number, release = next(
        (n, parts) for n, parts in releases_told(run).items() if parts["opened"][0][1]["app"] not in _products()
    )
    (opened, first), steps = release["opened"][0], release["step"] + release["failed"]
    asset_id, moves = next((a, m) for a, m in moves_told(run).items() if m[0][0] == "delivered")

    def seconds(event: Event) -> int:
        return int((event.occurred_at - run.window_start).total_seconds())

    def midway_through_the_release() -> None:
        assert live_stream_figures(run)["open_changes"] >= 1  # the release among the waves rolling out
        for event, _ in steps:
            assert Deployment.objects.filter(pk=event.deployment_id, status="deploying", version=first["version"])
        assert Application.objects.get(name=first["app"]).version == first["version"]

    def after_the_delivery() -> None:
        assert Asset.objects.get(pk=asset_id).lifecycle_status == "in_stock"
        [pending] = PendingEvent.objects.filter(run=run, asset_id=asset_id)
        [effect] = pending.effects
        assert (effect["table"], effect["row"], effect["changes"]["lifecycle_status"]) == ("assets", asset_id, "in_use")

    claim = rewind(run, state=before)
    assert min(seconds(event) for event, _ in steps) - seconds(opened) > 120  # the first step is minutes away
    with override_settings(SEED_LIVE_TICK_SECONDS=30):  # a day of one-second commits: 100 s on PostgreSQL
        for moment, check in sorted(
            [(seconds(opened) + 90, midway_through_the_release), (seconds(moves[0][1]) + 90, after_the_delivery)]
        ):
            write(run, claim, until=moment, step=290)
            check()
        stopped_at = int((run.written_until - run.window_start).total_seconds())
        services.live_stream_stop(run=run)
        restarted = seed_run_claim(run=run, resume=True)
        write(run, restarted, since=stopped_at, until=stopped_at + 3_000, step=170)
        SeedRun.objects.filter(pk=run.pk).update(executor=SeedRun.Executor.WORKERS)
        assert services.seed_run_start(run_id=run.pk).startswith("handed on")
        run.refresh_from_db()
        write(run, run.claim, until=DAY, step=300)
    assert rows(run) == uninterrupted
    assert estate_state() == after, number


def _products() -> set[str]:
    return {item.name for item in active_catalog().software}


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
        ("delivered,server laptop,Service Desk,Delivered for {person},", "message", "{person} is for laptops"),
        ("returned,laptop,Service Desk,Back with {person},", "message", "{person} is for laptops"),
    ],
)
def test_a_broken_lifecycle_file_is_named_with_line_and_column(tmp_path, row, column, message):
    catalog = catalog_with(tmp_path, "lifecycle.csv", f"move,asset_types,source,message,minutes\n{row}\n")
    with pytest.raises(CatalogError, match=rf"lifecycle\.csv: line 2, column {column}: .*{re.escape(message)}"):
        load_catalog(catalog)


def test_a_catalog_without_a_lifecycle_file_moves_nothing(tmp_path):
    catalog = shutil.copytree(settings.SEED_CATALOG_DIR, tmp_path / "catalog")
    (catalog / "lifecycle.csv").unlink()
    assert load_catalog(catalog).moves == ()
    assert load_catalog(settings.SEED_CATALOG_DIR).moves
