"""Would a viewer believe the estate? Every coherence rule of the data (README, "What the data looks
like"; docs/catalogs.md), with no violation, and the distributions that make it look real.

One estate per module, seeded on the database of the current pass (SQLite, then
PostgreSQL) by four stacked runs, so every rule holds across runs and for each
way a run finds its parents: its own (computed) or existing ones (its recorded
view). The tests only read it.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise

import pytest
from django.db.models import Count, F, Max, Q

from inventory.models import Application, Asset, Deployment, Event, Person
from seeding.catalogs import active_catalog
from seeding.generation.people import FALLBACK_LOCALE, name_pool
from seeding.models import SeedRun
from seeding.plan import SeedPlan
from tests.support.data import forget_estate, seed
from tests.support.episodes import episode_patterns
from tests.support.plans import AS_OF
from tests.support.realism import directory_violations, host_owner_violations, ticket_violations, tickets_named

pytestmark = pytest.mark.django_db

RECENT = AS_OF - timedelta(days=7)


@pytest.fixture(scope="module", autouse=True)
def estate(django_db_setup, django_db_blocker):
    """Four stacked runs: a whole estate; more assets with their events; deployments onto existing
    applications and assets; events onto existing assets and deployments."""
    with django_db_blocker.unblock():
        runs = [
            seed(SeedPlan(applications=60, assets=3_000, deployments=4_000, events=12_000, seed=3, as_of=AS_OF)),
            seed(SeedPlan(assets=2_000, events=4_000, seed=4, as_of=AS_OF, chunk_size=700)),
            seed(SeedPlan(deployments=600, seed=5, as_of=AS_OF)),
            seed(SeedPlan(events=3_000, seed=6, as_of=AS_OF)),
        ]
        yield runs
        forget_estate()


def platform(asset_type: str, operating_system: str) -> str | None:
    catalog = active_catalog()
    hosts = {t.value: t.hosts for t in catalog.asset_types}[asset_type]
    return None if hosts == "none" else f"{hosts}/{catalog.families[operating_system]}"


def runs_on(application: Application) -> set[str]:
    """The platforms an application runs on: the catalog's for its software, servers for in-house ones."""
    software = {item.name: item for item in active_catalog().software}
    if application.name in software:
        return set(software[application.name].platforms)
    return {"server/linux", "server/windows"}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# --- assets -----------------------------------------------------------------------------------


def test_addresses_host_names_and_serials_fit_the_site_and_the_manufacturer():
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


def test_models_and_systems_are_real_and_fit_each_other():
    catalog = active_catalog()
    allowed = {(m.asset_type, m.manufacturer, m.name): {name for name, _ in m.systems} for m in catalog.models}
    rows = Asset.objects.values_list("asset_type", "manufacturer", "model", "operating_system")
    violations = [row for row in rows if row[3] not in allowed.get(row[:3], set())]
    assert violations == []
    # What gave the old data away: firmware on laptops, Windows on a switch, macOS on a Dell.
    assert not Asset.objects.filter(asset_type__in=["network", "storage"], operating_system__startswith="Windows")
    assert not Asset.objects.filter(operating_system__startswith="macOS").exclude(manufacturer="Apple")
    assert not Asset.objects.filter(asset_type="laptop", manufacturer__in=["Cisco", "NetApp", "VMware"])


def test_a_device_ships_with_a_system_still_shipping_and_wears_out_with_age():
    """No laptop bought after October 2025 runs Windows 10 (operating_systems.csv ``until``), though older
    ones still do; a worn battery, a replaced keyboard only on a device old enough (events.csv
    ``min_age_days``)."""
    catalog = active_catalog()
    stale = [
        (a.hostname, a.operating_system, a.purchase_date)
        for a in Asset.objects.all()
        if (a.purchase_date - date(1970, 1, 1)).days > catalog.system_until.get(a.operating_system, 1 << 40)
    ]
    assert stale == []
    assert Asset.objects.filter(operating_system__startswith="Windows 10").exists()  # bought before its end
    aged = [t for t in catalog.events if t.min_age_days]
    assert aged
    young, seen = [], Counter()
    for template in aged:
        pattern = re.compile("^" + re.escape(template.message).replace(re.escape("{value}"), r"\d+") + "$")
        for event in Event.objects.filter(kind=template.kind, source=template.source).select_related("asset"):
            if pattern.match(event.message):
                seen[template.message] += 1
                if (event.occurred_at.date() - event.asset.purchase_date).days < template.min_age_days:
                    young.append((event.asset.hostname, event.asset.purchase_date, event.occurred_at, event.message))
    assert young == []
    assert seen["Battery health at {value}% of design capacity"] > 0  # the worn ones still say so


