"""The command line end to end on real logs: replay, idempotence, bad input, explain, history, demo."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, inspect

from revisit.alerts.policy import ACTIVE, COOLDOWN, LOW_INTENT
from revisit.app import JAPANESE_SUMMARY
from revisit.cli import build_parser, main
from revisit.core.hit import MalformedReason
from revisit.storage.store import Store
from revisit.stream.filters import FilterReason
from tests.conftest import ACCESS_LOGS, APACHE_LOG, REPO, mmdb

README = REPO / "README.md"

ACCOUNTS = (
    "account_id,name,aliases,domains,networks,owner_name,owner_email,owner_slack,"
    "last_deal_at,last_contact_at,lost_deal_at,lifetime_value,dormancy_reason,industry\n"
    "E01,Rackspace Office Inc.,,,108.171.116.0/24,Emily Clark,emily@example.com,U01EMILY0,"
    "2014-08-01,,,2500000,timing,hosting\n"
    """E02,FiberSunucu Müşterisi,,,217.195.202.0/24,Ahmet,ahmet@example.com,,2014-01-15,,2014-02-01,800000,competitor,
E03,Newpsm Fans Ltd,,,216.152.249.0/24,,,,2012-05-01,,,,forgotten,
E04,Active Reader Co.,,,208.43.252.0/24,Ken,ken@example.com,,2015-03-01,,,,unknown,
E05,Comcast Cable,,,,,,,2013-01-01,,,,unknown,
E06,Guangdong Mobile Communication Co.Ltd.,,,,,,,2013-01-01,,,,unknown,
"""
)
CONFIG = """
[[intent.rules]]
pattern = "/projects/*"
weight = 20
label = "project"
[[intent.rules]]
pattern = "/blog/geekery/*"
weight = 10
label = "article"
[[intent.rules]]
pattern = "/files/*"
weight = 10
label = "download"
"""


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    return {
        "accounts": str(tmp_path / "accounts.csv"),
        "config": str(tmp_path / "revisit.toml"),
        "jsonl": str(tmp_path / "alerts.jsonl"),
    }


def replay_args(inputs: dict[str, str], db_url: str, *logs: str) -> list[str]:
    return [
        "replay",
        *(logs or [str(APACHE_LOG)]),
        "--accounts",
        inputs["accounts"],
        "--config",
        inputs["config"],
        "--db",
        db_url,
        "--alerts-jsonl",
        inputs["jsonl"],
        "--mmdb",
        mmdb("GeoIP2-ISP-Test"),
        "--mmdb",
        mmdb("GeoLite2-ASN-Test"),
    ]


def read_jsonl(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_replay_locale_is_the_runs_language_alerts_and_summary_alike(inputs, tmp_path, capsys) -> None:
    """Found by a new user: ``replay --locale en`` printed Japanese alerts above an English
    summary. The option is alerts.locale for the run; the sample's accounts have Latin names, so
    nothing Japanese is left in its English output."""
    assert main([*replay_args(inputs, f"sqlite:///{tmp_path / 'en.sqlite'}"), "--locale", "en"]) == 0
    english = capsys.readouterr().out
    assert "lines 10,000  parsed 9,999  malformed 1" in english
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]", english) is None, english
    assert main(replay_args(inputs, f"sqlite:///{tmp_path / 'ja.sqlite'}")) == 0
    japanese = capsys.readouterr().out
    assert "が再訪しました" in japanese and "行数 10,000  解析 9,999  不正 1" in japanese
    assert [json.loads(line)["alert_id"] for line in Path(inputs["jsonl"]).read_text(encoding="utf-8").splitlines()]


def test_replay_of_a_real_log_alerts_the_right_accounts(inputs, db_url, capsys) -> None:
    assert main(replay_args(inputs, db_url)) == 0
    out = capsys.readouterr().out
    summary = out.strip().splitlines()
    # the summary in alerts.locale (ja by default), as the alerts above it
    assert (
        "行数 10,000  解析 9,999  不正 1  除外 7,661  組織を特定 277  休眠顧客に照合 151  アラート 5（新規 5）"
        in summary
    ), out
    assert "  不正な行：途中で切れた行 1" in summary
    assert "  除外した行：静的ファイル 5,632、クローラー・ボット 1,809、対象外のステータス 220" in summary
    # why the other matched hits gave no alert: E04 is active, an account alerted once waits 24 h
    assert (
        "  その時点でアラートを出さなかった照合ヒット：取引中の顧客 40、クールダウン中 75、関心度スコアがしきい値未満 6"
        "（訪問は関心度スコアが intent.threshold の 10 に達した時点でアラートになります。ページの重みは intent.rules）"
    ) in summary
    alerts = read_jsonl(inputs["jsonl"])
    by_account = {a["account_id"]: a for a in alerts}
    # E04 is an active customer, E05 and E06 are access providers' names: never alerted
    assert set(by_account) == {"E01", "E02", "E03"}
    assert (by_account["E01"]["tier"], by_account["E01"]["delivery"]) == ("A", "realtime")
    assert (by_account["E02"]["tier"], by_account["E02"]["delivery"]) == ("B", "realtime")
    assert (by_account["E03"]["tier"], by_account["E03"]["delivery"]) == ("C", "digest")
    assert by_account["E01"]["match"]["method"] == "network"
    # the log is written in UTC; the record keeps ISO 8601 with offset, in the team's zone (Asia/Tokyo)
    assert by_account["E01"]["first_seen"].endswith("+09:00")
    assert all(p.startswith("/") for a in alerts for p in a["pages"])
    # one alert per account per 24 h of event time
    for account_id in by_account:
        times = sorted(a["last_seen"] for a in alerts if a["account_id"] == account_id)
        assert len(times) == len(set(times))
    store = Store(db_url)
    try:
        assert sorted(a["alert_id"] for a in store.alerts_for()) == sorted(a["alert_id"] for a in alerts)
        history = store.history("E01")
        assert len(history) > 10 and all(h.client_ip.startswith("108.171.116.") for h in history)
        assert store.count("accounts") == 6
    finally:
        store.close()


def test_the_console_card_shows_a_utc_log_in_the_teams_time_zone(inputs, tmp_path, capsys) -> None:
    """The sample log is written in +0000; a Tokyo team reads its visits in JST, as in history and
    the ``held:`` lines (the card said ``+0900`` while they said ``JST``)."""
    assert main(replay_args(inputs, f"sqlite:///{tmp_path / 'z.sqlite'}")) == 0
    out = capsys.readouterr().out
    first_seen = [datetime.fromisoformat(a["first_seen"]) for a in read_jsonl(inputs["jsonl"])]
    assert first_seen and all(at.utcoffset() == timedelta(hours=9) for at in first_seen)
    for at in first_seen:
        assert f"  訪問開始        {at:%Y-%m-%d %H:%M} JST、" in out
    assert "+0000" not in out and "+0900" not in out


def test_replaying_the_same_log_adds_nothing(inputs, db_url, capsys) -> None:
    assert main(replay_args(inputs, db_url)) == 0
    store = Store(db_url)
    counts = {t: store.count(t) for t in ("hits", "alerts", "sessions")}
    store.close()
    jsonl_before = Path(inputs["jsonl"]).read_text(encoding="utf-8")
    assert counts["hits"] > 0 and counts["alerts"] >= 3 and counts["sessions"] > 0
    assert main(replay_args(inputs, db_url)) == 0
    assert "（新規 0）" in capsys.readouterr().out
    store = Store(db_url)
    try:
        assert {t: store.count(t) for t in ("hits", "alerts", "sessions")} == counts
    finally:
        store.close()
    assert Path(inputs["jsonl"]).read_text(encoding="utf-8") == jsonl_before


def test_gzip_and_stdin_give_the_same_alerts(inputs, tmp_path, capsys) -> None:
    import gzip

    packed = tmp_path / "apache_logs.gz"
    packed.write_bytes(gzip.compress(APACHE_LOG.read_bytes()))
    assert main(replay_args(inputs, f"sqlite:///{tmp_path / 'a.sqlite'}", str(packed))) == 0
    first = {a["alert_id"] for a in read_jsonl(inputs["jsonl"])}
    Path(inputs["jsonl"]).unlink()
    args = replay_args(inputs, f"sqlite:///{tmp_path / 'b.sqlite'}", "-")
    result = subprocess.run(
        [sys.executable, "-m", "revisit", *args],
        stdin=APACHE_LOG.open("rb"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert {a["alert_id"] for a in read_jsonl(inputs["jsonl"])} == first


@pytest.mark.parametrize("problem", ["missing_log", "duplicate_id", "bad_date", "unreadable_mmdb", "bad_config"])
def test_bad_input_exits_2_and_writes_nothing(inputs, tmp_path, problem, capsys) -> None:
    database = tmp_path / "untouched.sqlite"
    args = [*replay_args(inputs, f"sqlite:///{database}"), "--locale", "en"]
    expected = {
        "missing_log": "nowhere.log: log file not found",
        "duplicate_id": "accounts.csv:3:1: account_id 'E01' already used on line 2",
        "bad_date": "accounts.csv:2:9: last_deal_at: '2014-02-30' is not a date",
        "unreadable_mmdb": "GeoIP2-City-Test-Invalid-Node-Count.mmdb: not a readable MaxMind database",
        "bad_config": "revisit.toml: intent.treshold: unknown key",
    }[problem]
    if problem == "missing_log":
        args[1] = str(tmp_path / "nowhere.log")
    elif problem == "duplicate_id":
        Path(inputs["accounts"]).write_text(ACCOUNTS.replace("E02,", "E01,"), encoding="utf-8")
    elif problem == "bad_date":
        Path(inputs["accounts"]).write_text(ACCOUNTS.replace("2014-08-01", "2014-02-30"), encoding="utf-8")
    elif problem == "unreadable_mmdb":
        args += ["--mmdb", mmdb("GeoIP2-City-Test-Invalid-Node-Count")]
    elif problem == "bad_config":
        Path(inputs["config"]).write_text("[intent]\ntreshold = 5\n", encoding="utf-8")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    assert not database.exists()
    assert not Path(inputs["jsonl"]).exists()


def test_bad_input_leaves_postgres_untouched(inputs, postgres_url, tmp_path, capsys) -> None:
    args = replay_args(inputs, postgres_url)
    args[1] = str(tmp_path / "nowhere.log")
    assert main(args) == 2
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_console_script_exit_status_for_bad_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "revisit", "replay"], capture_output=True, text=True)
    assert result.returncode == 2 and "--accounts" in result.stderr


def test_malformed_lines_are_counted_not_fatal(inputs, tmp_path, capsys) -> None:
    logs = [str(p) for p in sorted((ACCESS_LOGS / "edge-cases").iterdir())]
    assert main([*replay_args(inputs, f"sqlite:///{tmp_path / 'e.sqlite'}", *logs), "--locale", "en"]) == 0
    out = capsys.readouterr().out
    # the sums of the per-file counts in test_parse.EXPECTED
    assert "lines 91  parsed 56  malformed 35" in out, out
    assert "malformed: unreadable request 30, error-log lines 3, fields missing 2" in out
    assert (
        "filtered:  static files 7, crawlers and bots 1, client not an IP address 3, private addresses 7, "
        "status not kept 30"
    ) in out
    # the same counts in Japanese, each reason by its name
    assert main(replay_args(inputs, f"sqlite:///{tmp_path / 'j.sqlite'}", *logs)) == 0
    out = capsys.readouterr().out
    assert "行数 91  解析 56  不正 35" in out, out
    assert "  不正な行：リクエストが読めない行 30、エラーログの行 3、項目の足りない行 2" in out
    assert (
        "  除外した行：静的ファイル 7、クローラー・ボット 1、接続元が IP アドレスでない 3、プライベートアドレス 7、"
        "対象外のステータス 30"
    ) in out


def test_every_reason_and_decision_of_the_summary_has_a_japanese_name() -> None:
    """A reason added later must not appear in English inside a Japanese summary."""
    named = JAPANESE_SUMMARY.names
    kinds = (ACTIVE, COOLDOWN, LOW_INTENT)
    missing = [key for key in (*MalformedReason.ALL, *FilterReason.ALL, *kinds) if key not in named]
    assert missing == []
    assert len(set(named.values())) == len(named)  # no two reasons read alike


def test_explain(inputs, capsys) -> None:
    common = ["--accounts", inputs["accounts"], "--mmdb", mmdb("GeoIP2-ISP-Test")]
    assert main(["explain", "--locale", "en", "108.171.116.194", *common]) == 0
    out = capsys.readouterr().out
    assert "match: account E01 'Rackspace Office Inc.' by network, confidence 1.00" in out
    assert main(["explain", "--locale", "en", "50.139.66.106", *common]) == 0
    out = capsys.readouterr().out
    assert "Comcast Cable [isp]" in out and "no match: traffic of an access provider" in out
    assert (
        "accounts considered (the last column: how closely the name fits, 0-100):" in out and "MaxMind databases" in out
    )
    assert main(["explain", "--locale", "en", "64.17.254.217", *common]) == 0
    assert "no match: no account has the organisation's network, domain or name" in capsys.readouterr().out
    assert main(["explain", "--locale", "en", "10.1.2.3", *common]) == 0
    assert "private or reserved" in capsys.readouterr().out
    assert main(["explain", "--locale", "en", "not-an-ip"]) == 2


def test_explain_shows_fuzzy_candidates_with_scores_and_the_reason(tmp_path, capsys) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name\nE07,Lariat Softwere\nE08,Lariot Software Group\n", encoding="utf-8")
    # MaxMind's test ISP database names the organisation at 216.160.83.56 "Lariat Software"
    assert (
        main(
            [
                "explain",
                "--locale",
                "en",
                "216.160.83.56",
                "--accounts",
                str(accounts),
                "--mmdb",
                mmdb("GeoIP2-ISP-Test"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "organisation: Lariat Software [business] from MaxMind databases" in out
    considered = out.split("accounts considered (the last column: how closely the name fits, 0-100):")[1]
    assert "E07" in considered and "fuzzy name 'Lariat Softwere'" in considered and "93.3" in considered
    assert "match: account E07 'Lariat Softwere' by fuzzy" in out
    assert "93% alike to 'Lariat Softwere'" in out


def test_accounts_import_and_history(inputs, tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert main(["accounts", "import", inputs["accounts"], "--db", url]) == 0
    assert "取引先 6 社を取り込みました" in capsys.readouterr().out
    assert main(replay_args(inputs, url)) == 0
    capsys.readouterr()
    assert main(["history", "E03", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "/projects/newpsm" in out and "この取引先のアラート 1 件" in out
    assert main(["history", "E03", "--db", url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["alerts"][0]["tier"] == "C" and data["hits"][0]["path"].startswith("/")
    first = datetime.fromisoformat(data["hits"][0]["at"])
    # in the display zone with its offset, as alerts and the web UI: business hours' Asia/Tokyo by default
    tokyo = first.astimezone(ZoneInfo("Asia/Tokyo"))
    assert out.splitlines()[0].startswith(f"訪問 {tokyo:%Y-%m-%d %H:%M} JST（")
    assert out.splitlines()[1].startswith(f"  {tokyo:%H:%M:%S}  /")
    config = tmp_path / "revisit.toml"
    config.write_text('[web]\ntimezone = "America/New_York"\n[alerts]\nlocale = "en"\n', encoding="utf-8")
    assert main(["history", "E03", "--db", url, "--config", str(config)]) == 0
    new_york = first.astimezone(ZoneInfo("America/New_York"))
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"visit {new_york:%Y-%m-%d %H:%M} EDT from ")  # May: daylight time
    assert out.splitlines()[-2] == "1 alert(s) for this account"
    # each alert: when (in the display zone), tier, score and what followed (a README user saw a count only)
    alert = data["alerts"][0]
    at = datetime.fromisoformat(alert["last_seen"]).astimezone(ZoneInfo("America/New_York"))  # raised
    shown = f"{at:%Y-%m-%d %H:%M} {at.tzname()}"
    short = alert["alert_id"][:8]  # as history shows it: enough to record an outcome
    assert out.splitlines()[-1] == f"  alert {shown}  tier C, score {alert['score']}, no outcome recorded  id {short}"
    assert main(["alerts", "outcome", short.upper(), "--result", "受注", "--db", url]) == 0  # as history names it
    assert capsys.readouterr().out == f"{alert['alert_id']}（E03）：結果「受注」を記録しました\n"
    assert main(["alerts", "outcome", alert["alert_id"], "--result", "contacted", "--db", url]) == 0
    capsys.readouterr()
    for unknown in ("0" * 8, short[:3]):  # no such alert; too short to name one
        assert main(["alerts", "outcome", unknown, "--result", "won", "--db", url]) == 2
        assert capsys.readouterr().err == (
            f"revisit: ID が {unknown} のアラートはありません"
            "（`revisit history 取引先ID` に各アラートの ID があります）\n"
        )
    assert main(["history", "E03", "--db", url]) == 0
    tokyo_alert = datetime.fromisoformat(alert["last_seen"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"  アラート {tokyo_alert:%Y-%m-%d %H:%M} JST　ランク C・関心度 {alert['score']}・対応した、受注　ID {short}"
    )
    # an id the list never held: exit 2 and why, not "no visits" as for an account not seen yet
    assert main(["history", "NOPE", "--db", url]) == 2
    assert capsys.readouterr().err == (
        "revisit: NOPE：このデータベースにない取引先です（取引先は `revisit accounts import`、`replay`、"
        "ワーカーが取り込みます。ID と --db を確かめてください）\n"
    )
    assert main(["history", "E01", "--db", url]) == 0


def test_demo_tells_sales_who_came_back(tmp_path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo"), "--locale", "en"]) == 0
    out = capsys.readouterr().out
    alerts = read_jsonl(str(tmp_path / "demo" / "alerts.jsonl"))
    assert sorted(a["account_id"] for a in alerts) == [
        "C-1001",
        "C-1002",
        "C-1003",
        "C-1004",
        "C-1005",
        "C-1006",
        "C-1011",
        "C-1012",
    ]
    # C-1006 has no network on the list: its visitor is known from a form sent from that address
    ledger = next(a for a in alerts if a["account_id"] == "C-1006")
    assert (ledger["match"]["method"], ledger["match"]["confidence"]) == ("ledger", 0.9)
    assert ledger["match"]["detail"].startswith(
        "ledger: address is in 106.185.77.23/32, learned for the account from form export leads.csv line 2: "
        "an address at shiosai-sys.example; seen 1 time, first 2026-11-13"
    )
    assert "Network ledger, from the form export leads.csv: 2 sightings: 1 used" in out
    assert {a["account_id"]: a["delivery"] for a in alerts}["C-1004"] == "digest"
    assert "株式会社さくら精機 (C-1001) is back" in out and "C-2001" in out  # the active customer is named as quiet
    sakura = next(a for a in alerts if a["account_id"] == "C-1001")
    assert sakura["pages"] == ["/", "/products/laser-cutter", "/pricing", "/case-studies/automotive", "/contact"]
    # the visitors only the demo's own IP database (written with mmdb-writer) names
    hibari, kodama = (next(a for a in alerts if a["account_id"] == i) for i in ("C-1011", "C-1012"))
    assert (hibari["organization"]["name"], hibari["match"]["method"]) == ("ﾋﾊﾞﾘ電子㈱", "name")
    assert (kodama["organization"]["name"], kodama["match"]["method"]) == ("KODAMA SEISAKUSHO CO.,LTD.", "alias")
    # the demo's own database, in IPinfo Lite's schema: not IPinfo's data, nor its terms
    assert hibari["organization"]["source"] == kodama["organization"]["source"] == "revisit_demo"
    assert (
        "153.240.0.77  'NTT Communications Corporation' → no account: traffic of an access provider (isp: NTT "
        "Communications Corporation); never matched by name  (an ISP's visitor, ignored)" in out
    )
    explain = out.split("$ ")[1]
    assert explain.startswith("revisit explain 160.251.21.77 --accounts ")
    assert "organisation: KODAMA SEISAKUSHO CO.,LTD. [unknown] from the revisit demo's invented database" in explain
    assert (  # the demo's own terms, which owe IPinfo no credit (they said IPinfo Lite's, credit required)
        "  terms: The revisit demo's IP database (invented records in IPinfo Lite's schema): invented by "
        "`revisit demo`: no third-party data (revisit/demo.py); sales use allowed\n" in explain
    )
    assert "credit required" not in explain
    assert "match: account C-1012 '株式会社こだま製作所' by alias" in explain
    assert "  dormancy today: tier B (last deal or contact " in explain  # an alert is possible
    # running it again gives the same alerts (fixed seed, fresh files)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--locale", "en"]) == 0
    assert [a["alert_id"] for a in read_jsonl(str(tmp_path / "demo" / "alerts.jsonl"))] == [
        a["alert_id"] for a in alerts
    ]


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://rev:Pw-in-userinfo-7@127.0.0.1:{port}/revisit", "rev:***@127.0.0.1:{port}/revisit"),
        (
            "postgresql+psycopg://rev@127.0.0.1:{port}/revisit?password=Pw-in-query-7&sslmode=disable",
            "rev@127.0.0.1:{port}/revisit?password=***&sslmode=disable",
        ),
    ],
)
def test_an_unreachable_database_is_reported_without_its_password(url, shown, tmp_path) -> None:
    """Through the real console script: the message names the database, never its password, and
    neither do the debug logs nor ``config check``, whichever form the password has."""
    port = _closed_port()
    url, shown = url.format(port=port), "postgresql+psycopg://" + shown.format(port=port)
    password = "Pw-in-userinfo-7" if "userinfo" in url else "Pw-in-query-7"
    revisit = str(Path(sys.executable).with_name("revisit"))
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REVISIT_LOGGING__LEVEL": "debug"}
    history = subprocess.run(
        [revisit, "history", "E01", "--db", url], capture_output=True, text=True, env=environment, timeout=60
    )
    assert history.returncode == 2 and history.stdout == ""
    assert history.stderr.startswith(f"revisit: database {shown}: cannot open it (connection failed:")
    configured = subprocess.run(
        [revisit, "sender", "--once"],
        capture_output=True,
        text=True,
        env={**environment, "REVISIT_DATABASE_URL": url},
        timeout=60,
    )
    assert configured.returncode == 2 and configured.stderr.startswith(f"revisit: database {shown}: cannot open it")
    check = subprocess.run(
        [revisit, "config", "check"],
        capture_output=True,
        text=True,
        env={**environment, "REVISIT_DATABASE_URL": url},
        timeout=60,
    )
    assert check.returncode == 0 and json.loads(check.stdout)["settings"]["database_url"] == shown
    unparsable = subprocess.run(
        [revisit, "history", "E01", "--db", url.replace(f":{port}/", ":no-port/")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert unparsable.returncode == 2 and unparsable.stderr.startswith(
        f"revisit: --db {shown.replace(f':{port}/', ':no-port/')}: cannot use this database URL ("
    )
    for result in (history, configured, check, unparsable):
        assert password not in result.stdout + result.stderr


HOSTILE_PATHS = ("/projects/newpsm\x1b[2J\x1b]0;owned\x07", "/files/x\r\x1b[31mred\u202e", "/blog/geekery/\u009b6n")


def _terminal_controls(text: str) -> list[str]:
    """Every character of ``text`` a terminal would act on, other than the line breaks of the output."""
    import unicodedata

    return [ch for ch in text if (unicodedata.category(ch) == "Cc" and ch != "\n") or "\u202a" <= ch <= "\u202e"]


def test_replay_and_history_print_no_terminal_control_sequences(tmp_path) -> None:
    """The real console script, run outside the checkout, on a log and a list that carry escape
    sequences (clear screen, window title, C1 CSI, carriage return, a bidi override): the console
    alert and ``history`` show them replaced, and ``history --json`` keeps the data, escaped."""
    header = ACCOUNTS.splitlines()[0]
    (tmp_path / "accounts.csv").write_text(
        f"{header}\nE03,Evil\x1b]0;owned\x07 Ltd\x1b[2J,,,216.152.249.0/24,Ken\u009b31m,,,2012-05-01,,,,forgotten,\n",
        encoding="utf-8",
    )
    (tmp_path / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "hostile.log").write_text(
        "".join(
            f'216.152.249.242 - - [19/May/2015:05:0{minute}:03 +0000] "GET {path} HTTP/1.1" 200 338 "-" "Mozilla/4.0"\n'
            for minute, path in enumerate(HOSTILE_PATHS)
        ),
        encoding="utf-8",
    )
    revisit = str(Path(sys.executable).with_name("revisit"))
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"

    def run(*args: str) -> str:
        result = subprocess.run(
            [revisit, *args, "--db", db], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    replayed = run("replay", "hostile.log", "--accounts", "accounts.csv", "--config", "revisit.toml", "--workers", "1")
    history = run("history", "E03")
    shown = run("history", "E03", "--json")
    assert _terminal_controls(replayed + history + shown) == []
    alert_id = json.loads(shown)["alerts"][0]["alert_id"]
    # the card is in the list's language (Japanese here); the hostile text is shown, never obeyed
    assert replayed.startswith("● Evil\ufffd]0;owned\ufffd Ltd\ufffd[2J（E03）が再訪しました - ランク C")
    assert (
        "  閲覧ページ      /projects/newpsm\ufffd[2J\ufffd]0;owned\ufffd → /files/x\ufffd\ufffd[31mred\ufffd → "
        in replayed
    )
    assert "  担当            Ken\ufffd31m ・ 配信：ダイジェスト" in replayed
    assert history.splitlines() == [
        "訪問 2015-05-19 14:00 JST（Evil\ufffd]0;owned\ufffd Ltd\ufffd[2J）",
        "  14:00:03  /projects/newpsm\ufffd[2J\ufffd]0;owned\ufffd  [project]",
        "  14:01:03  /files/x\ufffd\ufffd[31mred\ufffd  [download]",
        "  14:02:03  /blog/geekery/\ufffd6n  [article]",
        "この取引先のアラート 1 件",
        # raised at the third page (05:02 UTC), when the web UI shows it
        f"  アラート 2015-05-19 14:02 JST\u3000ランク C・関心度 40・結果の記録なし\u3000ID {alert_id[:8]}",
    ]
    assert [hit["path"] for hit in json.loads(shown)["hits"]] == list(HOSTILE_PATHS)


def test_new_token_prints_a_config_block_that_loads_as_is(tmp_path, capsys) -> None:
    """What `revisit web new-token` prints after "config" is pasted into the TOML file verbatim."""
    import hashlib

    from revisit.core.config import load_settings

    assert main(["web", "new-token"]) == 0
    token_line, intro, *block = capsys.readouterr().out.splitlines()
    token = token_line.rsplit(": ", 1)[1]
    assert intro.startswith("config")
    config = tmp_path / "tokens.toml"
    config.write_text("\n".join(block) + "\n", encoding="utf-8")
    (entry,) = load_settings(config, {}).web.api_tokens
    assert entry.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert entry.role == "analyst"


@pytest.mark.parametrize(
    ("secret", "says"),
    [("change-me-to-a-long-random-string", "is the example from the documentation"), ("short", "is 5 bytes")],
)
def test_config_check_refuses_the_session_secrets_web_serve_refuses(secret, says, monkeypatch, capsys) -> None:
    monkeypatch.setenv("REVISIT_WEB_SESSION_SECRET", secret)
    assert main(["config", "check"]) == 2
    assert says in capsys.readouterr().err
    monkeypatch.setenv("REVISIT_WEB_SESSION_SECRET", "k" * 32)
    assert main(["config", "check"]) == 0


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [found for name, sub in action.choices.items() for found in _commands(sub, (*path, name))]
    return [(" ".join(("revisit", *path)), parser)]


def test_the_readme_command_table_names_every_option_of_every_command() -> None:
    """A new user reads the table, not `--help`: `--db` was missing from `ledger list`, `--encoding`
    from every command but replay. `--config` is said once, under the table, for all of them."""
    rows = [
        line.split(" | ")[0]
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `revisit ")
    ]
    missing = {}
    for command, parser in _commands(build_parser()):
        cells = [cell for cell in rows if f"`{command} " in cell or f"`{command}`" in cell]
        options = {o for a in parser._actions for o in a.option_strings if o.startswith("--")} - {"--help", "--config"}
        absent = sorted(o for o in options if not any(f"{o} " in cell or f"{o}]" in cell for cell in cells))
        if not cells or absent:
            missing[command] = absent or ["(no row)"]
    assert missing == {}


def test_the_readme_table_of_base_confidences_is_the_one_matching_uses() -> None:
    """An exact name match can show 0.54 (0.9 × a GeoLite2-ASN answer's 0.6): the README explains
    it with this table of bases, which must stay the code's."""
    from revisit.enrichment.match import _BASE_CONFIDENCE

    text = README.read_text(encoding="utf-8")
    table = text.split("| method | base |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    bases = {cell[1].strip("` "): float(cell[2]) for cell in (row.split("|") for row in table.splitlines())}
    assert bases == {method.value: base for method, base in _BASE_CONFIDENCE.items()}
    assert "an exact `name` match from GeoLite2-ASN is 0.9 × 0.6 = **0.54**" in text


def test_config_check_with_web_users_and_no_session_secret_warns_and_shows_the_settings(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("REVISIT_WEB_SESSION_SECRET", raising=False)
    config = tmp_path / "web.toml"
    config.write_text(
        '[[web.users]]\nname = "aiko"\npassword_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"\n'
        'role = "admin"\n',
        encoding="utf-8",
    )
    assert main(["config", "check", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    shown = json.loads(captured.out)
    assert shown["secrets"]["web session secret"] == "$REVISIT_WEB_SESSION_SECRET: not set"
    assert shown["settings"]["web"]["users"][0]["name"] == "aiko"
    assert captured.err.startswith("warning: no web session secret in $REVISIT_WEB_SESSION_SECRET")


def test_the_command_line_starts_without_the_libraries_only_some_commands_need() -> None:
    """structlog (with rich, which it imports whenever installed) is imported at the first log
    record and slack_sdk when a Slack message is sent: 0.3 s of every start before, replay's too;
    prometheus_client by the processes that serve metrics (20-30 ms of every replay), smtplib
    when an e-mail is sent (a few ms)."""
    wanted = "('structlog', 'rich', 'slack_sdk', 'prometheus_client', 'smtplib')"
    code = f"import sys, revisit.cli, revisit.app; print(sorted(m for m in {wanted} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_explain_columns_start_at_the_same_terminal_cell_under_japanese_names(tmp_path, capsys) -> None:
    """A full-width character takes two terminal cells: padded by characters, every column after
    株式会社サクラ精機 started 9 cells further right than under a Latin name."""
    from rich.cells import cell_len

    from tests.open_mmdb import ipinfo_lite

    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,name,aliases,domains\n"
        "J-1,株式会社サクラ精機,,sakura-seiki.example\n"
        "J-20,さくら精機株式会社 東京支店,Sakura Seiki,\n"
        "L-3,Sakura Seiki Co. Ltd.,,\n"
        "L-400,SAKURA SEIKI KK,,\n",
        encoding="utf-8",
    )
    # the test IPinfo Lite database names 160.251.10.0/24 "Sakura Seiki Co., Ltd.", sakura-seiki.example
    database = ipinfo_lite(tmp_path / "ipinfo.mmdb")
    assert main(["explain", "--locale", "en", "160.251.10.9", "--accounts", str(accounts), "--mmdb", database]) == 0
    out = capsys.readouterr().out
    heading = "accounts considered (the last column: how closely the name fits, 0-100):\n"
    considered = out.split(heading)[1].split("\nmatch:")[0].splitlines()
    assert considered == [
        "  J-1          株式会社サクラ精機               domain sakura-seiki.example          100.0",
        "  J-20         さくら精機株式会社 東京支店      alias 'Sakura Seiki'                 100.0",
        "  L-3          Sakura Seiki Co. Ltd.            name 'Sakura Seiki Co. Ltd.'         100.0",
        "  L-400        SAKURA SEIKI KK                  name 'SAKURA SEIKI KK'               100.0",
    ]
    hows = ["domain", "alias", "name", "name"]
    assert {cell_len(line[: line.index(how)]) for line, how in zip(considered, hows, strict=True)} == {48}
    assert {cell_len(line) for line in considered} == {90}
    sources = out.split("what each source says:\n")[1].split("\norganisation:")[0].splitlines()
    assert {cell_len(line[: line.index(said)]) for line, said in zip(sources, ["no", "no", "Sakura"], strict=True)} == {
        40
    }
