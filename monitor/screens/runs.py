"""Runs: every run with its status, plan, progress, rate, duration and error; then one run in detail."""

from __future__ import annotations

import streamlit as st

from monitor import charts, queries
from monitor.view import ADMIN_URL, MISSING, REFRESH_SECONDS, database_unreachable
from seeding.generation.kinds import KINDS
from seeding.models import SeedRun

st.title("Runs")

ACTIVE = set(SeedRun.ACTIVE_STATUSES)


def plan(run: dict) -> str:
    """The plan in a few characters ("500 / 5,000 / 10,000 / 100,000"): whole sentences push the table's
    columns off the page."""
    return " / ".join(f"{run['planned'][kind]:,}" for kind in KINDS)


def duration(run: dict) -> float | None:
    """Seconds an ended run spent writing: a resumed run's stretches added up, without the pause between
    its stop and its resume (the admin and the API say the same, from the same selector)."""
    if run["finished_at"] is None:
        return None
    return run["active_seconds"]


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
                "plan": plan(run),
                "progress": run["progress"],
                "rows/s": round(run["rows_per_second"] or 0),
                "ETA s": run["eta_seconds"] if run["status"] in ACTIVE else None,
                "took s": duration(run),
                "asked by": run["requested_by"],
                "created": run["created_at"],
                "error": run["error"] or "",
            }
            for run in runs
        ],
        column_config={  # widths that add up to the page's width at 1440 px, with the error taking the rest
            "run": st.column_config.NumberColumn(width=45),
            "status": st.column_config.TextColumn(width=80),
            "plan": st.column_config.TextColumn(
                "plan (apps / assets / deployments / events)",
                width=250,
                help="Rows planned per kind: applications, assets, deployments, events.",
            ),
            "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1, width=105),
            "rows/s": st.column_config.NumberColumn(format="localized", width=70),
            "ETA s": st.column_config.NumberColumn(format="%.0f", width=55, help="Seconds left (active runs)."),
            "took s": st.column_config.NumberColumn(
                format="%.1f", width=55, help="Seconds spent writing (a resumed run's stretches added up)."
            ),
            "asked by": st.column_config.TextColumn(width=75),
            "created": st.column_config.DatetimeColumn("created (UTC)", format="MM-DD HH:mm:ss", width=110),
            "error": st.column_config.TextColumn(help="In full below the table, for a failed run."),
        },
        hide_index=True,
        width="stretch",
        placeholder=MISSING,
    )
    for run in runs:
        if run["status"] == "failed" and run["error"]:
            st.error(f"Run #{run['id']} failed: {run['error']}")


@st.fragment(run_every=REFRESH_SECONDS)
def detail(run_id: int) -> None:
    try:
        run = queries.run(run_id)
        chunks = queries.run_chunks(run_id)
        failures = queries.run_failed_attempts(run_id)
    except queries.Unreachable as error:
        database_unreachable(error)
        return
    if run is None:
        st.warning(f"Run #{run_id} no longer exists.")
        return
    st.caption(
        f"{run['status']} · {run['executor']} · seed {run['seed']} · {run['total_done']:,} of "
        f"{run['total_planned']:,} rows in {len(chunks):,} chunks · "
        f"[open it in the admin]({ADMIN_URL}seeding/seedrun/{run_id}/change/)"
    )
    if run["error"]:
        st.error(run["error"])
    if chunks.empty:
        st.caption("No chunk committed yet.")
        return
    left, right = st.columns(2)
    left.markdown("**Rows over time**")
    left.vega_lite_chart(
        *charts.over_time(queries.run_rows_over_time(chunks, run["started_at"]), "rows", "rows"), width="stretch"
    )
    right.markdown("**Rate**")
    right.vega_lite_chart(
        *charts.over_time(queries.run_rate(chunks), "rate", "rows/s", area=True, steps="step-before"), width="stretch"
    )
    left, right = st.columns(2)
    left.markdown("**Chunk durations**")
    if chunks["seconds"].notna().any():
        left.vega_lite_chart(*charts.chunk_durations(chunks), width="stretch")
    else:
        left.caption("Not recorded for this run (written before chunk durations were kept).")
    role = queries.writer_role(run["executor"], run["source"])
    right.markdown(f"**Who wrote it** ({role} processes, host:pid)")
    right.dataframe(
        queries.run_writers(chunks),
        hide_index=True,
        placeholder=MISSING,
        width="stretch",
        column_config={
            "rows": st.column_config.NumberColumn(format="localized"),
            "seconds": st.column_config.NumberColumn("busy s", format="%.1f"),
        },
    )
    st.markdown("**Failed attempts**")
    if failures:
        st.dataframe(failures, hide_index=True, width="stretch", placeholder=MISSING)
    else:
        st.caption("No failed attempt: every chunk was written at its first start.")


table()
st.subheader("One run in detail")
try:
    choices = [run["id"] for run in queries.runs()]
except queries.Unreachable:
    choices = []
if choices:
    detail(st.selectbox("Run", choices, format_func=lambda run_id: f"#{run_id}"))
