"""``revisit demo``: a realistic day of traffic, generated with a fixed seed, through the real pipeline.

The day has thousands of anonymous visitors, crawlers, asset requests and scanners, a handful of
dormant accounts coming back (some with Japanese names), an account that comes back twice (one
alert: cooldown), a tier C account (digest), an active customer (never alerted) and an account with
no network on the list whose visitor is known from a form its people sent (the first-party ledger,
learned from the ``leads.csv`` the demo writes). Nothing outside
the installed package is needed: the account list and the log are written into ``--out``.
The companies and their networks are invented for the demo.

Three more visitors are known only through an IP database, as most are in production: the demo
writes a small one (``demo.mmdb``, IPinfo Lite's record schema, invented records) with mmdb-writer
and replays with it, so its alerts include a name match through a ㈱/half-width variant and a
romanised-name match, an ISP's visitor is ignored, and it ends by showing ``revisit explain`` for
one of them (``database_*`` below).
"""

from __future__ import annotations

import csv
import ipaddress
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from revisit.alerts.intent import PageScorer
from revisit.alerts.policy import decide_alert
from revisit.alerts.sessions import advance_session
from revisit.app import ReplayRequest, build_enrichment, format_summary, replay
from revisit.core.account import Account, DormancyReason, Owner
from revisit.core.alert import Alert
from revisit.core.config import Settings
from revisit.core.errors import BadInput
from revisit.core.match import AccountMatch, MatchMethod
from revisit.core.organization import Organization, OrgKind
from revisit.core.phrase import Phrase
from revisit.core.visit import PageView
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.explain import explain_address, words_in
from revisit.enrichment.terms import DEMO_DATABASE_TYPE

JST = timezone(timedelta(hours=9))
DEMO_DAY = datetime(2026, 11, 20, tzinfo=JST)

ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "aliases",
    "domains",
    "networks",
    "owner_name",
    "owner_email",
    "owner_slack",
    "last_deal_at",
    "last_contact_at",
    "lost_deal_at",
    "lifetime_value",
    "dormancy_reason",
    "industry",
)


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str
    aliases: str
    domains: str
    network: str
    owner: tuple[str, str, str]
    last_deal_at: str
    last_contact_at: str
    lost_deal_at: str
    lifetime_value: str
    reason: str
    industry: str
    visit: tuple[tuple[str, int], ...]  # (path, seconds after arrival) for the day's visit
    arrives_at: str  # HH:MM JST; "" = does not visit today
    ledger_address: str = ""  # no network on the list: visits from this address, known from a form


