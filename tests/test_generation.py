"""Pure generation: determinism, independence from chunking, skew. No database."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest

from seeding.catalogs import active_catalog
from seeding.generation import events, people, rows, timeline
from seeding.generation.catalog import SEVERITIES
from seeding.generation.estate import own_applications, own_assets, software_taken
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.placement import application_quotas, deployment_layout, taken_on_hosts
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.spec import EVENT_WINDOW_DAYS, RunSpec
from seeding.named_plans import PLANS

MASK = (1 << 64) - 1


def reference_splitmix(value: int) -> int:
    """SplitMix64's finaliser written with Python integers, as in the original paper's code."""
    z = value & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def spec(**counts) -> RunSpec:
    plan = {"applications": 40, "assets": 300, "deployments": 900, "events": 3_000, **counts}
    return RunSpec(
        run_id=1,
        seed=11,
        as_of=1_790_000_000,
        counts=tuple(plan.items()),
        id_bases=(("applications", 1), ("assets", 1), ("deployments", 1), ("events", 1)),
        catalog=active_catalog(),
    )


def test_vectorised_mixer_matches_scalar_reference():
    stream = Stream(3, "some.field")
    ordinals = np.array([0, 1, 2, 10**12], dtype=np.int64)
    expected = [reference_splitmix((o * 0x9E3779B97F4A7C15 + int(stream.key)) & MASK) for o in ordinals.tolist()]
    assert stream.bits(ordinals).tolist() == expected


def test_streams_differ_by_seed_and_field_but_not_by_call():
    ordinals = np.arange(1_000, dtype=np.int64)
    a = Stream(1, "x").ints(ordinals, 1_000)
    assert np.array_equal(a, Stream(1, "x").ints(ordinals, 1_000))
    assert not np.array_equal(a, Stream(2, "x").ints(ordinals, 1_000))
    assert not np.array_equal(a, Stream(1, "y").ints(ordinals, 1_000))


def test_weighted_draws_follow_the_weights():
    draws = Stream(5, "w").weighted(np.arange(100_000, dtype=np.int64), WeightTable([70, 20, 8, 2]))
    shares = np.bincount(draws, minlength=4) / len(draws)
    assert shares == pytest.approx([0.70, 0.20, 0.08, 0.02], abs=0.01)


def own_parents(s: RunSpec, occupancy=None):
    """The run's own application and asset tables, its layout and its deployments."""
    apps, assets = own_applications(s), own_assets(s, events.maintenance_slots(s))
    layout = deployment_layout(s, apps, assets, occupancy)
    return apps, assets, layout, OwnDeployments(s, layout, apps, assets)


@pytest.mark.parametrize("kind", ["applications", "assets", "deployments", "events"])
def test_rows_do_not_depend_on_how_the_plan_is_chunked(kind):
    s = spec()
    apps, assets, layout, deployments = own_parents(s)

    def generate(start: int, stop: int) -> dict[str, list]:
        if kind == "applications":
            return rows.applications(s, start, stop)
        if kind == "assets":
            return rows.assets(s, start, stop, assets)
        if kind == "deployments":
            return rows.deployments(s, start, stop, layout, apps, assets)
        return events.events(s, start, stop, assets, deployments)

    whole = generate(0, 40)
    pieces = [generate(0, 7), generate(7, 30), generate(30, 40)]
    for column, values in whole.items():
        assert values == [v for piece in pieces for v in piece[column]], column


def test_application_quotas_give_each_application_its_handful_then_the_widest_products_most_of_their_reach():
    room, handful = np.full(500, 5_000), np.full(500, 3)
    demand, reach = np.zeros(500, dtype=np.int64), np.zeros(500, dtype=np.int64)
    demand[:5], reach[:5] = 4_500, 900  # five agents on 90% of their hosts
    demand[5:10], reach[5:10] = 500, 100  # five products on 10%
    quotas = application_quotas(10_000, room, handful, demand, reach)
    assert quotas.sum() == 10_000 and (quotas <= room).all()
    assert (quotas[10:] == 3).all()  # business applications: their handful
    # 8,500 left for 25,000 wanted: the agents keep most of theirs, the narrow products are cut more.
    assert (quotas[:5] > 1_600).all() and (quotas[5:10] < 50).all()


