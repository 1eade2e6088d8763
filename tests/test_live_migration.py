"""The datacenter-migration pack: a live stream moves a site's servers and virtual machines to another site,
a few hosts per change, each renamed and re-addressed for its new site as it arrives.

One estate per module, on the database of the current pass (with a history), and twelve hours of the pack
on it at one event a second, written tick by tick as its writer would. The tests read what it did; the
rules of seeded data that a move could break are checked again on the estate it left.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings
from django.test import override_settings

from inventory.models import Asset, Event
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.catalog import CatalogError
from seeding.generation.episode_hosts import fitting_assets
from seeding.generation.episodes import EPISODE_EVERY, EPISODE_LEN
from seeding.generation.happenings import happenings
from seeding.generation.scenarios import load_scenario
from seeding.generation.spec import RunSpec
from seeding.models import SeedRun
from seeding.persistence.parent_view.reading import parents_of
from seeding.plan import SeedPlan
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.catalogs import catalog_with
from tests.support.data import forget_estate, seed
from tests.support.episodes import pattern_of
from tests.support.live import estate_state
from tests.support.plans import AS_OF

# The rules of seeded data a move could break, checked again on the estate the stream left. Imported by
# name: each is a test that reads every row.
from tests.test_realism import (  # noqa: F401
    test_a_ticket_names_one_thing,
    test_addresses_host_names_and_serials_fit_the_site_and_the_manufacturer,
    test_events_fit_their_asset_and_deployment_and_their_severity_follows_the_message,
    test_severity_and_sources_follow_the_kind,
)

pytestmark = pytest.mark.django_db

START = AS_OF + timedelta(days=2, hours=6)  # a Tuesday, early in Europe
HOURS = 12


@pytest.fixture(scope="module", autouse=True)
def stream(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(SeedPlan(applications=30, assets=3_000, deployments=3_500, events=4_000, seed=3, as_of=AS_OF))
        before = estate_state()
        run = live.live_stream_start(
            rate=1, duration=HOURS * 3_600, seed=21, start=START, scenario="datacenter-migration"
        )
        claim = seed_run_claim(run=run, resume=False)
        with override_settings(SEED_LIVE_TICK_SECONDS=60):  # fewer, larger commits: the same rows
            second = 0
            while second < run.window_seconds:
                second += 240
                assert live.live_stream_catch_up(run=run, claim=claim, now=START.timestamp() + second)
        services.live_stream_stop(run=run)  # at its end: what it wrote is all there is
        yield run, before
        forget_estate()


def sites() -> tuple:
    catalog = active_catalog()
    migration = load_scenario(settings.SEED_CATALOG_DIR, "datacenter-migration", catalog).migration
    by_code = {site.code: site for site in catalog.sites}
    return by_code[migration.source], by_code[migration.destination], migration.asset_types


def migration_waves(run: SeedRun) -> dict[str, dict[str, list[tuple[Event, object]]]]:
    """Per change number: the events of the stream's migration waves, by part (opened, step, closed)."""
    patterns = [
        (part, wave.source if part == "step" else wave.ticket_source, pattern_of(getattr(wave, part)))
        for wave in active_catalog().waves
        if wave.scope == "migration"
        for part in ("opened", "step", "closed")
    ]
    told = defaultdict(lambda: defaultdict(list))
    for event in Event.objects.filter(seed_run=run, kind="change").order_by("occurred_at"):
        for part, source, pattern in patterns:
            if event.source == source and (match := pattern.match(event.message)):
                told[match["change"]][part].append((event, match))
                break
    return told


def test_the_sources_hosts_move_to_the_destination_renamed_and_readdressed(stream):
    _, before = stream
    source, destination, types = sites()
    after = estate_state()["Asset"]
    assets = {asset.pk: asset for asset in Asset.objects.all()}
    movable = [
        pk
        for pk, (lifecycle, _, _, location, _) in before["Asset"].items()
        if location == source.location and lifecycle == "in_use" and assets[pk].asset_type in types
    ]
    moved = [pk for pk in movable if after[pk][3] == destination.location]
    # Twelve hours move every virtual machine and most servers (a server's wave takes hours: one that would
    # end after the stream does not begin).
    assert len(movable) >= 20 and len(moved) >= 0.7 * len(movable), (len(moved), len(movable))
    for pk in moved:
        asset = assets[pk]
        prefix = before["Asset"][pk][1].split("-")[1]
        assert asset.hostname == f"{destination.code}-{prefix}-{pk:06d}"
        assert ipaddress.ip_address(asset.ip_address) in destination.network
    # Nothing else moved, and nothing else changed name or address.
    changed = {pk for pk, state in before["Asset"].items() if after[pk][1:4] != state[1:4]}
    assert changed == set(moved)