DEMO_ACCOUNTS = (
    DemoAccount(
        "C-1001",
        "株式会社さくら精機",
        "Sakura Seiki Co., Ltd.;ｻｸﾗ精機",
        "sakura-seiki.example",
        "133.242.18.0/24",
        ("山田 花子", "hanako.yamada@example.com", "U02SALES01"),
        "2026-02-14",
        "",
        "",
        "18500000",
        "timing",
        "製造業",
        (
            ("/", 0),
            ("/products/laser-cutter", 40),
            ("/pricing", 150),
            ("/case-studies/automotive", 260),
            ("/contact", 420),
        ),
        "10:12",
    ),
    DemoAccount(
        "C-1002",
        "ミナト物流㈱",
        "Minato Logistics",
        "minato-logi.example",
        "153.127.40.0/24",
        ("佐藤 健", "ken.sato@example.com", "U02SALES02"),
        "2025-06-30",
        "",
        "2025-07-15",
        "4200000",
        "competitor",
        "物流",
        (("/blog/2026-peak-season", 0), ("/products/fleet-tracker", 65), ("/pricing", 180)),
        "13:47",
    ),
    DemoAccount(
        "C-1003",
        "Northwind Traders Inc.",
        "Northwind",
        "northwind.example",
        "45.76.112.0/24",
        ("Emily Clark", "emily.clark@example.com", "U02SALES03"),
        "2025-09-02",
        "",
        "",
        "950000",
        "forgotten",
        "小売",
        (
            ("/", 0),
            ("/solutions/retail", 30),
            ("/webinars/2026-12-inventory", 95),
            ("/download/whitepaper-omnichannel", 200),
        ),
        "16:05",
    ),
    DemoAccount(
        "C-1004",
        "有限会社かもめ印刷",
        "",
        "kamome-print.example",
        "160.16.77.0/24",
        ("鈴木 一郎", "ichiro.suzuki@example.com", ""),
        "2022-03-18",
        "2023-01-10",
        "",
        "300000",
        "campaign",
        "printing",
        (("/", 0), ("/products/offset", 50), ("/pricing", 110)),
        "09:31",
    ),
    DemoAccount(
        "C-1005",
        "Blue Harbor Analytics GmbH",
        "",
        "blueharbor.example",
        "85.214.60.0/24",
        ("Jonas Weber", "jonas.weber@example.com", "U02SALES04"),
        "2026-01-20",
        "",
        "",
        "2600000",
        "dissatisfied",
        "ソフトウェア",
        (("/", 0), ("/demo", 80), ("/pricing", 150)),
        "11:20",
    ),
    # No network on the list: its visitor is known from a form a colleague sent from that address.
    DemoAccount(
        "C-1006",
        "株式会社潮騒システム",
        "",
        "shiosai-sys.example",
        "",
        ("山田 花子", "hanako.yamada@example.com", "U02SALES01"),
        "2025-11-10",
        "",
        "",
        "5400000",
        "forgotten",
        "ソフトウェア",
        (("/", 0), ("/products/fleet-tracker", 70), ("/pricing", 190)),
        "16:05",
        ledger_address="106.185.77.23",
    ),
    # An active customer: reads the pricing page, must not raise an alert.
    DemoAccount(
        "C-2001",
        "株式会社あおば商事",
        "Aoba Trading",
        "aoba-trading.example",
        "210.152.8.0/24",
        ("高橋 美咲", "misaki.takahashi@example.com", "U02SALES05"),
        "2026-10-01",
        "",
        "",
        "7800000",
        "unknown",
        "trading",
        (("/", 0), ("/pricing", 60), ("/contact", 140)),
        "15:10",
    ),
    # On the list but does not come back today.
    DemoAccount(
        "C-3001",
        "Contoso Pharmaceuticals Ltd.",
        "",
        "contoso.example",
        "20.190.128.0/24",
        ("Liam Brown", "liam.brown@example.com", ""),
        "2024-05-05",
        "",
        "",
        "12000000",
        "unknown",
        "pharma",
        (),
        "",
    ),
)

# Accounts without networks of their own: recognised through the demo database only.
DATABASE_ACCOUNTS = (
    DemoAccount(
        "C-1011",
        "株式会社ひばり電子",
        "",
        "",
        "",
        ("山田 花子", "hanako.yamada@example.com", "U02SALES01"),
        "2025-11-12",
        "",
        "",
        "6400000",
        "timing",
        "electronics",
        (),
        "",
    ),
    DemoAccount(
        "C-1012",
        "株式会社こだま製作所",
        "Kodama Seisakusho",
        "",
        "",
        ("佐藤 健", "ken.sato@example.com", "U02SALES02"),
        "2025-08-04",
        "",
        "",
        "9100000",
        "forgotten",
        "製造業",
        (),
        "",
    ),
)


@dataclass(frozen=True)
class DatabaseVisitor:
    """A visitor the demo database names: its network's record (IPinfo Lite's fields)."""

    network: str
    asn: str
    as_name: str
    as_domain: str
    visit: tuple[tuple[str, int], ...]
    arrives_at: str  # HH:MM JST
    shows: str  # what it demonstrates, printed after the run


