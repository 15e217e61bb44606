#!/usr/bin/env python3
"""`make bench-compare`: the same load against two builds of jkjav, in one run.

A change that should not cost speed (a refactoring) is measured against the build before it:
BASE (a git revision, default the commit before the reshaping of issue 9) is built in a
temporary worktree — and NEW too when given (default: this checkout's release build) — and both
release binaries run side by side, each with its own redis-server
on free loopback ports. Each round runs every load once against the old build and once against
the new one, alternating which goes first, so both see the same machine; the table reports
medians over the rounds and the ratio new/old. Writes bench/compare.md and the README section
between <!-- compare:start --> and <!-- compare:end -->.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench as b

ROUNDS = int(os.environ.get("COMPARE_ROUNDS", "3"))
SECONDS = int(os.environ.get("COMPARE_SECONDS", "5"))

# (name, path, wrk script env or None, connections)
LOADS = [
    ("HTTP floor: GET /healthz", "/healthz", None, 100),
    ("read: GET /stations/PWTC", "/stations/PWTC", None, 100),
    ("read: GET /api/v1/centres/PWTC/availability", "/api/v1/centres/PWTC/availability", None, 100),
    ("book: distinct people, BENCH", "/api/v1/bookings", "BENCH", 100),
    ("book: sold-out slot (FULL)", "/api/v1/bookings", "FULL", 100),
]


def build_base(rev):
    """Release binary of `rev`, built in a temporary worktree with its own target dir."""
    where = Path(tempfile.mkdtemp(prefix="jkjav-base-"))
    subprocess.run(["git", "-C", str(b.ROOT), "worktree", "add", "--detach", str(where / "src"), rev],
                   check=True, capture_output=True)
    jobs = os.environ.get("CARGO_JOBS", "2")
    print(f"building {rev} in {where} (release, -j{jobs})", flush=True)
    subprocess.run(["cargo", "build", "--release", f"-j{jobs}"], cwd=where / "src", check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=str(where / "target")))
    return where, where / "target" / "release" / "jkjav"


def drop_base(where):
    subprocess.run(["git", "-C", str(b.ROOT), "worktree", "remove", "--force", str(where / "src")],
                   capture_output=True)


def run_load(bench, load, round_no):
    name, path, centre, conns = load
    cmd = ["wrk", f"-t{b.THREADS}", f"-c{conns}", f"-d{SECONDS}s", "--latency", "--timeout", "10s"]
    env = dict(os.environ)
    if centre:
        cmd += ["-s", str(b.BENCH / "book.lua")]
        # Each round books with new identities (disjoint place-of-birth codes per round).
        base = (1 if centre == "BENCH" else 21) + 2 * round_no
        env.update({"BENCH_CENTRE": centre, "BENCH_PLACE_BASE": str(base)})
    cmd.append(bench.base + path)
    before = bench.cpu()
    result = b.parse_wrk(b.run(cmd, env))
    now, app_cpu, _ = bench.cpu()
    result["app_cpu"] = (app_cpu - before[1]) / (now - before[0])
    return result


def main():
    for tool in ("wrk", "redis-server", "redis-cli"):
        b.need(tool)
    rev = os.environ.get("BASE", "1fd8724")
    new_rev = os.environ.get("NEW", "")
    built = []
    if new_rev:
        where_new, new_binary = build_base(new_rev)
        built.append(where_new)
        head = new_rev
    else:
        new_binary = b.ROOT / "target" / "release" / "jkjav"
        if not new_binary.exists():
            sys.exit("bench-compare: build first: cargo build --release")
        head = subprocess.run(["git", "-C", str(b.ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    where, old_binary = build_base(rev)
    built.append(where)
    benches = {"old": b.Bench(old_binary), "new": b.Bench(new_binary)}
    results = {(label, load[0]): [] for label in benches for load in LOADS}
    try:
        for bench in benches.values():
            bench.start()
        # FULL's one place is taken before any sold-out run, on both.
        for bench in benches.values():
            assert bench.book_once("FULL", "09:00-17:00", "850101105001") == 201
        for round_no in range(ROUNDS):
            order = ["old", "new"] if round_no % 2 == 0 else ["new", "old"]
            for load in LOADS:
                for label in order:
                    print(f"- round {round_no + 1}/{ROUNDS}, {label}: {load[0]}", flush=True)
                    results[(label, load[0])].append(run_load(benches[label], load, round_no))
    finally:
        for bench in benches.values():
            bench.stop()
        for place in built:
            drop_base(place)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {b.machine()}: `{rev}` (old) against `{head}` "
        f"(new), both release builds with their own redis-server, {ROUNDS} rounds of "
        f"{SECONDS} s per load, alternating which build goes first; medians over the rounds "
        f"(wrk, {b.THREADS} threads, 100 connections).",
        "",
        "| load | old requests/s | new requests/s | new ÷ old | old p99 | new p99 | old CPU/request | new CPU/request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, *_ in LOADS:
        old, new = results[("old", name)], results[("new", name)]
        med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
        old_rps, new_rps = med(old, "rps"), med(new, "rps")
        old_cpu = statistics.median(r["app_cpu"] / r["rps"] for r in old) * 1e6
        new_cpu = statistics.median(r["app_cpu"] / r["rps"] for r in new) * 1e6
        lines.append(
            f"| {name} | {old_rps:,.0f} | {new_rps:,.0f} | {new_rps / old_rps:.2f} | "
            f"{b.fmt_ms(med(old, 'p99'))} | {b.fmt_ms(med(new, 'p99'))} | {old_cpu:.0f} µs | "
            f"{new_cpu:.0f} µs |")
    markdown = "\n".join(lines)
    (b.BENCH / "compare.md").write_text(markdown + "\n")
    b.update_readme(markdown, section="compare")
    print()
    print(markdown)


if __name__ == "__main__":
    main()
