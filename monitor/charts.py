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


#: Tick intervals a time axis may use, finest first: (pandas frequency, about how many seconds apart).
TICK_INTERVALS = [
    ("1s", 1), ("2s", 2), ("5s", 5), ("10s", 10), ("15s", 15), ("30s", 30), ("1min", 60), ("2min", 120),
    ("5min", 300), ("10min", 600), ("15min", 900), ("30min", 1_800), ("1h", 3_600), ("2h", 7_200),
    ("3h", 10_800), ("6h", 21_600), ("12h", 43_200), ("1D", 86_400), ("2D", 172_800), ("W-MON", 604_800),
    ("MS", 2_629_800), ("QS", 7_889_400), ("YS", 31_557_600),
]  # fmt: skip
#: At most this many labelled ticks: they fit side by side even in a half-width column.
MAX_TICKS = 6


def time_axis(times: pd.Series | pd.Index) -> dict:
    """Ticks on whole seconds, minutes, hours or days, at most ``MAX_TICKS`` of them, each labelled differently.

    Vega-Lite left to itself puts ticks every few seconds on a narrow chart and
    labels them ``%H:%M`` ("05:14 05:14") or runs ``%H:%M:%S`` labels into each
    other. Here the interval is chosen from the span shown, the label format
    from the interval, and the ticks are given as Vega-Lite DateTime values in
    UTC: Vega's own ``tickCount: {interval: "second"}`` fails to draw the chart
    at all in the Vega that Streamlit ships, and plain millisecond numbers draw
    no labels.
    """
    times = pd.to_datetime(pd.Series(times), utc=True)
    if times.empty:
        return {"format": "%H:%M:%S"}
    first, last = times.min(), times.max()
    span = (last - first).total_seconds()
    frequency, seconds = next(
        (interval for interval in TICK_INTERVALS if span / interval[1] < MAX_TICKS), TICK_INTERVALS[-1]
    )
    if seconds < 60:
        label = "%H:%M:%S"
    elif seconds < 86_400:
        label = "%H:%M" if span < 86_400 else "%b %d %H:%M"
    else:
        label = "%b %d" if seconds < 2_629_800 else "%b %Y"
    if seconds < 86_400:
        ticks = pd.date_range(first.ceil(frequency), last, freq=frequency)
    else:
        ticks = pd.date_range(first.ceil("1D"), last, freq=frequency)
    ticks = ticks if len(ticks) else pd.DatetimeIndex([first])  # one moment: its own label
    return {
        "format": label,
        "values": [_datetime(tick) for tick in ticks],
        "labelOverlap": "greedy",  # a last resort: a label that would touch its neighbour is left out
        "labelFlush": True,
    }


def _datetime(moment: pd.Timestamp) -> dict:
    """A Vega-Lite DateTime object, in UTC (months count from 1, as in Python)."""
    names = ("year", "month", "date", "hours", "minutes", "seconds")
    return {**dict(zip(names, moment.timetuple()[:6], strict=True)), "utc": True}


def _time(field: str, title: str, times: pd.Series | pd.Index) -> dict:
    """A UTC time axis on a 24-hour clock (every time here is UTC, whatever the viewer's browser says)."""
    return {"field": field, "type": "temporal", "title": title, "scale": {"type": "utc"}, "axis": time_axis(times)}


def _utc_tooltip(field: str, label: str) -> dict:
    """A time in a tooltip, in UTC like the axis (a utc time unit makes Vega-Lite format it in UTC)."""
    return {"field": field, "type": "temporal", "timeUnit": "utcyearmonthdatehoursminutesseconds", "format": label}


def _number(field: str, **extra) -> dict:
    return {"field": field, "type": "quantitative", **extra}


def over_time(frame: pd.DataFrame, value: str, title: str, *, area: bool = False, steps: str = "step-after") -> Chart:
    """One line (or area) per column of ``frame``, whose index is UTC times.

    Drawn as steps, not slopes: ``step-after`` for a running total (it holds
    its value until the next point, so nothing seems to be written between
    two commits), ``step-before`` for a rate over the slice that ends at each
    point.
    """
    long = frame.rename_axis("time").reset_index().melt(id_vars="time", var_name="series", value_name=value)
    spec = {
        "mark": {"type": "area", "opacity": 0.8, "interpolate": steps}
        if area
        else {"type": "line", "interpolate": steps},
        "encoding": {
            "x": _time("time", "time (UTC)", frame.index),
            "y": _number(value, title=title, stack=None),
            "color": {"field": "series", "type": "nominal", "title": None, "sort": [str(c) for c in frame.columns]},
            "tooltip": [
                _utc_tooltip("time", "%H:%M:%S"),
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
    """Stacked bars of chunks per minute, one colour per process (names like ``worker host:pid`` are data, not
    fields), workers in blues and the processes that write their own run inline in oranges."""
    long = frame.reset_index().melt(id_vars="minute", var_name="process", value_name="chunks")
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": _time("minute", "minute (UTC)", frame.index),
            "y": _number("chunks", aggregate="sum", title="chunks"),
            "color": {"field": "process", "type": "nominal", "title": "process", "scale": _process_colours(frame)},
            "tooltip": [
                _utc_tooltip("minute", "%H:%M"),
                {"field": "process", "type": "nominal"},
                _number("chunks"),
            ],
        },
    }
    return long, spec


WORKER_COLOURS = ["#1f4e99", "#3f7fcf", "#7fb0e8", "#b9d4f3"]
INLINE_COLOURS = ["#c0580e", "#e8892a", "#f4b36b", "#f8d2a4"]


def _process_colours(frame: pd.DataFrame) -> dict:
    """Workers in blues, inline writers (the command, a web request) in oranges, so the legend reads as two groups."""
    names = sorted(map(str, frame.columns), key=lambda name: (not name.startswith("worker "), name))
    workers = [name for name in names if name.startswith("worker ")]
    inline = [name for name in names if not name.startswith("worker ")]
    colours = [WORKER_COLOURS[i % len(WORKER_COLOURS)] for i in range(len(workers))]
    colours += [INLINE_COLOURS[i % len(INLINE_COLOURS)] for i in range(len(inline))]
    return {"domain": workers + inline, "range": colours}
