"""How soon a worker is ready with a large account list: first start and restart, on a real broker.

    .venv/bin/python bench/worker_restart_bench.py [--accounts 10 100000] [--bootstrap HOST:PORT]

For each list size: a worker started on a new database with an empty kept-copy folder
(``matching.prepared_dir``), stopped (SIGTERM), then started again on the same database, folder
and consumer groups: a restart with the list unchanged. Prints, for each start, the seconds from
the process's start to its /metrics answering (the list read, validated and indexed, or its kept
copy loaded, and the web server up) and to /readyz answering 200 (both topics' partitions assigned
and the account state recovered). Issue 23 asks a restart with 100,000 accounts to be ready
within 5 s of its partitions being assigned: the 10-account run gives what joining the group costs
on the same broker, so the difference is the list's share. Starts its own broker with
deploy/kafka.sh (stopped by PID) unless ``--bootstrap`` is given. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from traffic import REPO, generate_account_rows
from worker_bench import free_port, stop_worker, write_config

REVISIT = str(REPO / ".venv" / "bin" / "revisit")
GIVE_UP_SECONDS = 300


def answers(port: int, path: str) -> int | None:
    """The HTTP status of ``path`` (None while nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def timed_start(config: Path, db: str, accounts: Path, kept: Path, port: int, log: Path) -> tuple[float, float]:
    """(seconds to /metrics answering, seconds to /readyz 200) of one worker start; stops it after."""
    env = {**os.environ, "REVISIT_MATCHING__PREPARED_DIR": str(kept)}
    started = time.perf_counter()
    worker = subprocess.Popen(
        [REVISIT, "worker", "--config", str(config), "--db", db, "--accounts", str(accounts)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    serving = ready = None
    try:
        while ready is None:
            if worker.poll() is not None:
                raise SystemExit(f"worker ended ({worker.returncode}): see {log}")
            if time.perf_counter() - started > GIVE_UP_SECONDS:
                raise SystemExit(f"worker not ready after {GIVE_UP_SECONDS} s: see {log}")
            if serving is None and answers(port, "/metrics") == 200:
                serving = time.perf_counter() - started
            if serving is not None and answers(port, "/readyz") == 200:
                ready = time.perf_counter() - started
            time.sleep(0.05)
    finally:
        stop_worker(worker)
    assert serving is not None
    return serving, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[10, 100_000])
    parser.add_argument("--bootstrap")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="revisit-restart-bench-"))
    broker_dir = folder / "kafka"
    bootstrap = (
        args.bootstrap
        or subprocess.run(
            ["bash", str(REPO / "deploy" / "kafka.sh"), "start", str(broker_dir), str(free_port())],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    header, rows = generate_account_rows(max(args.accounts))
    try:
        print(f"broker {bootstrap}; work folder {folder}; load average {os.getloadavg()[0]:.1f}")
        for size in args.accounts:
            accounts = folder / f"accounts_{size}.csv"
            accounts.write_text(header + "".join(rows[:size]), encoding="utf-8")
            name, port = f"rs{uuid.uuid4().hex[:8]}", free_port()
            config = write_config(folder, bootstrap, name, port, json_logs=False)
            kept = folder / f"kept_{size}"
            kept.mkdir(mode=0o700)
            db, log = f"sqlite:///{folder / name}.sqlite", folder / f"{name}.log"
            for label in ("first start (new list)", "restart (list unchanged)"):
                serving, ready = timed_start(config, db, accounts, kept, port, log)
                print(
                    f"{size:>7,} accounts, {label:<25} /metrics after {serving:5.1f} s, /readyz 200 after "
                    f"{ready:5.1f} s ({ready - serving:4.1f} s joining and recovering)"
                )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        if args.bootstrap is None:
            subprocess.run(["bash", str(REPO / "deploy" / "kafka.sh"), "stop", str(broker_dir)], check=False)


if __name__ == "__main__":
    sys.exit(main())
