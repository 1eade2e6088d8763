"""Scenario packs: the files (validated with file, line and column), what each pack does to a seeded
history and to a live stream, and --scenario on the command, the API and the admin."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from inventory.models import Event
from seeding import services
from seeding.catalogs import active_catalog, active_scenario, scenario_choices
from seeding.generation.catalog import CatalogError
from seeding.generation.columns import generate_chunk
from seeding.generation.kinds import KINDS, chunks_of
from seeding.generation.scenarios import load_scenario, parse_scenario
from seeding.models import SeedRun
from seeding.persistence.parent_view.reading import parents_of
from seeding.plan import SeedPlan
from seeding.services import live
from seeding.services.runs import seed_run_claim
from tests.support.api import BOTH, make_user, post
from tests.support.data import seed, spec_of
from tests.support.plans import AS_OF
from tests.support.realism import ticket_violations, tickets_named

GOOD = """version = 2
description = "Something happens."
weekend = 0.5

[[phase]]
name = "first"
share = 0.5

[[phase]]
name = "second"
share = 0.5
incidents = 3
stories = ["errors"]
"""


# --- the files ---------------------------------------------------------------------------------------


def test_the_catalog_ships_the_packs_and_each_is_valid():
    assert {"steady", "incident-storm", "patch-wave", "quiet-weekend"} <= set(scenario_choices())
    for name in scenario_choices():
        pack = active_scenario(name)
        assert pack.name == name and pack.version >= 1 and pack.description
        assert pack.phases[0].start == 0 and pack.phases[-1].end == 1
    assert active_scenario("steady").plain and not active_scenario("incident-storm").plain


def test_a_pack_is_read_with_its_phases():
    pack = parse_scenario(GOOD, "x/scenarios/mine.toml", "mine", active_catalog())
    assert (pack.version, pack.weekend, [p.name for p in pack.phases]) == (2, 0.5, ["first", "second"])
    assert pack.phases[1].stories == frozenset({"errors"}) and pack.phases[1].incidents == 3
    assert pack.phase_indices([0.1, 0.49, 0.51, 0.99]).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("version = 2", "version = 0"), "line 1, column 11: version must be a whole number from 1"),
        (GOOD.replace("weekend = 0.5", "weekends = 0.5"), "line 3, column 1: weekends is not a setting of a pack"),
        (GOOD.replace("incidents = 3", "incidents = -1"), "line 12, column 13: incidents must be at least 0"),
        (GOOD.replace('["errors"]', '["boredom"]'), "line 13, column 11: stories 'boredom' is not in the catalog's"),
        (GOOD.replace("share = 0.5\nincidents", "share = 0.4\nincidents"), "line 11, column 9: share the phases' "),
        (GOOD.replace('name = "second"', 'nmae = "second"'), "line 10, column 1: nmae is not a setting of a phase"),
        (GOOD.replace("share = 0.5\n\n", "share = 'half'\n\n", 1), "line 7, column 9: share must be a number"),
        (
            GOOD.replace("[[phase]]", "[[phase]", 1),
            "Expected ']]' at the end of an array declaration (at line 5, column 8)",
        ),
        ('version = 1\ndescription = "x"\n', "line 1, column 1: phase a pack needs at least one [[phase]] table"),
    ],
)
def test_a_broken_pack_is_refused_naming_its_file_line_and_column(text, message):
    with pytest.raises(CatalogError) as raised:
        parse_scenario(text, "cat/scenarios/mine.toml", "mine", active_catalog())
    assert str(raised.value).startswith("cat/scenarios/mine.toml: ")
    assert message in str(raised.value)


def test_a_team_adds_its_own_pack_by_dropping_a_file_into_its_catalog(tmp_path, settings):
    catalog = tmp_path / "catalog"
    shutil.copytree(Path(django_settings.SEED_CATALOG_DIR), catalog)
    (catalog / "scenarios" / "black-friday.toml").write_text(GOOD)
    settings.SEED_CATALOG_DIR = str(catalog)
    assert "black-friday" in scenario_choices()
    assert active_scenario("black-friday").phases[1].incidents == 3
    with pytest.raises(CatalogError, match=r"no scenario pack 'cyber-monday' in .*scenarios \(there are: black-friday"):
        load_scenario(catalog, "cyber-monday", active_catalog())
    (catalog / "scenarios" / "broken.toml").write_text(GOOD.replace("version = 2", "version = 'two'"))
    with pytest.raises(Exception, match=r"seeding\.E003.*broken\.toml: line 1, column 11: version must be"):
        call_command("check")


# --- what a pack does to the data -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_steady_gives_the_same_rows_as_no_pack(make_plan):
    """Every chunk of a run generated with the steady pack and without one: the same columns."""
    run = seed(make_plan())
    spec = spec_of(run)
    steady = dataclasses.replace(spec, scenario=active_scenario("steady"))
    parents = parents_of(run, spec)
    for kind in KINDS:
        for chunk in chunks_of(kind, run.planned(kind), 700):
            assert generate_chunk(steady, chunk, parents) == generate_chunk(spec, chunk, parents), (kind, chunk)


def _incidents_and_events_per_phase(run: SeedRun) -> tuple[list[float], list[float]]:
    """Per phase of the run's pack: incident records per hour, events per hour."""
    pack, start = active_scenario(run.scenario["name"]), run.window_start
    incidents, events = Counter(), Counter()
    for at, kind, message in Event.objects.filter(seed_run=run).values_list("occurred_at", "kind", "message"):
        phase = int(pack.phase_indices([(at - start).total_seconds() / run.window_seconds])[0])
        events[phase] += 1
        incidents[phase] += kind == "incident" and " resolved " not in message
    hours = [(p.end - p.start) * run.window_seconds / 3600 for p in pack.phases]
    return [incidents[i] / hours[i] for i in range(len(hours))], [events[i] / hours[i] for i in range(len(hours))]


