"""Visitor addresses stored as configured (full, truncated, keyed hash), a retention job that deletes
old hits and keeps what names companies, and company-level output whatever the mode."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from revisit.cli import main
from revisit.core.config import PrivacySettings
from revisit.core.errors import BadInput
from revisit.privacy import AddressProtector, delete_expired, stored_address_in
from tests.conftest import APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS, CONFIG


def replay(tmp_path, db_url: str, privacy: str = "", monkeypatch=None) -> set[str]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG + privacy, encoding="utf-8")
    jsonl = tmp_path / f"alerts-{len(list(tmp_path.glob('alerts-*')))}.jsonl"
    assert (
        main(
            [
                "replay",
                str(APACHE_LOG),
                "--accounts",
                str(tmp_path / "accounts.csv"),
                "--config",
                str(tmp_path / "revisit.toml"),
                "--db",
                db_url,
                "--alerts-jsonl",
                str(jsonl),
                "--mmdb",
                mmdb("GeoIP2-ISP-Test"),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    return {json.loads(line)["alert_id"] for line in jsonl.read_text().splitlines()}


def stored(db_url: str, query: str) -> list:
    engine = create_engine(db_url)
    with engine.connect() as connection:
        rows = [row[0] for row in connection.execute(text(query))]
    engine.dispose()
    return rows


def test_truncated_storage_keeps_networks_only_and_the_same_alerts(tmp_path, db_url) -> None:
    (tmp_path / "full").mkdir()
    full = replay(tmp_path / "full", f"sqlite:///{tmp_path / 'full.sqlite'}")
    truncated = replay(tmp_path, db_url, '\n[privacy]\nip_storage = "truncated"\n')
    assert truncated == full  # resolution happens in memory, on the full address
    addresses = stored(db_url, "SELECT client_ip FROM hits") + stored(db_url, "SELECT ip FROM organizations")
    assert addresses
    for value in addresses:
        network = ipaddress.ip_network(value)  # a network, never a host address
        assert network.prefixlen == (24 if network.version == 4 else 48), value


def test_hashed_storage_needs_a_key_and_groups_equal_addresses(tmp_path, monkeypatch, sqlite_url) -> None:
    with pytest.raises(BadInput, match="needs a key of 16 bytes"):
        AddressProtector.from_settings(PrivacySettings(ip_storage="hashed"))
    monkeypatch.setenv("REVISIT_IP_HASH_KEY", "a-secret-key-of-some-length")
    replay(tmp_path, sqlite_url, '\n[privacy]\nip_storage = "hashed"\n')
    values = stored(sqlite_url, "SELECT client_ip FROM hits")
    assert values and all(v.startswith("h:") and len(v) == 34 for v in values)
    assert len(set(values)) < len(values)  # one visitor's hits share one value
    one = AddressProtector(PrivacySettings(ip_storage="hashed"), b"k" * 16)
    other = AddressProtector(PrivacySettings(ip_storage="hashed"), b"j" * 16)
    assert one.protect("203.0.113.9") == one.protect("203.0.113.9") != other.protect("203.0.113.9")


def test_cli_refuses_hashed_storage_without_a_key(tmp_path, sqlite_url, capsys, monkeypatch) -> None:
    monkeypatch.delenv("REVISIT_IP_HASH_KEY", raising=False)
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text('[privacy]\nip_storage = "hashed"\n', encoding="utf-8")
    assert (
        main(
            [
                "replay",
                str(APACHE_LOG),
                "--accounts",
                str(tmp_path / "accounts.csv"),
                "--config",
                str(tmp_path / "revisit.toml"),
                "--db",
                sqlite_url,
            ]
        )
        == 2
    )
    assert "REVISIT_IP_HASH_KEY" in capsys.readouterr().err
    assert not (tmp_path / "revisit.sqlite").exists() or stored(sqlite_url, "SELECT count(*) FROM hits") == [0]


def test_retention_deletes_old_hits_and_keeps_alerts_visits_and_outcomes(tmp_path, db_url, capsys) -> None:
    alerts = replay(tmp_path, db_url)
    alert_id = sorted(alerts)[0]
    assert main(["alerts", "outcome", alert_id, "--result", "meeting", "--db", db_url]) == 0
    hits = stored(db_url, "SELECT count(*) FROM hits")[0]
    assert main(["retention", "--dry-run", "--db", db_url]) == 0  # the 2015 log is older than 180 days
    said = capsys.readouterr().out.splitlines(keepends=True)[-1]
    # the cutoff as every command shows a time to people: business hours' zone by its short name
    assert re.fullmatch(
        rf"would delete {hits:,} hits and \d+ cached resolutions from before "
        r"\d{4}-\d\d-\d\d \d\d:\d\d JST; alerts, visits and outcomes are kept\n",
        said,
    ), said
    assert stored(db_url, "SELECT count(*) FROM hits") == [hits]
    assert main(["retention", "--days", "180", "--db", db_url]) == 0
    assert f"deleted {hits:,} hits" in capsys.readouterr().out
    assert stored(db_url, "SELECT count(*) FROM hits") == [0]
    resolutions = stored(db_url, "SELECT count(*) FROM organizations")[0]
    assert resolutions > 0  # resolved today: a cached resolution ages from when it was made
    engine = create_engine(db_url)
    later = delete_expired(engine, 180, now=datetime.now(UTC) + timedelta(days=181))
    engine.dispose()
    assert (later.hits, later.resolutions) == (0, resolutions)
    assert stored(db_url, "SELECT count(*) FROM organizations") == [0]
    assert set(stored(db_url, "SELECT alert_id FROM alerts")) == alerts
    assert stored(db_url, "SELECT count(*) FROM outcomes") == [1]
    assert stored(db_url, "SELECT count(*) FROM sessions")[0] > 0
    assert main(["retention", "--days", "0", "--db", db_url]) == 2


def test_alerts_name_companies_not_visitors(tmp_path, sqlite_url) -> None:
    """The alert record and the messages built from it carry no visitor address."""
    replay(tmp_path, sqlite_url, '\n[privacy]\nip_storage = "truncated"\n')
    for payload in stored(sqlite_url, "SELECT payload FROM alerts"):
        text_of = payload if isinstance(payload, str) else json.dumps(payload)
        for client in stored(sqlite_url, "SELECT DISTINCT client_ip FROM hits"):
            host = str(ipaddress.ip_network(client).network_address)[:-1]  # "1.2.3." of "1.2.3.0"
            assert f'"{host}' not in text_of or "/" in text_of  # no host address, at most a network


@pytest.mark.parametrize(
    "stored_value, expected",
    [
        ("108.171.116.194", "108.171.116.0/24"),
        ("108.171.116.0/24", "108.171.116.0/24"),
        ("h:0123456789abcdef0123456789abcdef", ""),
        ("2001:db8:1::/48", ""),
        ("10.0.0.1", ""),
    ],
)
def test_stored_addresses_are_placed_in_account_networks(stored_value: str, expected: str) -> None:
    networks = [ipaddress.ip_network("108.171.116.0/24"), ipaddress.ip_network("2001:db8:2::/48")]
    assert stored_address_in(stored_value, networks) == expected


def test_rdap_answers_are_kept_per_network_never_per_address_and_leave_when_expired(sqlite_url) -> None:
    from revisit.core.organization import OrgKind
    from revisit.enrichment.rdap import NetworkRegistration
    from revisit.storage.store import Store

    now = datetime.now(UTC)
    store = Store(sqlite_url)
    try:
        kept = store.save_network_registrations(
            [
                NetworkRegistration(
                    "133.1.0.0/16",
                    "Osaka University",
                    OrgKind.UNKNOWN,
                    "rdap+jpnic",
                    "JPNIC whois",
                    now + timedelta(days=30),
                ),
                NetworkRegistration(
                    "200.57.141.161/32", "Triara.com", OrgKind.UNKNOWN, "rdap", "one address", now + timedelta(days=30)
                ),
                NetworkRegistration(
                    "2001:db8:5::/48", None, OrgKind.UNKNOWN, "rdap", "failed", now - timedelta(hours=1)
                ),
            ]
        )
        assert kept == 2  # a /32 may be one visitor's address: memory only
        assert [r.network for r in store.load_network_registrations()] == ["133.1.0.0/16"]  # expired: not loaded
    finally:
        store.close()
    engine = create_engine(sqlite_url)
    delete_expired(engine, 180)
    engine.dispose()
    assert stored(sqlite_url, "SELECT network FROM network_registrations") == ["133.1.0.0/16"]
