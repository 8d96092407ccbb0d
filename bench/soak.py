"""Soak: a steady 2,000 events/s for 30 minutes through the broker, one worker and PostgreSQL.

Not part of the tests. Starts a throwaway broker and PostgreSQL (deploy/kafka.sh, deploy/postgres.sh)
unless given, sends generated JSON access-log lines at a fixed rate (10 % from visits of 100,000
dormant accounts (``--accounts``), a few pages each; the rest anonymous visitors, bots and assets),
and every minute prints the worker's RSS, its consumer lag, the event-time → hit-stored latency of
that minute (from the worker's own histogram) and the full garbage collections of that minute with
their total pause. Flat figures from start to end are the point.

    .venv/bin/python bench/soak.py [--rate 2000] [--minutes 30] [--accounts 100000] [--bootstrap HOST:PORT] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer
from worker_bench import (
    REPO,
    events_processed,
    free_port,
    metrics_text,
    start_worker,
    stop_worker,
    write_config,
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def histogram(text: str, name: str) -> list[tuple[float, float]]:
    return [
        (float("inf") if le == "+Inf" else float(le), float(count))
        for le, count in re.findall(rf'^{name}_bucket\{{le="([^"]+)"\}} ([\d.e+]+)$', text, re.M)
    ]


def window_quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> float:
    """A quantile of the observations made between two scrapes of one histogram."""
    counts = [(bound, count - (before[i][1] if before else 0.0)) for i, (bound, count) in enumerate(after)]
    total = counts[-1][1] if counts else 0
    if total <= 0:
        return float("nan")
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in counts:
        if count >= q * total:
            if bound == float("inf"):
                return previous_bound
            share = (q * total - previous_count) / max(count - previous_count, 1e-9)
            return previous_bound + share * (bound - previous_bound)
        previous_bound, previous_count = bound, count
    return previous_bound


class DormantVisits:
    """Visits as dormant accounts make them: a few pages in a row, then nothing for a long while
    (an account comes back only after ``rest_seconds``, so each visit is a session of its own).

    With fewer accounts than a run has visits, accounts come back within their 24 h cooldown:
    the state then stops growing once every account holds one, which shows what memory is
    bounded by; with more, every visit is a new account's and the state grows for the run."""

    PAGES = ["/", "/products/a", "/pricing", "/case-studies/x", "/contact", "/download/catalog"]

    def __init__(self, rng: random.Random, accounts: int, rest_seconds: float) -> None:
        self.rng = rng
        self.accounts, self.rest_seconds = accounts, rest_seconds
        self.active: list[list] = []  # [address, pages left]
        self.rested: dict[int, float] = {}  # account → when its last visit began

    def next_page(self) -> tuple[str, str]:
        if len(self.active) < 40 or self.rng.random() < 0.2:
            self.active.append([self._new_visitor(), self.rng.randint(2, 8)])
        visit = self.rng.choice(self.active)
        visit[1] -= 1
        if visit[1] <= 0:
            self.active.remove(visit)
        return visit[0], self.rng.choice(self.PAGES)

    def _new_visitor(self) -> str:
        now = time.monotonic()
        while True:
            account = self.rng.randrange(self.accounts)
            if now - self.rested.get(account, -1e9) > self.rest_seconds:
                self.rested[account] = now
                return f"{45 + account // 65536}.{account // 256 % 256}.{account % 256}.{self.rng.randrange(2, 250)}"


def lag(text: str) -> int:
    return int(sum(float(v) for v in re.findall(r"^revisit_consumer_lag_messages\{[^}]*\} ([\d.e+]+)$", text, re.M)))


def full_collections(text: str) -> tuple[int, float]:
    """How many full (generation 2) garbage collections ran so far, and their total seconds."""
    count = re.search(r'^revisit_gc_pause_seconds_count\{generation="2"\} ([\d.e+]+)$', text, re.M)
    total = re.search(r'^revisit_gc_pause_seconds_sum\{generation="2"\} ([\d.e+]+)$', text, re.M)
    return (int(float(count.group(1))) if count else 0), (float(total.group(1)) if total else 0.0)


def sweeps(text: str) -> tuple[int, float]:
    """Sweeps of the account state so far, and their total seconds."""
    count = re.search(r"^revisit_sweep_duration_seconds_count ([\d.e+]+)$", text, re.M)
    total = re.search(r"^revisit_sweep_duration_seconds_sum ([\d.e+]+)$", text, re.M)
    return (int(float(count.group(1))) if count else 0), (float(total.group(1)) if total else 0.0)