def test_stacked_runs_reuse_the_same_sites_and_spread_over_all_of_them(estate):
    catalog = active_catalog()
    locations = {site.location for site in catalog.sites}
    for run in estate[:2]:  # the catalog's sites, not new ones per run
        assert set(Asset.objects.filter(seed_run=run).values_list("location", flat=True)) <= locations
    shares = Counter(Asset.objects.values_list("location", flat=True))
    total_weight = sum(site.weight for site in catalog.sites)
    for site in catalog.sites:  # each site near its weight: a believable mix, not one site on page 1
        expected = 5_000 * site.weight / total_weight
        assert 0.4 * expected < shares[site.location] < 1.8 * expected, (site.code, shares[site.location], expected)


def test_devices_in_service_belong_to_people_and_servers_to_none():
    end_user = Q(asset_type__in=["laptop", "desktop"])
    in_service = Q(lifecycle_status__in=["in_use", "maintenance"])
    assert not Asset.objects.filter(~end_user).exclude(assigned_to="")
    assert not Asset.objects.filter(end_user & in_service, assigned_to="")
    assert not Asset.objects.filter(end_user & ~in_service).exclude(assigned_to="")  # on order, in stock, retired


#: What Faker's ``name()`` adds and a directory never shows: "Mrs. Marissa Schneider", "John Walker MD".
TITLES = re.compile(r"^(Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s|\s(MD|DDS|DVM|PhD|Jr\.?|Sr\.?|II|III|IV|V)$")


def host_number(asset: Asset, site) -> int:
    """The site's host number behind an asset's address (the inverse of how addresses are handed out)."""
    offset = int(ipaddress.ip_address(asset.ip_address)) - int(site.network.network_address)
    return offset // 256 * 254 + offset % 256 - 1


def test_people_are_people_at_one_site_with_one_or_two_devices_and_a_name_of_their_own():
    """Across two runs with assets (seeds 3 and 4): a name is one person of the directory, at one site with
    all their devices, holds one to three of them, carries no title, and comes from its site's locale (or
    the fallback's names)."""
    catalog = active_catalog()
    sites = {site.location: site for site in catalog.sites}
    fallback = name_pool(FALLBACK_LOCALE)
    directory = dict(Person.objects.values_list("name", "location"))
    elsewhere, devices, foreign, titled = [], Counter(), [], []
    for asset in Asset.objects.exclude(assigned_to=""):
        site = sites[asset.location]
        if directory.get(asset.assigned_to) != asset.location:
            elsewhere.append((asset.hostname, asset.assigned_to, directory.get(asset.assigned_to)))
        devices[asset.assigned_to] += 1
        if TITLES.search(asset.assigned_to):
            titled.append(asset.assigned_to)
        if not any(_named_from(asset.assigned_to, pool) for pool in (name_pool(site.name_locale), fallback)):
            foreign.append((site.code, asset.assigned_to))
    assert len(devices) > 500
    assert not titled
    assert not foreign
    assert not elsewhere  # every user is in the directory, at the site of each of their devices
    assert set(devices) == set(directory)  # and everyone in it uses a device
    holdings = Counter(devices.values())
    assert max(holdings) <= 3 and holdings[1] > holdings[2] >= holdings[3], holdings
    assert {run.seed for run in SeedRun.objects.all() if run.planned("assets")} == {3, 4}  # two runs' people


def test_the_directory_is_an_organisation():
    """Everyone in the directory has an address made of their name, unique; works in a team that works at
    their site; reports, in the same team, to a lead at their site or to the team's head, who reports to
    nobody (one head per team, stacked runs included: a company has one CFO); and carries a title of the
    team's, the head's being its first. Business teams (sales, finance) own no asset or application."""
    assert directory_violations(minimum=500) == []


def _named_from(name: str, pool) -> bool:
    """Whether ``name`` is a first name of the pool, a space and a last name of it (either may hold spaces)."""
    firsts, lasts = set(pool.first.tolist()), set(pool.last.tolist())
    return any(name[:i] in firsts and name[i + 1 :] in lasts for i, char in enumerate(name) if char == " ")


