"""Estate: what the seeded inventory looks like, for someone about to demo it."""

from __future__ import annotations

import streamlit as st

from monitor import charts, queries
from monitor.view import ADMIN_URL, MISSING, REFRESH_SECONDS, database_unreachable, empty_estate

st.title("Estate")

#: The estate changes only while a run writes; its charts refresh less often than the live progress.
ESTATE_REFRESH_SECONDS = 5 * REFRESH_SECONDS


@st.fragment(run_every=ESTATE_REFRESH_SECONDS)
def estate() -> None:
    try:
        counts = queries.estate_counts()
        if not sum(count["total"] for count in counts.values()):
            empty_estate()
            return
        cells = queries.event_cells()
        by_type, by_site, by_lifecycle = (
            queries.assets_by(field) for field in ("asset_type", "location", "lifecycle_status")
        )
        top = queries.top_applications()
        incidents = queries.latest_incidents()
    except queries.Unreachable as error:
        database_unreachable(error)
        return

    st.subheader("Events per day, by severity")
    if cells.empty:
        st.caption("No events yet.")
    else:
        st.vega_lite_chart(*charts.events_per_day(queries.events_per_day(cells)), width="stretch")
        st.subheader("When events happen")
        st.caption(
            "Events per hour and weekday, in UTC. Sites work in their own time zones, so Europe's and "
            "the Americas' working days show as two humps a few hours apart, and weekends stay quiet."
        )
        st.vega_lite_chart(*charts.rhythm(queries.events_by_hour_and_weekday(cells)), width="stretch")

    st.subheader(f"{counts['assets']['total']:,} assets")
    left, middle, right = st.columns(3)
    left.caption("by type")
    left.vega_lite_chart(*charts.breakdown(by_type, "asset_type", "type"), width="stretch")
    middle.caption("by site")
    middle.vega_lite_chart(*charts.breakdown(by_site, "location", "site"), width="stretch")
    right.caption("by lifecycle")
    right.vega_lite_chart(*charts.breakdown(by_lifecycle, "lifecycle_status", "lifecycle"), width="stretch")

    st.subheader("Most deployed applications")
    st.dataframe(
        top,
        hide_index=True,
        placeholder=MISSING,
        width="stretch",
        column_config={"deployments": st.column_config.NumberColumn(format="localized")},
    )
    st.subheader("Latest incidents")
    if incidents:
        st.dataframe(
            [
                {
                    "when (UTC)": incident["occurred_at"],
                    "severity": incident["severity"],
                    "host": incident["host"],
                    "what": incident["message"],
                    "story": f"{ADMIN_URL}inventory/event/{incident['id']}/change/",
                }
                for incident in incidents
            ],
            hide_index=True,
            width="stretch",
            placeholder=MISSING,
            column_config={
                "when (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", width="small"),
                "severity": st.column_config.TextColumn(width="small"),
                "what": st.column_config.TextColumn(width="large"),
                "story": st.column_config.LinkColumn("story", display_text="open"),
            },
        )
    else:
        st.caption("No incidents yet.")


estate()
