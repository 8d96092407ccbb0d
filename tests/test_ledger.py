"""The first-party network ledger (issue 24, point 3): addresses learned from form exports and from
sign-ins in access logs, matched after the account's own networks, shown and revocable.

The visits are the real Apache log in shared/data (elastic-examples-apache); the form exports and
sign-in lines are written here, dated relative to today since entries expire.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revisit.cli import main
from revisit.enrichment import japanese
from revisit.enrichment.ledger import REFUSAL_REASONS, not_public
from revisit.storage.store import Store
from tests.conftest import APACHE_LOG

EN = ("--locale", "en")  # for the commands whose output is read in English here
REVOKE_THE_HOTEL = ["ledger", "revoke", "61.211.38.9/32", "--reason", "a hotel's guest network", *EN]

ACCOUNTS = (
    "account_id,name,domains,networks,owner_name,owner_email,last_deal_at,lifetime_value,dormancy_reason\n"
    "L01,星空工業株式会社,hoshizora.co.jp,,山田太郎,yamada@example.jp,2014-01-10,9000000,timing\n"
    "L02,Keynav Partners Inc.,keynav-partners.example,88.103.19.0/24,Ken,ken@example.com,2013-05-01,,unknown\n"
    "L03,あおば商事株式会社,aoba-shoji.co.jp,,佐藤花子,sato@example.jp,2014-03-01,3000000,competitor\n"
    "L04,Twin Domain A,shared.example,,,,2014-03-01,,unknown\n"
    "L05,Twin Domain B,shared.example,,,,2014-03-01,,unknown\n"
)
CONFIG = """
[[intent.rules]]
pattern = "/projects/*"
weight = 20
label = "project"
"""


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    return {
        "accounts": str(tmp_path / "accounts.csv"),
        "config": str(tmp_path / "revisit.toml"),
        "jsonl": str(tmp_path / "alerts.jsonl"),
        "dir": str(tmp_path),
    }


def _export(files: dict[str, str], rows: list[str], name: str = "leads.csv", header: str = "email,ip,time") -> str:
    path = Path(files["dir"]) / name
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return str(path)


def test_a_form_export_teaches_an_address_that_then_matches_a_real_visitor_by_ledger(files, db_url, capsys) -> None:
    export = _export(
        files,
        [
            f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}",  # a visitor of the real log
            f"suzuki@mail.hoshizora.co.jp,150.162.56.185,{_days_ago(1)}",  # a subdomain: the same account
            f"someone@gmail.com,199.168.96.66,{_days_ago(2)}",  # free mail names nobody
            f"taro@docomo.ne.jp,199.168.96.66,{_days_ago(2)}",  # a Japanese carrier's mail neither
            f"sato@aoba-shoji.co.jp,88.103.19.195,{_days_ago(2)}",  # inside L02's own /24
            f"x@unknown-company.example,65.55.213.73,{_days_ago(2)}",
            f"y@shared.example,65.55.213.74,{_days_ago(2)}",  # a domain on two accounts
        ],
    )
    args = ["--accounts", files["accounts"], "--db", db_url]
    assert main(["ledger", "import", export, *args]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [  # in alerts.locale, Japanese by default
        "記録 7 件：2 件を使用（1 社の 1 ネットワーク）、5 件は不使用",
        "  不使用（複数の取引先にあるドメイン）：1 件"
        "（例：ドメイン shared.example が 2 件の取引先（L04, L05）に載っています）",
        "  不使用（フリーメール）：2 件（例：gmail.com はフリーメールのドメインです。会社ではなく個人を指します）",
        "  不使用（他の取引先のネットワーク）：1 件"
        "（例：88.103.19.195 は取引先 L02 のネットワーク 88.103.19.0/24 の中にあります）",
        "  不使用（どの取引先にもないドメイン）：1 件（例：ドメイン unknown-company.example の取引先はありません）",
        "台帳に 1 件を保存しました",
    ]
    store = Store(db_url)
    try:
        [entry] = store.load_ledger()
        assert (str(entry.network), entry.account_id, entry.kind, entry.email_domain, entry.sightings) == (
            "150.162.56.185/32",
            "L01",
            "form",
            "mail.hoshizora.co.jp",
            2,
        )
        assert entry.evidence == "form export leads.csv line 3: an address at mail.hoshizora.co.jp"
        assert entry.expires_at - entry.last_seen == timedelta(days=90)
        assert entry.last_seen - entry.first_seen == timedelta(days=2)
    finally:
        store.close()

    # the real log: 150.162.56.185 read /projects/xdotool/ on 20 May 2015
    assert (
        main(
            ["replay", str(APACHE_LOG), "--config", files["config"], "--alerts-jsonl", files["jsonl"], "--workers", "1"]
            + args
        )
        == 0
    )
    capsys.readouterr()
    alerts = [json.loads(line) for line in Path(files["jsonl"]).read_text(encoding="utf-8").splitlines()]
    by_ledger = [a for a in alerts if a["match"]["method"] == "ledger"]
    assert {a["account_id"] for a in by_ledger} == {"L01"}
    assert by_ledger[0]["match"]["confidence"] == 0.9
    assert by_ledger[0]["match"]["detail"].startswith(
        "ledger: address is in 150.162.56.185/32, learned for the account from form export leads.csv line 3"
    )
    # L02's own CIDR still decides for its own network: the ledger never overrides it
    assert {a["match"]["method"] for a in alerts if a["account_id"] == "L02"} == {"network"}

    assert main(["explain", "--locale", "en", "150.162.56.185", "--db", db_url]) == 0
    explained = capsys.readouterr().out
    assert "  your network ledger (sign-ins, forms) 星空工業株式会社 [business] domain hoshizora.co.jp" in explained
    assert "  L01          星空工業株式会社" in explained and "ledger 150.162.56.185/32 (form)" in explained
    assert "match: account L01 '星空工業株式会社' by ledger, confidence 0.90" in explained
    # in Japanese, the evidence too (stored with its phrase): no English left in the reason
    assert main(["explain", "--locale", "ja", "150.162.56.185", "--db", db_url]) == 0
    reason = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  理由："))
    assert reason == (
        "  理由：台帳で一致。アドレスは 150.162.56.185/32 の中にあり、この取引先について学んだ記録は次のとおりです。"
        "フォーム送信（leads.csv の 3 行目、mail.hoshizora.co.jp のアドレス）。"
        f"確認 2 回、初回 {_days_ago(3)[:10]}、最終 {_days_ago(1)[:10]}、有効期限 {_days_ago(-89)[:10]}"
    )

    assert (
        main(
            [
                "ledger",
                "revoke",
                "150.162.56.185",
                "--db",
                db_url,
                "--reason",
                "a shared co-working space",
                "--locale",
                "en",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "revoked 1 learned network(s)\n"
    # importing the same export again does not bring a revoked entry back
    assert main(["ledger", "import", export, *args, *EN]) == 0
    capsys.readouterr()
    assert main(["explain", "--locale", "en", "150.162.56.185", "--db", db_url]) == 0
    assert "match: account" not in capsys.readouterr().out
    assert main(["ledger", "list", "--all", "--db", db_url, *EN]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "1 learned network(s)" and listed[1].startswith("  150.162.56.185/32    L01")
    store = Store(db_url)
    try:
        assert store.load_ledger() == []
    finally:
        store.close()


def test_every_bad_row_of_an_export_is_reported_and_nothing_is_learned(files, sqlite_url, capsys) -> None:
    export = _export(
        files,
        [
            f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}",
            f"not-an-email,150.162.56.185,{_days_ago(3)}",
            "tanaka@hoshizora.co.jp,150.162.56.999,2026/11/30 10:00",
            "tanaka@hoshizora.co.jp,150.162.56.185,yesterday",
            "tanaka@hoshizora.co.jp,150.162.56.185",
        ],
    )
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 2
    error = capsys.readouterr().err
    assert error.splitlines() == [
        f"revisit: 4 bad row(s) in {export}; nothing was imported:",
        f"{export}:3:1: email: 'not-an-email' is not an e-mail address",
        f"{export}:4:2: ip: '150.162.56.999' is not an IP address",
        f"{export}:5:3: time: 'yesterday' is not a time (ISO 8601 or YYYY/MM/DD HH:MM:SS)",
        f"{export}:6:1: expected 3 fields, found 2",
    ]
    assert Store(sqlite_url).count("ledger_entries") == 0
    missing = _export(files, ["a@b.example,1.2.3.4"], name="no-time.csv", header="email,ip")
    assert main(["ledger", "import", missing, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 2
    assert capsys.readouterr().err.startswith(f"revisit: {missing}:1:1: no time column (one of: time, timestamp,")
    # in Japanese (alerts.locale by default), as the rest of what ledger import says
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"revisit: {export} に不正な行が 4 件あります。何も取り込んでいません：",
        f"{export}:3:1: email の「not-an-email」はメールアドレスではありません",
        f"{export}:4:2: ip の「150.162.56.999」は IP アドレスではありません",
        f"{export}:5:3: time の「yesterday」は日時ではありません（ISO 8601 か YYYY/MM/DD HH:MM:SS で書いてください）",
        f"{export}:6:1: 項目が 2 個あります（3 個のはずです）",
    ]
    assert main(["ledger", "import", str(Path(files["dir"]) / "gone.csv"), "--accounts", files["accounts"]]) == 2
    assert capsys.readouterr().err == f"revisit: {Path(files['dir']) / 'gone.csv'}：ファイルがありません\n"


def test_an_export_row_with_a_documentation_private_or_reserved_address_is_named_and_not_learned(
    files, sqlite_url, capsys
) -> None:
    """Such visits are filtered before resolution: an entry for one could never match."""
    export = _export(
        files,
        [
            f"tanaka@hoshizora.co.jp,203.0.113.77,{_days_ago(1)}",
            f"tanaka@hoshizora.co.jp,192.168.1.20,{_days_ago(1)}",
            f"tanaka@hoshizora.co.jp,2001:db8::7,{_days_ago(1)}",
            f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(1)}",
        ],
    )
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "4 sightings: 1 used (1 network(s) of 1 account(s)), 3 not used",
        "  not used, not_public_address: 3",
        "    warning: leads.csv line 2: 203.0.113.77 is a documentation (RFC 5737/3849) address, filtered before "
        "resolution: it can never match",
        "    warning: leads.csv line 3: 192.168.1.20 is a private address, filtered before resolution: "
        "it can never match",
        "    warning: leads.csv line 4: 2001:db8::7 is a documentation (RFC 5737/3849) address, filtered before "
        "resolution: it can never match",
        "stored 1 ledger entry",
    ]
    assert [str(entry.network) for entry in Store(sqlite_url).load_ledger()] == ["150.162.56.185/32"]


def test_ledger_list_all_shows_each_entrys_state_and_a_revoked_address_is_said_not_learned_again(
    files, sqlite_url, capsys
) -> None:
    export = _export(
        files,
        [
            f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}",
            f"sato@aoba-shoji.co.jp,61.211.38.10,{_days_ago(95)}",  # past ledger.expiry_days (90)
            f"kato@hoshizora.co.jp,61.211.38.9,{_days_ago(2)}",
        ],
    )
    args = ["--accounts", files["accounts"], "--db", sqlite_url]
    assert main(["ledger", "import", export, *args, *EN]) == 0
    assert main([*REVOKE_THE_HOTEL, "--db", sqlite_url]) == 0
    capsys.readouterr()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert main(["ledger", "list", "--all", "--db", sqlite_url, *EN]) == 0
    states = [line.split(" · ")[0].split(maxsplit=2) for line in capsys.readouterr().out.splitlines()[1:]]
    assert states == [
        ["61.211.38.9/32", "L01", f"revoked {today} (a hotel's guest network)"],
        ["150.162.56.185/32", "L01", "active"],
        ["61.211.38.10/32", "L03", "expired"],
    ]
    assert main(["ledger", "import", export, *args, *EN]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        f"  not learned again: 61.211.38.9/32 for L01 was revoked {today} (a hotel's guest network); "
        "revoked entries stay revoked",
        "2 sightings counted before, not counted again",  # the same export again
        "stored 0 ledger entries",
    ]
    # the same in Japanese (alerts.locale by default): the states, the entry not learned again
    assert main(["ledger", "list", "--all", "--db", sqlite_url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "学習したネットワーク 3 件"
    assert [line.split(" · ")[0].split(maxsplit=2)[2] for line in listed[1:]] == [
        f"取り消し済み（{today}、a hotel's guest network）",
        "有効",
        "期限切れ",
    ]
    assert main(["ledger", "import", export, *args]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        f"  再び学習しません：61.211.38.9/32（L01）は取り消し済み（{today}、a hotel's guest network）です。"
        "取り消した記録は取り消したままです",
        "以前に数えた確認 2 件は数え直していません",
        "台帳に 0 件を保存しました",
    ]


def test_every_refusal_reason_and_address_kind_has_a_japanese_name() -> None:
    kinds = ("documentation (RFC 5737/3849)", "loopback", "link-local", "multicast", "private", "reserved")
    assert [key for key in (*REFUSAL_REASONS, *kinds) if key not in japanese.TRANSLATIONS] == []
    for address in ("203.0.113.7", "127.0.0.1", "fe80::1", "224.0.0.1", "10.0.0.1", "240.0.0.1", "2001:db8::1"):
        assert not_public(ipaddress.ip_address(address)) in kinds


def test_a_japanese_ma_export_with_local_times_is_read_in_the_business_time_zone(files, sqlite_url, capsys) -> None:
    when = datetime.now(UTC).astimezone().replace(microsecond=0) - timedelta(days=2)
    jst = when.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    export = _export(
        files,
        [f"tanaka@hoshizora.co.jp,2400:4050:1234:5678::42,{jst:%Y/%m/%d %H:%M:%S}"],
        name="ma.csv",
        header="メールアドレス,IPアドレス,送信日時",
    )
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 0
    capsys.readouterr()
    [entry] = Store(sqlite_url).load_ledger()
    assert str(entry.network) == "2400:4050:1234:5678::/64"  # ledger.prefix_v6: one site's LAN
    assert entry.first_seen == when.astimezone(UTC)  # delivery.business_hours.timezone is Asia/Tokyo


def test_a_sighting_counts_once_however_often_its_export_is_imported(files, db_url, capsys) -> None:
    """An MA tool's export holds every submission since the start: each month's file repeats the
    last one's rows, and a user may import the same file twice."""
    first, second = _days_ago(3), datetime.fromisoformat(_days_ago(2))
    in_tokyo = second.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).isoformat()
    may = [
        f"tanaka@hoshizora.co.jp,150.162.56.185,{first}",
        f"tanaka@hoshizora.co.jp,150.162.56.185,{first}",  # a row repeated in the file: one sighting
        f"suzuki@hoshizora.co.jp,150.162.56.185,{second.isoformat()}",
    ]
    june = [
        *may[:1],
        f"suzuki@hoshizora.co.jp,150.162.56.185,{in_tokyo}",  # the same instant written in +09:00
        f"sato@aoba-shoji.co.jp,61.211.38.10,{_days_ago(1)}",  # new
        f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(1)}",  # new
    ]
    args = ["--accounts", files["accounts"], "--db", db_url]

    def imported(name: str, rows: list[str], *locale: str) -> list[str]:
        assert main(["ledger", "import", _export(files, rows, name=name), *args, *locale]) == 0
        return capsys.readouterr().out.splitlines()

    def sightings() -> dict[tuple[str, str], int]:
        store = Store(db_url)
        try:
            return {(str(e.network), e.account_id): e.sightings for e in store.load_ledger()}
        finally:
            store.close()

    assert imported("may.csv", may, *EN)[-1] == "stored 1 ledger entry"
    assert sightings() == {("150.162.56.185/32", "L01"): 2}
    assert imported("may.csv", may, *EN)[-2:] == [
        "2 sightings counted before, not counted again",
        "stored 0 ledger entries",
    ]
    assert sightings() == {("150.162.56.185/32", "L01"): 2}
    assert imported("june.csv", june)[-2:] == [
        "以前に数えた確認 2 件は数え直していません",
        "台帳に 2 件を保存しました",
    ]
    assert sightings() == {("150.162.56.185/32", "L01"): 3, ("61.211.38.10/32", "L03"): 1}