def test_network_storage_and_end_user_devices_belong_to_the_teams_that_run_them():
    """Not Marketing Tech's switches or Mobile's storage arrays: a type that hosts nothing is its team's."""
    teams = {asset_type.value: asset_type.owner_team for asset_type in active_catalog().asset_types}
    assert {"network", "storage", "laptop"} <= {value for value, team in teams.items() if team}
    owned = Counter(
        Asset.objects.exclude(asset_type__in=["server", "virtual_machine"]).values_list("asset_type", "owner_team")
    )
    assert not {(value, team): n for (value, team), n in owned.items() if teams[value] and team != teams[value]}
    assert {value for value, _ in owned} >= {"network", "storage", "laptop"}


def test_a_host_belongs_to_the_team_whose_application_runs_on_it():
    """Not an ESXi host of Supply Chain's: a server or virtual machine belongs to the team of the main
    business application its run deployed on it (agents, on every host, decide nothing), else to the team
    that runs bare hosts. Deployments stacked later onto an existing host do not change its owner."""
    violations, owned_by_apps, teams = host_owner_violations()
    assert violations == []
    assert owned_by_apps > 50 and len(teams) > 5


def test_asset_lifecycles_agree_with_their_history():
    lifespans = {t.value: t.lifespan_years * 365 for t in active_catalog().asset_types}
    waiting = Asset.objects.filter(lifecycle_status__in=["ordered", "in_stock"])
    assert waiting.exists() and not waiting.filter(asset_type="virtual_machine")  # nobody orders a VM
    assert not Deployment.objects.filter(asset__in=waiting) and not Event.objects.filter(asset__in=waiting)

    retired = Asset.objects.filter(lifecycle_status="retired")
    assert retired.exists() and not retired.filter(retired_on__isnull=True)
    assert not Asset.objects.exclude(lifecycle_status="retired").filter(retired_on__isnull=False)
    too_soon = [
        a.hostname
        for a in retired
        if (a.retired_on - a.purchase_date).days < 0.75 * lifespans[a.asset_type] or a.retired_on > AS_OF.date()
    ]
    assert too_soon == []  # retired after a plausible share of its lifespan, not days after purchase
    assert not Event.objects.filter(asset__lifecycle_status="retired", occurred_at__date__gt=F("asset__retired_on"))
    assert not Deployment.objects.filter(asset__lifecycle_status="retired").exclude(status="stopped")

    in_maintenance = Asset.objects.filter(lifecycle_status="maintenance")
    assert in_maintenance.exists()
    recent = Event.objects.filter(kind="maintenance", occurred_at__gte=RECENT).values("asset")
    assert list(in_maintenance.exclude(pk__in=recent).values_list("hostname", flat=True)) == []

    assert not Event.objects.filter(occurred_at__date__lt=F("asset__purchase_date"))
    assert not Deployment.objects.filter(deployed_at__date__lt=F("asset__purchase_date"))


# --- applications and deployments ---------------------------------------------------------------


def test_applications_run_only_on_assets_that_can_host_them():
    violations = []
    for application in Application.objects.all():
        allowed = runs_on(application)
        for hostname, asset_type, system in Deployment.objects.filter(application=application).values_list(
            "asset__hostname", "asset__asset_type", "asset__operating_system"
        ):
            if platform(asset_type, system) not in allowed:
                violations.append(f"{application.name} on {hostname} ({asset_type}, {system})")
    assert violations == []
    # What gave the old data away: server software on laptops, anything on switches, arrays or hypervisors.
    assert not Deployment.objects.filter(asset__asset_type__in=["network", "storage"])
    assert not Deployment.objects.filter(asset__operating_system__startswith="VMware ESXi")


def test_names_categories_and_teams_agree():
    catalog = active_catalog()
    software = {s.name: s for s in catalog.software}
    in_house = {
        f"{codename} {domain.domain} {service}": domain
        for domain in catalog.domains
        for service in domain.services
        for codename in catalog.codenames
    }
    violations = []
    for name, vendor, category, team in Application.objects.values_list("name", "vendor", "category", "owner_team"):
        if name in software:
            item = software[name]
            if (vendor, category, team) != (item.vendor, item.category, item.owner_team):
                violations.append(name)
            continue
        domain = in_house.get(re.sub(r" \d+$", "", name))
        if vendor != "In-house" or domain is None or (category, team) != (domain.category, domain.owner_team):
            violations.append(name)
    assert violations == []