@pytest.mark.django_db(transaction=True)
def test_an_incident_storm_in_the_history_piles_up_alerts_and_incidents_then_recovers():
    run = seed(
        SeedPlan(
            applications=40,
            assets=2_000,
            deployments=3_000,
            events=60_000,
            seed=4,
            as_of=AS_OF,
            scenario="incident-storm",
        )
    )
    incidents, events = _incidents_and_events_per_phase(run)
    calm, storm, recovery = range(3)
    assert events[storm] > 1.6 * events[calm] and events[storm] > 1.3 * events[recovery]
    assert incidents[storm] > 4 * incidents[calm] and incidents[storm] > 4 * incidents[recovery]
    # Some of the storm's incidents are a dependency failing and dragging its users down, told as in a live
    # stream, on deployments that existed then, every one of them running again now (a history is written in
    # its final state); every ticket still names one thing.
    records = Event.objects.filter(seed_run=run, message__contains="the services that use it")
    assert records.count() >= 3
    pack = active_scenario("incident-storm")
    for record in records.select_related("deployment"):
        later = Event.objects.filter(seed_run=run, pk__in=range(record.pk + 1, record.pk + 7)).order_by("pk")
        told = [record, *later]
        phase = pack.phase_indices([(record.occurred_at - run.window_start).total_seconds() / run.window_seconds])
        assert pack.phases[int(phase[0])].name == "storm"
        for event in told:
            assert event.deployment.deployed_at <= told[0].occurred_at and event.deployment.status == "running"
        dragged = {event.deployment.application.vendor for event in told[1:3]}
        assert dragged == {"In-house"}
    cascades = {
        number: told
        for number, told in tickets_named().items()
        if any(part.startswith(("cascade", "consumer")) for _, part, _, _ in told)
    }
    assert len(cascades) >= 3 * records.count() and ticket_violations(cascades) == []


