"""Replay throughput and memory, measured against the bare-regex floor and GoAccess in the same run.

    .venv/bin/python bench/replay_bench.py [--lines 1000000] [--out bench/out]

Generates a combined-format log (10,000 distinct client addresses, realistic shares of crawlers,
asset requests and errors, addresses from MaxMind's test ISP networks), an account list of 10,000
accounts (and one of 10 for the scaling comparison), then times on that same file:

- ``../shared/bench/bare_parse.py`` (regex parsing alone: the floor),
- ``goaccess --log-format=COMBINED -o report.json`` (a peer; installed from Debian if missing),
- ``revisit replay`` with the MaxMind test databases, an ISP database of 1,500 generated visitor
  organisations (``traffic.write_organisations_mmdb``) and 10, 10,000 and 100,000 accounts (the
  traffic matches the same 10 accounts in every list, so the runs differ only in the size of the
  list), each twice: a first run (new database, nothing kept) and a second over the same database
  and unchanged list.

Replay uses its default worker processes (one per core, at most 4); ``--workers 1`` in
``REVISIT_BENCH_ARGS`` measures a single process.

Prints lines/s, ratios and peak RSS. Not a test: figures go into the notes, never into assertions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from traffic import MAXMIND, MMDBS, REPO, SHARED, generate, write_organisations_mmdb


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float  # of the largest process: the command or any process it started and waited for
    output: str


# Runs a command and reports the peak RSS of the largest process in its tree (replay's workers too).
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def measure(command: list[str]) -> Measured:
    """Wall time, peak RSS and output of a command."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    peak_kb = int(re.search(r"peak-rss-kb (\d+)", result.stderr).group(1))
    return Measured(seconds, peak_kb / 1024, result.stdout)


def ensure_goaccess() -> str | None:
    found = shutil.which("goaccess")
    if found is None and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "goaccess"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("goaccess")
    return found


def replay_command(log: Path, accounts: Path, out: Path, tag: str, organisations: Path) -> list[str]:
    database = out / f"bench_{tag}.sqlite"
    command = [
        str(REPO / ".venv" / "bin" / "revisit"),
        "replay",
        str(log),
        "--accounts",
        str(accounts),
        "--db",
        f"sqlite:///{database}",
        "--alerts-jsonl",
        str(out / f"alerts_{tag}.jsonl"),
        *os.environ.get("REVISIT_BENCH_ARGS", "").split(),
        "--mmdb",
        str(organisations),
    ]
    for name in MMDBS:
        command += ["--mmdb", str(MAXMIND / "test-data" / f"{name}.mmdb")]
    (out / f"alerts_{tag}.jsonl").unlink(missing_ok=True)
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log, account_lists = generate(args.lines, out)
    organisations = write_organisations_mmdb(out)
    kept = out / "kept"  # the prepared account lists (enrichment.prepared), empty before the first runs
    kept.mkdir(mode=0o700, exist_ok=True)
    for old in kept.iterdir():
        old.unlink()
    os.environ["REVISIT_MATCHING__PREPARED_DIR"] = str(kept)
    size_mb = log.stat().st_size / 1e6
    print(f"file: {log} ({args.lines:,} lines, {size_mb:.0f} MB); machine: {os.cpu_count()} cores")

    def bare_parse() -> float:
        bare = measure([sys.executable, str(SHARED / "bench" / "bare_parse.py"), str(log)])
        rate = args.lines / float(bare.output.split()[2])
        print(
            f"bare_parse.py         {rate:>10,.0f} lines/s (its own timing)  peak RSS {bare.peak_rss_mb:6.0f} MB"
            f"  load average {os.getloadavg()[0]:.1f}"
        )
        return rate

    bare_rate = bare_parse()

    goaccess = ensure_goaccess()
    goaccess_rate = None
    if goaccess:
        report = out / "report.json"
        run = measure([goaccess, str(log), "--log-format=COMBINED", "-o", str(report)])
        goaccess_rate = args.lines / run.seconds
        print(
            f"goaccess              {goaccess_rate:>10,.0f} lines/s (wall)         peak RSS {run.peak_rss_mb:6.0f} MB"
        )
    else:
        print("goaccess              not available (install the Debian package goaccess)")

    rates: dict[tuple[int, str], float] = {}
    for size in sorted(account_lists):
        accounts = account_lists[size]
        tag = f"{size}_accounts"
        (out / f"bench_{tag}.sqlite").unlink(missing_ok=True)
        if size != min(account_lists):
            bare_rate = bare_parse()  # again: on a shared machine the floor moves during the run
        for which in ("first", "second"):
            run = measure(replay_command(log, accounts, out, tag, organisations))
            wall_rate = rates[size, which] = args.lines / run.seconds
            processed = re.search(r"processed in ([\d.]+) s", run.output)
            core_rate = args.lines / float(processed.group(1)) if processed else float("nan")
            summary = run.output.strip().splitlines()
            print(
                f"revisit replay, {size:>7,} accounts, {which:<6} run {wall_rate:>9,.0f} lines/s (wall, incl. "
                f"start-up) {core_rate:>9,.0f} lines/s (pipeline)  peak RSS {run.peak_rss_mb:6.0f} MB"
            )
            print(
                f"    ratio to bare parse: {wall_rate / bare_rate:.2f}x wall, {core_rate / bare_rate:.2f}x pipeline"
                + (f"; to goaccess: {wall_rate / goaccess_rate:.2f}x wall" if goaccess_rate else "")
                + (f"; to 10 accounts: {wall_rate / rates[10, which]:.2f}x wall" if (10, which) in rates else "")
            )
            print("    " + next(line for line in summary if line.startswith("lines ")))
            if (size, which) == (10, "first"):
                with sqlite3.connect(out / f"bench_{tag}.sqlite") as db:
                    (named,) = db.execute("SELECT COUNT(DISTINCT name) FROM organizations").fetchone()
                print(f"    distinct visitor organisations resolved: {named:,}")


if __name__ == "__main__":
    main()