def test_a_host_serves_one_environment():
    mixed = (
        Deployment.objects.values("asset")
        .annotate(environments=Count("environment", distinct=True))
        .filter(environments__gt=1)
    )
    assert list(mixed) == []
    assert not Deployment.objects.filter(asset__asset_type__in=["laptop", "desktop"], environment="staging")


def test_application_lifecycles_agree_with_their_deployments_and_events():
    assert not Deployment.objects.filter(application__lifecycle="planned", environment="production")
    retired = Application.objects.filter(lifecycle="retired")
    assert not retired.filter(retired_on__isnull=True)
    assert not Application.objects.exclude(lifecycle="retired").filter(retired_on__isnull=False)
    assert not Deployment.objects.filter(application__lifecycle="retired").exclude(status="stopped")
    assert not Deployment.objects.filter(
        application__lifecycle="retired", deployed_at__date__gte=F("application__retired_on")
    )
    assert not Event.objects.filter(
        deployment__application__lifecycle="retired", occurred_at__date__gt=F("deployment__application__retired_on")
    )


def test_versions_are_real_never_newer_than_the_release_and_roll_out_in_waves():
    software = {s.name: s for s in active_catalog().software}
    violations, current, behind = [], 0, 0
    rows = Deployment.objects.values_list("application__name", "application__version", "version")
    for name, release, version in rows:
        if version_key(version) > version_key(release):
            violations.append(f"{name}: {version} is newer than {release}")
        if name in software and version not in software[name].versions:
            violations.append(f"{name}: {version} is not one of its releases")
        current += version == release
        behind += version != release
    assert violations == []
    assert current > 0.6 * (current + behind) and behind > 0.1 * (current + behind)  # a tail on older releases
    for name, version in Application.objects.filter(name__in=software).values_list("name", "version"):
        assert version == software[name].versions[-1]  # third-party software is on its current release
    # What gave the old data away: "Patched postgresql to 2.4.19", "openssl 7.11.7".
    assert not Event.objects.filter(message__iregex=r"openssl (?:[4-9]|1\d)\.")


# --- events -------------------------------------------------------------------------------------------


def _template_patterns():
    """Each template of the catalog as (template, regex with the value captured)."""
    patterns = defaultdict(list)
    for template in active_catalog().events:
        text = re.escape(template.message)
        text = text.replace(r"\{value\}", r"(?P<value>\d+)").replace(r"\{ticket\}", r"CHG\d{7,}")
        text = text.replace(r"\{package\}", r".+?").replace(r"\{version\}", r"\S+")
        patterns[(template.kind, template.source)].append((template, re.compile(f"^{text}$")))
    return patterns


def test_events_fit_their_asset_and_deployment_and_their_severity_follows_the_message():
    catalog = active_catalog()
    patterns = _template_patterns()
    episodes = episode_patterns()
    rows = (
        Event.objects.values_list(
            "kind", "severity", "source", "message", "asset__asset_type", "asset__operating_system"
        )
        .annotate(tied=Max("deployment_id"))
        .annotate(n=Count("id"))
    )
    violations, checked = [], 0
    for kind, severity, source, message, asset_type, system, tied, n in rows:
        family = catalog.families[system]
        scope = "application" if tied else "host"
        fits = [
            (template, match)
            for template, pattern in patterns[(kind, source)]
            if (match := pattern.match(message)) and template.fits(asset_type, family) and template.scope == scope
        ]
        if not fits and any(k == kind and src == source and p.match(message) for k, src, p, _, _ in episodes):
            checked += n  # told by an incident story or a change wave (test_a_ticket_names_one_thing)
            continue
        if not fits:
            violations.append(f"{kind} from {source} on a {asset_type} ({system}, {scope}): {message!r}")
        elif not any(
            t.severity_of(int(m.group("value")) if "value" in m.groupdict() else None) == severity for t, m in fits
        ):
            violations.append(f"{severity}: {message!r}")
        checked += n
    assert violations == []
    assert checked == Event.objects.count()