DATABASE_VISITORS = (
    DatabaseVisitor(
        "160.251.20.0/24",
        "AS64500",
        "ﾋﾊﾞﾘ電子㈱",  # half-width katakana and ㈱: the list says 株式会社ひばり電子
        "",
        (("/", 0), ("/products/laser-cutter", 45), ("/pricing", 130), ("/contact", 260)),
        "10:40",
        "a name match through ㈱ and half-width katakana",  # DEMO_JAPANESE has each ``shows`` in Japanese
    ),
    DatabaseVisitor(
        "160.251.21.0/24",
        "AS64501",
        "KODAMA SEISAKUSHO CO.,LTD.",  # romanised: the list's alias is "Kodama Seisakusho"
        "kodama-ss.example",
        (("/case-studies/automotive", 0), ("/pricing", 70), ("/download/whitepaper-omnichannel", 190)),
        "14:25",
        "a romanised-name match",
    ),
    DatabaseVisitor(
        "153.240.0.0/16",
        "AS4713",
        "NTT Communications Corporation",  # an ISP's subscriber: never shown as a company
        "ntt.com",
        (("/", 0), ("/pricing", 55), ("/contact", 120)),
        "12:05",
        "an ISP's visitor, ignored",
    ),
)


BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.0.0",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "python-requests/2.32.3",
)
PAGES = (
    "/",
    "/",
    "/",
    "/blog/dx-trends-2026",
    "/blog/how-to-choose",
    "/about",
    "/news/2026-11-release",
    "/products/laser-cutter",
    "/products/fleet-tracker",
    "/solutions/retail",
    "/careers",
    "/login",
    "/pricing",
    "/case-studies/automotive",
    "/contact",
    "/docs/getting-started",
)
ASSETS = ("/static/css/site.css", "/static/js/app.js", "/images/hero.webp", "/favicon.ico", "/fonts/noto.woff2")
SCANS = ("/wp-login.php", "/.env", "/phpmyadmin/", "/xmlrpc.php")


def demo_settings(locale: str | None) -> Settings:
    settings = Settings()
    # the demo's day is fixed: what the ledger learned a week before it stays 90 days after it
    since = max(0, (datetime.now(UTC) - DEMO_DAY).days)
    settings = replace(settings, ledger=replace(settings.ledger, expiry_days=90 + since))
    if locale:
        settings = replace(settings, alerts=replace(settings.alerts, locale=locale))
    return settings


def write_accounts(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_COLUMNS)
        for a in (*DEMO_ACCOUNTS, *DATABASE_ACCOUNTS):
            writer.writerow(
                (
                    a.account_id,
                    a.name,
                    a.aliases,
                    a.domains,
                    a.network,
                    *a.owner,
                    a.last_deal_at,
                    a.last_contact_at,
                    a.lost_deal_at,
                    a.lifetime_value,
                    a.reason,
                    a.industry,
                )
            )


def _clf(ip: str, at: datetime, path: str, status: int, size: int, referrer: str, agent: str) -> str:
    return (
        f'{ip} - - [{at.strftime("%d/%b/%Y:%H:%M:%S %z")}] "GET {path} HTTP/1.1" {status} {size} '
        f'"{referrer}" "{agent}"\n'
    )