def test_colleagues_in_a_date_only_export_count_as_people_and_once_each(files, db_url, capsys) -> None:
    """An export with a date and no time: three colleagues on one day from one address are three
    sightings (the instant alone made them one), and importing the file again adds none."""
    day = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    rows = [f"{who}@hoshizora.co.jp,150.162.56.185,{day}" for who in ("tanaka", "suzuki", "kato", "Tanaka")]
    export = _export(files, rows, name="daily.csv", header="email,ip,date")
    args = ["ledger", "import", export, "--accounts", files["accounts"], "--db", db_url, *EN]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "stored 1 ledger entry"
    assert [e.sightings for e in Store(db_url).load_ledger()] == [3]  # Tanaka is tanaka
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "3 sightings counted before, not counted again",
        "stored 0 ledger entries",
    ]
    assert [e.sightings for e in Store(db_url).load_ledger()] == [3]


def test_an_entry_not_seen_again_within_the_expiry_is_not_used(files, sqlite_url, capsys) -> None:
    export = _export(files, [f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(120)}"])
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 0
    capsys.readouterr()
    assert main(["explain", "--locale", "en", "150.162.56.185", "--db", sqlite_url]) == 0
    assert "match: account" not in capsys.readouterr().out
    assert main(["ledger", "list", "--db", sqlite_url, *EN]) == 0
    assert capsys.readouterr().out == "0 learned network(s)\n"


STAMP = (datetime.now(UTC) - timedelta(days=1)).strftime("%d/%b/%Y:%H:%M:%S +0000")  # entries expire
SIGN_IN_LINES = [
    # nginx: log_format with the e-mail the application put in a response header
    f'150.162.56.185 - [{STAMP}] "GET /account HTTP/1.1" 200 512 "tanaka@hoshizora.co.jp"',
    f'65.55.213.73 - [{STAMP}] "GET /account HTTP/1.1" 200 512 "someone@gmail.com"',
    f'199.168.96.66 - [{STAMP}] "GET / HTTP/1.1" 200 512 "-"',
]
NGINX_FORMAT = (
    'log_format signed \'$remote_addr - [$time_local] "$request" $status $body_bytes_sent '
    '"$upstream_http_x_user_email"\';'
)


def _learn(files: dict[str, str], db: str, log: Path, config: str, capsys) -> list[str]:
    Path(files["config"]).write_text(CONFIG + config, encoding="utf-8")
    code = main(
        [
            "ledger",
            "learn",
            str(log),
            "--accounts",
            files["accounts"],
            "--db",
            db,
            "--config",
            files["config"],
            "--locale",
            "en",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out.splitlines()


def test_sign_ins_in_an_nginx_log_format_an_apache_user_field_and_a_json_field_teach_the_ledger(
    files, sqlite_url, capsys
) -> None:
    log = Path(files["dir"]) / "nginx.log"
    log.write_text("\n".join(SIGN_IN_LINES) + "\n", encoding="utf-8")
    nginx = f"[log]\nformat = '''{NGINX_FORMAT}'''\n[ledger]\nlog_field = \"$upstream_http_x_user_email\"\n"
    assert _learn(files, sqlite_url, log, nginx, capsys) == [
        "2 sightings: 1 used (1 network(s) of 1 account(s)), 1 not used",
        "  not used, free_mail: 1 (e.g. gmail.com is a free-mail domain: it names a person, not a company)",
        "stored 1 ledger entry",
    ]
    [entry] = Store(sqlite_url).load_ledger()
    assert (str(entry.network), entry.account_id, entry.kind) == ("150.162.56.185/32", "L01", "sign-in")
    assert entry.evidence == "sign-in in nginx.log: an address at hoshizora.co.jp"

    # Apache combined: %u holds the account id the portal signs its customers in with
    apache = Path(files["dir"]) / "apache.log"
    apache.write_text(
        f'46.105.14.53 - L03 [{STAMP}] "GET /portal HTTP/1.1" 200 10 "-" "Mozilla/5.0"\n'
        f'46.105.14.54 - L99 [{STAMP}] "GET /portal HTTP/1.1" 200 10 "-" "Mozilla/5.0"\n',
        encoding="utf-8",
    )
    config = '[log]\nformat = "combined"\n[ledger]\nlog_field = "%u"\nlog_field_holds = "account_id"\n'
    assert _learn(files, sqlite_url, apache, config, capsys)[:2] == [
        "2 sightings: 1 used (1 network(s) of 1 account(s)), 1 not used",
        "  not used, unknown_account: 1 (e.g. account id 'L99' is not on the account list)",
    ]

    # JSON (Caddy) with the user in a nested field
    caddy = Path(files["dir"]) / "caddy.log"
    caddy.write_text(
        json.dumps(
            {
                "ts": datetime.now(UTC).timestamp() - 3600,
                "request": {"client_ip": "75.97.9.59", "method": "GET", "uri": "/app", "headers": {}},
                "status": 200,
                "size": 1,
                "user": {"email": "sato@aoba-shoji.co.jp"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    config = '[log]\nformat = "caddy"\n[ledger]\nlog_field = "user.email"\n'
    assert (
        _learn(files, sqlite_url, caddy, config, capsys)[0]
        == "1 sightings: 1 used (1 network(s) of 1 account(s)), 0 not used"
    )
    learned = {(str(e.network), e.account_id) for e in Store(sqlite_url).load_ledger()}
    assert learned == {("150.162.56.185/32", "L01"), ("46.105.14.53/32", "L03"), ("75.97.9.59/32", "L03")}


def test_a_log_field_the_format_lacks_is_refused_before_anything_is_written(files, sqlite_url, capsys) -> None:
    Path(files["config"]).write_text('[log]\nformat = "combined"\n[ledger]\nlog_field = "$remote_user"\n')
    code = main(
        ["replay", str(APACHE_LOG), "--accounts", files["accounts"], "--config", files["config"], "--db", sqlite_url]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "revisit: ledger.log_field '$remote_user' is not a field of log.format "
        '\'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"\'\n'
    )
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_replay_learns_the_sign_ins_of_its_logs_first_and_matches_their_addresses(files, sqlite_url, capsys) -> None:
    """Sign-ins in the log itself: the ledger learns them, then the same log's pages match."""
    now = datetime.now(UTC) - timedelta(days=1)
    stamp = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    lines = [
        f'150.162.56.185 - tanaka@hoshizora.co.jp [{stamp}] "POST /login HTTP/1.1" 302 0 "-" "Mozilla/5.0"',
        f'150.162.56.185 - - [{stamp}] "GET /projects/xdotool/ HTTP/1.1" 200 12292 "-" "Mozilla/5.0"',
    ]
    log = Path(files["dir"]) / "site.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(files["config"]).write_text(
        CONFIG + '[log]\nformat = "combined"\n[ledger]\nlog_field = "%u"\n', encoding="utf-8"
    )
    args = ["--accounts", files["accounts"], "--config", files["config"], "--db", sqlite_url]
    assert main(["replay", str(log), *args, "--alerts-jsonl", files["jsonl"]]) == 0
    capsys.readouterr()
    [alert] = [json.loads(line) for line in Path(files["jsonl"]).read_text(encoding="utf-8").splitlines()]
    assert (alert["account_id"], alert["match"]["method"]) == ("L01", "ledger")
    assert "sign-in in site.log: an address at hoshizora.co.jp" in alert["match"]["detail"]
    # the same log replayed again: its sign-in is not a second sighting
    assert main(["replay", str(log), *args, "--alerts-jsonl", files["jsonl"]]) == 0
    capsys.readouterr()
    [entry] = Store(sqlite_url).load_ledger()
    assert (str(entry.network), entry.sightings) == ("150.162.56.185/32", 1)


def test_the_web_account_page_shows_what_the_ledger_learned_in_english_and_japanese(files, db_url, capsys) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from revisit.core.config import WebUser, load_settings
    from revisit.web.app import create_app
    from revisit.web.auth import hash_password
    from tests.test_web import form_token

    export = _export(
        files,
        [f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}", f"kato@hoshizora.co.jp,61.211.38.9,{_days_ago(2)}"],
    )
    assert main(["accounts", "import", files["accounts"], "--db", db_url]) == 0
    assert main(["ledger", "import", export, "--db", db_url, *EN]) == 0  # the list in the database
    assert main([*REVOKE_THE_HOTEL, "--db", db_url]) == 0
    capsys.readouterr()
    settings = load_settings(
        None, {"REVISIT_WEB__SECURE_COOKIES": "false", "REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"}
    )
    settings = replace(settings, web=replace(settings.web, users=(WebUser("ana", hash_password("pw-ana-123")),)))
    store = Store(db_url)
    try:
        client = TestClient(create_app(settings, store))
        client.post("/login", data={"name": "ana", "password": "pw-ana-123", "csrf": form_token(client.get("/login"))})
        page = client.get("/accounts/L01", headers={"Accept-Language": "en"}).text
        section = page[page.index('id="ledger"') :]
        section = section[: section.index("</section>")]
        assert "<code>150.162.56.185/32</code> · form · hoshizora.co.jp · <strong>in use</strong>" in section
        assert "form export leads.csv line 2: an address at hoshizora.co.jp" in section
        assert "<code>61.211.38.9/32</code> · form · hoshizora.co.jp · <strong>revoked</strong>" in section
        assert "a hotel&#39;s guest network" in section
        japanese = client.get("/accounts/L01", headers={"Accept-Language": "ja"}).text
        assert "ログイン・フォーム送信から分かったネットワーク" in japanese
        assert "<code>150.162.56.185/32</code> · フォーム · hoshizora.co.jp · <strong>使用中</strong>" in japanese
        assert "フォーム送信（leads.csv の 2 行目、hoshizora.co.jp のアドレス）" in japanese
        assert "form export" not in japanese
    finally:
        store.close()


def test_retention_deletes_expired_ledger_entries_revoked_or_not_and_keeps_the_rest(files, sqlite_url, capsys) -> None:
    export = _export(
        files,
        [
            f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(2)}",
            # an instant older than privacy.retention_days (180) of an entry kept: it goes as hits do
            f"suzuki@hoshizora.co.jp,150.162.56.185,{_days_ago(200)}",
            f"tanaka@hoshizora.co.jp,61.211.38.9,{_days_ago(100)}",
            f"sato@aoba-shoji.co.jp,61.211.38.10,{_days_ago(95)}",
        ],
    )
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 0
    assert main(["ledger", "revoke", "--account", "L01", "--db", sqlite_url, *EN]) == 0
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as database:
        assert database.execute("SELECT count(*) FROM ledger_sightings").fetchone() == (4,)
    assert main(["retention", "--db", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["ledger", "list", "--all", "--db", sqlite_url, *EN]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "1 learned network(s)" and listed[1].startswith("  150.162.56.185/32    L01")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as database:  # the instants of the entry kept
        assert database.execute("SELECT network, account_id FROM ledger_sightings").fetchall() == [
            ("150.162.56.185/32", "L01")
        ]


def test_the_streaming_worker_matches_by_the_ledger_it_finds_in_the_database(bootstrap, tmp_path) -> None:
    """`revisit ledger import` into the worker's database, then the real log through Kafka: the
    worker reads the ledger at start and matches the learned address."""
    import time

    from sqlalchemy import create_engine, text

    from tests.test_worker import Setup

    setup = Setup(bootstrap, tmp_path)
    setup.accounts.write_text(
        setup.accounts.read_text(encoding="utf-8")
        + "L01,星空工業株式会社,,hoshizora.co.jp,,,,,2014-01-10,,,,timing,\n",
        encoding="utf-8",
    )
    export = tmp_path / "leads.csv"
    export.write_text(f"email,ip,time\ntanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}\n", encoding="utf-8")
    assert main(["accounts", "import", str(setup.accounts), "--db", setup.db]) == 0
    assert main(["ledger", "import", str(export), "--db", setup.db, *EN]) == 0
    setup.ship(APACHE_LOG)
    setup.start_worker(import_accounts=False)
    engine = create_engine(setup.db)
    query = text("SELECT DISTINCT account_id, match_method FROM hits WHERE client_ip = '150.162.56.185'")
    try:
        found: list = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not found:
            try:
                with engine.connect() as connection:
                    found = [tuple(row) for row in connection.execute(query)]
            except Exception:  # the worker is still creating its tables
                found = []
            time.sleep(0.5)
        assert found == [("L01", "ledger")], setup.worker_logs()
    finally:
        engine.dispose()
        setup.stop_all()


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ("prefix_v4 = 33", "ledger.prefix_v4: 33 is not a prefix length from 16 to 32"),
        ("prefix_v4 = 8", "ledger.prefix_v4: 8 is not a prefix length from 16 to 32"),
        ("prefix_v6 = 129", "ledger.prefix_v6: 129 is not a prefix length from 32 to 128"),
        ("expiry_days = 0", "ledger.expiry_days: 0 must be 1 or more"),
        ("reload_seconds = 0", "ledger.reload_seconds: 0.0 must be more than 0"),
        ('log_field_holds = "user"', "ledger.log_field_holds"),
    ],
)
def test_ledger_settings_out_of_range_are_refused(files, sqlite_url, capsys, setting, error) -> None:
    Path(files["config"]).write_text(f"[ledger]\n{setting}\n", encoding="utf-8")
    export = _export(files, [f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(3)}"])
    code = main(
        ["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, "--config", files["config"]]
    )
    assert code == 2
    assert error in capsys.readouterr().err


def _signed_line(address: str, user: str, path: str, hours_ago: float) -> str:
    stamp = (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{address} - {user} [{stamp}] "GET {path} HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (Windows NT 10.0)"\n'


def _poll(engine, query: str, want: int, setup) -> list[tuple]:
    """The query's rows once there are ``want`` of them (the worker writes asynchronously)."""
    import time

    from sqlalchemy import text

    found: list[tuple] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with engine.connect() as connection:
                found = [tuple(row) for row in connection.execute(text(query))]
        except Exception:  # the worker is still creating its tables
            found = []
        if len(found) >= want:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{query}: {found}\n{setup.worker_logs()}")


@pytest.mark.kafka
def test_the_streaming_worker_learns_sign_ins_from_kafka_and_matches_the_network_on_other_partitions(
    bootstrap, postgres_url, tmp_path
) -> None:
    """A sign-in shipped through Kafka teaches its /24 at once: the sign-in line itself and a later
    line from another address of the /24 (another partition: ship keys lines by client address)
    match by ``ledger``; a free-mail sign-in teaches nothing; a restarted worker keeps the lesson.
    On PostgreSQL, what a worker runs on (the ledger's SQLite path is tested with replay above)."""
    db_url = postgres_url
    from sqlalchemy import create_engine

    from tests.test_worker import Setup

    setup = Setup(bootstrap, tmp_path)
    setup.db = db_url
    setup.config.write_text(
        setup.config.read_text(encoding="utf-8")
        + '[log]\nformat = "combined"\n[ledger]\nlog_field = "%u"\nprefix_v4 = 24\n',
        encoding="utf-8",
    )
    setup.accounts.write_text(
        setup.accounts.read_text(encoding="utf-8")
        + "L01,星空工業株式会社,,hoshizora.co.jp,,,,,2014-01-10,,,,timing,\n",
        encoding="utf-8",
    )
    sign_ins = tmp_path / "sign-ins.log"
    sign_ins.write_text(
        _signed_line("150.162.56.185", "tanaka@hoshizora.co.jp", "/account/", 3)
        + _signed_line("75.97.9.59", "someone@gmail.com", "/account/", 3),
        encoding="utf-8",
    )
    later = tmp_path / "later.log"
    later.write_text(
        _signed_line("150.162.56.77", "-", "/projects/xdotool/", 2) + _signed_line("75.97.9.59", "-", "/projects/", 2),
        encoding="utf-8",
    )
    after_restart = tmp_path / "after-restart.log"
    after_restart.write_text(_signed_line("150.162.56.200", "-", "/projects/xdotool/", 1), encoding="utf-8")
    engine = create_engine(db_url)
    ledger_query = "SELECT network, account_id, kind, evidence, email_domain, sightings FROM ledger_entries"
    hits_query = "SELECT client_ip, account_id, match_method, hit_key FROM hits ORDER BY occurred_at, client_ip"
    try:
        setup.start_worker()
        setup.ship(sign_ins)
        assert _poll(engine, ledger_query, 1, setup) == [
            (
                "150.162.56.0/24",
                "L01",
                "sign-in",
                "sign-in in the access log: an address at hoshizora.co.jp",
                "hoshizora.co.jp",
                1,
            )
        ]
        setup.ship(later)
        hits = _poll(engine, hits_query, 2, setup)
        assert [hit[:3] for hit in hits] == [
            ("150.162.56.185", "L01", "ledger"),  # the sign-in line itself
            ("150.162.56.77", "L01", "ledger"),
        ]
        partitions = {hit[3].split(":")[1] for hit in hits}
        assert len(partitions) == 2, hits  # learned on one partition, used on another
        _poll(engine, "SELECT alert_id FROM alerts", 1, setup)
        assert [(a["account_id"], a["match"]["method"]) for a in _alert_payloads(engine)] == [("L01", "ledger")]
        setup.stop_all()

        setup.start_worker(import_accounts=False)
        setup.ship(after_restart)
        hits = _poll(engine, hits_query, 3, setup)
        assert [hit[:3] for hit in hits][2:] == [("150.162.56.200", "L01", "ledger")]
        assert [row[:2] for row in _poll(engine, ledger_query, 1, setup)] == [("150.162.56.0/24", "L01")]
    finally:
        engine.dispose()
        setup.stop_all()


def _alert_payloads(engine) -> list[dict]:
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT payload FROM alerts")).scalars().all()
    return [row if isinstance(row, dict) else json.loads(row) for row in rows]


def test_what_one_worker_learned_reaches_another_at_its_reload_and_a_revoked_entry_is_not_learned_again(
    files, db_url
) -> None:
    """Two classify processes' ledgers over one database (what ``ledger.reload_seconds`` runs):
    the second decides an address again once it reads back the first one's lesson, even though it
    had already cached the address as unmatched."""
    from dataclasses import replace

    from revisit.app import build_enrichment
    from revisit.core.config import LedgerSettings, LogSettings, load_settings
    from revisit.enrichment.accounts import load_accounts
    from revisit.enrichment.classify import HitClassifier, MatchedHit, Unmatched
    from revisit.kafka.ledger_learning import StreamLedger

    settings = load_settings(files["config"])
    settings = replace(
        settings,
        log=replace(LogSettings(), format="combined"),
        ledger=replace(LedgerSettings(), log_field="%u", prefix_v4=24),
    )
    accounts = load_accounts(files["accounts"])
    store = Store(db_url)
    store.save_accounts(accounts)
    processes = []
    for _ in range(2):
        enrichment = build_enrichment(accounts, [], settings)
        ledger = StreamLedger(settings, enrichment.index, store.revoked_ledger_keys())
        classifier = HitClassifier(settings, enrichment.index, enrichment.resolvers)
        processes.append((ledger, classifier))
    (first, first_classifier), (second, second_classifier) = processes
    visit = _signed_line("150.162.56.77", "-", "/projects/xdotool/", 1)
    assert type(second_classifier.classify(visit)) is Unmatched  # now cached as unmatched

    sign_in = _signed_line("150.162.56.185", "tanaka@hoshizora.co.jp", "/account/", 2)
    free_mail = _signed_line("75.97.9.59", "someone@gmail.com", "/account/", 2)
    again = _signed_line("150.162.56.185", "tanaka@hoshizora.co.jp", "/account/", 1.5)
    # the same line twice (delivered again) is one sighting; a later sign-in another
    assert [str(n) for n in first.learn_lines([sign_in, free_mail, sign_in, again])] == ["150.162.56.0/24"]
    assert first.refused == {"free_mail": 1}
    matched = first_classifier.classify(visit)
    assert type(matched) is MatchedHit and matched.match.method == "ledger"
    first.save(store, first.take_pending())
    assert [(str(e.network), e.account_id, e.sightings) for e in store.load_ledger()] == [("150.162.56.0/24", "L01", 2)]

    assert type(second_classifier.classify(visit)) is Unmatched  # before its reload
    assert [str(n) for n in _reload(second, second_classifier, store)] == ["150.162.56.0/24"]
    matched = second_classifier.classify(visit)
    assert type(matched) is MatchedHit and matched.match.method == "ledger"

    # revoked by hand: gone at the next reload, and a later sign-in does not bring it back
    assert store.revoke_ledger("150.162.56.0/24", None, "a shared office building") == 1
    assert [str(n) for n in _reload(first, first_classifier, store)] == ["150.162.56.0/24"]
    assert type(first_classifier.classify(visit)) is Unmatched
    assert first.learn_lines([sign_in]) == []
    assert first.refused == {"free_mail": 1, "revoked": 1}
    # a line older than ledger.expiry_days (a backlog read late) teaches nothing
    stale = _signed_line("150.162.57.9", "tanaka@hoshizora.co.jp", "/account/", 24 * 91)
    assert first.learn_lines([stale]) == []
    assert first.refused == {"free_mail": 1, "revoked": 1, "expired": 1}
    assert type(first_classifier.classify(visit)) is Unmatched
    store.close()


def _reload(ledger, classifier, store: Store) -> list:
    """One reload as the classify stage runs it: read back, use, forget the changed networks."""
    changed = ledger.use(*ledger.load(store))
    classifier.forget_addresses_in(changed)
    return changed


def test_the_classifier_decides_again_exactly_the_cached_addresses_of_changed_networks(files) -> None:
    from dataclasses import replace
    from ipaddress import ip_network

    from revisit.app import build_enrichment
    from revisit.core.config import LogSettings, load_settings
    from revisit.enrichment.classify import HitClassifier

    settings = replace(load_settings(files["config"]), log=replace(LogSettings(), format="combined"))
    enrichment = build_enrichment([], [], settings)
    classifier = HitClassifier(settings, enrichment.index, enrichment.resolvers)
    addresses = [
        "150.162.56.77",
        "150.162.56.200",
        "150.162.57.1",
        "2001:db8:1:2::5",
        "2001:db8:1:3::5",
        "46.105.14.53",
    ]
    for address in addresses:
        classifier.classify(_signed_line(address, "-", "/projects/", 1))
    changed = [ip_network("150.162.56.0/25"), ip_network("2001:db8:1:2::/64"), ip_network("46.105.14.53/32")]
    assert classifier.forget_addresses_in(changed) == 3
    assert sorted(classifier._by_address) == ["150.162.56.200", "150.162.57.1", "2001:db8:1:3::5"]
    assert classifier.forget_addresses_in([ip_network("150.162.0.0/16")]) == 2
    assert sorted(classifier._by_address) == ["2001:db8:1:3::5"]


def test_explain_from_the_database_alone_says_why_the_ledger_cannot_match(files, sqlite_url, capsys) -> None:
    """``ledger import --accounts CSV --db URL`` stores the ledger, not the list: ``explain --db URL``
    said "no answer" as if the ledger were empty; it now names the accounts it lacks and the remedy."""
    export = _export(files, [f"tanaka@hoshizora.co.jp,150.162.56.185,{_days_ago(2)}"])
    assert main(["ledger", "import", export, "--accounts", files["accounts"], "--db", sqlite_url, *EN]) == 0
    capsys.readouterr()
    assert main(["explain", "--locale", "en", "150.162.56.185", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "match: account" not in "\n".join(out)
    assert out[-2] == (
        "note: the ledger cannot match 1 learned network(s): their account(s) L01 are not in the "
        "database's account list, which is empty (store the list with `revisit accounts import CSV "
        "--db URL`, or pass --accounts CSV)"
    )
    assert out[-1].startswith(
        "  150.162.56.185 is in 150.162.56.185/32, learned for account L01: form export leads.csv line 2"
    )
    # the remedy it names works
    assert main(["accounts", "import", files["accounts"], "--db", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["explain", "--locale", "en", "150.162.56.185", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "match: account L01 '星空工業株式会社' by ledger, confidence 0.90" in out
    assert "the ledger cannot match" not in out


@pytest.mark.parametrize(
    "drop_private, learned, refused", [(True, [], {"not_public_address": 1}), (False, ["10.20.30.40/32"], {})]
)
def test_the_worker_learns_private_sign_ins_when_private_traffic_is_kept(
    files, drop_private: bool, learned: list[str], refused: dict[str, int]
) -> None:
    """``filters.drop_private = false`` keeps an intranet's visitors (a portal behind the VPN): the
    worker learned their sign-ins never, where replay and ``ledger learn`` do; now it follows the setting."""
    from dataclasses import replace

    from revisit.app import build_enrichment
    from revisit.core.config import FilterSettings, LedgerSettings, LogSettings, load_settings
    from revisit.enrichment.accounts import load_accounts
    from revisit.kafka.ledger_learning import StreamLedger

    settings = load_settings(files["config"])
    settings = replace(
        settings,
        log=replace(LogSettings(), format="combined"),
        ledger=replace(LedgerSettings(), log_field="%u"),
        filters=replace(FilterSettings(), drop_private=drop_private),
    )
    enrichment = build_enrichment(load_accounts(files["accounts"]), [], settings)
    ledger = StreamLedger(settings, enrichment.index, set())
    sign_in = _signed_line("10.20.30.40", "tanaka@hoshizora.co.jp", "/account/", 1)
    assert [str(network) for network in ledger.learn_lines([sign_in])] == learned
    assert ledger.refused == refused
