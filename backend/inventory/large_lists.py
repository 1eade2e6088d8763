"""Admin lists that stay fast on tables of millions of rows.

Django's admin counts a list exactly (``COUNT(*)``), reads a page by skipping
rows (``OFFSET``), and counts each filter choice with a scan of its own
("Show counts", one ``COUNT(*) FILTER (...)`` per choice). On plan 10L's ten
million events that took minutes per page. What large admins do instead, here:

* **Counts**: an unfiltered list is counted exactly from the row-count deltas
  (``inventory.selectors.table_row_count``, under a millisecond). A filtered
  or searched one the planner expects to be short (what "Show all" would show)
  is counted by reading its keys, within ``ADMIN_PAGE_READ_SECONDS``; a longer
  one is counted exactly while the planner expects at most
  ``ADMIN_EXACT_COUNT_LIMIT`` rows in it and the count answers within
  ``ADMIN_EXACT_COUNT_SECONDS`` (a few matching rows can still take a scan of
  the whole table to find); otherwise the page shows the planner's estimate,
  marked as one ("about 2,500,000 events").
* **Pages** are read from whichever end of the list is nearer: the last page
  is the first page in reverse order, so it costs what the first one does;
  the rows skipped to reach a page are read without the list's joins.
  A page more than ``ADMIN_DEEP_PAGE_ROWS`` rows from both ends is not read
  (the database would skip millions of rows to reach it: 30 s and more in the
  middle of ten million events), nor one whose rows take longer than
  ``ADMIN_PAGE_READ_SECONDS`` to find; the page says so and what to do instead.
  The admin's page links lead to the ends and the pages next to the current
  one: only a typed page number, or a long walk page by page, goes that deep.
* **Facet counts** follow the counts' rule: exact on small lists (within the
  same time limit), estimated ("≈ 2.5M") on large ones, where exact ones would
  scan the list once per filter; an unfiltered list's are estimated too.

The estimates come from PostgreSQL's statistics, which seeding refreshes after
each run and clear. SQLite gives no estimates: its lists are counted exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from inventory.selectors import answered_within, estimated_count, table_row_count

T = TypeVar("T")


def approximately(count: int) -> str:
    """An estimate as people read one: two significant figures, marked as approximate ("≈ 2.5M")."""
    if count < 1_000:
        return f"≈ {count}"
    rounded = float(f"{count:.2g}")
    unit, size = ("M", 1_000_000) if rounded >= 1_000_000 else ("k", 1_000)
    return f"≈ {rounded / size:g}{unit}"


def bounded_estimate(queryset: QuerySet) -> int | None:
    """The planner's estimate of ``queryset``'s size, never above the table's exact row count (statistics
    can be older than a clear); None where there are no estimates (SQLite)."""
    estimate = estimated_count(queryset)
    return None if estimate is None else min(estimate, table_row_count(queryset.model))


#: Set on a request once an exact count took too long: its other counts go straight to estimates.
_SLOW_COUNTS = "_demoseed_slow_counts"


def exact_if_quick(request: HttpRequest | None, query: Callable[[], T]) -> T | None:
    """``query()`` (an exact count) if it answers within ADMIN_EXACT_COUNT_SECONDS, else None.

    A list the planner expects to be small can still take a scan of the whole table to count (a rare
    combination of filters on unindexed columns); past the limit the page shows estimates instead, and
    the request's later counts do not try again.
    """
    if request is not None and getattr(request, _SLOW_COUNTS, False):
        return None
    answer = answered_within(settings.ADMIN_EXACT_COUNT_SECONDS, query)
    if answer is None and request is not None:
        setattr(request, _SLOW_COUNTS, True)
    return answer


class LargeTablePaginator(Paginator):
    """Counts cheaply (exact where cheap, else an estimate: ``estimated`` says which) and reads pages near
    the end of a list backwards."""

    estimated = False
    #: The estimate as shown (``count`` may be raised above it: see ``count``).
    estimate = 0
    #: The request the list is shown for, and the admin's ``list_max_show_all`` (set by
    #: ``SeededAdmin.get_paginator``).
    request: HttpRequest | None = None
    list_max_show_all = 200
    #: The page asked for lies too deep in the list to be read (see the module's docstring).
    too_deep = False
    #: Reading the page took longer than ADMIN_PAGE_READ_SECONDS and was given up.
    cut_short = False

    @property
    def deep_page_rows(self) -> int:
        return settings.ADMIN_DEEP_PAGE_ROWS

    @property
    def page_read_seconds(self) -> float:
        return settings.ADMIN_PAGE_READ_SECONDS

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if not queryset.query.has_filters():
            return table_row_count(queryset.model)
        estimate = bounded_estimate(queryset)
        if estimate is None:
            return queryset.count()
        if estimate <= self.list_max_show_all:
            # Expected to be a few rows: find them (one more than "Show all" shows, at most) within the time a
            # page may take, and their number is the count. Not found in time: the page would not be either.
            limit = self.list_max_show_all + 1
            keys = answered_within(
                settings.ADMIN_PAGE_READ_SECONDS, lambda: list(queryset.values_list("pk", flat=True)[:limit])
            )
            if keys is None:
                self.cut_short = True
                if self.request is not None:  # the page's facet counts would take as long: estimate them
                    setattr(self.request, _SLOW_COUNTS, True)
            elif len(keys) < limit:
                return len(keys)
            else:
                estimate = max(estimate, len(keys))  # at least as many as were found
        if estimate <= settings.ADMIN_EXACT_COUNT_LIMIT and not self.cut_short:
            exact = exact_if_quick(self.request, queryset.count)
            if exact is not None:
                return exact
        self.estimated, self.estimate = True, estimate
        # Never fewer than the admin shows on one page or with "Show all": it would read every matching row
        # (as many as it takes, however few were estimated) instead of one page of them.
        return max(estimate, self.list_max_show_all + 1)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        if self.cut_short:  # counting found that reading this list takes too long
            return self._get_page([], number, self)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        skipped_from_end = max(self.count - top, 0)
        if min(bottom, skipped_from_end) > self.deep_page_rows:
            self.too_deep = True
            return self._get_page([], number, self)
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or not queryset.ordered or queryset.query.distinct:
            return super().page(number)
        if skipped_from_end < bottom:
            # Nearer the end: the same rows in reverse order, so the database skips the rows after the page
            # rather than those before it. With an estimated count, the last page is the true end of the list.
            rows = self._rows(queryset.reverse(), skipped_from_end, skipped_from_end + top - bottom)
            rows.reverse()
        else:
            rows = self._rows(queryset, bottom, top)
        return self._get_page(rows, number, self)

    def _rows(self, queryset: QuerySet, start: int, stop: int) -> list:
        """The rows of ``queryset[start:stop]``: first their keys, read without the list's joins, then the
        rows with everything they join. The database skips ``start`` rows without joining each one to its
        host and application: 1.4 s to a fraction of that for a page 100,000 events deep.

        Filters that match few rows of a large table, on columns without an index ("critical" changes
        among ten million events), can take a read of the whole table to fill a page: past
        ADMIN_PAGE_READ_SECONDS the page is given up and says so (``cut_short``).
        """
        keys = answered_within(
            settings.ADMIN_PAGE_READ_SECONDS, lambda: list(queryset.values_list("pk", flat=True)[start:stop])
        )
        if keys is None:
            self.cut_short = True
            return []
        rows = queryset.in_bulk(keys)
        return [rows[key] for key in keys if key in rows]  # a row deleted in between is left out


class EstimatedFacets:
    """A list filter mixin: facet counts exact on small lists, the planner's estimates on large ones, both
    written the way the rest of the admin writes numbers ("Critical (12,345)", "Critical (≈ 2.5M)").

    Every facet count Django builds is ``Count(pk, filter=Q(...))``; an estimate is the planner's row count
    for the list filtered by that ``Q``, about a millisecond each.
    """

    def get_facet_queryset(self, changelist) -> dict:
        filtered = changelist.get_queryset(self.request, exclude_parameters=self.expected_parameters())
        counts = self.get_facet_counts(changelist.pk_attname, filtered)
        size = bounded_estimate(filtered)
        if size is None:  # no estimates on this database (SQLite): count
            return _written(filtered.aggregate(**counts))
        if size <= settings.ADMIN_EXACT_COUNT_LIMIT:
            exact = exact_if_quick(self.request, lambda: filtered.aggregate(**counts))
            if exact is not None:
                return _written(exact)
        return {key: approximately(_estimated(filtered, count, size)) for key, count in counts.items()}


def _written(counts: dict[str, int]) -> dict[str, str]:
    return {key: f"{count:,}" for key, count in counts.items()}


def _estimated(filtered: QuerySet, count: Count, size: int) -> int:
    """The planner's estimate of the rows ``count`` counts among ``filtered`` (of about ``size`` rows)."""
    if count.filter is None:
        return size
    return min(estimated_count(filtered.filter(count.filter)), size)


class ChoicesFilter(EstimatedFacets, admin.ChoicesFieldListFilter):
    """Django's filter for a field with choices, with facet counts that stay fast."""


class ValuesFilter(EstimatedFacets, admin.AllValuesFieldListFilter):
    """Django's filter by every value a field holds, with facet counts that stay fast."""
