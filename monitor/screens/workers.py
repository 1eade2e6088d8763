"""Workers and queue: what Redis holds for the seeding queue, and the worker processes alive."""

from __future__ import annotations

import streamlit as st

from monitor import charts, queries
from monitor.view import MISSING, REFRESH_SECONDS, broker_unreachable, database_unreachable

st.title("Workers and queue")


@st.fragment(run_every=REFRESH_SECONDS)
def broker() -> None:
    if not queries.uses_redis():
        st.info(
            "No Redis here (`REDIS_URL` is not set): queued runs are written by the embedded worker, a thread "
            "inside the web process, one chunk at a time. There is no queue and no separate worker to show; "
            "the Runs page shows its progress. Set `REDIS_URL` and start `rundramatiq` workers to scale out."
        )
        return
    try:
        state = queries.broker_state()
    except queries.BrokerUnreachable as error:
        broker_unreachable(error)
        return
    st.caption(f"Redis at {state.url}")
    workers = state.live_workers
    threads = sum(worker.threads for worker in workers)
    seeding = state.queues[0]
    columns = st.columns(5)
    columns[0].metric("Worker processes", len(workers), help=f"{threads} threads in all")
    columns[1].metric("Waiting", f"{seeding.waiting:,}", help=f"messages on the {seeding.name!r} queue")
    columns[2].metric("Being worked", f"{seeding.in_flight:,}", help="fetched by a worker, not yet acknowledged")
    columns[3].metric("Delayed", f"{seeding.delayed:,}", help="retries waiting for their backoff")
    columns[4].metric("Dead-lettered", f"{seeding.dead:,}", help="gave up after their retries; kept 7 days")
    if not workers:
        st.warning("No worker process is alive: queued runs wait. Start one with `make worker` (rundramatiq).")
    st.dataframe(
        [vars(queue) for queue in state.queues],
        hide_index=True,
        placeholder=MISSING,
        column_config={"name": "queue", "in_flight": "being worked"},
    )
    st.subheader("Processes talking to Redis")
    st.dataframe(
        [
            {
                "process": process.process or "(sends only: a web process or the command)",
                "threads": process.threads or None,
                "last contact, s ago": round(process.seconds_since_contact, 1),
                "alive": process.alive,
            }
            for process in state.processes
            if process.worker or process.alive  # a sender long gone is noise until Dramatiq drops it
        ],
        hide_index=True,
        placeholder=MISSING,
        width="stretch",
    )


@st.fragment(run_every=REFRESH_SECONDS)
def throughput() -> None:
    st.subheader("Chunks written per minute, by process")
    st.caption(
        "Blue: worker processes (`rundramatiq`, or the embedded worker of a web process without Redis). "
        "Orange: processes that write their own run inline: a `seed_demo_data` command (*command*) or the "
        "admin or the API writing a small plan (*web request*)."
    )
    try:
        per_minute = queries.chunks_per_minute()
    except queries.Unreachable as error:
        database_unreachable(error)
        return
    if per_minute.empty or not per_minute.to_numpy().any():
        st.caption("No chunk committed in the last 30 minutes.")
    else:
        st.vega_lite_chart(*charts.chunks_per_minute(per_minute), width="stretch")


broker()
throughput()
