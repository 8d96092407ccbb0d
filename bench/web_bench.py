"""Web UI speed with a realistic history: 10,000 accounts and 1,000,000 hits in PostgreSQL.

Generates the data (COPY into a fresh database of a throwaway PostgreSQL server started with
deploy/postgres.sh, or --db URL), starts `revisit web serve` on loopback, and requests every page
and API route many times with a logged-in client. Prints p50/p95/max per route, measured at the
client (server time plus loopback HTTP: an upper bound of the server time), and the server's own
p95 from its /metrics histogram.

    .venv/bin/python bench/web_bench.py [--hits 1000000] [--accounts 10000] [--requests 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from revisit.core.account import Account, DormancyReason, Owner
from revisit.storage.store import Store
from revisit.web.auth import hash_password

TODAY = date(2026, 11, 20)
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
PATHS = [
    "/",
    "/products/",
    "/products/sensor-x",
    "/pricing",
    "/contact",
    "/case-studies/",
    "/blog/iot",
    "/download/catalog.pdf",
    "/support/manual",
    "/news/2026",
]

REFERRERS = ["", "", "https://www.google.com/", "https://www.bing.com/search", "https://news.example.jp/it/123"]
CAMPAIGNS = ["", "", "", "utm_source=newsletter&utm_medium=email&utm_campaign=2026-11", "utm_source=ads&utm_medium=cpc"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_accounts(count: int, rng: random.Random) -> list[Account]:
    accounts = []
    for i in range(count):
        word = "".join(rng.choice(KANA) for _ in range(rng.randint(2, 5)))
        name = rng.choice([f"株式会社{word}", f"{word}工業㈱", f"{word}商事株式会社", f"Company {i} Co., Ltd."])
        last = TODAY - timedelta(days=rng.randint(60, 1300))
        accounts.append(
            Account(
                account_id=f"A{i:05d}",
                name=name,
                owner=Owner(f"owner{i % 40}", f"owner{i % 40}@example.jp"),
                last_deal_at=last,
                lifetime_value=None,
                dormancy_reason=rng.choice(list(DormancyReason)),
                industry=rng.choice(["製造", "商社", "IT", "小売", ""]),
                attributes=(("name_kana", word),),
            )
        )
    return accounts


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(url: str, accounts: int, hits: int, rng: random.Random) -> dict[str, int]:
    store = Store(url)
    store.save_accounts(make_accounts(accounts, rng))
    store.close()
    engine = create_engine(url)
    visiting = [f"A{i:05d}" for i in rng.sample(range(accounts), k=min(accounts, 4000))]
    start = datetime.combine(TODAY - timedelta(days=89), datetime.min.time(), UTC)
    sessions, hit_rows, alerts, deliveries, outcomes = [], [], [], [], []
    made = 0
    while made < hits:
        account = (
            visiting[min(len(visiting) - 1, int(rng.paretovariate(1.2)) - 1)]
            if rng.random() < 0.3
            else rng.choice(visiting)
        )
        session_id = uuid.uuid4().hex[:20]
        began = start + timedelta(seconds=rng.randint(0, 89 * 86400))
        pages = min(hits - made, rng.randint(1, 9))
        at = began
        score = 0
        for page in range(pages):
            path = rng.choice(PATHS)
            # where the visit came from, on its first page: a search, a campaign link, or typed in
            referrer, query = "", ""
            if page == 0:
                referrer = rng.choice(REFERRERS)
                query = rng.choice(CAMPAIGNS)
            score += 30 if path in ("/pricing", "/contact") else 5
            hit_rows.append(
                (
                    f"bench:{made}",
                    account,
                    session_id,
                    at,
                    f"198.51.{made % 200}.{made % 250}",
                    "GET",
                    path,
                    query,
                    200,
                    referrer,
                    "Mozilla/5.0",
                    None,
                    "network",
                    None,
                )
            )
            made += 1
            at += timedelta(seconds=rng.randint(5, 120))
        sessions.append((session_id, account, began, at, pages, score))
        if score >= 30 and rng.random() < 0.4:
            alert_id = str(uuid.uuid4())
            payload = {
                "match": {"method": "network", "detail": "bench", "confidence": 1.0},
                "organization": {"source": "account_networks"},
                "approach": "contact first",
            }
            alerts.append((alert_id, account, rng.choice("ABC"), score, "realtime", began, at, json.dumps(payload)))
            deliveries.append(
                (alert_id, "slack", "sent", "", 1, at, at, at + timedelta(seconds=40), "", "ts", f"{alert_id}:slack")
            )
            if rng.random() < 0.1:
                outcomes.append(
                    (
                        alert_id,
                        account,
                        rng.choice(["contacted", "meeting", "won"]),
                        "",
                        "bench",
                        at + timedelta(days=1),
                    )
                )
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        copy_rows(
            connection,
            "sessions",
            ["session_id", "account_id", "started_at", "last_seen", "page_count", "score"],
            sessions,
        )
        copy_rows(
            connection,
            "hits",
            [
                "hit_key",
                "account_id",
                "session_id",
                "occurred_at",
                "client_ip",
                "method",
                "path",
                "query",
                "status",
                "referrer",
                "user_agent",
                "page_label",
                "match_method",
                "organization_name",
            ],
            hit_rows,
        )
        copy_rows(
            connection,
            "alerts",
            ["alert_id", "account_id", "tier", "score", "delivery", "first_seen", "triggered_at", "payload"],
            alerts,
        )
        copy_rows(
            connection,
            "deliveries",
            [
                "alert_id",
                "channel",
                "status",
                "route",
                "attempts",
                "not_before",
                "created_at",
                "sent_at",
                "last_error",
                "provider_ref",
                "message_key",  # unique since migration 0008
            ],
            deliveries,
        )
        copy_rows(
            connection,
            "outcomes",
            ["alert_id", "account_id", "outcome", "note", "recorded_by", "recorded_at"],
            outcomes,
        )
        connection.commit()
    finally:
        raw.close()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {
        "accounts": accounts,
        "hits": len(hit_rows),
        "sessions": len(sessions),
        "alerts": len(alerts),
        "outcomes": len(outcomes),
        "visiting accounts": len(visiting),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per route")
    parser.add_argument("--db", help="an empty PostgreSQL database URL (default: a throwaway server)")
    parser.add_argument("--reuse", action="store_true", help="--db already holds this benchmark's data: measure only")
    args = parser.parse_args()
    rng = random.Random(11)
    folder = Path(tempfile.mkdtemp(prefix="revisit-web-bench."))
    folder.chmod(0o755)  # the server runs as the postgres user when started by root
    pg_dir = folder / "pg"
    url = args.db
    if url is None:
        base = subprocess.run(
            ["bash", str(REPO / "deploy" / "postgres.sh"), "start", str(pg_dir), str(free_port())],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "webbench"'))
        admin.dispose()
        url = base.rsplit("/", 1)[0] + "/webbench"
    server = None
    try:
        started = time.monotonic()
        if not args.reuse:
            counts = generate(url, args.accounts, args.hits, rng)
            print(f"data: {counts} in {time.monotonic() - started:.0f} s")
        config = folder / "web.toml"
        config.write_text(
            f'[web]\nsecure_cookies = false\n[[web.users]]\nname = "bench"\n'
            f'password_hash = "{hash_password("bench-pass")}"\nrole = "admin"\n',
            encoding="utf-8",
        )
        port = free_port()
        with open(folder / "web.log", "w") as web_log:  # the server keeps its own descriptor
            server = subprocess.Popen(
                [
                    str(REPO / ".venv" / "bin" / "revisit"),
                    "web",
                    "serve",
                    "--db",
                    url,
                    "--config",
                    str(config),
                    "--port",
                    str(port),
                    "--today",
                    TODAY.isoformat(),
                ],
                env={**os.environ, "REVISIT_WEB_SESSION_SECRET": secrets.token_hex(32)},
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base_url, timeout=30)
        deadline = time.monotonic() + 120  # a loaded machine can take long to import and start
        while time.monotonic() < deadline:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        assert client.post("/login", data={"name": "bench", "password": "bench-pass", "csrf": csrf}).status_code == 303
        visited = [f"A{i:05d}" for i in rng.sample(range(args.accounts), 200)]
        busiest = client.get("/api/accounts", params={"sort": "visits"}).json()["items"][0]["account_id"]
        routes = {
            "dashboard /": lambda i: "/",
            "accounts (default)": lambda i: "/accounts",
            "accounts tier+sort by name": lambda i: f"/accounts?tier={'ABC'[i % 3]}&sort=name&order=asc",
            "accounts name search": lambda i: f"/accounts?q={KANA[i % len(KANA)]}",
            "accounts 90 days, score ≥ 60, page 3": lambda i: "/accounts?since=2026-08-23&min_score=60&page=3",
            "account page": lambda i: f"/accounts/{visited[i % len(visited)]}",
            "account page (busiest account)": lambda i: f"/accounts/{busiest}",
            "account page, older visits": lambda i: f"/accounts/{busiest}?visits_page=3",
            "accounts by tier, 100 a page": lambda i: "/accounts?sort=tier&order=asc&per_page=100",
            "alerts": lambda i: "/alerts",
            "alerts page 100": lambda i: "/alerts?page=100",
            "API accounts": lambda i: "/api/accounts?sort=score",
            "API account": lambda i: f"/api/accounts/{visited[i % len(visited)]}",
            "API dashboard": lambda i: "/api/dashboard",
        }
        print(f"{'route':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, path_for in routes.items():
            for i in range(5):
                client.get(path_for(i))
            timings = []
            for i in range(args.requests):
                began = time.perf_counter()
                response = client.get(path_for(i))
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (name, response.status_code, response.text[:300])
            print(f"{name:40} {statistics.median(timings):8.1f} {percentile(timings, 0.95):8.1f} {max(timings):8.1f}")
        began = time.perf_counter()
        export = client.get("/accounts.csv?since=2026-08-23")
        print(
            f"CSV export of {export.text.count(chr(10)) - 1} accounts (90 days): "
            f"{(time.perf_counter() - began) * 1000:.0f} ms, {len(export.content) / 1024:.0f} KiB"
        )
        metrics = client.get("/metrics").text
        print("server-side p95 by route (from revisit_http_request_duration_seconds):")
        buckets: dict[str, list[tuple[float, float]]] = {}
        for line in metrics.splitlines():
            found = re.match(
                r'revisit_http_request_duration_seconds_bucket\{le="([^"]+)",route="([^"]+)"\} (\S+)', line
            )
            if found:
                buckets.setdefault(found.group(2), []).append((float(found.group(1)), float(found.group(3))))
        for route, points in sorted(buckets.items()):
            total = points[-1][1]
            p95 = next(le for le, count in points if count >= 0.95 * total)
            print(f"  {route:40} p95 ≤ {p95 * 1000:.0f} ms ({total:.0f} requests)")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if args.db is None:
            subprocess.run(["bash", str(REPO / "deploy" / "postgres.sh"), "stop", str(pg_dir)], check=False)


if __name__ == "__main__":
    main()
