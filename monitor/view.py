"""What every page shares: the admin's address, and how an unreachable database is said."""

from __future__ import annotations

import os

import streamlit as st
from django.db import connection

#: Where the admin is, for the links to it (seeding and cancelling happen there).
ADMIN_URL = os.environ.get("MONITOR_ADMIN_URL", "http://127.0.0.1:8000/admin/")
#: Seconds between refreshes of the live parts.
REFRESH_SECONDS = 2
#: What a table shows where a value does not apply (an ended run's ETA), instead of Streamlit's "None".
MISSING = "-"


def database_unreachable(error: Exception) -> None:
    settings = connection.settings_dict
    where = settings.get("HOST") or settings.get("NAME")
    st.error(f"The database ({where}) cannot be reached: {_first_line(error)}. Retrying every {REFRESH_SECONDS} s.")
    connection.close()  # the next try opens a fresh connection


def broker_unreachable(error: Exception) -> None:
    st.error(f"Redis cannot be reached: {_first_line(error)}. Retrying every {REFRESH_SECONDS} s.")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def empty_estate() -> None:
    st.info(
        "No demo data yet. Seed some with `make demo`, `python backend/manage.py seed_demo_data`, "
        f"or the admin's [seed page]({ADMIN_URL}seeding/seedrun/seed/)."
    )
