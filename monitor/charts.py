"""The monitor's Altair charts: Streamlit's built-in ones cannot fix colours, draw a heat map, or put
times on a 24-hour UTC axis (every time here is UTC, whatever the viewer's browser says)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from monitor.queries import SEVERITIES, WEEKDAYS

#: One colour per severity, from calm to alarming, the same on every chart.
SEVERITY_COLOURS = ["#8da0b3", "#f2b134", "#e8702a", "#c8102e"]


def _time(field: str, title: str) -> alt.X:
    return alt.X(f"{field}:T", title=title, scale=alt.Scale(type="utc"), axis=alt.Axis(format="%H:%M"))


def over_time(frame: pd.DataFrame, value: str, title: str, *, area: bool = False) -> alt.Chart:
    """One line (or stacked area) per column of ``frame``, whose index is UTC times."""
    long = frame.rename_axis("time").reset_index().melt(id_vars="time", var_name="series", value_name=value)
    chart = alt.Chart(long).mark_area(opacity=0.8) if area else alt.Chart(long).mark_line()
    return chart.encode(
        x=_time("time", "time (UTC)"),
        y=alt.Y(f"{value}:Q", title=title, stack=area or None),
        color=alt.Color("series:N", title=None, sort=list(frame.columns)),
        tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), "series:N", alt.Tooltip(f"{value}:Q", format=",.0f")],
    )


def _severity_colour() -> alt.Color:
    return alt.Color("severity:N", scale=alt.Scale(domain=SEVERITIES, range=SEVERITY_COLOURS), title="severity")


def events_per_day(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("yearmonthdate(day):T", title="day (UTC)"),
            y=alt.Y("sum(events):Q", title="events"),
            color=_severity_colour(),
            order=alt.Order("severity_order:Q"),
            tooltip=[
                alt.Tooltip("yearmonthdate(day):T", title="day"),
                "severity:N",
                alt.Tooltip("events:Q", format=","),
            ],
        )
        .transform_calculate(severity_order=f"indexof({SEVERITIES!r}, datum.severity)")
    )


def rhythm(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="hour of day (UTC)"),
            y=alt.Y("weekday:O", sort=WEEKDAYS, title=None),
            color=alt.Color("events:Q", scale=alt.Scale(scheme="blues"), title="events"),
            tooltip=["weekday:O", "hour:O", alt.Tooltip("events:Q", format=",")],
        )
    )


def chunk_durations(chunks: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(chunks.dropna(subset=["seconds"]))
        .mark_circle(size=40)
        .encode(
            x=_time("committed_at", "committed (UTC)"),
            y=alt.Y("seconds:Q", title="seconds to write"),
            color=alt.Color("kind:N", title="kind"),
            tooltip=["kind:N", "index:Q", alt.Tooltip("rows:Q", format=","), "seconds:Q", "written_by:N"],
        )
    )


def breakdown(frame: pd.DataFrame, field: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("assets:Q", title="assets"),
            y=alt.Y(f"{field}:N", sort="-x", title=None),
            tooltip=[alt.Tooltip(f"{field}:N", title=title), alt.Tooltip("assets:Q", format=",")],
        )
    )


def chunks_per_minute(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars of chunks per minute, one colour per process (names like ``host:pid`` are data, not fields)."""
    long = frame.reset_index().melt(id_vars="minute", var_name="process", value_name="chunks")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_time("minute", "minute (UTC)"),
            y=alt.Y("sum(chunks):Q", title="chunks"),
            color=alt.Color("process:N", title="process"),
            tooltip=["minute:T", "process:N", "chunks:Q"],
        )
    )
