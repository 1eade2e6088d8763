"""``make bench``: how close the seeding service comes to the fastest raw insert path.

Seeds plan L (5,000 applications, 50,000 assets, 100,000 deployments, 1,000,000
events) through ``seeding.services`` on SQLite and PostgreSQL, then writes the
same row counts into the same tables with the drivers alone and no realism
(SQLite: ``executemany``, one transaction per 50k rows; PostgreSQL: COPY on one
psycopg connection). The raw path is the floor: the gap to it is what the
service's realism, checkpoints and Django cost. Plan 2xL is seeded too, to show
that memory stays flat as the plan grows (chunking must keep it so).

Targets: service time <= 1.25 x raw time; peak RSS < 250 MB for L and at most
10% more for 2xL.

Every measured run happens in a fresh child process (``bench_child.py``) against
a freshly created and migrated database; neither set-up nor migration is timed.
Each measurement runs three times (``--repeat``), interleaved, and the median is
reported: on a shared 2-core machine a single run varies by 10% or more.
Results are printed as a table and written to ``var/bench/results.json``.

Exit status: 0 when every backend that could be reached was measured (an
unreachable PostgreSQL is reported and skipped); 1 when a measured run failed or
nothing could run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common import BENCH_DIR, KINDS, PLANS, RAW_BATCH_ROWS, REPO
from databases import BenchError, bench_database_name, fresh_postgres, fresh_sqlite, postgres_unreachable

CHILD = Path(__file__).resolve().parent / "bench_child.py"
RESULTS_FILE = BENCH_DIR / "results.json"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/demoseed_bench"

PLAN_L: dict[str, int] = PLANS["L"]
SERVICE_RAW_TARGET = 1.25
RSS_TARGET_MB = 250.0
RSS_GROWTH_TARGET = 1.10

Counts = dict[str, int]
Result = dict[str, Any]


# --- backends -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RawVariant:
    """One way of running the raw path: its label and the extra child arguments."""

    key: str
    label: str
    args: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Backend:
    key: str
    label: str
    fresh_database: Callable[[str], contextlib.AbstractContextManager[str]]
    raw_variants: tuple[RawVariant, ...]


def sqlite_backend() -> Backend:
    variant = RawVariant("executemany", f"sqlite3 executemany, 1 transaction per {RAW_BATCH_ROWS:,} rows")
    return Backend("sqlite", "SQLite", fresh_sqlite, (variant,))


def postgres_backend(url: str) -> Backend:
    # Which commit policy is faster depends on the machine, so both are measured
    # and the faster one is the reference ("the fastest raw path").
    variants = (
        RawVariant("copy_commit_each", f"psycopg COPY, commit per {RAW_BATCH_ROWS:,} rows"),
        RawVariant("copy_commit_end", "psycopg COPY, one commit at the end", ("--commit-at-end",)),
    )
    return Backend("postgres", "PostgreSQL", lambda tag: fresh_postgres(url), variants)


# --- running children ---------------------------------------------------------------


def run_child(mode: str, database_url: str, counts: Counts, extra: tuple[str, ...] = ()) -> Result:
    """Run one measurement in a fresh process and return the JSON it prints."""
    command = [sys.executable, str(CHILD), mode, "--database-url", database_url]
    for kind in KINDS:
        command += [f"--{kind}", str(counts[kind])]
    started = time.perf_counter()
    done = subprocess.run([*command, *extra], cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise BenchError(f"{mode} run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchError(f"{mode} run printed no result:\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1]), "process_seconds": elapsed}


def measure(backend: Backend, label: str, mode: str, counts: Counts, extra: tuple[str, ...] = ()) -> Result:
    """One measured run on a fresh database, with a progress line."""
    print(f"  {backend.label}: {label} ...", end="", flush=True)
    with backend.fresh_database(f"{backend.key}-{mode}") as url:
        result = run_child(mode, url, counts, extra)
    speed = rate(total_rows(result), result["total_seconds"])
    print(f" {result['total_seconds']:.2f} s, {speed} rows/s, max RSS {rss_mb(result):.0f} MB", flush=True)
    return result


def median_of(values: list[Any]) -> Any:
    """Median of each number at the same place in a list of equally shaped results.

    Values equal in every run (row counts, chunk size) are kept as they are, so an
    even number of runs cannot turn a count into a float.
    """
    first = values[0]
    if all(value == first for value in values):
        return first
    if isinstance(first, dict):
        return {key: median_of([value[key] for value in values]) for key in first}
    if isinstance(first, int | float) and not isinstance(first, bool):
        return statistics.median(values)
    return first


def summarise(runs: list[Result]) -> Result:
    return {"median": median_of(runs), "runs": runs}


def bench_backend(backend: Backend, counts: Counts, args: argparse.Namespace) -> Result:
    """Every measurement of one backend, ``--repeat`` times, interleaved so drift hits all alike."""
    service_extra = ("--chunk-size", str(args.chunk_size)) if args.chunk_size else ()
    double = {kind: 2 * count for kind, count in counts.items()}
    service: list[Result] = []
    raw: dict[str, list[Result]] = {variant.key: [] for variant in backend.raw_variants}
    service_2x: list[Result] = []
    for attempt in range(1, args.repeat + 1):
        suffix = f" (run {attempt}/{args.repeat})" if args.repeat > 1 else ""
        service.append(measure(backend, f"service, plan L{suffix}", "service", counts, service_extra))
        for variant in backend.raw_variants:
            raw[variant.key].append(measure(backend, f"raw, {variant.label}{suffix}", "raw", counts, variant.args))
        if args.with_2x:
            service_2x.append(measure(backend, f"service, plan 2xL{suffix}", "service", double, service_extra))
    result: Result = {
        "status": "ok",
        "service": summarise(service),
        "raw": {
            variant.key: {"label": variant.label, **summarise(raw[variant.key])} for variant in backend.raw_variants
        },
    }
    if service_2x:
        result["service_2x"] = summarise(service_2x)
    result["verdicts"] = verdicts(result)
    return result


# --- verdicts and report ------------------------------------------------------------


def total_rows(result: Result) -> int:
    return sum(result["rows"].values())


def rss_mb(result: Result) -> float:
    return result["max_rss_kib"] * 1024 / 1e6


def fastest_raw(result: Result) -> str:
    return min(result["raw"], key=lambda key: result["raw"][key]["median"]["total_seconds"])


def verdicts(result: Result) -> Result:
    """The numbers the targets are about, with PASS/MISS, for the table and the JSON."""
    service = result["service"]["median"]
    raw_key = fastest_raw(result)
    ratio = service["total_seconds"] / result["raw"][raw_key]["median"]["total_seconds"]
    out: Result = {
        "raw_reference": raw_key,
        "service_over_raw": ratio,
        "service_over_raw_pass": ratio <= SERVICE_RAW_TARGET,
        "rss_l_mb": rss_mb(service),
        "rss_l_pass": rss_mb(service) < RSS_TARGET_MB,
    }
    if "service_2x" in result:
        growth = rss_mb(result["service_2x"]["median"]) / rss_mb(service)
        out |= {"rss_2x_mb": rss_mb(result["service_2x"]["median"]), "rss_growth": growth}
        out["rss_growth_pass"] = growth <= RSS_GROWTH_TARGET
    return out


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def kind_table(service: Result, raw: Result) -> list[str]:
    """Rows, seconds and rows/s per kind for the service and the raw reference."""
    header = f"  {'':14}{'rows':>11}  {'service s':>10}{'rows/s':>11}  {'raw s':>8}{'rows/s':>11}  {'svc/raw':>8}"
    lines = [header, "  " + "-" * (len(header) - 2)]
    lines.append(f"  {'(create run)':14}{'':>11}  {service['create_seconds']:>10.2f}")
    for kind in KINDS:
        rows, svc, base = service["rows"][kind], service["seconds"][kind], raw["seconds"][kind]
        ratio = f"{svc / base:.2f}x" if base > 0 else "-"
        lines.append(
            f"  {kind:14}{rows:>11,}  {svc:>10.2f}{rate(rows, svc):>11}  {base:>8.2f}{rate(rows, base):>11}  {ratio:>8}"
        )
    # After the last chunk: the rebuild of indexes deferred for the last kind (SQLite)
    # and the run's final status update. (A rebuild after an earlier phase is
    # charged to the next kind's first chunk, like any other set-up of that kind.)
    tail = service["total_seconds"] - service["create_seconds"] - sum(service["seconds"].values())
    lines.append(f"  {'(finish run)':14}{'':>11}  {tail:>10.2f}")
    rows, svc, base = total_rows(service), service["total_seconds"], raw["total_seconds"]
    lines.append(
        f"  {'total':14}{rows:>11,}  {svc:>10.2f}{rate(rows, svc):>11}  {base:>8.2f}{rate(rows, base):>11}"
        f"  {svc / base:>7.2f}x"
    )
    return lines


def report_backend(backend: Backend, result: Result, repeat: int) -> list[str]:
    service, checks = result["service"]["median"], result["verdicts"]
    raw_entry = result["raw"][checks["raw_reference"]]
    raw = raw_entry["median"]
    median = f", median of {repeat}" if repeat > 1 else ""
    lines = [
        "",
        f"== {backend.label}: service chunk size {service['chunk_size']:,} ({service['chunks']} chunks){median} ==",
        f"  raw reference (fastest): {raw_entry['label']}",
        *kind_table(service, raw),
        "",
        f"  service wall (create + execute): {service['total_seconds']:.2f} s"
        f" (child process {service['process_seconds']:.2f} s incl. start-up)",
        f"  service max RSS: {rss_mb(service):.0f} MB (after imports and django.setup: "
        f"{service['setup_rss_kib'] * 1024 / 1e6:.0f} MB)   target < {RSS_TARGET_MB:.0f} MB: "
        f"{verdict(checks['rss_l_pass'])}",
    ]
    for entry in result["raw"].values():
        median_raw = entry["median"]
        commit = f", final commit {median_raw['commit_seconds']:.2f} s" if "commit_seconds" in median_raw else ""
        lines.append(
            f"  raw {entry['label']}: {median_raw['total_seconds']:.2f} s,"
            f" {rate(total_rows(median_raw), median_raw['total_seconds'])} rows/s,"
            f" max RSS {rss_mb(median_raw):.0f} MB{commit}"
        )
    if not raw.get("commit_each_batch", True):
        lines.append("  (the raw reference commits once at the end: its per-kind times charge every deferred")
        lines.append("   foreign-key check to the last kind, so compare per-kind times with care)")
    lines.append(
        f"  service / raw: {checks['service_over_raw']:.2f}x   target <= {SERVICE_RAW_TARGET}:"
        f" {verdict(checks['service_over_raw_pass'])}"
    )
    if "service_2x" in result:
        double = result["service_2x"]["median"]
        lines.append(
            f"  service 2xL: {total_rows(double):,} rows in {double['total_seconds']:.2f} s"
            f" ({rate(total_rows(double), double['total_seconds'])} rows/s), max RSS {checks['rss_2x_mb']:.0f} MB"
            f" = {checks['rss_growth']:.2f}x L   target <= {RSS_GROWTH_TARGET}: {verdict(checks['rss_growth_pass'])}"
        )
    return lines


def write_results(args: argparse.Namespace, counts: Counts, results: dict[str, Result]) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "sqlite": sqlite3.sqlite_version,
        },
        "options": {
            "scale": args.scale,
            "repeat": args.repeat,
            "chunk_size": args.chunk_size,
            "with_2x": args.with_2x,
            "raw_batch_rows": RAW_BATCH_ROWS,
        },
        "targets": {
            "service_over_raw_max": SERVICE_RAW_TARGET,
            "rss_l_max_mb": RSS_TARGET_MB,
            "rss_growth_max": RSS_GROWTH_TARGET,
        },
        "plan": counts,
        "backends": results,
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n")


# --- entry point --------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres (default: both)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplier on every count of plan L (default 1)")
    parser.add_argument("--no-2x", dest="with_2x", action="store_false", help="skip the 2xL memory-growth run")
    parser.add_argument("--chunk-size", type=int, help="service rows per chunk (default: SEED_CHUNK_SIZE)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the median is reported (default 3)"
    )
    args = parser.parse_args(argv)
    args.backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown or not args.backends:
        parser.error(f"--backends: unknown {', '.join(sorted(unknown)) or '(none given)'}; use sqlite and/or postgres")
    if args.scale <= 0 or args.repeat < 1:
        parser.error("--scale must be > 0 and --repeat >= 1")
    return args


def scaled_plan(scale: float) -> Counts:
    return {kind: max(1, round(count * scale)) for kind, count in PLAN_L.items()}


def available_backends(names: list[str]) -> tuple[list[Backend], dict[str, Result]]:
    """The backends that can run, plus a result entry explaining each one that cannot."""
    backends, skipped = [], {}
    for name in names:
        if name == "sqlite":
            backends.append(sqlite_backend())
            continue
        url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        reason = postgres_unreachable(url)
        if reason is None:
            try:
                bench_database_name(url)
            except BenchError as exc:
                print(f"WARNING: {exc}; skipping PostgreSQL.", flush=True)
                skipped[name] = {"status": "skipped", "reason": str(exc)}
                continue
            backends.append(postgres_backend(url))
        else:
            where = urlsplit(url).netloc
            print(f"WARNING: PostgreSQL at {where} is not reachable ({reason}); skipping it.", flush=True)
            skipped[name] = {"status": "skipped", "reason": f"unreachable: {reason}"}
    return backends, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = scaled_plan(args.scale)
    print(f"Plan L x {args.scale:g}: " + ", ".join(f"{count:,} {kind}" for kind, count in counts.items()), flush=True)
    # Other work on the machine skews every number below; say how busy it was.
    print(f"Load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    backends, results = available_backends(args.backends)
    report: list[str] = []
    failed = False
    for backend in backends:
        try:
            results[backend.key] = bench_backend(backend, counts, args)
        except BenchError as exc:
            print(f"\nFAILED on {backend.label}: {exc}", flush=True)
            results[backend.key] = {"status": "failed", "reason": str(exc)}
            failed = True
            continue
        report += report_backend(backend, results[backend.key], args.repeat)
    write_results(args, counts, results)
    print("\n".join(report), flush=True)
    print(f"\nResults written to {RESULTS_FILE.relative_to(REPO)}", flush=True)
    ran = any(result["status"] == "ok" for result in results.values())
    if not ran:
        print("Nothing was measured: no selected backend could run.", flush=True)
    return 0 if ran and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
