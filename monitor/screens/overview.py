"""Overview: seeded rows per kind over time, the estate's counts, and the active run, live."""

from __future__ import annotations

import streamlit as st

from monitor import charts, queries
from monitor.view import ADMIN_URL, REFRESH_SECONDS, database_unreachable, empty_estate

st.title("Overview")


@st.cache_data(ttl=REFRESH_SECONDS)
def rows_over_time():
    return queries.rows_over_time()


@st.fragment(run_every=REFRESH_SECONDS)
def live() -> None:
    try:
        counts = queries.estate_counts()
        run = queries.active_run()
        history = rows_over_time()
    except queries.Unreachable as error:
        database_unreachable(error)
        return
    columns = st.columns(len(counts))
    for column, (kind, count) in zip(columns, counts.items()):
        column.metric(kind.capitalize(), f"{count['total']:,}", help=f"{count['demo']:,} written by seeding")
    if run is not None:
        st.subheader(f"Run #{run['id']}: {run['status']}")
        st.progress(run["progress"], text=f"{run['total_done']:,} of {run['total_planned']:,} rows")
        rate, eta = run["rows_per_second"], run["eta_seconds"]
        st.caption(
            f"{rate:,.0f} rows/s" if rate else "starting",
            help="Cancel it in the admin.",
        )
        if eta is not None:
            st.caption(f"about {eta:,.0f} s left")
        for kind, planned in run["planned"].items():
            if planned:
                st.progress(run["done"][kind] / planned, text=f"{kind}: {run['done'][kind]:,} of {planned:,}")
        st.link_button("Open it in the admin", f"{ADMIN_URL}seeding/seedrun/{run['id']}/change/")
    if not sum(count["total"] for count in counts.values()):
        empty_estate()
        return
    st.subheader("Seeded rows over time")
    if history.empty:
        st.caption("No seed run has committed a chunk yet.")
    else:
        st.vega_lite_chart(*charts.over_time(history, "rows", "rows"), width="stretch")


live()
