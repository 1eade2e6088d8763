"""Admin lists that stay fast on tables of millions of rows.

Django's admin counts a list exactly (``COUNT(*)``), reads a page by skipping
rows (``OFFSET``), and counts each filter choice with a scan of its own
("Show counts", one ``COUNT(*) FILTER (...)`` per choice). On plan 10L's ten
million events that took minutes per page. What large admins do instead, here:

* **Counts**: an unfiltered list is counted exactly from the row-count deltas
  (``inventory.selectors.table_row_count``, under a millisecond). A filtered
  or searched one is counted exactly while the planner expects at most
  ``ADMIN_EXACT_COUNT_LIMIT`` rows in it, and above that shows the planner's
  estimate, marked as one ("about 2,500,000 events").
* **Pages** are read from whichever end of the list is nearer: the last page
  is the first page in reverse order, so it costs what the first one does;
  the rows skipped to reach a page are read without the list's joins.
  A page more than ``ADMIN_DEEP_PAGE_ROWS`` rows from both ends is not read
  (the database would skip millions of rows to reach it: 30 s and more in the
  middle of ten million events); the page says so and what to do instead.
  The admin's page links only lead to the ends and the pages next to the
  current one, so only a typed page number goes that deep.
* **Facet counts** follow the counts' rule: exact on small lists, estimated
  ("≈ 2.5M") on large ones, where exact ones would scan the list once per filter.

The estimates come from PostgreSQL's statistics, which seeding refreshes after
each run and clear. SQLite gives no estimates: its lists are counted exactly.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from inventory.selectors import estimated_count, table_row_count


def approximately(count: int) -> str:
    """An estimate as people read one: two significant figures, marked as approximate ("≈ 2.5M")."""
    if count < 1_000:
        return f"≈ {count}"
    rounded = float(f"{count:.2g}")
    unit, size = ("M", 1_000_000) if rounded >= 1_000_000 else ("k", 1_000)
    return f"≈ {rounded / size:g}{unit}"


def needs_estimate(queryset: QuerySet) -> int | None:
    """The estimated size of ``queryset`` when it is too large to count exactly, else None."""
    estimate = estimated_count(queryset)
    if estimate is None:
        return None
    estimate = min(estimate, table_row_count(queryset.model))  # statistics can be older than a clear
    return estimate if estimate > settings.ADMIN_EXACT_COUNT_LIMIT else None


class LargeTablePaginator(Paginator):
    """Counts cheaply (exact where cheap, else an estimate: ``estimated`` says which) and reads pages near
    the end of a list backwards."""

    estimated = False
    #: The page asked for lies too deep in the list to be read (see the module's docstring).
    too_deep = False

    @property
    def deep_page_rows(self) -> int:
        return settings.ADMIN_DEEP_PAGE_ROWS

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if not queryset.query.has_filters():
            return table_row_count(queryset.model)
        if (estimate := needs_estimate(queryset)) is not None:
            self.estimated = True
            return estimate
        return queryset.count()

    def page(self, number) -> Page:
        number = self.validate_number(number)
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

    @staticmethod
    def _rows(queryset: QuerySet, start: int, stop: int) -> list:
        """The rows of ``queryset[start:stop]``: first their keys, read without the list's joins, then the
        rows with everything they join. The database skips ``start`` rows without joining each one to its
        host and application: 1.4 s to a fraction of that for a page 100,000 events deep."""
        keys = list(queryset.values_list("pk", flat=True)[start:stop])
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
        if (size := needs_estimate(filtered)) is None:
            return {key: f"{count:,}" for key, count in filtered.aggregate(**counts).items()}
        return {
            key: approximately(min(estimated_count(filtered.filter(count.filter)), size))
            for key, count in counts.items()
        }


class ChoicesFilter(EstimatedFacets, admin.ChoicesFieldListFilter):
    """Django's filter for a field with choices, with facet counts that stay fast."""


class ValuesFilter(EstimatedFacets, admin.AllValuesFieldListFilter):
    """Django's filter by every value a field holds, with facet counts that stay fast."""
