"""Reverse DNS and RDAP against real servers on loopback (a dnslib DNS server, an HTTP server with
the registries' recorded answers), and late resolution in replay: the hot path does not wait, the
held lines come back matched when the answers arrive, and answers are kept in the database."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from revisit.cli import main
from revisit.core.config import RdapSettings, ResolutionSettings, ReverseDnsSettings
from revisit.core.organization import OrgKind
from revisit.enrichment.late import LateResolver
from revisit.enrichment.rdap import RdapClient, RdapLookupFailed, RegistrationCache
from revisit.enrichment.reverse_dns import ReverseDnsResolver
from tests.conftest import SHARED_DATA
from tests.loopback_servers import (
    LoopbackDns,
    LoopbackRdap,
    LoopbackUdp,
    ptr_name,
    recorded_rdap_answers,
)

DNS_RECORDS = {
    (ptr_name("45.67.89.10"), "PTR"): ["www.sakura-seiki.co.jp."],
    ("www.sakura-seiki.co.jp", "A"): ["45.67.89.10"],
    (ptr_name("45.67.89.11"), "PTR"): ["www.toyota.co.jp."],  # no A record back: a PTR anyone could write
    (ptr_name("45.67.89.12"), "PTR"): ["p1234-ipngn.tokyo.ocn.ne.jp."],
    ("p1234-ipngn.tokyo.ocn.ne.jp", "A"): ["45.67.89.12"],
    (ptr_name("45.67.89.13"), "PTR"): ["45-67-89-13.dyn.example-isp.net."],
    ("45-67-89-13.dyn.example-isp.net", "A"): ["45.67.89.13"],
    (ptr_name("2a01:4f8::10"), "PTR"): ["gw.northwind.example.com."],
    ("gw.northwind.example.com", "AAAA"): ["2a01:4f8::10"],
}


@pytest.fixture(scope="module")
def dns_server():
    server = LoopbackDns(DNS_RECORDS)
    yield server
    server.close()


@pytest.fixture(scope="module")
def rdap_server():
    answers, jpnic = recorded_rdap_answers(SHARED_DATA)
    answers["45.67.90.1"] = (200, "<html><body>Service Unavailable</body></html>", "text/html")
    answers["45.67.90.2"] = (200, '{"rdapConformance": ["rdap_level_0"], "errorCode"', "application/rdap+json")
    server = LoopbackRdap(answers, jpnic)
    yield server
    server.close()


def dns_settings(port: int, timeout: float = 1.0) -> ReverseDnsSettings:
    return ReverseDnsSettings(enabled=True, nameservers=("127.0.0.1",), port=port, timeout_seconds=timeout)


def rdap_settings(server: LoopbackRdap, **changes) -> RdapSettings:
    values = {
        "enabled": True,
        "url": server.rdap_url,
        "jpnic_url": server.jpnic_url,
        "timeout_seconds": 2.0,
        "retries": 0,
        "requests_per_second": 50.0,
    }
    return RdapSettings(**(values | changes))


def ptr(settings: ReverseDnsSettings, address: str):
    return asyncio.run(ReverseDnsResolver(settings).lookup(ipaddress.ip_address(address)))


# --- reverse DNS ------------------------------------------------------------------------------


def test_a_forward_confirmed_ptr_name_gives_the_registrable_domain(dns_server) -> None:
    answer = ptr(dns_settings(dns_server.port), "45.67.89.10")
    assert answer.name == "www.sakura-seiki.co.jp"
    assert answer.organization is not None
    assert (answer.organization.domain, answer.organization.kind) == ("sakura-seiki.co.jp", OrgKind.UNKNOWN)
    v6 = ptr(dns_settings(dns_server.port), "2a01:4f8::10")
    assert v6.organization is not None and v6.organization.domain == "example.com"


def test_a_ptr_name_that_does_not_resolve_back_is_not_believed(dns_server) -> None:
    answer = ptr(dns_settings(dns_server.port), "45.67.89.11")
    assert answer.name == "www.toyota.co.jp" and answer.organization is None
    assert "does not resolve back" in str(answer.note)


@pytest.mark.parametrize(
    ("address", "kind", "clue"),
    [
        ("45.67.89.12", OrgKind.ISP, "NTT Communications (OCN), an access provider"),
        ("45.67.89.13", OrgKind.ISP, "ISP pool label ('dyn')"),
    ],
)
def test_isp_pool_names_are_access_providers_not_companies(dns_server, address, kind, clue) -> None:
    answer = ptr(dns_settings(dns_server.port), address)
    assert answer.organization is not None and answer.organization.kind is kind
    assert answer.organization.is_access_provider
    assert clue in str(answer.note)


def test_no_ptr_record_is_no_answer(dns_server) -> None:
    answer = ptr(dns_settings(dns_server.port), "45.67.89.99")
    assert (answer.name, answer.organization, str(answer.note)) == (None, None, "no PTR record")


@pytest.mark.parametrize("garbage", [False, True], ids=["silent server", "garbage answers"])
def test_a_dns_server_that_never_answers_or_answers_garbage_costs_one_timeout(garbage) -> None:
    server = LoopbackUdp(garbage=garbage)
    try:
        started = time.monotonic()
        answer = ptr(dns_settings(server.port, timeout=0.5), "45.67.89.10")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert answer.organization is None and "no answer within 0.5 s" in str(answer.note)
    assert server.queries >= 1
    assert elapsed < 5  # bounded by the timeout, not hung


# --- RDAP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network", "name", "kind"),
    [
        ("200.57.141.161", "200.57.141.161/32", "Triara.com, S.A. de C.V.", OrgKind.UNKNOWN),
        ("2801:10:c000::", "2801:10:c000::/128", "Universidad Catolica de Oriente", OrgKind.UNKNOWN),
        # a registrant on the access-provider list
        ("74.125.225.229", "74.125.0.0/16", "Google Inc.", OrgKind.HOSTING),
        # provider allocations: the holder hands the block out to its customers
        ("206.41.110.1", "206.41.110.0/24", "United-IX", OrgKind.ISP),
        ("210.107.73.73", "210.107.0.0/17", None, OrgKind.ISP),
        # APNIC delegates 133/8 to JPNIC, whose whois names the holder
        ("133.1.2.5", "133.1.0.0/16", "Osaka University", OrgKind.UNKNOWN),
        # a JPNIC delegation whose holder JPNIC's gateway does not know: the allocation stands
        ("2001:240:10c:1::ca20:9d1d", "2001:240::/32", None, OrgKind.ISP),
        # no registrant entity at all (RIPE answers naming only an abuse contact)
        ("62.239.237.1", "62.239.237.0/24", None, OrgKind.UNKNOWN),
    ],
)
def test_registrants_from_the_registries_recorded_answers(rdap_server, address, network, name, kind) -> None:
    registration = RdapClient(rdap_settings(rdap_server)).lookup(ipaddress.ip_address(address))
    assert (registration.network, registration.name, registration.kind) == (network, name, kind)
    assert registration.evidence.startswith(("RDAP network", "JPNIC whois"))


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("45.67.90.1", "HTTPLookupError"),  # an HTML page where JSON was expected (ipwhois: lookup failed)
        ("45.67.90.2", "HTTPLookupError"),  # JSON cut short
        ("45.67.90.3", "error code 404"),
    ],
)
def test_garbage_and_errors_from_the_registry_are_lookup_failures(rdap_server, address, error) -> None:
    with pytest.raises(RdapLookupFailed, match=error):
        RdapClient(rdap_settings(rdap_server)).lookup(ipaddress.ip_address(address))


def test_a_registry_slower_than_the_timeout_is_a_failure_within_the_timeout() -> None:
    server = LoopbackRdap({}, delay_seconds=3.0)
    try:
        started = time.monotonic()
        with pytest.raises(RdapLookupFailed, match="timed out|HTTPLookupError"):
            RdapClient(RdapSettings(enabled=True, url=server.rdap_url, timeout_seconds=0.5, retries=0)).lookup(
                ipaddress.ip_address("45.67.90.4")
            )
        assert time.monotonic() - started < 2.5
    finally:
        server.close()


def test_answers_are_cached_per_network_and_lookups_are_rate_limited(rdap_server) -> None:
    settings = ResolutionSettings(rdap=rdap_settings(rdap_server, requests_per_second=4.0))
    late = LateResolver(settings, RegistrationCache())
    before = len(rdap_server.requests)
    try:
        for address in ("206.41.110.1", "206.41.110.77", "200.57.141.161", "2801:10:c000::", "210.107.73.73"):
            late.submit(ipaddress.ip_address(address), address)
            if address == "206.41.110.1":
                assert late.wait_idle(10)  # the first answer covers 206.41.110.0/24
        assert late.wait_idle(10)
        answers = {a.address: a for a in late.finished()}
    finally:
        late.close()
    asked = [path for path in rdap_server.requests[before:] if path.startswith("/ip/")]
    assert sorted(asked) == sorted(
        f"/ip/{a}" for a in ("206.41.110.1", "200.57.141.161", "2801:10:c000::", "210.107.73.73")
    )
    assert "RDAP (cached)" in str(answers["206.41.110.77"].notes[-1])
    assert answers["206.41.110.77"].new_registration is None
    assert answers["200.57.141.161"].organization.name == "Triara.com, S.A. de C.V."
    # the last three were submitted together: at 4 per second they reach the registry 0.25 s apart
    times = rdap_server.request_times[before:][-3:]
    assert all(later - earlier >= 0.2 for earlier, later in zip(times, times[1:], strict=False)), times


# --- late resolution in replay ----------------------------------------------------------------

ACCOUNTS = """account_id,name,domains,owner_name,owner_email,last_deal_at,dormancy_reason
L1,サクラ精機株式会社,sakura-seiki.co.jp,Sato,sato@example.jp,2026-01-10,forgotten
L2,国立大学法人 大阪大学,osaka-u.ac.jp,Ito,ito@example.jp,2026-01-10,timing
L3,Osaka University,,Ito,ito@example.jp,2026-01-10,timing
L4,United-IX,,Kim,kim@example.com,2026-01-10,unknown
L5,Toyota Motor,toyota.co.jp,Ono,ono@example.jp,2026-01-10,unknown
"""


def log_line(address: str, minute: int, path: str) -> str:
    return (
        f'{address} - - [20/Nov/2026:10:{minute:02d}:00 +0900] "GET {path} HTTP/1.1" 200 5120 '
        f'"-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"\n'
    )


def write_inputs(tmp_path: Path, dns_port: int, rdap: LoopbackRdap) -> tuple[Path, Path, Path]:
    lines = []
    for minute in range(0, 6):
        for address in ("45.67.89.10", "133.1.2.5", "206.41.110.1", "45.67.89.11", "45.67.89.12"):
            lines.append(log_line(address, minute, "/pricing" if minute % 2 else "/products/press"))
    (tmp_path / "access.log").write_text("".join(lines), encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(
        f"""
