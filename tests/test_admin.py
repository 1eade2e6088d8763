"""The admin's inventory and seed-run pages render with demo data, and search works."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils.html import escape

from inventory.admin import ASSET_PAGE_EVENTS
from inventory.models import Application, Asset, Deployment, Event, Person
from seeding import services
from seeding.models import SeedChunkAttempt
from tests.support.data import record_failed_attempts, seed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["application", "asset", "deployment", "event", "person"])
def test_inventory_lists_render(admin_client, seeded, model):
    response = admin_client.get(reverse(f"admin:inventory_{model}_changelist"))
    assert response.status_code == 200
    assert b"Demo data" in response.content  # the origin filter


def test_asset_search_by_hostname_prefix(admin_client, seeded):
    asset = Asset.objects.order_by("pk")[17]
    response = admin_client.get(reverse("admin:inventory_asset_changelist"), {"q": asset.hostname})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [asset]


@pytest.mark.parametrize(
    ("field", "query"),
    [("serial_number", None), ("ip_address", None), ("model", "ThinkPad T14"), ("manufacturer", "lenovo")],
)
def test_asset_search_finds_what_people_search_for(admin_client, seeded, field, query):
    asset = Asset.objects.filter(model__startswith="ThinkPad T14").order_by("pk").first()
    response = admin_client.get(reverse("admin:inventory_asset_changelist"), {"q": query or getattr(asset, field)})
    found = list(response.context["cl"].queryset)
    assert asset in found and all(
        query is None or query.lower() in f"{a.manufacturer} {a.model}".lower() for a in found
    )


def test_event_search_finds_words_of_the_message(admin_client, seeded):
    word = "updated"
    response = admin_client.get(reverse("admin:inventory_event_changelist"), {"q": word})
    found = list(response.context["cl"].queryset)
    assert found and len(found) == Event.objects.filter(message__icontains=word).count()
    assert all(word in event.message.lower() for event in found)


def test_event_search_by_ticket_finds_everything_done_under_it(admin_client, seeded):
    record = Event.objects.filter(kind="incident").order_by("pk").first()
    ticket = record.message.split(":")[0]
    response = admin_client.get(reverse("admin:inventory_event_changelist"), {"q": ticket})
    found = list(response.context["cl"].queryset)
    assert record in found and {event.kind for event in found} == {"incident", "change"}
    assert all(ticket in event.message for event in found) and len(found) == 3  # opened, fixed, resolved


def test_event_search_by_host_name_finds_the_hosts_events(admin_client, seeded):
    asset = Asset.objects.annotate(n=Count("events")).filter(n__gt=0).order_by("pk").first()
    response = admin_client.get(reverse("admin:inventory_event_changelist"), {"q": asset.hostname})
    assert set(response.context["cl"].queryset) == set(asset.events.all())


def test_the_asset_page_shows_its_deployments_and_latest_events(admin_client, seeded):
    asset = Asset.objects.annotate(n=Count("events")).filter(deployments__isnull=False).order_by("-n", "pk")[0]
    assert asset.n > ASSET_PAGE_EVENTS  # a noisy host: the page shows the newest only
    page = admin_client.get(reverse("admin:inventory_asset_change", args=[asset.pk])).content.decode()
    for deployment in asset.deployments.select_related("application"):
        assert deployment.application.name in page
    newest = list(asset.events.order_by("-occurred_at", "-id")[:ASSET_PAGE_EVENTS])
    response = admin_client.get(reverse("admin:inventory_asset_change", args=[asset.pk]))
    shown = [form.original for form in response.context["inline_admin_formsets"][1]]
    assert shown == newest and all(event.message in page for event in newest)
    assert f"?asset__id__exact={asset.pk}" in page  # a link to all of them


def test_titles_name_hosts_and_applications(seeded):
    event = Event.objects.select_related("asset").filter(kind="incident").first()
    assert str(event) == f"Incident on {event.asset.hostname}: {event.message}"
    deployment = Deployment.objects.select_related("application", "asset").first()
    assert deployment.application.name in str(deployment) and deployment.asset.hostname in str(deployment)


def test_events_filter_by_severity(admin_client, seeded):
    response = admin_client.get(reverse("admin:inventory_event_changelist"), {"severity__exact": "critical"})
    assert response.status_code == 200
    assert {event.severity for event in response.context["cl"].result_list} == {"critical"}


def test_the_run_page_shows_status_progress_rate_and_duration(admin_client, seeded):
    detail = admin_client.get(reverse("admin:seeding_seedrun_change", args=[seeded.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert '<span id="run-status">succeeded</span>' in page
    assert '<span id="run-progress">3,380 / 3,380 rows (100%)</span>' in page
    rate = seeded.rows_per_second()
    assert f'<span id="run-rate">{rate:,.0f} rows/s</span>' in page
    assert re.search(r'<span id="run-timing">took (under 0\.1 s|\d+\.\d s)</span>', page)
    assert 'id="run-error"' not in page
    assert "2026-11-01 12:00:00 UTC" in page  # the base time, to the second and with its zone
    assert 'http-equiv="refresh"' not in page  # it has ended: nothing left to follow


def test_the_run_list_shows_each_runs_figures(admin_client, seeded, make_plan):
    failed = services.seed_run_create(plan=make_plan(seed=2))
    services.seed_run_fail(run=failed, error="assets chunk 1 failed (IntegrityError); committed chunks are kept")
    response = admin_client.get(reverse("admin:seeding_seedrun_changelist"))
    rows = {run.pk: row for run, row in zip(response.context["cl"].result_list, result_rows(response))}
    ok, bad = rows[seeded.pk], rows[failed.pk]
    assert "Succeeded" in ok and "3,380 / 3,380 (100%)" in ok and f"{seeded.rows_per_second():,.0f}" in ok
    assert re.search(r"took (under 0\.1 s|\d+\.\d s)", ok)
    assert "Failed" in bad and "assets chunk 1 failed (IntegrityError)" in bad and "0 / 3,380 (0%)" in bad


def test_a_cleared_run_says_so_in_the_list_and_on_its_page(admin_client, seeded):
    services.demo_data_clear(run=seeded)
    listing = admin_client.get(reverse("admin:seeding_seedrun_changelist")).content.decode()
    assert "Succeeded · rows cleared" in listing and "(100%)" not in listing
    assert "3,380 / 3,380, cleared" in listing
    page = admin_client.get(reverse("admin:seeding_seedrun_change", args=[seeded.pk])).content.decode()
    assert "succeeded</span> · rows cleared" in page


def result_rows(response) -> list[str]:
    """The text of each row of the change list, in order."""
    from django.contrib.admin.templatetags.admin_list import results

    return [" | ".join(str(cell) for cell in row) for row in results(response.context["cl"])]


def test_the_run_page_lists_failed_attempts_with_their_cause(admin_client, seeded):
    record_failed_attempts(seeded, error="time limit: the chunk ran longer than SEED_CHUNK_TIME_LIMIT_MS (60 s)")
    page = admin_client.get(reverse("admin:seeding_seedrun_change", args=[seeded.pk])).content.decode()
    assert "Failed attempts (chunks that needed another start)" in page
    assert "time limit: the chunk ran longer than SEED_CHUNK_TIME_LIMIT_MS (60 s)" in page
    assert SeedChunkAttempt.STOPPED in page


def test_inline_rows_link_to_their_page_without_repeating_a_caption(admin_client, seeded):
    """Django's tabular inline puts each row's str() above it ("Alert on sfo1-srv-000005: Host lost its
    connection to vCenter · View"): on a read-only row that repeats what the row says."""
    asset = Asset.objects.annotate(n=Count("events")).filter(deployments__isnull=False).order_by("-n", "pk")[0]
    page = admin_client.get(reverse("admin:inventory_asset_change", args=[asset.pk])).content.decode()
    events = list(asset.events.order_by("-occurred_at", "-id")[:ASSET_PAGE_EVENTS])
    deployments = list(asset.deployments.select_related("application", "asset"))
    for row in [*events, *deployments]:
        assert escape(str(row)) not in page
        assert reverse(f"admin:inventory_{row._meta.model_name}_change", args=[row.pk]) in page
    assert "has_original" not in page  # the room Django's CSS leaves above each row for the caption


def test_an_empty_inline_says_so_in_a_sentence(admin_client, seeded):
    asset = Asset.objects.filter(deployments__isnull=True, events__isnull=True).order_by("pk").first()
    assert asset is not None
    page = admin_client.get(reverse("admin:inventory_asset_change", args=[asset.pk])).content.decode()
    assert "No application is deployed on this asset." in page
    assert "No event has been recorded on this asset." in page
    assert 'class="column-environment' not in page and 'class="column-severity' not in page  # no bare headers


def test_view_site_leads_to_a_page_or_is_not_offered(admin_client):
    """Django's admin links "View site" to site_url ("/" unless set): demoseed had no page there."""
    site_url = admin_client.get(reverse("admin:index")).context["site_url"]
    assert site_url is None or admin_client.get(site_url, follow=True).status_code == 200


def test_the_servers_address_leads_to_the_admin(client):
    response = client.get("/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0].startswith(reverse("admin:login"))


@pytest.mark.parametrize("opened_by", ["incident", "change"])
def test_an_events_page_tells_its_tickets_story_whole(admin_client, make_plan, opened_by):
    """An incident's page shows its story from the first alert (or call) to the resolution, hours later
    included; a change's page, its wave from approval to closing; each event naming the ticket once."""
    seed(make_plan(events=12_000))
    if opened_by == "incident":
        opening = Event.objects.filter(kind="incident", message__regex=r"^INC[0-9]{7}: ").order_by("pk").last()
        number = opening.message.split(":")[0]
    else:
        opening = Event.objects.filter(kind="change", message__regex=r"^CHG[0-9]{7} approved: ").order_by("pk").last()
        number = opening.message.split(" ")[0]
    ticket = list(Event.objects.filter(message__contains=number).order_by("occurred_at", "pk"))
    assert len(ticket) >= 3 and (ticket[-1].occurred_at - ticket[0].occurred_at) > timedelta(minutes=15)
    for shown_from in (ticket[0], ticket[-1]):
        page = admin_client.get(reverse("admin:inventory_event_change", args=[shown_from.pk])).content.decode()
        around = page[page.index("field-around") :]
        rows = re.findall(r"<tr>.*?</tr>|<tr style[^>]*>.*?</tr>", around, flags=re.S)
        for event in ticket:
            assert around.count(escape(event.message)) == 1, event.message
        if opened_by == "incident" and "resolved after" in ticket[-1].message:
            alerts = [row for row in rows if "<td>Alert</td>" in row]
            assert alerts, "an incident seen by monitoring shows the alerts that raised it"


def test_an_assets_page_leads_to_the_persons_devices_and_the_teams_assets(admin_client, seeded):
    """Where a viewer looks for people and teams: from a laptop to everything its person uses (at one
    site), from a server to everything its team owns; the list filters by team and finds people by name."""
    laptop = Asset.objects.exclude(assigned_to="").order_by("pk").first()
    page = admin_client.get(reverse("admin:inventory_asset_change", args=[laptop.pk])).content.decode()
    person = re.search(r'<a href="([^"]+)">Every device ' + re.escape(escape(laptop.assigned_to)), page)
    team = re.search(r'<a href="([^"]+)">Everything ' + re.escape(escape(laptop.owner_team)), page)
    devices = list(admin_client.get(person[1].replace("&amp;", "&")).context["cl"].queryset)
    assert laptop in devices and 1 <= len(devices) <= 3
    assert {d.assigned_to for d in devices} == {laptop.assigned_to} and len({d.location for d in devices}) == 1
    listed = admin_client.get(person[1].replace("&amp;", "&")).content.decode()
    assert "By person" in listed and escape(laptop.assigned_to) in listed  # the list says whose they are
    owned_page = admin_client.get(team[1].replace("&amp;", "&"))
    assert owned_page.context["cl"].result_count == Asset.objects.filter(owner_team=laptop.owner_team).count()
    selected = re.search(
        r'<li class="selected">\s*<a href="[^"]*"[^>]*>([^<]+)</a>',
        owned_page.content.decode().split("By owner team")[1],
    )
    assert selected[1].strip() == escape(laptop.owner_team)  # the team's filter is the one shown as chosen
    assert "By owner team" in admin_client.get(reverse("admin:inventory_asset_changelist")).content.decode()
    surname = laptop.assigned_to.split(" ")[-1]
    found = admin_client.get(reverse("admin:inventory_asset_changelist"), {"q": surname}).context["cl"].queryset
    assert laptop in found and all(surname.lower() in f"{a.assigned_to} {a.model}".lower() for a in found)


def test_a_person_has_a_page_in_the_directory(admin_client, seeded):
    """From a laptop to its person's page: their title and team, their devices (each linked, all at their
    site), who they report to and who reports to them, everyone in their team; the list finds people by
    name and filters by team and by manager."""
    laptop = Asset.objects.exclude(assigned_to="").order_by("pk").first()
    page = admin_client.get(reverse("admin:inventory_asset_change", args=[laptop.pk])).content.decode()
    person = Person.objects.get(name=laptop.assigned_to)
    link = reverse("admin:inventory_person_change", args=[person.pk])
    assert f'<a href="{link}">{escape(person.name)}</a>, {escape(person.title)}, {escape(person.team)}' in page
    page = admin_client.get(link).content.decode()
    devices = Asset.objects.filter(assigned_to=person.name)
    assert 1 <= len(devices) <= 3 and {d.location for d in devices} == {person.location}
    for device in devices:
        assert f'<a href="{reverse("admin:inventory_asset_change", args=[device.pk])}">{device.hostname}</a>' in page
    assert escape(person.email) in page and escape(person.title) in page
    lead = Person.objects.filter(manager=None).annotate(n=Count("reports")).order_by("-n", "pk").first()
    page = admin_client.get(reverse("admin:inventory_person_change", args=[lead.pk])).content.decode()
    reports = re.search(r'<a href="([^"]+)">([\d,]+) people report to ' + re.escape(escape(lead.name)), page)
    assert int(reports[2].replace(",", "")) == lead.n > 0
    listed = admin_client.get(reports[1].replace("&amp;", "&"))
    assert {p.manager_id for p in listed.context["cl"].queryset} == {lead.pk}
    assert "By reports to" in listed.content.decode()
    team = re.search(r'<a href="([^"]+)">Everyone in ' + re.escape(escape(lead.team)), page)
    members = admin_client.get(team[1].replace("&amp;", "&")).context["cl"].queryset
    assert set(members) == set(Person.objects.filter(team=lead.team))
    found = admin_client.get(reverse("admin:inventory_person_changelist"), {"q": person.name}).context["cl"].queryset
    assert list(found) == [person]


def test_an_applications_page_leads_to_its_team(admin_client, seeded):
    """From an in-house application to the people of the team that owns it and to the hosts it runs."""
    application = Application.objects.filter(vendor="In-house").order_by("pk").first()
    page = admin_client.get(reverse("admin:inventory_application_change", args=[application.pk])).content.decode()
    team = escape(application.owner_team)
    people = re.search(r'<a href="([^"]+)">Everyone in ' + re.escape(team), page)
    owned = re.search(r'<a href="([^"]+)">Everything ' + re.escape(team) + " owns", page)
    members = admin_client.get(people[1].replace("&amp;", "&")).context["cl"].queryset
    assert members and {p.team for p in members} == {application.owner_team}
    hosts = admin_client.get(owned[1].replace("&amp;", "&")).context["cl"].queryset
    assert hosts and {a.owner_team for a in hosts} == {application.owner_team}
