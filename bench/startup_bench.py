"""Start-up cost of the account list: validation and index (or their kept copy) and the import into
the database, for 100,000 accounts: first run, unchanged list, and after a change of 1 %.

    .venv/bin/python bench/startup_bench.py [--accounts 100000] [--out bench/out]

Prints wall and CPU time (the bench machine is shared: CPU time moves less with the neighbours'
load) and the peak RSS of each step: every step runs in a process of its own (as every start of
``revisit`` does), so a step's figure is not the peak of the ones before it. Not a test: figures go
into the notes, never into assertions.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from traffic import generate_account_rows

from revisit.core.config import MatchingSettings
from revisit.enrichment.prepared import prepare_accounts
from revisit.storage.store import Store


def bare_parse_rate(log: str) -> float:
    """Lines per second of the bare regular expression over ``log``, as it reports them."""
    output = subprocess.run(
        [sys.executable, str(ROOT.parent / "shared" / "bench" / "bare_parse.py"), log],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(output[0]) / float(output[2])


def main() -> None:
    if sys.argv[1:2] == ["--step"]:
        label, csv, database, kept, accounts = sys.argv[2:7]
        run_step(label, csv, database, kept, int(accounts))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument(
        "--calibrate",
        metavar="LOG",
        help="a combined log for ../shared/bench/bare_parse.py, run between the steps: how loaded the machine was",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header, rows = generate_account_rows(args.accounts)
    csv = out / "startup_accounts.csv"
    database = out / "startup.sqlite"
    database.unlink(missing_ok=True)
    kept = out / "startup_kept"
    for old in kept.glob("*"):
        old.unlink()
    store = Store(f"sqlite:///{database}")  # the schema made once, outside the timed steps
    changed = rows[:]
    for i in range(0, len(changed), 100):  # 1 %: every hundredth account gets a new name
        changed[i] = changed[i].replace("Bench Company", "Renamed Company", 1)
    store.close()
    for label, lines in (("first run", rows), ("unchanged", rows), ("1 % changed", changed)):
        csv.write_text(header + "".join(lines), encoding="utf-8")
        if args.calibrate:
            print(f"    (bare parse now: {bare_parse_rate(args.calibrate):,.0f} lines/s)")
        step = [sys.executable, __file__, "--step", label, str(csv), str(database), str(kept), str(args.accounts)]
        print(subprocess.run(step, capture_output=True, text=True, check=True).stdout, end="")


def run_step(label: str, csv: str, database: str, kept: str, accounts: int) -> None:
    """One start-up, in this process: the list prepared and imported."""
    store = Store(f"sqlite:///{database}")
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        prepared = prepare_accounts(csv, "utf-8-sig", MatchingSettings(prepared_dir=kept))
        ready, cpu_ready = time.perf_counter() - started, time.process_time() - cpu_started
        done = store.save_accounts(prepared.accounts, prepared.digest, keys=prepared.keys)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        store.close()
    print(
        f"{accounts:,} accounts, {label:<12} list and index {ready:5.2f} s (CPU {cpu_ready:5.2f} s, "
        f"{'kept copy' if prepared.reused else 'validated'}), with the import {total:5.2f} s (CPU {cpu:5.2f} s): "
        f"{done.inserted:,} added, {done.updated:,} changed, {done.delisted:,} no longer listed"
        + (" (unchanged)" if done.unchanged else "")
        + f"; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        + f"; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