@pytest.mark.django_db(transaction=True)
def test_a_live_stream_takes_its_pack_rate_and_phases(make_plan):
    seed(make_plan(applications=20, assets=400, deployments=500, events=0, seed=3))
    start = AS_OF + timedelta(days=2, hours=7)
    quiet = live.live_stream_start(rate=10, duration=3_600, seed=2, start=start, scenario="quiet-weekend")
    assert quiet.events == 12_600 and quiet.scenario["rate"] == 0.35  # a share of the rate asked for
    services.live_stream_stop(run=quiet)
    services.demo_data_clear(run=quiet)
    slowest = live.live_stream_start(rate=0.01, duration=81, seed=2, start=start, scenario="quiet-weekend")
    assert slowest.events == 1  # 0.28 events asked, never none (a schema-valid request the fuzzer sent)
    services.live_stream_stop(run=slowest)
    services.demo_data_clear(run=slowest)

    run = live.live_stream_start(rate=4, duration=4 * 3_600, seed=2, start=start, scenario="patch-wave")
    claim = seed_run_claim(run=run, resume=False)
    for second in range(120, run.window_seconds + 120, 120):
        assert live.live_stream_catch_up(run=run, claim=claim, now=start.timestamp() + second)
    waves = Counter()
    pack = active_scenario("patch-wave")
    for at in Event.objects.filter(seed_run=run, message__regex=r"^CHG[0-9]+: .*\(1 of [0-9]+\)$").values_list(
        "occurred_at", flat=True
    ):
        waves[int(pack.phase_indices([(at - run.window_start).total_seconds() / run.window_seconds])[0])] += 1
    # The maintenance window (60 % of the stream) rolls out several times the waves of the hour before it.
    assert waves[1] / 0.6 > 3 * max(waves[0] / 0.2, 1)


# --- entry points ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_takes_a_scenario_and_names_the_flag_for_an_unknown_one(make_plan, capsys):
    with pytest.raises(
        CommandError,
        match=r"--scenario: 'storm' is not a scenario pack of the catalog \(datacenter-migration, incident-storm",
    ):
        call_command("seed_demo_data", "--assets", "10", "--scenario", "storm")
    call_command("seed_demo_data", "--assets", "10", "--scenario", "patch-wave", "--dry-run")
    assert "shaped by the patch-wave scenario" in capsys.readouterr().out
    assert not SeedRun.objects.exists()
    call_command("seed_demo_data", "--assets", "10", "--events", "50", "--scenario", "patch-wave", "--sync")
    assert SeedRun.objects.get().scenario["name"] == "patch-wave"


@pytest.mark.django_db(transaction=True)
def test_the_api_takes_a_scenario_from_the_document_and_refuses_another(django_user_model):
    from django.test import Client

    client = Client()
    client.force_login(make_user(django_user_model, "ops", staff=True, perms=BOTH))
    refused = post(client, {"assets": 10, "scenario": "storm"})
    assert refused.status_code == 400 and "scenario" in refused.json()["errors"]
    taken = post(client, {"assets": 10, "scenario": "incident-storm"})
    assert taken.status_code == 200, taken.content
    assert SeedRun.objects.get().scenario["name"] == "incident-storm"
    document = client.get("/api/v1/admin/openapi.json").json()
    assert "incident-storm" in str(document["components"]["schemas"]["LiveRequest"])


@pytest.mark.django_db(transaction=True)
def test_a_quiet_weekend_history_keeps_every_ticket_rule_and_people_call_in_their_working_hours():
    """The pack makes weekends quieter still; nobody calls the service desk at night or on a weekend for all
    that (story_violations checks each call's local time)."""
    run = seed(
        SeedPlan(applications=30, assets=2_000, deployments=2_500, events=40_000, seed=5, scenario="quiet-weekend")
    )
    told = tickets_named()
    calls = [
        number
        for number, events in told.items()
        if any(getattr(story, "detected_by", None) == "user" for _, _, story, _ in events)
    ]
    assert len(calls) >= 5 and Event.objects.filter(seed_run=run).exists()
    assert ticket_violations(told) == []
