"""The second look at the size people demo: the demo plan seeded twice, stacked (seeds 1 and 2), on the
database of the current pass. The rules test_realism checks on a small estate hold here too, and the event
mix is the catalog's (bands.csv) on the written rows."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from inventory.models import Asset, Event
from seeding.catalogs import active_catalog
from seeding.named_plans import named_plan
from seeding.plan import SeedPlan
from tests.support.data import forget_estate, seed
from tests.support.plans import AS_OF
from tests.support.realism import directory_violations, host_owner_violations, ticket_violations, tickets_named

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def estate(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        runs = [seed(SeedPlan(**named_plan("demo"), seed=number, as_of=AS_OF, chunk_size=20_000)) for number in (1, 2)]
        yield runs
        forget_estate()


def test_tickets_name_one_thing_and_every_incident_is_a_story():
    tickets = tickets_named()
    assert len(tickets) > 10_000
    assert ticket_violations(tickets) == []
    assert not Event.objects.filter(kind="incident").exclude(message__regex=r"^INC[0-9]{7,}[: ]")


def test_hosts_belong_to_the_teams_of_their_applications():
    violations, owned_by_apps, teams = host_owner_violations()
    assert violations == [] and owned_by_apps > 500 and len(teams) > 10


def test_a_name_is_one_person_at_one_site_with_one_to_three_devices():
    sites, devices = defaultdict(set), Counter()
    for name, location in Asset.objects.exclude(assigned_to="").values_list("assigned_to", "location"):
        sites[name].add(location)
        devices[name] += 1
    assert len(sites) > 3_000
    assert not {name: where for name, where in sites.items() if len(where) > 1}
    assert max(devices.values()) <= 3


def test_the_directory_is_an_organisation():
    assert directory_violations(minimum=3_000) == []


def test_the_event_mix_is_the_catalogs_on_the_written_rows():
    bands = active_catalog().bands
    severities = Counter(Event.objects.values_list("severity", flat=True))
    total = sum(severities.values())
    for severity, n in severities.items():
        low, high = bands[f"severity.{severity}"]
        assert low <= n / total <= high, severity
