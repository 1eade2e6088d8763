"""The inventory admin as a reader sees it, in a real browser, at the widths people use.

Django's navigation sidebar is open by default and takes 300 px, so the lists must read well
with it open as well as closed: no column cut off (a table wider than its box scrolls sideways,
and the columns past the edge are simply not seen), host names on one line, and an event's
message wide enough to read. Headless Chromium driven by Playwright against the live test
server, as tests/test_browser.py does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db.models import Count
from playwright.sync_api import Page, sync_playwright

from inventory.models import Application, Asset, Event
from tests.helpers import seed
from tests.test_browser import ARTIFACTS, CHROMIUM_FLAGS, chromium_path

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 1440, 1920)
SIDEBAR = {"open": "true", "closed": "false"}
#: About 40 characters of a message: enough to tell "Host lost its connection to vCenter" from the rest.
MESSAGE_MIN_PX = 300
PASSWORD = "a-long-test-password"

#: Each list and its cells that must stay on one line: host names (and an application's name).
LISTS = {
    "event": ("#result_list tbody .field-asset",),
    "asset": ("#result_list tbody .field-hostname",),
    "deployment": ("#result_list tbody .field-asset",),
    "application": ("#result_list tbody .field-name",),
}
#: On an event's page, the story around it: every cell but the message (times and host names).
STORY_ONE_LINE = (".field-around table td:not(:last-child)",)
#: On an asset's page, its latest events: every cell but the message (times, kinds, applications).
ASSET_EVENTS_ONE_LINE = ("#events-group tbody td:not(.field-message)",)
#: What must stay on one line on each detail page.
PAGE_ONE_LINE = {"event": STORY_ONE_LINE, "asset": ASSET_EVENTS_ONE_LINE}

#: What the page measures: each table against its box, the page against the window, the width of
#: each column's header, and the cells whose text runs over more than one line.
MEASURE = """(oneLine) => {
  const tables = [...document.querySelectorAll('#content table')];
  const overflowing = tables.filter(t => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1
      || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => `${t.id || (t.closest('[id]') || {}).id}: ${t.getBoundingClientRect().width.toFixed(0)} px`
              + ` in ${t.parentElement.clientWidth} px`);
  const columns = Object.fromEntries([...document.querySelectorAll('#result_list thead th')]
      .map(th => [th.textContent.trim(), th.getBoundingClientRect().width]));
  const wrapped = [];
  let checked = 0;
  for (const selector of oneLine) {
    for (const cell of document.querySelectorAll(selector)) {
      checked += 1;
      const range = document.createRange();
      range.selectNodeContents(cell);
      const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => r.top);
      if (tops.length && Math.max(...tops) - Math.min(...tops) > 4) wrapped.push(cell.innerText);
    }
  }
  return {
    overflowing,
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
    columns,
    wrapped,
    checked,
  };
}"""


@pytest.fixture
def viewer(live_server, django_user_model, make_plan):
    """The small plan's data and a superuser to look at it."""
    seed(make_plan())
    django_user_model.objects.create_superuser("viewer", "viewer@example.com", PASSWORD)
    return live_server.url


@contextmanager
def logged_in(base: str) -> Iterator[Page]:
    """A browser page logged in as the viewer. Opened after the test's database work: Playwright's
    sync API runs an event loop, and Django refuses database calls while one runs in the thread."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", "viewer")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        yield page
        browser.close()


def show(page: Page, url: str, width: int, sidebar: str) -> None:
    """Open ``url`` at ``width`` px with the navigation sidebar open or closed (the admin keeps the
    choice in localStorage and applies it as the page loads)."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate(f"localStorage.setItem('django.admin.navSidebarIsOpen', '{SIDEBAR[sidebar]}')")
    page.goto(url)
    assert page.locator("#main").evaluate("m => m.classList.contains('shifted')") == (sidebar == "open")


def problems_of(measured: dict, width: int, sidebar: str, one_line: tuple[str, ...]) -> list[str]:
    """What a reader would stumble on: a table that scrolls sideways, a page wider than the window,
    text that should be on one line on several (or none of the cells that were to be checked)."""
    where = f"{width} px, sidebar {sidebar}"
    found = []
    if one_line and not measured["checked"]:
        found.append(f"{where}: no cell matches {one_line}")
    if measured["overflowing"]:
        found.append(f"{where}: tables wider than their box: {measured['overflowing']}")
    if measured["page"] > measured["window"]:
        found.append(f"{where}: the page is {measured['page']} px wide in a {measured['window']} px window")
    if measured["wrapped"]:
        found.append(f"{where}: on several lines: {measured['wrapped'][:3]}")
    return found


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
    """An asset with deployments and events, an incident, a deployment and an application."""
    asset = Asset.objects.annotate(n=Count("events")).filter(deployments__isnull=False).order_by("-n", "pk")[0]
    event = Event.objects.filter(kind="incident").order_by("pk")[0]
    deployment = asset.deployments.order_by("pk")[0]
    application = Application.objects.order_by("pk")[0]
    return {
        "asset": f"asset/{asset.pk}",
        "event": f"event/{event.pk}",
        "deployment": f"deployment/{deployment.pk}",
        "application": f"application/{application.pk}",
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
