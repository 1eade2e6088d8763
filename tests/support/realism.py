"""The rules a second look checks, as functions returning what breaks them: shared by the realism tests of
a small stacked estate (test_realism) and of the demo plan stacked twice (test_realism_demo)."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import F

from inventory.models import Application, Asset, Deployment, Event, Person
from seeding.catalogs import active_catalog
from tests.support.episodes import TICKET, episode_patterns, pattern_of


def tickets_named() -> dict[str, list[tuple[Event, str, object, re.Match]]]:
    """Every ticket number and the events that name it: (event, part, its story or wave, the match)."""
    patterns = episode_patterns()
    tickets = defaultdict(list)
    events = Event.objects.filter(message__regex=r"(INC|CHG)[0-9]{7}").select_related("asset", "deployment")
    for event in events:
        told = [
            (part, episode, match)
            for kind, source, pattern, part, episode in patterns
            if kind == event.kind and source == event.source and (match := pattern.match(event.message))
        ]
        numbers = TICKET.findall(event.message)
        if not told:
            for number in numbers:
                tickets[number].append((event, "single", None, None))
            continue
        part, episode, match = told[0]
        for number in numbers:
            tickets[number].append((event, part, episode, match))
    return tickets


def ticket_violations(tickets: dict[str, list]) -> list[str]:
    """What breaks "one number, one thing" among ``tickets`` (``tickets_named``): a single change or
    maintenance window on one host; a change wave on the hosts of one application or at one site, within
    its window; an incident's story from its first alert (or a user's call) to its resolution."""
    violations = []
    for number, told in tickets.items():
        events = [event for event, _, _, _ in told]
        parts = Counter(part for _, part, _, _ in told)
        hours = (max(e.occurred_at for e in events) - min(e.occurred_at for e in events)).total_seconds() / 3600
        hosts = {e.asset_id for e in events}
        if parts.get("single"):
            if len(events) != 1:
                violations.append(f"{number}: a single change or window on {len(events)} events")
        elif number.startswith("CHG") and ("opened" in parts or "step" in parts):
            waves = {id(episode) for _, _, episode, _ in told}
            wave = told[0][2]
            steps = sorted(int(m.group("step")) for _, part, _, m in told if part == "step")
            total = {int(m["hosts"]) for _, _, _, m in told if m.groupdict().get("hosts")}
            apps = {e.deployment.application_id for e in events if e.deployment_id}
            sites = {e.asset.location for e in events}
            if (
                len(waves) != 1
                or set(parts) != {"opened", "step", "closed"}
                or parts["opened"] != 1
                or parts["closed"] != 1
                or total != {len(steps)}
                or steps != list(range(1, len(steps) + 1))
                or len(hosts) != len(steps)
                or hours * 60 > wave.minutes[1] + 1
                or (
                    wave.scope in ("application", "release")
                    and (len(apps) != 1 or agents() & {e.deployment.application.name for e in events})
                )
                or (wave.scope in ("host", "migration") and (len(sites) != 1 or any(e.deployment_id for e in events)))
                or {e.asset.asset_type for e in events} - (wave.asset_types or {e.asset.asset_type for e in events})
            ):
                violations.append(f"{number} ({wave.name}): {dict(parts)}, {len(hosts)} hosts, {hours:.1f} h")
        elif number.startswith("CHG"):  # the fix of an incident: one event, naming the incident
            if dict(parts) != {"fix": 1}:
                violations.append(f"{number}: {dict(parts)}")
        elif any(part.startswith(("cascade", "consumer")) for part in parts):
            violations += cascade_violations(number, told)
        else:
            violations += story_violations(number, told)
    return violations


def cascade_violations(number: str, told) -> list[str]:
    """What is wrong with incident ``number`` of a cascade: the dependency's (its record, the fix naming it,
    its resolution, in that order, on its own deployment) or one it dragged down (a record and a resolution,
    in that order, on one deployment of the application it names)."""
    parts = Counter(part for _, part, _, _ in told)
    events = {part: event for event, part, _, _ in told}
    if "consumer record" in parts or "consumer resolution" in parts:
        record, resolution = events.get("consumer record"), events.get("consumer resolution")
        names = {m["app"] for _, _, _, m in told}
        if dict(parts) != {"consumer record": 1, "consumer resolution": 1}:
            return [f"{number} (cascade): {dict(parts)}"]
        if not (record.occurred_at < resolution.occurred_at and record.deployment_id):
            return [f"{number} (cascade): out of order or about no deployment"]
        if names != {record.deployment.application.name} or record.deployment_id != resolution.deployment_id:
            return [f"{number} (cascade): {names} on {record.deployment.application.name}"]
        return []
    record, fix, resolution = events.get("cascade record"), events.get("fix"), events.get("cascade resolution")
    if dict(parts) != {"cascade record": 1, "fix": 1, "cascade resolution": 1}:
        return [f"{number} (cascade): {dict(parts)}"]
    if not record.occurred_at < fix.occurred_at < resolution.occurred_at:
        return [f"{number} (cascade): out of order"]
    dependency = {m["dependency"] for _, _, _, m in told}
    if dependency != {record.deployment.application.name} or len({e.deployment_id for e, *_ in told}) != 1:
        return [f"{number} (cascade): {dependency} on {record.deployment.application.name}"]
    return []


def agents() -> set[str]:
    """The products on most hosts (``reach`` in software.csv): monitoring, security, backup agents. An incident
    or a change names what people work with, not them."""
    return {item.name for item in active_catalog().software if item.reach}


def story_violations(number: str, told) -> list[str]:
    """What is wrong with the story of incident ``number``: its record, fix and resolution (the events that
    name it), and for an incident monitoring found, its alerts rising before and clearing after the fix."""
    parts = Counter(part for _, part, _, _ in told)
    events = {part: event for event, part, _, _ in told}
    record, fix, resolution = events.get("record"), events.get("fix"), events.get("resolution")
    # The fix tells the story apart best (two stories may open alike: a stolen Windows laptop or Mac).
    story = next((episode for _, part, episode, _ in told if part == "fix"), told[0][2])
    if dict(parts) != {"record": 1, "fix": 1, "resolution": 1} or {e.symptom for _, _, e, _ in told} != {story.symptom}:
        return [f"{number}: {dict(parts)}"]
    # The story's alerts come in its first sixth (warning, error, critical, then the record); an ordinary
    # alert of the same kind on the same application may fall among them, as it would in a real estate.
    nearby = Event.objects.filter(
        source=story.alert_source,
        kind="alert",
        occurred_at__gte=record.occurred_at - timedelta(minutes=0.16 * story.minutes[1] + 2),
        occurred_at__lte=resolution.occurred_at,
    )
    if story.scope == "application":
        nearby = nearby.filter(deployment__application_id=record.deployment.application_id)
    else:
        nearby = nearby.filter(asset_id=record.asset_id)
    alert, recovery = pattern_of(story.alert), pattern_of(story.recovery)
    before = [
        e
        for e in nearby.order_by("occurred_at", "pk")
        if alert.match(e.message) and e.occurred_at <= record.occurred_at
    ]
    alerts, wanted = [], ["warning", "error", "critical"]
    for event in before:  # the rising ones, in order
        if len(alerts) < 3 and event.severity == wanted[len(alerts)]:
            alerts.append(event)
    cleared = [
        e for e in nearby if recovery.match(e.message) and fix.occurred_at < e.occurred_at < resolution.occurred_at
    ]
    start = alerts[0].occurred_at if alerts else record.occurred_at
    minutes = (resolution.occurred_at - start).total_seconds() / 60
    hosts = {e.asset_id for e in (*alerts, record, fix, resolution)}
    problems = []
    if record.severity != resolution.severity or record.severity == "info":
        problems.append(f"severities {record.severity}/{resolution.severity}")
    if not record.occurred_at < fix.occurred_at < resolution.occurred_at:
        problems.append("out of order")
    if not story.minutes[0] - 1 <= minutes <= story.minutes[1] + 1:
        problems.append(f"{minutes:.0f} minutes")
    if story.detected_by == "monitoring" and (len(alerts) < 3 or not cleared):
        problems.append(f"alerts {[e.severity for e in before]}, {len(cleared)} cleared")
    if story.detected_by == "user":  # a person calls in their working hours, on a weekday
        zone = {site.location: site.time_zone for site in active_catalog().sites}[record.asset.location]
        local = record.occurred_at.astimezone(zoneinfo.ZoneInfo(zone))
        if local.weekday() >= 5 or not 8 <= local.hour < 18:
            problems.append(f"reported at {local:%a %H:%M} local time")
    if story.scope == "application":
        names = {m["app"] for _, _, _, m in told if m.groupdict().get("app")}
        if len(hosts) > 3 or names != {record.deployment.application.name} or not fix.deployment_id:
            problems.append(f"{names} on {len(hosts)} hosts")
        if names & agents():
            problems.append(f"about an agent, {names}")
    elif (
        len(hosts) != 1
        or record.deployment_id
        or not story.fits(record.asset.asset_type, active_catalog().families[record.asset.operating_system])
    ):
        problems.append(f"{len(hosts)} hosts, on a {record.asset.asset_type}")
    return [f"{number} ({story.symptom}): {', '.join(problems)}"] if problems else []


def host_owner_violations() -> tuple[list[str], int, set[str]]:
    """Servers and virtual machines whose owner is not the team of a business application their run deployed
    on them (else the type's team, for bare hosts): (violations, hosts owned by an application's team, those
    teams)."""
    agents_ = agents()
    bare = {t.value: t.owner_team for t in active_catalog().asset_types}
    hosting = Deployment.objects.filter(
        asset__asset_type__in=["server", "virtual_machine"], seed_run=F("asset__seed_run")
    )
    teams_on = defaultdict(set)
    for asset_id, name, team in hosting.values_list("asset_id", "application__name", "application__owner_team"):
        if name not in agents_:
            teams_on[asset_id].add(team)
    violations, owned_by_apps = [], 0
    hosts = Asset.objects.filter(asset_type__in=["server", "virtual_machine"])
    for asset_id, hostname, asset_type, team in hosts.values_list("pk", "hostname", "asset_type", "owner_team"):
        expected = teams_on.get(asset_id) or {bare[asset_type]}
        owned_by_apps += asset_id in teams_on
        if team not in expected:
            violations.append(f"{hostname}: {team}, runs applications of {sorted(expected)}")
    return violations, owned_by_apps, {team for teams in teams_on.values() for team in teams}


def directory_violations(*, minimum: int) -> list[tuple]:
    """What breaks the directory's rules (docs/catalogs.md, "The directory"): addresses made of the name and
    unique, teams of the person's site with their titles, managers in the same team and run (a lead at the
    person's own site) or the team's head (of any run), one head per team in the estate who reports to
    nobody, at least ``minimum`` people, a third of them in business teams, which own nothing."""
    catalog = active_catalog()
    teams = {team.name: team for team in catalog.teams}
    codes = {site.location: site.code for site in catalog.sites}
    people = {p.pk: p for p in Person.objects.all()}
    violations = []
    for person in people.values():
        first, last = _plain(person.name.split(" ")[0]), _plain(person.name.split(" ")[-1])
        local = person.email.removesuffix("@example.com")
        if local == person.email or not re.fullmatch(f"{first[:1]}[a-z0-9-]*\\.[a-z0-9-]*{last[:3]}[a-z0-9-]*", local):
            violations.append(("address", person.name, person.email))
        team = teams.get(person.team)
        if team is None or team.department != person.department or team.staff == 0:
            violations.append(("team", person.name, person.team, person.department))
            continue
        if team.sites is not None and codes[person.location] not in team.sites:
            violations.append(("team's sites", person.name, person.team, person.location))
        if person.title not in team.titles:
            violations.append(("title", person.name, person.title, person.team))
        manager = people.get(person.manager_id) if person.manager_id else None
        if person.manager_id and manager is None:
            violations.append(("unknown manager", person.name, person.manager_id))
        elif manager is not None:
            above = people.get(manager.manager_id) if manager.manager_id else None
            head = above or manager
            # Only a team's head may be of another run (an earlier run's head heads the team for good).
            other_run = manager.seed_run_id != person.seed_run_id and manager.manager_id is not None
            if manager.team != person.team or other_run or head.manager_id:
                violations.append(("reports", person.name, person.team, manager.name, manager.team))
            if above is not None and manager.location != person.location:  # a lead leads at their own site
                violations.append(("lead elsewhere", person.name, person.location, manager.location))
        elif person.title != team.titles[0]:
            violations.append(("head's title", person.name, person.title))
    if not len({p.email for p in people.values()}) == len({p.name for p in people.values()}) == len(people):
        violations.append(("shared name or address", len(people)))
    if len(people) < minimum:
        violations.append(("too few people", len(people), minimum))
    heads = Counter(p.team for p in people.values() if p.manager_id is None)
    violations += [("heads", team, n) for team, n in heads.items() if n != 1]  # a company has one CFO
    business = [team.name for team in catalog.teams if team.kind == "business"]
    if not business or Person.objects.filter(team__in=business).count() <= len(people) / 3:  # a company, not IT
        violations.append(("business teams", business))
    if Asset.objects.filter(owner_team__in=business).exists() or Application.objects.filter(owner_team__in=business):
        violations.append(("business teams own", business))
    return violations


def _plain(name: str) -> str:
    """A name as an address spells it: lower-case ASCII letters (``people.email_addresses``)."""
    spelled = unicodedata.normalize("NFKD", name.lower().replace("ß", "ss")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]", "", spelled)
