"""Replay throughput and memory, measured against the bare-regex floor and GoAccess in the same run.

    .venv/bin/python bench/replay_bench.py [--lines 1000000] [--out bench/out]

Generates a combined-format log (10,000 distinct client addresses, realistic shares of crawlers,
asset requests and errors, addresses from MaxMind's test ISP networks), an account list of 10,000
accounts (and one of 10 for the scaling comparison), then times on that same file:

- ``../shared/bench/bare_parse.py`` (regex parsing alone: the floor),
- ``goaccess --log-format=COMBINED -o report.json`` (a peer; installed from Debian if missing),
- ``revisit replay`` with the MaxMind test databases and 10,000, 10 and 100,000 accounts (the traffic
  matches the same 10 accounts in every list, so the runs differ only in the size of the list).

Replay uses its default worker processes (one per core, at most 4); ``--workers 1`` in
``REVISIT_BENCH_ARGS`` measures a single process.

Prints lines/s, ratios and peak RSS. Not a test: figures go into the notes, never into assertions.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAXMIND = SHARED / "data" / "maxmind"
MMDBS = ("GeoIP2-ISP-Test", "GeoLite2-ASN-Test", "GeoIP2-Domain-Test", "GeoIP2-Connection-Type-Test",
         "GeoIP2-Anonymous-IP-Test")

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{}.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_{}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:13{}.0) Gecko/20100101 Firefox/13{}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_{} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "python-requests/2.32.3", "curl/8.5.0",
]
PAGES = ["/", "/blog/post-{}", "/news/{}", "/products/item-{}", "/pricing", "/contact", "/about", "/careers",
         "/case-studies/story-{}", "/docs/page-{}", "/login", "/search?q=term{}"]
ASSETS = ["/static/css/site.{}.css", "/static/js/app.{}.js", "/images/photo-{}.jpg", "/favicon.ico",
          "/fonts/noto-{}.woff2"]


def isp_test_addresses() -> list[str]:
    """One address inside each IPv4 network of MaxMind's ISP test source data."""
    records = json.loads((MAXMIND / "source-data" / "GeoIP2-ISP-Test.json").read_text("utf-8"))
    found = []
    for record in records:
        for network_text in record:
            network = ipaddress.ip_network(network_text, strict=False)
            if network_text.startswith("::") and "." in network_text and network.prefixlen >= 96:
                # IPv4 networks are written IPv4-mapped in the source data: ::1.128.0.0/107 = 1.128.0.0/11
                v4 = ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
                found.append(str(v4[min(1, v4.num_addresses - 1)]))
    return found


def generate(lines: int, out: Path, seed: int = 1) -> tuple[Path, dict[int, Path]]:
    rng = random.Random(seed)
    account_networks = [ipaddress.IPv4Network((0x2D000000 + (i << 8), 24)) for i in range(100_000)]  # 45.0.0.0+
    visitors: list[str] = []
    visitors += rng.sample(isp_test_addresses(), 1500)
    # 300 visitors from the first 10 accounts: every account list (10, 10,000, 100,000) matches the
    # same hits, so the runs differ only in the size of the list
    visitors += [str(account_networks[i % 10][2 + i // 10]) for i in range(300)]
    while len(visitors) < 10_000:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not (0x2D000000 <= int(address) < 0x2D000000 + (100_000 << 8)):
            visitors.append(str(address))
    agents = [b.format(i, i) for b in BROWSERS for i in range(20)]
    start = datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=9)))
    log = out / "bench_combined.log"
    with log.open("w", encoding="utf-8") as handle:
        for n in range(lines):
            at = start + timedelta(seconds=n * 86_400 / lines)
            stamp = at.strftime("%d/%b/%Y:%H:%M:%S %z")
            ip = visitors[rng.randrange(len(visitors))]
            roll = rng.random()
            if roll < 0.20:
                agent, path, status = rng.choice(BOTS), rng.choice(PAGES).format(rng.randrange(500)), 200
            elif roll < 0.70:
                agent, path = agents[hash(ip) % len(agents)], rng.choice(ASSETS).format(rng.randrange(50))
                status = 304 if rng.random() < 0.3 else 200
            else:
                agent, path = agents[hash(ip) % len(agents)], rng.choice(PAGES).format(rng.randrange(500))
                status = 404 if rng.random() < 0.03 else 200
            size = rng.randrange(200, 80_000)
            handle.write(f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} '
                         f'"https://www.example.com/" "{agent}"\n')
    header = "account_id,name,domains,networks,owner_name,last_deal_at,dormancy_reason\n"
    rows = [f"B{i},Bench Company {i} K.K.,bench{i}.example,{account_networks[i]},Owner {i % 50},"
            f"{2024 + i % 2}-0{1 + i % 9}-15,forgotten\n" for i in range(100_000)]
    lists = {}
    for size in (10_000, 10, 100_000):
        lists[size] = out / f"accounts_{size}.csv"
        lists[size].write_text(header + "".join(rows[:size]), encoding="utf-8")
    return log, lists


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
        subprocess.run(["apt-get", "install", "-y", "-qq", "goaccess"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("goaccess")
    return found


def replay_command(log: Path, accounts: Path, out: Path, tag: str) -> list[str]:
    database = out / f"bench_{tag}.sqlite"
    database.unlink(missing_ok=True)
    command = [str(REPO / ".venv" / "bin" / "revisit"), "replay", str(log), "--accounts", str(accounts),
               "--db", f"sqlite:///{database}", "--alerts-jsonl", str(out / f"alerts_{tag}.jsonl"),
               *os.environ.get("REVISIT_BENCH_ARGS", "").split()]
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
    size_mb = log.stat().st_size / 1e6
    print(f"file: {log} ({args.lines:,} lines, {size_mb:.0f} MB); machine: {os.cpu_count()} cores")

    bare = measure([sys.executable, str(SHARED / "bench" / "bare_parse.py"), str(log)])
    bare_rate = args.lines / float(bare.output.split()[2])
    print(f"bare_parse.py         {bare_rate:>10,.0f} lines/s (its own timing)  peak RSS {bare.peak_rss_mb:6.0f} MB")

    goaccess = ensure_goaccess()
    goaccess_rate = None
    if goaccess:
        report = out / "report.json"
        run = measure([goaccess, str(log), "--log-format=COMBINED", "-o", str(report)])
        goaccess_rate = args.lines / run.seconds
        print(f"goaccess              {goaccess_rate:>10,.0f} lines/s (wall)         peak RSS {run.peak_rss_mb:6.0f} MB")
    else:
        print("goaccess              not available (install the Debian package goaccess)")

    for size, accounts in account_lists.items():
        tag = f"{size}_accounts"
        run = measure(replay_command(log, accounts, out, tag))
        wall_rate = args.lines / run.seconds
        processed = re.search(r"processed in ([\d.]+) s", run.output)
        core_rate = args.lines / float(processed.group(1)) if processed else float("nan")
        summary = run.output.strip().splitlines()
        print(f"revisit replay, {size:>7,} accounts {wall_rate:>9,.0f} lines/s (wall, incl. start-up) "
              f"{core_rate:>9,.0f} lines/s (pipeline)  peak RSS {run.peak_rss_mb:6.0f} MB")
        print(f"    ratio to bare parse: {wall_rate / bare_rate:.2f}x wall, {core_rate / bare_rate:.2f}x pipeline"
              + (f"; to goaccess: {wall_rate / goaccess_rate:.2f}x wall" if goaccess_rate else ""))
        print("    " + next(line for line in summary if line.startswith("lines ")))


if __name__ == "__main__":
    main()
