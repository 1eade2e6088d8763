"""demoseed monitor: how a seed grows, and the seeded estate. Start with ``make monitor``
(``streamlit run monitor/streamlit_app.py``). Layout only here and in screens/ (not pages/: a folder of that
name puts Streamlit in its older multipage mode until the first run of this script);
what is read is in ``queries``.

It shows no secrets and writes nothing; seeding and cancelling stay in the
admin, which the pages link to. ``MONITOR_PASSWORD`` set: a shared password
gates it, with a limit on wrong guesses (monitor/gate.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `monitor` importable as a package

from monitor.bootstrap import setup_django
from monitor.gate import password_ok

setup_django()

st.set_page_config(page_title="demoseed monitor", layout="wide")


if password_ok():
    here = Path(__file__).resolve().parent
    navigation = st.navigation(
        [
            st.Page(here / "screens" / "overview.py", title="Overview", icon=":material/monitoring:", default=True),
            st.Page(here / "screens" / "runs.py", title="Runs", icon=":material/list:"),
            st.Page(here / "screens" / "workers.py", title="Workers and queue", icon=":material/dns:"),
            st.Page(here / "screens" / "estate.py", title="Estate", icon=":material/inventory_2:"),
        ]
    )
    navigation.run()