def _public_ip(rng: random.Random, taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not any(address in n for n in taken):
            return str(address)


def generate_day(rng: random.Random) -> list[tuple[datetime, str]]:
    """(time, line) pairs for one day; sorted by time by the caller."""
    taken = [ipaddress.ip_network(a.network or a.ledger_address) for a in DEMO_ACCOUNTS] + [
        ipaddress.ip_network(v.network) for v in DATABASE_VISITORS
    ]
    events: list[tuple[datetime, str]] = []
    day_seconds = 24 * 3600
    for _visitor in range(3000):  # anonymous visitors: a few pages each, with their assets
        ip, agent = _public_ip(rng, taken), rng.choice(BROWSERS)
        at = DEMO_DAY + timedelta(seconds=rng.randrange(day_seconds - 3600))
        for _page in range(rng.choice((1, 1, 2, 3, 4))):
            page = rng.choice(PAGES)
            events.append((at, _clf(ip, at, page, 200, rng.randrange(4000, 60000), "-", agent)))
            for asset in rng.sample(ASSETS, 3):
                events.append(
                    (
                        at,
                        _clf(
                            ip,
                            at,
                            asset,
                            rng.choice((200, 304)),
                            rng.randrange(200, 90000),
                            "https://www.example.com" + page,
                            agent,
                        ),
                    )
                )
            at += timedelta(seconds=rng.randrange(10, 300))
    for _crawl in range(2500):  # crawlers
        at = DEMO_DAY + timedelta(seconds=rng.randrange(day_seconds))
        events.append((at, _clf(_public_ip(rng, taken), at, rng.choice(PAGES), 200, 12000, "-", rng.choice(BOTS))))
    for _scan in range(300):  # scanners probing for weaknesses: 404s
        at = DEMO_DAY + timedelta(seconds=rng.randrange(day_seconds))
        events.append((at, _clf(_public_ip(rng, taken), at, rng.choice(SCANS), 404, 150, "-", rng.choice(BROWSERS))))
    for account in DEMO_ACCOUNTS:
        if not account.arrives_at:
            continue
        network = ipaddress.ip_network(account.network or account.ledger_address)
        ip = str(network[rng.randrange(2, 250)]) if account.network else account.ledger_address
        hour, minute = (int(x) for x in account.arrives_at.split(":"))
        start = DEMO_DAY + timedelta(hours=hour, minutes=minute)
        agent = rng.choice(BROWSERS)
        for path, offset in account.visit:
            at = start + timedelta(seconds=offset)
            events.append((at, _clf(ip, at, path, 200, 24000, "https://www.google.com/", agent)))
            events.append((at, _clf(ip, at, ASSETS[0], 200, 5300, "https://www.example.com" + path, agent)))
        if account.account_id == "C-1001":  # back again in the evening: history, not a second alert
            for path, offset in (("/pricing", 0), ("/case-studies/automotive", 90)):
                at = start + timedelta(hours=7, seconds=offset)
                events.append((at, _clf(ip, at, path, 200, 24000, "-", agent)))
    return events


def write_form_export(path: Path) -> None:
    """A marketing tool's export of last week's form submissions: a colleague at C-1006 sent one
    from the address its visitor uses today; a free-mail sender teaches nothing."""
    sent = (DEMO_DAY - timedelta(days=7)).replace(hour=14, minute=30)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("email,ip,time\n")
        for a in DEMO_ACCOUNTS:
            if a.ledger_address:
                handle.write(f"kenji.mori@{a.domains},{a.ledger_address},{sent.isoformat()}\n")
        handle.write(f"someone@gmail.com,126.208.135.23,{sent.isoformat()}\n")


def learn_form_export(path: Path, accounts_csv: Path, database: Path, settings: Settings) -> str:
    """``revisit ledger import``'s work, for the demo's database; its summary line."""
    from revisit.enrichment.accounts import load_accounts
    from revisit.enrichment.ledger_import import learn_all, read_form_export
    from revisit.enrichment.match import AccountIndex
    from revisit.storage.store import Store

    learned = learn_all(read_form_export(path, JST), AccountIndex(load_accounts(accounts_csv)), settings.ledger)
    store = Store(f"sqlite:///{database}")
    try:
        store.save_ledger_entries(learned.entries)
    finally:
        store.close()
    return learned.summary(words_in(settings.alerts.locale).translations)[0]


def run_demo(out: str, seed: int, locale: str | None) -> int:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    accounts_csv, log_path = folder / "accounts.csv", folder / "access.log"
    database, alerts_jsonl = folder / "revisit.sqlite", folder / "alerts.jsonl"
    for stale in (database, alerts_jsonl):  # the demo shows a fresh run every time
        stale.unlink(missing_ok=True)
    write_accounts(accounts_csv)
    leads_csv = folder / "leads.csv"
    write_form_export(leads_csv)
    events = generate_day(random.Random(seed)) + database_visits(random.Random(seed))
    mmdb = write_demo_database(folder / "demo.mmdb")
    events.sort(key=lambda event: event[0])
    with log_path.open("w", encoding="utf-8") as handle:
        handle.writelines(line for _at, line in events)

    settings = demo_settings(locale)
    say = _sayer(settings.alerts.locale)
    print(
        say(
            "revisit demo: {lines:,} log lines for {day} (JST), {accounts} accounts on the dormant list",
            lines=len(events),
            day=f"{DEMO_DAY:%Y-%m-%d}",
            accounts=len(DEMO_ACCOUNTS) + len(DATABASE_ACCOUNTS),
        )
        + "\n"
    )
    learned = learn_form_export(leads_csv, accounts_csv, database, settings)
    print(say("Network ledger, from the form export {file}: {learned}", file=leads_csv.name, learned=learned) + "\n")
    print(say("Alerts, as the sales team receives them:") + "\n")
    summary = replay(
        ReplayRequest(
            [str(log_path)],
            str(accounts_csv),
            (str(mmdb),),
            db_url=f"sqlite:///{database}",
            alerts_jsonl=str(alerts_jsonl),
        ),
        settings,
        sys.stdout,
    )
    print()
    print(format_summary(summary, settings.alerts.locale, threshold=settings.intent.threshold))
    quiet = sorted(
        a.account_id
        for a in DEMO_ACCOUNTS
        if a.arrives_at and a.account_id not in {alert["account_id"] for alert in _read_jsonl(alerts_jsonl)}
    )
    if quiet:
        print(say("  came back without an alert (active customer or cooldown): {ids}", ids=", ".join(quiet)))
    program = sys.argv[0] if sys.argv[0].endswith("revisit") else "revisit"
    files = ", ".join(map(str, (log_path, accounts_csv, leads_csv, mmdb, alerts_jsonl, database)))
    print("\n" + say("Files: {files}", files=files))
    print(say("Next: {command}", command=f"{program} history C-1001 --db sqlite:///{database}"))
    show_database_visitors(accounts_csv, mmdb, program, demo_settings(locale))
    return 0


def write_demo_database(path: Path) -> Path:
    """The demo's IP database: DATABASE_VISITORS' networks in IPinfo Lite's schema (asn, as_name,
    as_domain, country_code, ...), written with mmdb-writer as an IPv6 tree with IPv4 mapped in."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=DEMO_DATABASE_TYPE,
        description="revisit demo: invented records",
    )
    for visitor in DATABASE_VISITORS:
        record = {
            "asn": visitor.asn,
            "as_name": visitor.as_name,
            "as_domain": visitor.as_domain,
            "country_code": "JP",
            "country": "Japan",
            "continent_code": "AS",
            "continent": "Asia",
        }
        writer.insert_network(IPSet([visitor.network]), record)
    writer.to_db_file(str(path))
    return path


def database_visitor_address(visitor: DatabaseVisitor) -> str:
    return str(ipaddress.ip_network(visitor.network)[77])


def database_visits(rng: random.Random) -> list[tuple[datetime, str]]:
    """(time, line) pairs of the visitors the demo database names."""
    events: list[tuple[datetime, str]] = []
    for visitor in DATABASE_VISITORS:
        ip, agent = database_visitor_address(visitor), rng.choice(BROWSERS)
        hour, minute = (int(x) for x in visitor.arrives_at.split(":"))
        start = DEMO_DAY + timedelta(hours=hour, minutes=minute)
        for path, offset in visitor.visit:
            at = start + timedelta(seconds=offset)
            events.append((at, _clf(ip, at, path, 200, 24000, "https://www.google.com/", agent)))
    return events


def show_database_visitors(accounts_csv: Path, mmdb: Path, program: str, settings: Settings) -> None:
    """What each database visitor shows, and ``revisit explain`` for the romanised match."""
    enrichment = build_enrichment(load_accounts(accounts_csv), [str(mmdb)], settings)
    say, words = _sayer(settings.alerts.locale), words_in(settings.alerts.locale)
    try:
        print("\n" + say("Visitors named by the demo database (demo.mmdb):"))
        explanations = []
        for visitor in DATABASE_VISITORS:
            address = ipaddress.ip_address(database_visitor_address(visitor))
            explanation = explain_address(address, enrichment.index, enrichment.resolvers, None, settings.dormancy)
            explanations.append(explanation)
            if explanation.match is not None:
                account = explanation.match.account
                verdict = say("account {id} {name}", id=account.account_id, name=account.name)
            else:
                why = explanation.why.said_in(words.translations) if explanation.why else explanation.reason
                verdict = say("no account: {reason}", reason=why)
            print(f"  {address}  {visitor.as_name!r} → {verdict}  " + say("({shows})", shows=say(visitor.shows)))
        romanised = explanations[1]
        print(f"\n$ {program} explain {romanised.address} --accounts {accounts_csv} --mmdb {mmdb}")
        print("\n".join(romanised.lines(words)))  # as the command prints it
    finally:
        enrichment.close()


DEMO_JAPANESE = {
    "revisit demo: {lines:,} log lines for {day} (JST), {accounts} accounts on the dormant list": (
        "revisit デモ：{day}（JST）のアクセスログ {lines:,} 行、休眠リストの取引先 {accounts} 社"
    ),
    "Network ledger, from the form export {file}: {learned}": (
        "ネットワーク台帳にフォーム送信 {file} を取り込みました。{learned}"
    ),
    "Alerts, as the sales team receives them:": "営業チームに届くアラート：",
    "  came back without an alert (active customer or cooldown): {ids}": (
        "  アラートなしの再訪（取引中の顧客か、クールダウン中）：{ids}"
    ),
    "Files: {files}": "ファイル：{files}",
    "Next: {command}": "次の一歩：{command}",
    "Visitors named by the demo database (demo.mmdb):": "デモ用データベース（demo.mmdb）が組織名を答えた訪問者：",
    "account {id} {name}": "取引先 {id} {name}",
    "no account: {reason}": "取引先なし：{reason}",
    "a name match through ㈱ and half-width katakana": "㈱ と半角カナをそろえた社名の一致",
    "a romanised-name match": "ローマ字表記の社名の一致",
    "an ISP's visitor, ignored": "ISP の利用者なので対象外",
    "({shows})": "（{shows}）",
}


def _sayer(locale: str) -> Callable[..., str]:
    """The demo's own sentences in ``locale``: ``say(template, **values)``."""
    translations = DEMO_JAPANESE if locale == "ja" else {}

    def say(template: str, /, **values: object) -> str:
        return Phrase.of(template, **values).said_in(translations)

    return say


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def sample_alert(settings: Settings, owner_address: str = "") -> Alert:
    """A made-up tier-A alert for ``revisit alerts test``: the real rendering and sending path.

    ``owner_address``: an e-mail address or a Slack user id for the sample owner.
    """
    now = datetime.now(UTC)
    email, slack = (owner_address, "") if "@" in owner_address else ("", owner_address)
    account = Account(
        "SAMPLE-0001",
        "株式会社サンプル商事 (revisit test)",
        domains=("example.co.jp",),
        owner=Owner("テスト担当", email, slack),
        last_deal_at=(now - timedelta(days=270)).date(),
        lifetime_value=Decimal("4800000"),
        dormancy_reason=DormancyReason.TIMING,
        industry="sample",
    )
    organization = Organization("Sample Trading Co., Ltd.", OrgKind.BUSINESS, "sample", 1.0, domain="example.co.jp")
    match = AccountMatch(account, MatchMethod.DOMAIN, 1.0, "sample alert from `revisit alerts test`")
    session = None
    for minutes, path in ((0, "/"), (2, "/products/a"), (5, "/pricing"), (7, "/contact")):
        weight = PageScorer(settings.intent.rules).weigh(path)
        session = advance_session(
            session,
            account.account_id,
            PageView(now - timedelta(minutes=10 - minutes), path, weight.weight, weight.label),
            timedelta(minutes=30),
        )
    assert session is not None
    decision = decide_alert(account, match, organization, session, now, None, settings)
    if decision.alert is None:  # settings that refuse even this visit: still show the rendering
        raise BadInput(f"the sample visit gives no alert with this config ({decision.reason})")
    return decision.alert
