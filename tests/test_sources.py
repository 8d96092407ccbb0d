"""Sources and their terms: each resolver declares licence, credit and whether sales use is
allowed; `revisit explain` shows the terms of the source that answered, `revisit sources` prints the
attribution page, the web UI links it, and RDAP (whose registries forbid marketing use) needs an
explicit acknowledgement in the config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from revisit.cli import main
from revisit.core.config import RdapSettings, ResolutionSettings, Settings
from revisit.demo import write_demo_database
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver
from revisit.enrichment.resolve import AccountNetworkResolver, ResolverChain
from revisit.enrichment.terms import late_source_terms
from revisit.storage.store import Store
from revisit.web.app import create_app
from tests import open_mmdb
from tests.conftest import keeping_root_logger, mmdb
from tests.test_web_security import log_in, serving, web_settings


def test_every_resolver_declares_the_terms_of_its_data(tmp_path: Path) -> None:
    maxmind = MaxMindResolver.from_paths(
        [mmdb("GeoIP2-ISP-Test"), mmdb("GeoLite2-ASN-Test"), open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")]
    )
    chain = ResolverChain([AccountNetworkResolver(AccountIndex([], Settings().matching)), maxmind])
    try:
        terms = chain.terms()
    finally:
        maxmind.close()
    assert [(t.key, t.licence, t.sales_use) for t in terms] == [
        ("account_networks", "your own data", True),
        ("maxmind", "MaxMind commercial licence (End User License Agreement)", True),
        ("geolite2", "GeoLite End User License Agreement", True),
        ("ipinfo_lite", "CC BY-SA 4.0", True),
    ]
    assert terms[3].attribution == "IP address data powered by IPinfo"
    on = ResolutionSettings(rdap=RdapSettings(enabled=True, acknowledge_terms=True))
    assert [(t.key, t.sales_use) for t in late_source_terms(on)] == [("rdap", False), ("rdap+jpnic", False)]


def test_rdap_is_refused_without_the_acknowledgement_key(tmp_path: Path, capsys) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text("[resolution.rdap]\nenabled = true\n", encoding="utf-8")
    with keeping_root_logger():
        assert main(["config", "check", "--config", str(config)]) == 2
        error = capsys.readouterr().err
        assert error.startswith("revisit: resolution.rdap.enabled: the registries' WHOIS/RDAP terms forbid")
        assert "ARIN: not for 'advertising, direct marketing, marketing research or similar purposes'" in error
        assert "Set resolution.rdap.acknowledge_terms = true" in error
        assert (
            main(["explain", "--locale", "en", "192.0.2.1", "--config", str(config)]) == 2
        )  # every command, not only config check
        capsys.readouterr()
        config.write_text("[resolution.rdap]\nenabled = true\nacknowledge_terms = true\n", encoding="utf-8")
        assert main(["config", "check", "--config", str(config)]) == 0
        assert '"acknowledge_terms": true' in capsys.readouterr().out


def test_the_rdap_refusal_quotes_each_registry_on_its_own_short_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text("[resolution.rdap]\nenabled = true\n", encoding="utf-8")
    with keeping_root_logger():
        assert main(["config", "check", "--config", str(config)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert max(len(line) for line in lines) <= 110
    assert [line.split(":")[0] for line in lines if line.startswith("  ") and not line.startswith("    ")] == [
        "  ARIN",
        "  APNIC",
        "  RIPE NCC (Terms and Conditions, article 4.4)",
        "  JPNIC",
    ]
    assert lines[-2:] == [
        "Set resolution.rdap.acknowledge_terms = true to confirm your use complies with them",
        "(see `revisit sources`), or turn RDAP off.",
    ]


def test_sources_prints_the_page_the_rdap_refusal_points_to_marking_rdap_unacknowledged(tmp_path: Path, capsys) -> None:
    """The refusal says "see `revisit sources`": that command must not be refused too."""
    config = tmp_path / "revisit.toml"
    config.write_text("[resolution.rdap]\nenabled = true\n", encoding="utf-8")
    with keeping_root_logger():
        assert main(["sources", "--locale", "en", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count("  NOT ACKNOWLEDGED: set resolution.rdap.acknowledge_terms = true") == 2  # RDAP, JPNIC
    config.write_text("[resolution.rdap]\nenabled = true\nacknowledge_terms = true\n", encoding="utf-8")
    with keeping_root_logger():
        assert main(["sources", "--locale", "en", "--config", str(config)]) == 0
    assert "NOT ACKNOWLEDGED" not in capsys.readouterr().out


def test_sources_prints_the_attribution_page_of_the_enabled_sources(tmp_path: Path, capsys) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text("[resolution.rdap]\nenabled = true\nacknowledge_terms = true\n", encoding="utf-8")
    ipinfo = open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")
    dbip = open_mmdb.dbip_asn_lite(tmp_path / "dbip.mmdb")
    with keeping_root_logger():
        assert main(["sources", "--locale", "en", "--config", str(config), "--mmdb", ipinfo, "--mmdb", dbip]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Data sources of this revisit installation"
    assert (
        "IPinfo Lite\n  licence: CC BY-SA 4.0 (https://ipinfo.io/developers/ipinfo-lite-database)\n"
        "  sales use: allowed\n" in out
    )
    assert "DB-IP Lite\n  licence: CC BY 4.0" in out
    assert "sales use: NOT allowed by its terms" in out  # RDAP, acknowledged but still shown
    credits = out.split("Show these credits wherever revisit's results are shown:\n")[1].splitlines()
    assert credits == [
        "  IP address data powered by IPinfo <https://ipinfo.io>",
        "  IP Geolocation by DB-IP <https://db-ip.com>",
    ]


def test_sources_speaks_japanese_by_default_and_keeps_each_credit_in_its_owners_words(tmp_path: Path, capsys) -> None:
    ipinfo = open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")
    with keeping_root_logger():
        assert main(["sources", "--mmdb", ipinfo]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "この revisit が使うデータの出典",
        "",
        "取引先リストのネットワーク",
        "  ライセンス：自社のデータ（取引先 CSV の networks 列）",
        "  営業での利用：可",
        "",
        "自社のネットワーク台帳",
        "  ライセンス：自社のデータ。自社の訪問者のログインとフォームのエクスポート（revisit ledger list）",
        "  営業での利用：可",
        "  注意：自社で得た根拠です。メールアドレスはドメインだけを保存します",
        "",
        "IPinfo Lite",
        "  ライセンス：CC BY-SA 4.0（https://ipinfo.io/developers/ipinfo-lite-database）",
        "  営業での利用：可",
        "  クレジット表記：IP address data powered by IPinfo <https://ipinfo.io>",
        "",
        "revisit の結果を表示する場所には次のクレジットを表示してください：",
        "  IP address data powered by IPinfo <https://ipinfo.io>",
    ]


def test_sources_says_the_demo_database_is_invented_and_owes_no_credit(tmp_path: Path, capsys) -> None:
    """demo.mmdb is in IPinfo Lite's schema (so it is read as one), but its records are made up:
    the page listed it as IPinfo Lite and asked for IPinfo's credit. Its database_type tells."""
    demo = write_demo_database(tmp_path / "demo.mmdb")
    with keeping_root_logger():
        assert main(["sources", "--locale", "en", "--mmdb", str(demo)]) == 0
    out = capsys.readouterr().out
    assert (
        "The revisit demo's IP database (invented records in IPinfo Lite's schema)\n"
        "  licence: invented by `revisit demo`: no third-party data (revisit/demo.py)\n"
        "  sales use: allowed\n"
        "  note: its organisations and networks are made up for the demo and name no real visitor; "
        "IPinfo's credit is owed for a real IPinfo Lite file, not for this one\n" in out
    )
    assert "IPinfo Lite\n" not in out and "powered by IPinfo" not in out
    assert out.splitlines()[-1] == "No enabled source asks for a credit."
    # and explain says the same of the organisation it names (it said IPinfo Lite, credit required)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name\nC-1012,株式会社こだま製作所\n", encoding="utf-8")
    with keeping_root_logger():
        assert main(["explain", "160.251.21.77", "--accounts", str(accounts), "--mmdb", str(demo)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("組織：", "  利用条件："))]
    assert said == [
        "組織：KODAMA SEISAKUSHO CO.,LTD. [種別不明]、出典：revisit デモの架空のデータベース",
        "  利用条件：revisit デモの IP データベース（IPinfo Lite の形式による架空のレコード）"
        "（`revisit demo` が作った架空のデータ（第三者のデータなし）、revisit/demo.py）。営業での利用：可",
    ]