def test_application_quotas_keep_half_the_plan_for_products_with_a_reach():
    quotas = application_quotas(
        100, np.full(4, 1_000), np.array([60, 60, 0, 0]), np.array([0, 0, 900, 900]), np.array([0, 0, 900, 900])
    )
    assert quotas.tolist() == [25, 25, 25, 25]


def test_application_quotas_fill_every_slot_when_the_plan_is_full():
    nothing = np.zeros(3, dtype=np.int64)
    assert application_quotas(12, np.full(3, 4), np.ones(3, dtype=np.int64), nothing, nothing).tolist() == [4, 4, 4]


def test_application_quotas_respect_each_applications_own_room():
    nothing = np.zeros(3, dtype=np.int64)
    quotas = application_quotas(9, np.array([2, 0, 7]), np.full(3, 5), nothing, nothing)
    assert quotas.tolist() == [2, 0, 7]


def test_deployments_never_repeat_an_application_asset_pair():
    probe = spec(applications=7, assets=60, deployments=1)
    room = own_parents(probe)[2].room  # every free (application, host) pair
    s = spec(applications=7, assets=60, deployments=room)
    apps, assets, layout, _ = own_parents(s)
    columns = rows.deployments(s, 0, room, layout, apps, assets)
    pairs = list(zip(columns["application"], columns["asset"]))
    assert len(set(pairs)) == len(pairs) == room > 60


class TakenPairs:
    """An Occupancy over a fixed set of (application position, asset position) pairs."""

    def __init__(self, pairs: set[tuple[int, int]]):
        self.pairs = pairs

    def taken_counts(self, host_lists, list_of):
        apps, assets = self.asset_positions(np.arange(len(list_of), dtype=np.int64))
        return taken_on_hosts(apps, assets, host_lists, list_of)

    def asset_positions(self, application_positions):
        wanted = set(application_positions.tolist())
        chosen = sorted(pair for pair in self.pairs if pair[0] in wanted)
        return np.array([a for a, _ in chosen], dtype=np.int64), np.array([b for _, b in chosen], dtype=np.int64)


