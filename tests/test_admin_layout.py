"""The inventory admin as a reader sees it, in a real browser, at the widths people use.

Django's navigation sidebar is open by default and takes 300 px, so the lists must read well
with it open as well as closed: no column cut off (a table wider than its box scrolls sideways,
and the columns past the edge are simply not seen), host names on one line, and an event's
message wide enough to read. Headless Chromium driven by Playwright against the live test
server, as tests/test_browser.py does.
"""

from __future__ import annotations

import pytest
from django.db.models import Count

from inventory.models import Application, Asset, Event, Person
from tests.support.browser import ARTIFACTS
from tests.support.data import seed
from tests.support.layout import MEASURE, PASSWORD, SIDEBAR, WIDTHS, logged_in, problems_of, show

# Once: how a page lays out in a browser does not depend on the database under it (the rows are the same on
# both backends, tests/test_cross_backend.py; the queries behind the pages run on both in tests/test_admin.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.once]

#: About 40 characters of a message: enough to tell "Host lost its connection to vCenter" from the rest.
MESSAGE_MIN_PX = 300

#: Each list and its cells that must stay on one line: host names (an application's name, a person's).
LISTS = {
    "event": ("#result_list tbody .field-asset",),
    "asset": ("#result_list tbody .field-hostname",),
    "deployment": ("#result_list tbody .field-asset",),
    "application": ("#result_list tbody .field-name",),
    "person": ("#result_list tbody .field-name", "#result_list tbody .field-manager_name"),
}
#: On an event's page, the story around it: every cell but the message (times and host names).
STORY_ONE_LINE = (".field-around table td:not(:last-child)",)
#: On an asset's page, its latest events: every cell but the message (times, kinds, applications).
ASSET_EVENTS_ONE_LINE = ("#events-group tbody td:not(.field-message)",)
#: What must stay on one line on each detail page.
PAGE_ONE_LINE = {"event": STORY_ONE_LINE, "asset": ASSET_EVENTS_ONE_LINE}


@pytest.fixture
def viewer(live_server, django_user_model, make_plan):
    """The small plan's data and a superuser to look at it."""
    seed(make_plan())
    django_user_model.objects.create_superuser("viewer", "viewer@example.com", PASSWORD)
    return live_server.url


@pytest.mark.parametrize("model", LISTS)
def test_each_inventory_list_reads_well_at_every_width(viewer, model):
    problems = []
    with logged_in(viewer) as page:
        for width in WIDTHS:
            for sidebar in SIDEBAR:
                show(page, f"{viewer}/admin/inventory/{model}/", width, sidebar)
                measured = page.evaluate(MEASURE, list(LISTS[model]))
                problems += problems_of(measured, width, sidebar, LISTS[model])
                if model == "event" and (message := measured["columns"].get("Message", 0)) < MESSAGE_MIN_PX:
                    problems.append(f"{width} px, sidebar {sidebar}: the Message column is {message:.0f} px wide")
        ARTIFACTS.mkdir(exist_ok=True)
        show(page, f"{viewer}/admin/inventory/{model}/", WIDTHS[0], "open")
        page.screenshot(path=str(ARTIFACTS / f"admin-{model}-list.png"))
    assert not problems, "\n".join(problems)


def test_an_events_message_is_whole_on_hover(viewer):
    """A message cut to the column's width keeps its whole text, shown on hover."""
    with logged_in(viewer) as page:
        show(page, f"{viewer}/admin/inventory/event/", WIDTHS[0], "open")
        cells = page.evaluate(
            """() => {
                 const column = [...document.querySelectorAll('#result_list thead th')]
                     .findIndex(th => th.textContent.trim() === 'Message');
                 return [...document.querySelectorAll('#result_list tbody tr')].map(row => row.children[column])
                     .map(cell => [cell?.querySelector('[title]')?.title, cell?.textContent.trim()]);
               }"""
        )
    assert len(cells) == 50
    titles, texts = [title for title, _text in cells], [text for _title, text in cells]
    assert all(titles) and titles == texts  # the element that may be cut says all of it on hover


def detail_pages() -> dict[str, str]:
    """An asset with deployments and events, an incident, a deployment, an application and a person with
    people reporting to them."""
    asset = Asset.objects.annotate(n=Count("events")).filter(deployments__isnull=False).order_by("-n", "pk")[0]
    event = Event.objects.filter(kind="incident").order_by("pk")[0]
    deployment = asset.deployments.order_by("pk")[0]
    application = Application.objects.order_by("pk")[0]
    person = Person.objects.filter(reports__isnull=False).order_by("pk")[0]
    return {
        "asset": f"asset/{asset.pk}",
        "event": f"event/{event.pk}",
        "deployment": f"deployment/{deployment.pk}",
        "application": f"application/{application.pk}",
        "person": f"person/{person.pk}",
    }


def test_each_inventory_page_fits_the_window_at_every_width(viewer):
    problems = []
    pages = detail_pages()
    with logged_in(viewer) as page:
        for name, path in pages.items():
            for width in WIDTHS:
                for sidebar in SIDEBAR:
                    show(page, f"{viewer}/admin/inventory/{path}/change/", width, sidebar)
                    one_line = PAGE_ONE_LINE.get(name, ())
                    measured = page.evaluate(MEASURE, list(one_line))
                    problems += [f"{name} page, {p}" for p in problems_of(measured, width, sidebar, one_line)]
    assert not problems, "\n".join(problems)
