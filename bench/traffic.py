"""Synthetic traffic for the benchmarks: a combined-format log and account lists.

10,000 distinct client addresses (1,500 from MaxMind's test ISP networks, 1,500 from the networks
of 1,500 generated organisations, 300 inside the first 10 accounts' networks, the rest random
public addresses), 20 % crawler lines, 50 % asset requests, a few errors, evenly spread over one
day. The organisations' networks are in an ISP database in MaxMind's format written here
(``organisations.mmdb``, mmdb-writer), so each distinct organisation costs the name search what
a real visitor's would; MaxMind's own test databases name only a few dozen.
"""

from __future__ import annotations

import ipaddress
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAXMIND = SHARED / "data" / "maxmind"
MMDBS = (
    "GeoIP2-ISP-Test",
    "GeoLite2-ASN-Test",
    "GeoIP2-Domain-Test",
    "GeoIP2-Connection-Type-Test",
    "GeoIP2-Anonymous-IP-Test",
)
ACCOUNT_BASE = 0x2D000000  # account networks are 45.0.0.0/24, 45.0.1.0/24, ...
ORGANISATION_BASE = 0x0B000000  # visitor organisations' networks are 11.0.0.0/24, 11.0.1.0/24, ...
ORGANISATIONS = 1_500


BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{}.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_{}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:13{}.0) Gecko/20100101 Firefox/13{}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_{} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "python-requests/2.32.3",
    "curl/8.5.0",
]
PAGES = [
    "/",
    "/blog/post-{}",
    "/news/{}",
    "/products/item-{}",
    "/pricing",
    "/contact",
    "/about",
    "/careers",
    "/case-studies/story-{}",
    "/docs/page-{}",
    "/login",
    "/search?q=term{}",
]
ASSETS = [
    "/static/css/site.{}.css",
    "/static/js/app.{}.js",
    "/images/photo-{}.jpg",
    "/favicon.ico",
    "/fonts/noto-{}.woff2",
]


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
    account_networks = [ipaddress.IPv4Network((ACCOUNT_BASE + (i << 8), 24)) for i in range(100_000)]  # 45.0.0.0+
    visitors: list[str] = []
    visitors += rng.sample(isp_test_addresses(), 1500)
    visitors += [str(ipaddress.IPv4Address(ORGANISATION_BASE + (i << 8) + 7)) for i in range(ORGANISATIONS)]
    # 300 visitors from the first 10 accounts: every account list (10, 10,000, 100,000) matches the
    # same hits, so the runs differ only in the size of the list
    visitors += [str(account_networks[i % 10][2 + i // 10]) for i in range(300)]
    while len(visitors) < 10_000:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        in_accounts = ACCOUNT_BASE <= int(address) < ACCOUNT_BASE + (100_000 << 8)
        in_organisations = ORGANISATION_BASE <= int(address) < ORGANISATION_BASE + (ORGANISATIONS << 8)
        if address.is_global and not in_accounts and not in_organisations:
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
            handle.write(
                f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} "https://www.example.com/" "{agent}"\n'
            )
    header, rows = generate_account_rows(100_000)
    lists = {}
    for size in (10_000, 10, 100_000):
        lists[size] = out / f"accounts_{size}.csv"
        lists[size].write_text(header + "".join(rows[:size]), encoding="utf-8")
    return log, lists


def generate_account_rows(count: int) -> tuple[str, list[str]]:
    """The header and rows of an account list: account i owns 45.x.y.0/24 (from ACCOUNT_BASE)."""
    header = "account_id,name,domains,networks,owner_name,last_deal_at,dormancy_reason\n"
    rows = [
        f"B{i},Bench Company {i} K.K.,bench{i}.example,{ipaddress.IPv4Network((ACCOUNT_BASE + (i << 8), 24))},"
        f"Owner {i % 50},{2024 + i % 2}-0{1 + i % 9}-15,forgotten\n"
        for i in range(count)
    ]
    return header, rows


def write_organisations_mmdb(out: Path) -> Path:
    """An ISP database in MaxMind's format naming ``ORGANISATIONS`` generated companies, one /24
    each: names nobody listed, as most visitors are."""
    import netaddr
    from mmdb_writer import MMDBWriter

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.company_names import company_names

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-ISP", description="revisit bench organisations")
    for i, name in enumerate(company_names(ORGANISATIONS, seed=2026)):
        network = ipaddress.IPv4Network((ORGANISATION_BASE + (i << 8), 24))
        writer.insert_network(
            netaddr.IPSet([str(network)]),
            {"organization": name, "isp": "Bench Transit", "autonomous_system_number": 64_512 + i % 1000},
        )
    path = out / "organisations.mmdb"
    writer.to_db_file(str(path))
    return path
