"""Would a viewer who looks twice at the applications believe them? (issue 21)

Which applications are the most deployed is decided by what they are (the
catalog's ``reach``, the tier) and the seed, never by their keys; retired and
planned applications run nowhere; "deploying" is what happened in the last
days; an in-house name, a codename's product and a third-party product appear
once in an estate, stacked runs included.

One estate per module, seeded on the database of the current pass (SQLite, then
PostgreSQL) by three stacked runs: two that write applications, assets and
deployments of their own (the second finds the catalog's products already
taken), and deployments onto the existing applications and assets.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.db.models import Count, F

from inventory.models import Application, Asset, Deployment
from seeding.catalogs import active_catalog
from seeding.plan import SeedPlan
from tests.support.data import forget_estate, seed
from tests.support.plans import AS_OF

pytestmark = pytest.mark.django_db

#: A deployment is "deploying" only if it started this recently.
DEPLOYING_WITHIN = timedelta(days=2)


@pytest.fixture(scope="module", autouse=True)
def estate(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        runs = [
            seed(SeedPlan(applications=500, assets=2_000, deployments=10_000, events=1_000, seed=3, as_of=AS_OF)),
            seed(SeedPlan(applications=500, assets=2_000, deployments=3_000, events=1_000, seed=4, as_of=AS_OF)),
            seed(SeedPlan(deployments=600, seed=5, as_of=AS_OF)),
        ]
        yield runs
        forget_estate()


def platform_of(asset_type: str, operating_system: str) -> str | None:
    catalog = active_catalog()
    hosts = {t.value: t.hosts for t in catalog.asset_types}[asset_type]
    return None if hosts == "none" else f"{hosts}/{catalog.families[operating_system]}"


def codename_and_domain(name: str) -> tuple[str, str]:
    """("Silver Raven", "Payroll") for "Silver Raven Payroll Calculation Engine" (a trailing number dropped)."""
    base = re.sub(r" \d+$", "", name)
    for domain in active_catalog().domains:
        for service in domain.services:
            suffix = f" {domain.domain} {service}"
            if base.endswith(suffix):
                return base[: -len(suffix)], domain.domain
    raise AssertionError(f"{name!r} is no <codename> <domain> <service> of the catalog")


def test_stacked_runs_add_products_the_estate_lacks_and_in_house_names_never_repeat(estate):
    second = estate[1]
    names = Application.objects.values_list("name", "vendor")
    in_house = Counter(name for name, vendor in names if vendor == "In-house")
    third_party = Counter(name for name, vendor in names if vendor != "In-house")
    assert [name for name, times in in_house.items() if times > 1] == []
    assert [name for name, times in third_party.items() if times > 1] == []  # no second "Redis"
    # The first run took every product of the catalog: the second adds in-house applications only.
    assert set(third_party) == {item.name for item in active_catalog().software}
    assert not Application.objects.filter(seed_run=second).exclude(vendor="In-house")
    # A codename names one product: "Raven" is in Payroll, or in Search, never in both.
    domains = defaultdict(set)
    for name in in_house:
        codename, domain = codename_and_domain(name)
        domains[codename].add(domain)
    assert {codename: found for codename, found in domains.items() if len(found) > 1} == {}
    # A product has its services side by side: "Raven Payroll API", "Raven Payroll Portal".
    assert len(domains) < 0.6 * len(in_house)


def test_retired_and_planned_applications_run_nowhere_and_deploying_is_what_happened_lately():
    retired = Deployment.objects.filter(application__lifecycle="retired")
    assert list(retired.exclude(status="stopped").values_list("application__name", "status")[:5]) == []
    assert not Deployment.objects.filter(application__lifecycle="planned")
    deploying = Deployment.objects.filter(status="deploying")
    assert deploying.exists() and not deploying.filter(deployed_at__lt=AS_OF - DEPLOYING_WITHIN)
    assert not deploying.exclude(version=F("application__version"))  # what is rolled out is the current release
    # Retired applications were deployed before they were retired.
    for deployed_at, retired_on in retired.values_list("deployed_at", "application__retired_on"):
        assert deployed_at.date() < retired_on
    assert Deployment.objects.filter(application__lifecycle="deprecated", status="running").exists()


def test_the_most_deployed_applications_are_the_agents_not_the_first_keys(estate):
    catalog = active_catalog()
    per_app = Application.objects.annotate(hosts=Count("deployments")).order_by("-hosts", "pk")
    top = list(per_app.values_list("pk", "name", "vendor", "hosts")[:10])
    lowest = set(Application.objects.order_by("pk").values_list("pk", flat=True)[:10])
    assert len({pk for pk, *_ in top} & lowest) <= 3, top
    reach = {item.name: item.reach for item in catalog.software}
    assert sum(1 for _, name, _, _ in top if reach.get(name, 0) >= 50) >= 8, top

    # An agent with a wide reach is on most hosts of its platforms (the first run's, where it is).
    first = estate[0]
    hosts = defaultdict(set)
    for pk, asset_type, system in Asset.objects.filter(
        seed_run=first, lifecycle_status__in=["in_use", "maintenance"]
    ).values_list("pk", "asset_type", "operating_system"):
        hosts[platform_of(asset_type, system)].add(pk)
    wide = [item for item in catalog.software if item.reach >= 80]
    assert len(wide) >= 8
    for item in wide:
        application = Application.objects.get(name=item.name)
        if application.lifecycle != "active":
            continue
        mine = set().union(*(hosts[name] for name in item.platforms))
        on = set(Deployment.objects.filter(application=application, asset__in=mine).values_list("asset", flat=True))
        assert len(on) > 0.5 * len(mine), (item.name, len(on), len(mine))

    # Business applications sit on a handful of hosts; tier 3 on a few.
    business = per_app.filter(vendor="In-house")
    assert max(business.values_list("hosts", flat=True)) < 0.2 * top[0][3]
    assert max(business.filter(tier="tier_3").values_list("hosts", flat=True)) <= 100
    assert (
        sorted(business.filter(seed_run=first, lifecycle="active").values_list("hosts", flat=True))[
            len(business.filter(seed_run=first, lifecycle="active")) // 2
        ]
        <= 10
    )  # the median in-house application is on a handful of hosts
