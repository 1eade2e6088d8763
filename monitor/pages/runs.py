"""Runs: every run with its status, plan, progress, rate, duration and error."""

from __future__ import annotations

import streamlit as st

from monitor import queries
from monitor.view import ADMIN_URL, REFRESH_SECONDS, database_unreachable

st.title("Runs")


@st.fragment(run_every=REFRESH_SECONDS)
def table() -> None:
    try:
        runs = queries.runs()
    except queries.Unreachable as error:
        database_unreachable(error)
        return
    if not runs:
        st.info(f"No seed runs yet. Start one in the [admin]({ADMIN_URL}seeding/seedrun/seed/).")
        return
    st.dataframe(
        [
            {
                "run": run["id"],
                "status": run["status"],
                "plan": ", ".join(f"{n:,} {kind}" for kind, n in run["planned"].items() if n),
                "progress": run["progress"],
                "rows/s": run["rows_per_second"],
                "ETA s": run["eta_seconds"],
                "asked by": run["requested_by"],
                "created": run["created_at"],
                "error": run["error"] or "",
            }
            for run in runs
        ],
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1)},
        hide_index=True,
        width="stretch",
    )
    for run in runs:
        if run["status"] == "failed" and run["error"]:
            st.error(f"Run #{run['id']} failed: {run['error']}")


table()
