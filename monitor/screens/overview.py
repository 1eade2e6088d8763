"""Overview: seeded rows per kind over time, the estate's counts, and the active run or live stream, live."""

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
    if run is not None and run["live"] is not None:
        live_stream(run)
    elif run is not None:
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


def live_stream(run: dict) -> None:
    """A running live stream: how fast and how far behind, what is open, and its events as they arrive."""
    figures = run["live"]
    st.subheader(f"Live stream #{run['id']}: {run['status']}")
    rate = queries.live_stream_rate(run["id"])
    lag = figures["lag_seconds"]
    columns = st.columns(5)
    columns[0].metric("Events/s, last minute", f"{rate:,.1f}", help=f"{figures['rate']:g} a second on average")
    columns[1].metric("Behind the clock", f"{lag:.1f} s" if lag is not None else "-")
    columns[2].metric("Open incidents", f"{figures['open_incidents']:,}")
    columns[3].metric(
        "Changes rolling out",
        f"{figures['open_changes']:,}",
        help="Releases, patch rounds, migrations: opened, not closed",
    )
    columns[4].metric("Events written", f"{run['done']['events']:,}", help=f"of about {run['planned']['events']:,}")
    ends = figures["ends_at"]
    st.progress(run["progress"], text=f"until {ends:%H:%M:%S} UTC")
    for gap in figures["gaps"]:
        st.warning(f"Skipped {gap['since']} to {gap['until']} (about {gap['events']:,} events): it fell behind.")
    events = queries.live_stream_events(run["id"])
    if events:
        st.dataframe(
            events,
            hide_index=True,
            width="stretch",
            column_config={
                "time": st.column_config.DatetimeColumn("Time (UTC)", format="HH:mm:ss"),
                "host": "Host",
                "kind": "Kind",
                "severity": "Severity",
                "message": st.column_config.TextColumn("Message", width="large"),
            },
        )
    st.link_button("Stop it in the admin", f"{ADMIN_URL}seeding/seedrun/live/")


live()