def test_explain_shows_the_terms_of_the_source_that_answered(tmp_path: Path, capsys) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name,aliases\nC-1001,株式会社さくら精機,Sakura Seiki Co. Ltd.\n", encoding="utf-8")
    ipinfo = open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")
    with keeping_root_logger():
        assert main(["explain", "--locale", "en", "160.251.10.9", "--accounts", str(accounts), "--mmdb", ipinfo]) == 0
    out = capsys.readouterr().out
    assert "organisation: Sakura Seiki Co., Ltd. [unknown] from IPinfo Lite database" in out
    assert (
        "  terms: IPinfo Lite: CC BY-SA 4.0 (https://ipinfo.io/developers/ipinfo-lite-database); sales use allowed; "
        "credit required: 'IP address data powered by IPinfo'" in out
    )
    assert "match: account C-1001 '株式会社さくら精機'" in out


def test_the_web_ui_links_the_attribution_page_on_every_page(tmp_path: Path) -> None:
    ipinfo = open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")
    settings = web_settings(tmp_path)
    settings = replace(settings, resolution=replace(settings.resolution, mmdb_paths=(ipinfo,)))
    store = Store(f"sqlite:///{tmp_path / 'web.sqlite'}")
    try:
        with serving(create_app(settings, store)) as base:
            assert httpx.get(base + "/sources").status_code in (303, 307)  # signed-in users only
            client, _csrf = log_in(base, "ana")
            assert '<a href="/sources">Data sources and credits</a>' in client.get("/accounts").text
            page = client.get("/sources")
            assert page.status_code == 200
            assert "IPinfo Lite" in page.text and "CC BY-SA 4.0" in page.text
            assert "IP address data powered by IPinfo" in page.text
            client.post("/language", data={"locale": "ja", "csrf": _csrf, "next": "/sources"})
            japanese = client.get("/sources").text
            assert "データソースとクレジット表記" in japanese and "営業目的での利用" in japanese
    finally:
        store.close()