@pytest.mark.parametrize("taken_share", [0.1, 0.5, 0.9])
def test_deployments_step_over_pairs_that_are_already_taken(taken_share):
    """Stacked onto existing deployments: every free pair can be filled, no taken pair is reused."""
    apps_n, assets_n = 9, 80
    probe = spec(applications=apps_n, assets=assets_n, deployments=1)
    p_layout = own_parents(probe)[2]
    hosts = {
        app: set(p_layout.host_lists[p_layout.list_of[app]].tolist()) for app in range(apps_n)
    }  # where each application may go
    draws = Stream(3, "taken").ints(np.arange(apps_n * assets_n, dtype=np.int64), 1000)
    taken = {(i // assets_n, i % assets_n) for i, d in enumerate(draws.tolist()) if d < taken_share * 1000}
    # Existing deployments also sit on assets the application would not be placed on now.
    free = sum(len(hosts[app]) for app in range(apps_n)) - sum(1 for app, asset in taken if asset in hosts[app])
    s = spec(applications=apps_n, assets=assets_n, deployments=free)
    apps, assets, layout, _ = own_parents(s, TakenPairs(taken))
    assert layout.room == free
    columns = rows.deployments(s, 0, free, layout, apps, assets)
    placed = {(app - 1, asset - 1) for app, asset in zip(columns["application"], columns["asset"])}
    assert len(placed) == free  # no pair twice
    assert not placed & taken  # no pair that already has a deployment
    assert all(asset in hosts[app] for app, asset in placed)  # only on hosts that can run it
    # Chunked differently, the same placement.
    halves = [rows.deployments(s, a, b, layout, apps, assets) for a, b in ((0, free // 3), (free // 3, free))]
    assert [x for half in halves for x in half["asset"]] == columns["asset"]


def test_unique_columns_are_unique_by_construction():
    s = spec(assets=20_000)
    columns = rows.assets(s, 0, 20_000, own_parents(s)[1])
    for column in ("hostname", "ip_address", "serial_number"):
        assert len(set(columns[column])) == 20_000, column


def test_timestamps_use_djangos_sqlite_text_format():
    """The same text Django writes for a UTC datetime on SQLite (str() of a naive value)."""
    seconds = [0, 1_790_000_000, 1_790_000_059]
    text = timeline.timestamp_strings(np.array(seconds, dtype=np.int64))
    assert text == [str(datetime.fromtimestamp(s, UTC).replace(tzinfo=None)) for s in seconds]


@pytest.mark.parametrize("plan", ["S", "demo", "L", "10L"])
def test_severity_bursts_and_incidents_stay_within_the_catalogs_bands_at_every_size(plan):
    """The demo plan and 10L look alike: the share of each severity, the busiest day against a normal
    one, and incidents per asset and month stay within ``bands.csv``. Measured on 24 slices of 4,000
    events spread over the run (writing 10L would take minutes)."""
    counts = PLANS[plan]
    s = dataclasses.replace(spec(), counts=tuple(counts.items()), seed=5)
    apps, assets, _, deployments = own_parents(s)
    bands = s.catalog.bands
    severities, incidents, sampled = Counter(), 0, 0
    for first in np.linspace(0, counts["events"] - 4_000, 24).astype(int).tolist():
        chunk = events.events(s, first, first + 4_000, assets, deployments, apps)
        severities.update(chunk["severity"])
        incidents += chunk["kind"].count("incident") / 2  # each incident: its record and its resolution
        sampled += 4_000
    for severity in SEVERITIES:
        low, high = bands[f"severity.{severity}"]
        assert low <= severities[severity] / sampled <= high, severity
    per_minute = np.diff(timeline.timeline_of(s).cumulative, prepend=0)
    days = per_minute.reshape(-1, 24 * 60).sum(axis=1)
    low, high = bands["busiest_day"]
    assert low <= days.max() / np.median(days) <= high
    months = EVENT_WINDOW_DAYS / 30
    low, high = bands["incidents_per_1000_assets_month"]
    assert low <= incidents / sampled * counts["events"] / counts["assets"] * 1_000 / months <= high


def test_stacked_runs_with_other_seeds_take_other_products_and_names():
    """A second run continues the first's orders (its seed, after its positions): nothing repeats."""
    first = spec(applications=150)
    taken = software_taken(first.catalog, 150, 0)
    second = dataclasses.replace(
        spec(applications=150), seed=12, names_seed=first.seed, software_from=taken, in_house_from=150 - taken
    )
    names = [rows.applications(s, 0, 150)["name"] for s in (first, second)]
    assert len(set(names[0]) | set(names[1])) == 300
    assert taken == len(first.catalog.software)  # the first run took the whole catalog...
    assert (own_applications(second).software == -1).all()  # ...so the second adds in-house applications only


def test_host_numbers_undo_ip_addresses_at_every_site_and_refuse_what_they_cannot_have_given():
    """Who a live stream issues a waiting laptop to is found from its address (its host number, then the
    person it shares it with): the inverse must hold, IPv6 overflow addresses included."""
    catalog = active_catalog()
    sites = np.repeat(np.arange(len(catalog.sites)), 6)
    hosts = np.tile(np.array([0, 1, 253, 254, 5_000, 70_000]), len(catalog.sites))
    addresses = rows.ip_addresses(catalog, sites, hosts)
    assert (rows.host_numbers(catalog, sites, addresses) == hosts).all()
    first = catalog.sites[0].network
    foreign = [str(first.network_address), str(first.network_address + 255), "192.0.2.7", "not an address"]
    assert (rows.host_numbers(catalog, np.zeros(4, dtype=np.int64), foreign) == -1).all()


def test_the_hosts_sharing_a_person_are_the_ones_person_numbers_groups():
    """Who a waiting laptop goes to is found through the devices its person already has: the host numbers
    ``sharing_hosts`` gives are exactly those with the same person, within the run's numbers."""
    base, count = 40, 50
    hosts = np.arange(base, base + count)
    numbers = people.person_numbers(hosts, base, 7)
    which, others = people.sharing_hosts(hosts, np.full(count, base), np.full(count, count))
    for i, host in enumerate(hosts.tolist()):
        expected = {h for h, n in zip(hosts.tolist(), numbers.tolist()) if n == numbers[i] and h != host}
        assert set(others[which == i].tolist()) == expected, host
    assert len(others) >= count - 4  # one or two each
