"""``make bench-live``: a live stream's sustained rate, its lag and its CPU, with the admin and the stats in use.

For SQLite (a file, as ``make demo`` uses) and PostgreSQL: a fresh database seeded with the demo plan, a
real web server (runserver, debug off) with a logged-in session, then ``seed_demo_data --live`` in the
foreground, twice:

- fast: ``--rate 2000`` for 60 s, while the session asks for demo-data-stats and the admin's event list
  every second (a person with the admin open);
- slow: ``--rate 10`` for 60 s.

For each stream: the events written against those planned (a gap would show), the rate sustained, the lag
from an event's timestamp to the commit of its tick (its SeedChunk's ``committed_at``: p50, p95, max), the
CPU the command used per 1,000 events and as a share of one core (less the CPU of a dry run of the same
command: Django's start-up), and the stats and event-list times during the fast stream against before it.
Targets: 2,000 events/s sustained with p95 lag under 1.5 s on PostgreSQL; under 5 % of a core at 10 events/s.
PostgreSQL is skipped, and said so, when it cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from common import BENCH_DIR, MANAGE, REPO, percentile
from databases import recreate_database
from servers import add_server_arguments, logged_in_server, manage, migrate_with_superuser, server_env

STREAMS = {"fast": 2_000, "slow": 10}
SECONDS = 60
TARGET_RATE, TARGET_P95_LAG, TARGET_SLOW_CPU = 2_000, 1.5, 0.05
STATS, EVENTS_PAGE = "/api/v1/admin/demo-data-stats", "/admin/inventory/event/"

#: Run in the database's environment after a stream: its lag per event, from the checkpoints.
ANALYSE = """
import json
import numpy as np
from django.conf import settings
from inventory.models import Event
from seeding.models import SeedChunk, SeedRun
run = SeedRun.objects.filter(mode="live").order_by("-pk").first()
start, tick = run.window_start.timestamp(), settings.SEED_LIVE_TICK_SECONDS
chunks = sorted(SeedChunk.objects.filter(run=run).values_list("index", "committed_at"))
first_ticks = np.array([index for index, _ in chunks])
committed = np.array([moment.timestamp() for _, moment in chunks])
times = np.array([t.timestamp() for t in Event.objects.filter(seed_run=run).values_list("occurred_at", flat=True)])
lag = committed[np.searchsorted(first_ticks, (times - start) // tick, side="right") - 1] - times
print(json.dumps({
    "status": run.status, "planned": run.events, "written": int(len(times)), "gaps": run.gaps,
    "seconds": (run.finished_at - run.started_at).total_seconds(),
    "lag_p50": float(np.percentile(lag, 50)), "lag_p95": float(np.percentile(lag, 95)), "lag_max": float(lag.max()),
}))
"""


def cpu_seconds(args: list[str], env: dict[str, str]) -> float:
    """Run ``manage.py args``; the CPU seconds (user + system) it used. Raises if it fails."""
    child = subprocess.Popen([*MANAGE, *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {child.stderr.read().decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def poll(client, timings: dict[str, list[float]], stop: threading.Event) -> None:
    """What a person with the admin open asks for, every second, until ``stop``."""
    while not stop.wait(1.0):
        timings["stats"].append(client.call("GET", STATS)[2])
        timings["events"].append(client.page(EVENTS_PAGE)[1])


def measure(database_url: str, label: str, logs: Path) -> dict:
    env = server_env(database_url)
    migrate_with_superuser(env)
    manage(env, "seed_demo_data", "--sync", "--plan=demo", "--verbosity=0")
    print(f"  {label}: seeded the demo plan", flush=True)
    results = {}
    with logged_in_server(env, logs / f"live-{label}.log") as client:
        before = {"stats": [client.call("GET", STATS)[2] for _ in range(10)]}
        before["events"] = [client.page(EVENTS_PAGE)[1] for _ in range(10)]
        for name, rate in STREAMS.items():
            flags = ["seed_demo_data", "--live", f"--rate={rate}", f"--duration={SECONDS}s", "--verbosity=0"]
            start_up = cpu_seconds([*flags, "--dry-run"], env)
            during = {"stats": [], "events": []}
            stop = threading.Event()
            poller = threading.Thread(target=poll, args=(client, during, stop), daemon=True)
            if name == "fast":
                poller.start()
            cpu = cpu_seconds(flags, env) - start_up
            stop.set()
            if poller.is_alive():
                poller.join()
            row = json.loads(manage(env, "shell", "-c", ANALYSE).strip().splitlines()[-1])
            row.update(
                rate=rate,
                sustained=row["written"] / row["seconds"],
                cpu_per_1000=1000 * cpu / max(row["written"], 1),
                core_share=cpu / row["seconds"],
            )
            if name == "fast":
                row["pages"] = {
                    page: {"before_p95": percentile(before[page], 0.95), "during_p95": percentile(times, 0.95)}
                    for page, times in during.items()
                    if times
                }
            results[name] = row
            print(f"  {label} {name}: {json.dumps(row)}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser, redis=False)
    args = parser.parse_args()
    logs = BENCH_DIR
    logs.mkdir(parents=True, exist_ok=True)
    results = {}
    sqlite_file = logs / "live.sqlite3"
    for leftover in logs.glob("live.sqlite3*"):
        leftover.unlink()
    results["sqlite"] = measure(f"sqlite:///{sqlite_file}", "sqlite", logs)
    try:
        url = recreate_database(args.postgres_url, "demoseed_bench_live")
    except Exception as exc:  # any failure to connect: say so and go on
        print(f"  postgresql: not measured, the server cannot be reached ({exc})")
    else:
        results["postgresql"] = measure(url, "postgresql", logs)

    print(f"\nLive streams of {SECONDS} s onto the demo plan, in the foreground (seed_demo_data --live)")
    for vendor, streams in results.items():
        for name, row in streams.items():
            complete = "all" if row["written"] == row["planned"] else f"{row['written']:,} of {row['planned']:,}"
            print(
                f"  {vendor:<11} {name:<5} {row['rate']:>5,}/s asked: {row['sustained']:7,.1f} events/s sustained "
                f"({complete} written), lag p50 {row['lag_p50']:.2f} s p95 {row['lag_p95']:.2f} s "
                f"max {row['lag_max']:.2f} s, CPU {row['cpu_per_1000']:.3f} s per 1,000 events "
                f"({row['core_share']:.1%} of a core)"
            )
            for page, figures in row.get("pages", {}).items():
                print(
                    f"  {'':<11} {'':<5} {page} p95 {figures['before_p95']:.0f} ms before, "
                    f"{figures['during_p95']:.0f} ms during"
                )
        fast, slow = streams["fast"], streams["slow"]
        verdicts = [
            f"2,000/s sustained: {'PASS' if fast['sustained'] >= 0.98 * TARGET_RATE else 'MISS'}",
            f"p95 lag < {TARGET_P95_LAG} s: {'PASS' if fast['lag_p95'] < TARGET_P95_LAG else 'MISS'}",
            f"10/s under 5 % of a core: {'PASS' if slow['core_share'] < TARGET_SLOW_CPU else 'MISS'}",
        ]
        print(f"  {vendor:<11} " + "; ".join(verdicts))
    (logs / "live.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