[resolution]
late_wait_seconds = 20
[resolution.reverse_dns]
enabled = true
nameservers = ["127.0.0.1"]
port = {dns_port}
timeout_seconds = 1.0
[resolution.rdap]
enabled = true
acknowledge_terms = true
url = "{rdap.rdap_url}"
jpnic_url = "{rdap.jpnic_url}"
timeout_seconds = 2.0
retries = 0
requests_per_second = 50.0
""",
        encoding="utf-8",
    )
    return tmp_path / "access.log", tmp_path / "accounts.csv", tmp_path / "revisit.toml"


def test_replay_matches_visitors_that_only_dns_or_rdap_know(dns_server, rdap_server, tmp_path, capsys) -> None:
    log, accounts, config = write_inputs(tmp_path, dns_server.port, rdap_server)
    db_url = f"sqlite:///{tmp_path / 'revisit.sqlite'}"
    jsonl = tmp_path / "alerts.jsonl"
    assert (
        main(
            [
                "replay",
                str(log),
                "--accounts",
                str(accounts),
                "--config",
                str(config),
                "--db",
                db_url,
                "--alerts-jsonl",
                str(jsonl),
                "--workers",
                "1",
                "--locale",
                "en",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    # every line counted once: 30 lines, 6 per address; 12 matched (L1 by domain, the university by name)
    assert "lines 30  parsed 30  malformed 0  filtered 0" in out, out
    assert "matched 12" in out, out
    import json

    alerts = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    by_account = {a["account_id"]: a for a in alerts}
    # United-IX holds a provider allocation, the Toyota PTR is not forward-confirmed, OCN is an ISP
    assert set(by_account) == {"L1", "L3"}, by_account.keys()
    assert by_account["L1"]["match"]["method"] == "domain"
    assert by_account["L1"]["organization"]["source"] == "reverse_dns"
    assert by_account["L3"]["match"]["method"] == "name"
    assert by_account["L3"]["organization"]["source"] == "rdap+jpnic"
    assert by_account["L1"]["pages"][0] == "/products/press"  # the held first hit is in the visit
    engine = create_engine(db_url)
    with engine.connect() as connection:
        hits = connection.execute(text("SELECT count(*) FROM hits")).scalar()
        kept = dict(connection.execute(text("SELECT network, name FROM network_registrations")).all())
    engine.dispose()
    assert hits == 12
    assert kept["133.1.0.0/16"] == "Osaka University"
    assert kept["206.41.110.0/24"] == "United-IX"


def test_two_servers_logs_held_for_the_same_addresses_are_all_matched(
    dns_server, rdap_server, tmp_path, capsys
) -> None:
    """Replay reads both files at once (merged by event time), each holding lines of the same
    addresses: an answer taken in by one file's holder releases the other's lines too."""
    log, accounts, config = write_inputs(tmp_path, dns_server.port, rdap_server)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "web1.log").write_text("".join(lines[0::2]), encoding="utf-8")
    (tmp_path / "web2.log").write_text("".join(lines[1::2]), encoding="utf-8")
    jsonl = tmp_path / "alerts.jsonl"
    arguments = ["replay", str(tmp_path / "web1.log"), str(tmp_path / "web2.log"), "--accounts", str(accounts)]
    arguments += ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'r.sqlite'}", "--alerts-jsonl", str(jsonl)]
    assert main([*arguments, "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert "lines 30  parsed 30  malformed 0  filtered 0" in out and "matched 12" in out, out
    import json

    alerts = {a["account_id"]: a for a in map(json.loads, jsonl.read_text(encoding="utf-8").splitlines())}
    assert set(alerts) == {"L1", "L3"}
    assert alerts["L1"]["pages"][0] == "/products/press"


def test_rdap_answers_kept_in_the_database_serve_the_next_run(dns_server, rdap_server, tmp_path, capsys) -> None:
    log, accounts, config = write_inputs(tmp_path, dns_server.port, rdap_server)
    db_url = f"sqlite:///{tmp_path / 'revisit.sqlite'}"
    args = [
        "replay",
        str(log),
        "--accounts",
        str(accounts),
        "--config",
        str(config),
        "--db",
        db_url,
        "--alerts-jsonl",
        str(tmp_path / "alerts.jsonl"),
        "--workers",
        "1",
        "--locale",
        "en",
    ]
    assert main(args) == 0
    asked_first = [p for p in rdap_server.requests if p.startswith("/ip/133.1.2.5")]
    assert main(args) == 0
    asked_again = [p for p in rdap_server.requests if p.startswith("/ip/133.1.2.5")]
    assert len(asked_first) >= 1 and asked_again == asked_first  # the second run asked the database
    assert "matched 12" in capsys.readouterr().out


def test_explain_asks_reverse_dns_and_rdap_and_says_why(dns_server, rdap_server, tmp_path, capsys) -> None:
    _log, accounts, config = write_inputs(tmp_path, dns_server.port, rdap_server)
    common = ["--accounts", str(accounts), "--config", str(config)]
    assert main(["explain", "--locale", "en", "45.67.89.10", *common]) == 0
    out = capsys.readouterr().out
    assert "reverse DNS" in out and "forward-confirmed" in out
    assert "match: account L1 'サクラ精機株式会社' by domain" in out
    assert "  terms: Reverse DNS (PTR names): public DNS answers, no licence (RFC 1035); sales use allowed\n" in out
    assert main(["explain", "--locale", "en", "206.41.110.1", *common]) == 0
    out = capsys.readouterr().out
    assert "allocated to a provider" in out
    assert "terms: Regional Internet Registries' RDAP/WHOIS" in out and "sales use NOT allowed by its terms" in out
    assert (
        "L4" in out.split("accounts considered (the last column: how closely the name fits, 0-100):")[1]
    )  # the name fits, but ...
    assert "no match: traffic of an access provider" in out
    assert main(["explain", "--locale", "en", "45.67.89.11", *common]) == 0
    out = capsys.readouterr().out
    assert "does not resolve back to the address" in out and "no match" in out


@pytest.mark.kafka
def test_the_worker_matches_late_and_gives_the_alerts_replay_gives(
    bootstrap, dns_server, rdap_server, tmp_path, capsys
) -> None:
    """Held lines in the streaming worker: sent on when the answer comes, same alerts as replay."""
    from tests.test_cli import CONFIG as CLI_CONFIG
    from tests.test_worker import Setup

    log, accounts, config = write_inputs(tmp_path, dns_server.port, rdap_server)
    jsonl = tmp_path / "alerts.jsonl"
    assert (
        main(
            [
                "replay",
                str(log),
                "--accounts",
                str(accounts),
                "--config",
                str(config),
                "--db",
                f"sqlite:///{tmp_path / 'replay.sqlite'}",
                "--alerts-jsonl",
                str(jsonl),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    import json

    replayed = {json.loads(line)["alert_id"] for line in jsonl.read_text(encoding="utf-8").splitlines()}
    assert len(replayed) == 2
    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    setup = Setup(bootstrap, worker_dir)
    setup.accounts.write_text(accounts.read_text(encoding="utf-8"), encoding="utf-8")
    # the worker tests' config sets their own intent rules: these hits are scored by the defaults, as in replay
    kafka_part = setup.config.read_text(encoding="utf-8").replace(CLI_CONFIG, "")
    setup.config.write_text(kafka_part + config.read_text(encoding="utf-8"), encoding="utf-8")
    setup.ship(log)
    setup.start_worker()
    try:
        setup.assert_same_as_replay((replayed, 12))
    finally:
        setup.stop_all()


def test_an_rdap_answer_read_back_from_the_database_says_its_evidence_in_japanese(rdap_server, sqlite_url) -> None:
    """The registration's clues are stored with their phrases: the next run's explain says a
    cached answer in the reader's language, as it says a fresh one."""
    from revisit.enrichment.explain import words_in
    from revisit.storage.store import Store

    registration = RdapClient(rdap_settings(rdap_server)).lookup(ipaddress.ip_address("206.41.110.1"))
    store = Store(sqlite_url)
    try:
        assert store.save_network_registrations([registration]) == 1
        (loaded,) = store.load_network_registrations()
    finally:
        store.close()
    assert loaded.evidence == registration.evidence and loaded.evidence_said == registration.evidence_said
    assert words_in("ja").clues(loaded.evidence_said) == (
        "RDAP ネットワーク 206.41.110.0/24（DIRECT ALLOCATION）。事業者に割り振られ、その利用者に配られるブロックです。"
        "登録者「United-IX」"
    )
