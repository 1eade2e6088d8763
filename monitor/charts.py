"""The monitor's charts as Vega-Lite specs, drawn with ``st.vega_lite_chart``.

Streamlit's simple charts cannot fix colours, draw a heat map, or put times on a
24-hour UTC axis (every time here is UTC, whatever the viewer's browser says).
Altair could, but it validates the whole spec against the Vega-Lite schema on
every render: about 15 ms a chart, twice the cost of drawing it, on pages that
refresh every few seconds. These specs are plain dictionaries; each function
returns the data and the spec to draw it with.
"""

from __future__ import annotations

import pandas as pd

from monitor.queries import SEVERITIES, WEEKDAYS

#: One colour per severity, from calm to alarming, the same on every chart.
SEVERITY_COLOURS = ["#8da0b3", "#f2b134", "#e8702a", "#c8102e"]

Chart = tuple[pd.DataFrame, dict]


def _time(field: str, title: str, times: pd.Series | pd.Index) -> dict:
    """A UTC time axis on a 24-hour clock, with seconds when everything happened within a few minutes."""
    short = len(times) == 0 or (times.max() - times.min()) < pd.Timedelta(minutes=5)
    axis = {"format": "%H:%M:%S" if short else "%H:%M"}
    return {"field": field, "type": "temporal", "title": title, "scale": {"type": "utc"}, "axis": axis}


def _number(field: str, **extra) -> dict:
    return {"field": field, "type": "quantitative", **extra}


def over_time(frame: pd.DataFrame, value: str, title: str, *, area: bool = False) -> Chart:
    """One line (or stacked area) per column of ``frame``, whose index is UTC times."""
    long = frame.rename_axis("time").reset_index().melt(id_vars="time", var_name="series", value_name=value)
    spec = {
        "mark": {"type": "area", "opacity": 0.8} if area else {"type": "line"},
        "encoding": {
            "x": _time("time", "time (UTC)", frame.index),
            "y": _number(value, title=title, stack=True if area else None),
            "color": {"field": "series", "type": "nominal", "title": None, "sort": [str(c) for c in frame.columns]},
            "tooltip": [
                {"field": "time", "type": "temporal", "format": "%H:%M:%S"},
                {"field": "series", "type": "nominal"},
                _number(value, format=",.0f"),
            ],
        },
    }
    return long, spec


def events_per_day(frame: pd.DataFrame) -> Chart:
    """Stacked bars per day, calm severities at the bottom."""
    day = {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate"}
    spec = {
        "mark": {"type": "bar"},
        "transform": [{"calculate": f"indexof({SEVERITIES!r}, datum.severity)", "as": "severity_order"}],
        "encoding": {
            "x": {**day, "title": "day (UTC)"},
            "y": _number("events", aggregate="sum", title="events"),
            "color": {
                "field": "severity",
                "type": "nominal",
                "title": "severity",
                "scale": {"domain": SEVERITIES, "range": SEVERITY_COLOURS},
            },
            "order": _number("severity_order"),
            "tooltip": [
                {**day, "title": "day"},
                {"field": "severity", "type": "nominal"},
                _number("events", format=","),
            ],
        },
    }
    return frame, spec


def rhythm(frame: pd.DataFrame) -> Chart:
    """A heat map of events by hour of day and weekday."""
    spec = {
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "hour", "type": "ordinal", "title": "hour of day (UTC)"},
            "y": {"field": "weekday", "type": "ordinal", "sort": WEEKDAYS, "title": None},
            "color": _number("events", title="events", scale={"scheme": "blues"}),
            "tooltip": [
                {"field": "weekday", "type": "ordinal"},
                {"field": "hour", "type": "ordinal"},
                _number("events", format=","),
            ],
        },
    }
    return frame, spec


def chunk_durations(chunks: pd.DataFrame) -> Chart:
    """One dot per chunk: when it committed and how long it took."""
    spec = {
        "mark": {"type": "circle", "size": 40},
        "encoding": {
            "x": _time("committed_at", "committed (UTC)", chunks["committed_at"]),
            "y": _number("seconds", title="seconds to write"),
            "color": {"field": "kind", "type": "nominal", "title": "kind"},
            "tooltip": [
                {"field": "kind", "type": "nominal"},
                _number("index"),
                _number("rows", format=","),
                _number("seconds"),
                {"field": "written_by", "type": "nominal"},
            ],
        },
    }
    return chunks.dropna(subset=["seconds"]), spec


def breakdown(frame: pd.DataFrame, field: str, title: str) -> Chart:
    """Horizontal bars of assets per value of ``field``, largest on top."""
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": _number("assets", title="assets"),
            "y": {"field": field, "type": "nominal", "sort": "-x", "title": None},
            "tooltip": [{"field": field, "type": "nominal", "title": title}, _number("assets", format=",")],
        },
    }
    return frame, spec


def chunks_per_minute(frame: pd.DataFrame) -> Chart:
    """Stacked bars of chunks per minute, one colour per process (names like ``host:pid`` are data, not fields)."""
    long = frame.reset_index().melt(id_vars="minute", var_name="process", value_name="chunks")
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": _time("minute", "minute (UTC)", frame.index),
            "y": _number("chunks", aggregate="sum", title="chunks"),
            "color": {"field": "process", "type": "nominal", "title": "process"},
            "tooltip": [
                {"field": "minute", "type": "temporal"},
                {"field": "process", "type": "nominal"},
                _number("chunks"),
            ],
        },
    }
    return long, spec
