"""The seed-run admin as a person sees it, in a real browser, at the widths people use.

With Django's navigation sidebar open (its default, 300 px) the run list once had eleven columns and
scrolled sideways at 1280 px: the error, the one column a person looks for on a failed run, was past
the edge. The list must read at 1280, 1440 and 1920 px with the sidebar open and closed: no table
wider than its box, no page wider than the window, every cell but the error on one line (the error
is cut to the column and whole on hover). Measured as tests/test_admin_layout.py measures the
inventory's lists, with its helpers.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from seeding import services
from seeding.models import SeedRun
from tests.support.browser import ARTIFACTS
from tests.support.data import cancelled_run, seed
from tests.support.layout import MEASURE, PASSWORD, SIDEBAR, WIDTHS, logged_in, problems_of, show

# Once: how a page lays out in a browser does not depend on the database under it (the rows are the same on
# both backends, tests/test_cross_backend.py; the queries behind the pages run on both in tests/test_admin.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.once]

#: Every cell of the list that must stay on one line: all but the error's.
ONE_LINE = ("#result_list tbody td:not(.field-error_display)", "#result_list tbody th")
#: The error keeps enough width to be read: about 30 characters, "abandoned: the process writing it".
ERROR_MIN_PX = 200
LONG_ERROR = (
    "abandoned: the process writing it stopped; committed chunks are kept (resume it with Resume on its "
    "page in the admin, or .venv/bin/python backend/manage.py seed_demo_data --resume 4)"
)


@pytest.fixture
def runs(live_server, django_user_model, make_plan):
    """Runs of every kind the list shows: succeeded inline, cancelled, failed with a long error,
    resumed, cleared, and one queued for the workers (active, with the longest executor label)."""
    seed(make_plan())
    cancelled_run(make_plan(seed=2))
    failed = cancelled_run(make_plan(seed=3))
    SeedRun.objects.filter(pk=failed.pk).update(  # the longest numbers a plan's column shows
        status=SeedRun.Status.FAILED, error=LONG_ERROR, assets=123_456, deployments=234_567, events=1_234_567
    )
    resumed = cancelled_run(make_plan(seed=4))
    services.seed_run_resume(run=resumed, by=services.Requester(SeedRun.Source.COMMAND))
    cleared = cancelled_run(make_plan(seed=5))
    SeedRun.objects.filter(pk=cleared.pk).update(cleared_at=timezone.now())
    services.seed_run_create(plan=make_plan(seed=6), executor=SeedRun.Executor.WORKERS, source=SeedRun.Source.API)
    django_user_model.objects.create_superuser("viewer", "viewer@example.com", PASSWORD)
    return live_server.url


def test_the_seed_run_list_reads_well_at_every_width(runs):
    problems = []
    with logged_in(runs) as page:
        for width in WIDTHS:
            for sidebar in SIDEBAR:
                show(page, f"{runs}/admin/seeding/seedrun/", width, sidebar)
                measured = page.evaluate(MEASURE, list(ONE_LINE))
                problems += problems_of(measured, width, sidebar, ONE_LINE)
                if (error := measured["columns"].get("Error", 0)) < ERROR_MIN_PX:
                    problems.append(f"{width} px, sidebar {sidebar}: the Error column is {error:.0f} px wide")
        ARTIFACTS.mkdir(exist_ok=True)
        show(page, f"{runs}/admin/seeding/seedrun/", WIDTHS[0], "open")
        page.screenshot(path=str(ARTIFACTS / "admin-seedrun-list.png"))
    assert not problems, "\n".join(problems)


def test_a_cut_error_is_whole_on_hover(runs):
    with logged_in(runs) as page:
        show(page, f"{runs}/admin/seeding/seedrun/", WIDTHS[0], "open")
        titles = page.evaluate(
            "() => [...document.querySelectorAll('#result_list tbody .field-error_display [title]')].map(e => e.title)"
        )
    assert LONG_ERROR in titles
