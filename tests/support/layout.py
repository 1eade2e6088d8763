"""Measuring admin pages in a real browser, at the widths people use, with Django's navigation sidebar
open and closed: what tests/test_admin_layout.py and tests/test_admin_run_layout.py hold each page to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

from tests.support.browser import CHROMIUM_FLAGS, chromium_path

WIDTHS = (1280, 1440, 1920)
SIDEBAR = {"open": "true", "closed": "false"}
PASSWORD = "a-long-test-password"

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