def test_severity_and_sources_follow_the_kind():
    assert not Event.objects.filter(kind="incident", severity__in=["info", "warning"])  # an incident is never info
    assert not Event.objects.filter(kind="maintenance").exclude(severity="info")
    assert set(Event.objects.filter(kind="incident").values_list("source", flat=True)) == {"ServiceNow"}
    assert not Event.objects.filter(kind="alert", source__in=["ServiceNow", "Field Services", "Ansible"])
    endpoint_sources = set(
        Event.objects.filter(asset__asset_type__in=["laptop", "desktop"], kind="alert").values_list("source", flat=True)
    )
    assert endpoint_sources <= {"Intune", "Jamf", "CrowdStrike"}  # endpoint management reports on laptops
    assert not Event.objects.filter(asset__asset_type="laptop", message__icontains="5xx")
    assert not Event.objects.filter(asset__operating_system__startswith="macOS", message__icontains="Windows")


def test_a_ticket_names_one_thing():
    """One number, one thing: a single change or maintenance window on one host; a change wave on the hosts
    of one application or at one site, within its window; an incident's story from its first alert (or a
    user's call) to its resolution. Never the same number on unrelated hosts weeks apart."""
    tickets = tickets_named()
    assert len(tickets) > 100
    assert ticket_violations(tickets) == []
    # Every incident is a story: none stands alone.
    assert not Event.objects.filter(kind="incident").exclude(message__regex=r"^INC[0-9]{7,}[: ]")
    parts = Counter(part for told in tickets.values() for _, part, _, _ in told)
    assert set(parts) == {"single", "opened", "step", "closed", "record", "fix", "resolution"}


# --- distributions -----------------------------------------------------------------------------------


def test_the_mix_looks_like_a_real_estate():
    severities = Counter(Event.objects.values_list("severity", flat=True))
    assert severities["info"] > severities["warning"] > severities["error"] > severities["critical"] > 0
    alerts = Counter(Event.objects.filter(kind="alert").values_list("severity", flat=True))
    assert alerts["warning"] > alerts["critical"]  # thresholds crossed by a little are more common than by a lot
    kinds = Counter(Event.objects.values_list("kind", flat=True))
    assert kinds["alert"] > kinds["change"] > kinds["maintenance"] > kinds["incident"] > 0
    lifecycles = Counter(Asset.objects.values_list("lifecycle_status", flat=True))
    assert lifecycles["in_use"] > 0.7 * sum(lifecycles.values()) and len(lifecycles) == 5
    per_app = sorted(Counter(Deployment.objects.values_list("application_id", flat=True)).values(), reverse=True)
    assert per_app[0] > 5 * per_app[len(per_app) // 2]  # a few big applications, a long tail


def test_trouble_comes_in_runs(estate):
    """A failing host raises several alerts at once: consecutive events often concern the same asset."""
    in_key_order = list(Event.objects.filter(seed_run=estate[0]).order_by("pk").values_list("asset_id", flat=True))
    repeats = sum(a == b for a, b in pairwise(in_key_order)) / len(in_key_order)
    assert 0.25 < repeats < 0.6


def test_events_follow_each_sites_office_hours_and_weekends_in_local_time_with_bursts():
    zones = {site.location: zoneinfo.ZoneInfo(site.time_zone) for site in active_catalog().sites}
    rows = list(Event.objects.values_list("occurred_at", "asset__location"))
    local = [moment.astimezone(zones[location]) for moment, location in rows if location in zones]
    assert len(local) > 0.95 * len(rows)
    by_hour = Counter(moment.hour for moment in local)
    assert by_hour[10] > 3 * by_hour[3] and by_hour[15] > 3 * by_hour[2]  # busy office hours, quiet nights
    by_weekday = Counter(moment.weekday() for moment in local)
    assert by_weekday[5] + by_weekday[6] < 0.7 * (by_weekday[1] + by_weekday[2])  # quieter weekends
    # In local time the rhythm is sharp; in UTC the sites' time zones blur it.
    utc_hours = Counter(moment.hour for moment, _ in rows)
    assert max(by_hour.values()) / min(by_hour.values()) > 2 * max(utc_hours.values()) / min(utc_hours.values())
    busiest_hour = max(Counter(moment.replace(minute=0, second=0) for moment, _ in rows).values())
    assert busiest_hour > 5 * len(rows) / (90 * 24)  # incident bursts