def test_each_wave_moves_its_hosts_under_one_change_and_says_where_they_went(stream):
    run, _ = stream
    source, destination, _ = sites()
    waves = migration_waves(run)
    assert len(waves) >= 5
    moved = 0
    for parts in waves.values():
        [(opened, first)], [(closed, _)] = parts["opened"], parts["closed"]
        assert first["site"] == source.city and first["destination"] == destination.city
        steps = sorted(parts["step"], key=lambda told: int(told[1]["step"]))
        assert [int(match["step"]) for _, match in steps] == list(range(1, int(first["hosts"]) + 1))
        assert opened.occurred_at < steps[0][0].occurred_at and steps[-1][0].occurred_at < closed.occurred_at
        for event, match in steps:
            asset = Asset.objects.get(pk=event.asset_id)
            assert (asset.hostname, asset.ip_address) == (match["hostname"], match["address"])
            assert asset.location == destination.location
            moved += 1
    assert (
        moved
        == Asset.objects.filter(hostname__startswith=f"{destination.code}-", seed_run__isnull=False)
        .filter(pk__in=[e.asset_id for parts in waves.values() for e, _ in parts["step"]])
        .count()
    )


def test_no_incident_or_site_wave_picks_a_host_that_is_moving(stream):
    """Its site changes under it: a user's call in its site's working hours, or a change at one site, would
    no longer fit. Its monitoring keeps talking about it (ordinary events)."""
    run, _ = stream
    moving = {e.asset_id for parts in migration_waves(run).values() for e, _ in parts["step"]}
    told = Event.objects.filter(seed_run=run, asset_id__in=moving)
    assert not told.filter(message__regex=r"^INC[0-9]{7,}")
    at_one_site = [
        (wave.source if part == "step" else wave.ticket_source, pattern_of(getattr(wave, part)))
        for wave in active_catalog().waves
        if wave.scope == "host"
        for part in ("opened", "step", "closed")
    ]
    site_waves = [
        message
        for source, message in told.filter(kind="change").values_list("source", "message")
        if any(source == wave_source and pattern.match(message) for wave_source, pattern in at_one_site)
    ]
    assert site_waves == []
    assert told.exclude(message__regex=r"^CHG").exists()


def test_stories_and_site_waves_pick_hosts_from_a_table_without_the_moving_ones(stream):
    """What keeps them off (the check above could pass by chance): the table they pick from."""
    run, _ = stream
    spec = RunSpec.from_run(run, catalog=active_catalog())
    parents = parents_of(run, spec)
    view = (parents.applications, parents.deployments.states(parents.applications))
    plan = happenings(spec, parents.assets, *view, EPISODE_EVERY, EPISODE_LEN)
    moving = np.concatenate([batch.positions for batch in plan.batches])
    assert len(moving) >= 20 and (plan.settled.site[moving] == -1).all()
    candidates, _ = fitting_assets(spec.catalog, plan.settled, (None, None))
    assert len(candidates) and not set(moving.tolist()) & set(candidates.tolist())
    assert (parents.assets.site[moving] >= 0).all()  # the ordinary events' table keeps their site


def test_a_later_run_numbers_its_hosts_after_the_addresses_the_stream_took(stream):
    """The stream reserved host numbers at the destination as it was created: a run seeded after it gives
    its own hosts there other addresses (the unique address would refuse a repeat)."""
    _, destination, _ = sites()
    later = seed(SeedPlan(assets=600, seed=8, as_of=AS_OF))
    assert later.status == SeedRun.Status.SUCCEEDED
    addresses = list(Asset.objects.filter(location=destination.location).values_list("ip_address", flat=True))
    assert len(addresses) == len(set(addresses))
    assert Asset.objects.filter(seed_run=later, location=destination.location).exists()


@pytest.mark.parametrize(
    ("table", "column", "message"),
    [
        ('from = "fra1"\nto = "fra1"', "to", "must be another site than from"),
        ('from = "xyz9"\nto = "ams1"', "from", "must be a site code"),
        ('from = "fra1"\nto = "ams1"\nasset_types = ["laptop"]', "asset_types", "end-user devices move with"),
        ('from = "fra1"\nto = "ams1"\nshare = 0', "share", "must be above 0"),
        ('from = "fra1"\nto = "ams1"\nsites = 3', "sites", "is not a setting of a migration"),
    ],
)
def test_a_broken_migration_is_named_with_line_and_column(tmp_path, table, column, message):
    text = f'version = 1\ndescription = "A move."\n\n[migration]\n{table}\n\n[[phase]]\nname = "all"\nshare = 1\n'
    catalog = catalog_with(tmp_path, "scenarios/moving.toml", text)
    line = 5 + next(number for number, row in enumerate(table.splitlines()) if row.startswith(column))
    with pytest.raises(CatalogError, match=rf"moving\.toml: line {line}, column \d+: {column} .*{message}"):
        load_scenario(catalog, "moving", active_catalog())