def state_accounts(text: str) -> int:
    found = re.search(r"^revisit_state_accounts ([\d.e+]+)$", text, re.M)
    return int(float(found.group(1))) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--bootstrap")
    parser.add_argument("--db")
    parser.add_argument(
        "--session-gap-minutes",
        type=int,
        default=30,
        help="intent.session_gap_minutes of the worker; with --forget-margin-minutes it sets "
        "how long a visit's state stays after its last page",
    )
    parser.add_argument("--forget-margin-minutes", type=int, default=15)
    parser.add_argument(
        "--accounts",
        type=int,
        default=100_000,
        help="dormant accounts in the list; each visit is one of them (see DormantVisits)",
    )
    args = parser.parse_args()
    rest_minutes = args.session_gap_minutes + args.forget_margin_minutes + 1
    visits_per_minute = args.rate * 0.10 * 0.2 * 60  # a tenth of the lines; a new visit for 1 in 5 of them
    if args.accounts < 1.25 * visits_per_minute * rest_minutes:
        parser.error(
            f"--accounts {args.accounts:,} is too few: {visits_per_minute:,.0f} visits a minute, each "
            f"account resting {rest_minutes} min, need {1.25 * visits_per_minute * rest_minutes:,.0f}"
        )
    os.environ.update(
        {
            "REVISIT_INTENT__SESSION_GAP_MINUTES": str(args.session_gap_minutes),
            "REVISIT_ALERTS__GROUPING_MINUTES": str(min(10, args.session_gap_minutes)),
            "REVISIT_WORKER__FORGET_MARGIN_MINUTES": str(args.forget_margin_minutes),
            "REVISIT_WORKER__FORGET_INTERVAL_SECONDS": "30",
        }
    )
    folder = Path(tempfile.mkdtemp(prefix="revisit-soak."))
    folder.chmod(0o755)
    started_services = []
    bootstrap = args.bootstrap
    if bootstrap is None:
        bootstrap = subprocess.run(
            ["bash", str(REPO / "deploy" / "kafka.sh"), "start", str(folder / "kafka"), str(free_port())],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        started_services.append(("kafka.sh", folder / "kafka"))
    db = args.db
    if db is None:
        db = subprocess.run(
            ["bash", str(REPO / "deploy" / "postgres.sh"), "start", str(folder / "pg"), str(free_port())],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        started_services.append(("postgres.sh", folder / "pg"))
    name = f"soak{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = write_config(folder, bootstrap, name, port, json_logs=True)
    accounts = folder / "accounts.csv"
    accounts.write_text(
        "account_id,name,networks,last_deal_at\n"
        + "".join(
            f"S{i},Soak Company {i},{45 + i // 65536}.{i // 256 % 256}.{i % 256}.0/24,2025-01-15\n"
            for i in range(args.accounts)
        ),
        encoding="utf-8",
    )
    worker = start_worker(config, db, accounts, folder / "worker.log")
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    rng = random.Random(5)
    # back after the visit's state has gone: a new session, not the old one continued
    visits = DormantVisits(rng, args.accounts, rest_minutes * 60)
    visitors = [
        f"{rng.randrange(60, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        for _ in range(20000)
    ]
    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ]
    try:
        while not metrics_text(port):
            time.sleep(0.5)
        time.sleep(5)
        print(
            f"soak: {args.rate:,} events/s for {args.minutes:g} min; visit state kept "
            f"{args.session_gap_minutes + args.forget_margin_minutes} min after a visit's last page; "
            f"broker {bootstrap}; {db}; folder {folder}"
        )
        print(
            f"{'minute':>6} {'sent':>10} {'processed':>10} {'lag':>7} {'RSS MB':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'accounts in state':>17} {'full GCs':>8} {'GC s':>6} {'sweeps':>6} {'sweep s':>7}"
        )
        sent, began = 0, time.perf_counter()
        total = int(args.rate * args.minutes * 60)
        next_report, minute = began + 60, 0
        previous = histogram(metrics_text(port), "revisit_event_to_hit_stored_seconds")
        collections_before = full_collections(metrics_text(port))
        sweeps_before = sweeps(metrics_text(port))
        while sent < total:
            due = began + sent / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if rng.random() < 0.10:
                ip, path = visits.next_page()
                agent = agents[0]
            else:
                ip = rng.choice(visitors)
                path = rng.choice(["/", "/blog/x", "/static/app.js", "/images/a.png", "/news"])
                agent = rng.choice(agents)
            record = {
                "remote_addr": ip,
                "time": datetime.now(UTC).isoformat(),
                "request": f"GET {path} HTTP/1.1",
                "status": 200,
                "body_bytes_sent": 512,
                "http_referer": "-",
                "http_user_agent": agent,
            }
            producer.send(name, key=ip.encode(), value=json.dumps(record).encode())
            sent += 1
            if time.perf_counter() >= next_report:
                minute += 1
                next_report += 60
                text = metrics_text(port)
                current = histogram(text, "revisit_event_to_hit_stored_seconds")
                p50, p99 = window_quantile(previous, current, 0.5), window_quantile(previous, current, 0.99)
                previous = current
                collections, swept = full_collections(text), sweeps(text)
                print(
                    f"{minute:>6} {sent:>10,} {events_processed(text):>10,} {lag(text):>7,} {rss_mb(worker.pid):>7.0f} "
                    f"{p50 * 1000:>7.0f} {p99 * 1000:>7.0f} {state_accounts(text):>17,} "
                    f"{collections[0] - collections_before[0]:>8} {collections[1] - collections_before[1]:>6.2f} "
                    f"{swept[0] - sweeps_before[0]:>6} {swept[1] - sweeps_before[1]:>7.2f}",
                    flush=True,
                )
                collections_before, sweeps_before = collections, swept
        producer.flush()
    finally:
        stop_worker(worker)
        try:
            producer.close(timeout=10)
        except Exception as error:
            print(f"producer: {error}")
        for script, directory in started_services:
            subprocess.run(["bash", str(REPO / "deploy" / script), "stop", str(directory)], check=False)


if __name__ == "__main__":
    sys.exit(main())
