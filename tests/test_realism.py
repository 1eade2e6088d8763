"""Would a viewer believe the estate? Each rule of issue 8 that is built so far, with zero violations.

Seeded on the database of the current pass (SQLite, then PostgreSQL), stacked
twice, so every rule also holds across runs. The rules still to come (lifecycles,
application placement, events that fit their asset, incident stories) join here
as they are built.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest

from inventory.models import Asset
from seeding.catalogs import active_catalog
from seeding.plan import SeedPlan
from tests.conftest import AS_OF
from tests.helpers import seed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def estate():
    """Two stacked runs with different seeds: 6,000 assets."""
    first = seed(SeedPlan(applications=40, assets=3_000, deployments=3_000, events=6_000, seed=3, as_of=AS_OF))
    second = seed(SeedPlan(assets=3_000, events=2_000, seed=4, as_of=AS_OF, chunk_size=700))
    return first, second


def test_addresses_host_names_and_serials_fit_the_site_and_the_manufacturer(estate):
    catalog = active_catalog()
    sites = {site.code: site for site in catalog.sites}
    types = {asset_type.value: asset_type for asset_type in catalog.asset_types}
    violations = []
    for asset in Asset.objects.all():
        code, prefix, number = asset.hostname.split("-")
        site, maker = sites.get(code), catalog.manufacturers[asset.manufacturer]
        if site is None or asset.location != site.location:
            violations.append(f"{asset.hostname}: location {asset.location!r}")
        elif ipaddress.ip_address(asset.ip_address) not in site.network:
            violations.append(f"{asset.hostname}: {asset.ip_address} outside {site.network}")
        if prefix != types[asset.asset_type].hostname_prefix or int(number) != asset.pk:
            violations.append(f"{asset.hostname}: not {asset.asset_type}'s prefix and its key")
        if not asset.serial_number.startswith(maker.serial_prefix) or len(asset.serial_number) != maker.serial_length:
            violations.append(f"{asset.hostname}: serial {asset.serial_number} is not {maker.name}'s")
    assert violations == []


def test_models_and_systems_are_real_and_fit_each_other(estate):
    catalog = active_catalog()
    allowed = {(m.asset_type, m.manufacturer, m.name): {name for name, _ in m.systems} for m in catalog.models}
    rows = Asset.objects.values_list("asset_type", "manufacturer", "model", "operating_system")
    violations = [row for row in rows if row[3] not in allowed.get(row[:3], set())]
    assert violations == []
    # What gave the old data away: firmware on laptops, Windows on a switch, macOS on a Dell.
    assert not Asset.objects.filter(asset_type__in=["network", "storage"], operating_system__startswith="Windows")
    assert not Asset.objects.filter(operating_system__startswith="macOS").exclude(manufacturer="Apple")
    assert not Asset.objects.filter(asset_type="laptop", manufacturer__in=["Cisco", "NetApp", "VMware"])


def test_stacked_runs_reuse_the_same_sites_and_spread_over_all_of_them(estate):
    first, second = estate
    catalog = active_catalog()
    locations = {site.location for site in catalog.sites}
    for run in (first, second):  # the catalog's sites, not new ones per run
        assert set(Asset.objects.filter(seed_run=run).values_list("location", flat=True)) <= locations
    shares = Counter(Asset.objects.values_list("location", flat=True))
    total_weight = sum(site.weight for site in catalog.sites)
    for site in catalog.sites:  # each site near its weight: a believable mix, not one site on page 1
        expected = 6_000 * site.weight / total_weight
        assert 0.4 * expected < shares[site.location] < 1.8 * expected, (site.code, shares[site.location], expected)


def test_end_user_devices_belong_to_people_and_servers_to_none(estate):
    assert not Asset.objects.filter(asset_type__in=["server", "virtual_machine", "network", "storage"]).exclude(
        assigned_to=""
    )
    assert not Asset.objects.filter(asset_type__in=["laptop", "desktop"], assigned_to="")
