"""Resolution through MaxMind's official test databases: type detection, merging, the ISP problem."""

from __future__ import annotations

import gc
import ipaddress
import os
import threading
import time
from pathlib import Path

import pytest

from revisit.core.config import Settings
from revisit.core.errors import BadInput
from revisit.core.organization import OrgKind
from revisit.enrichment.accounts import parse_accounts
from revisit.enrichment.classify import HitClassifier, MatchedHit, Unmatched
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver, open_database
from revisit.enrichment.resolve import AccountNetworkResolver, ResolverChain
from tests.conftest import mmdb


@pytest.mark.parametrize(
    "name, method",
    [
        ("GeoIP2-ISP-Test", "isp"),
        ("GeoIP2-Enterprise-Test", "enterprise"),
        ("GeoIP2-Precision-Enterprise-Test", "enterprise"),
        ("GeoLite2-ASN-Test", "asn"),
        ("GeoIP2-Domain-Test", "domain"),
        ("GeoIP2-Connection-Type-Test", "connection_type"),
        ("GeoIP2-Anonymous-IP-Test", "anonymous_ip"),
    ],
)
def test_database_type_is_detected_from_metadata(name: str, method: str) -> None:
    database = open_database(mmdb(name))
    assert database.method == method
    database.reader.close()


def test_unreadable_and_unsupported_databases_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="Invalid-Node-Count.mmdb: not a readable MaxMind database"):
        open_database(mmdb("GeoIP2-City-Test-Invalid-Node-Count"))
    with pytest.raises(BadInput, match="says nothing about organisations"):
        open_database(mmdb("GeoIP2-DensityIncome-Test"))
    fake = tmp_path / "fake.mmdb"
    fake.write_text("not a database")
    with pytest.raises(BadInput, match="fake.mmdb: not a readable MaxMind database"):
        open_database(fake)
    with pytest.raises(BadInput, match="missing.mmdb: MaxMind database not found"):
        open_database(tmp_path / "missing.mmdb")


@pytest.fixture(scope="module")
def maxmind() -> MaxMindResolver:
    resolver = MaxMindResolver.from_paths(
        [
            mmdb(n)
            for n in (
                "GeoIP2-ISP-Test",
                "GeoLite2-ASN-Test",
                "GeoIP2-Domain-Test",
                "GeoIP2-Connection-Type-Test",
                "GeoIP2-Anonymous-IP-Test",
            )
        ]
    )
    yield resolver
    resolver.close()


def resolve(resolver: MaxMindResolver, ip: str):
    return resolver.resolve(ipaddress.ip_address(ip))


def test_addresses_of_one_network_get_the_answer_merged_once(maxmind: MaxMindResolver) -> None:
    """The merged answer is remembered per network of every database: the second address of
    a network gets the very same Organization, not one built again from geoip2's answers."""
    first, second = resolve(maxmind, "1.0.128.1"), resolve(maxmind, "1.0.128.200")
    assert first is second and first.name == "TOT Public Company Limited"
    other = resolve(maxmind, "1.128.0.1")  # another network of the test databases
    assert other is not None and other is not first and other.name != first.name
    assert resolve(maxmind, "198.51.100.7") is None  # in no database
    assert resolve(maxmind, "2001:db8::1") is None


def test_customer_organisation_behind_an_isp_is_a_business(maxmind: MaxMindResolver) -> None:
    org = resolve(maxmind, "64.17.254.217")
    assert (org.name, org.kind, org.access_provider, org.network) == (
        "Karlin Peebles LLP",
        OrgKind.BUSINESS,
        "Towerstream I",
        "64.17.254.216/29",
    )
    hm = resolve(maxmind, "193.183.144.1")
    assert hm.name == "H & M Hennes & Mauritz AB" and hm.kind is OrgKind.BUSINESS


def test_isp_itself_is_an_access_provider(maxmind: MaxMindResolver) -> None:
    org = resolve(maxmind, "50.139.66.106")
    assert org.name == "Comcast Cable" and org.kind is OrgKind.ISP and org.is_access_provider


def test_cellular_connection_is_mobile(maxmind: MaxMindResolver) -> None:
    org = resolve(maxmind, "1.0.1.1")  # Connection-Type: Cellular
    assert org is not None and org.kind is OrgKind.MOBILE


def test_anonymous_vpn_is_flagged(maxmind: MaxMindResolver) -> None:
    org = resolve(maxmind, "1.2.0.1")  # Anonymous-IP test data: an anonymous VPN range
    assert org.kind is OrgKind.VPN and "is_anonymous_vpn" in org.evidence


def test_only_an_autonomous_system_is_named() -> None:
    resolver = MaxMindResolver.from_paths([mmdb("GeoLite2-ASN-Test")])
    try:
        org = resolve(resolver, "18.0.0.1")
        assert org.name == "Massachusetts Institute of Technology" and org.asn == 3 and org.confidence == 0.6
        assert org.kind is OrgKind.UNKNOWN  # may still be matched by name: a company's own AS
    finally:
        resolver.close()


@pytest.mark.parametrize(
    ("ip", "kind", "evidence"),
    [
        # the operator named as the organisation: an ISP by its words or by the access-provider list ...
        (
            "1.128.0.1",
            OrgKind.ISP,
            "organisation is the ISP itself (the name has the word 'internet'); AS1221 is Telstra",
        ),
        ("68.67.80.1", OrgKind.ISP, "organisation is the ISP itself (the name has the word 'broadband')"),
        ("81.128.1.1", OrgKind.ISP, "organisation is the ISP itself; AS2856 is British Telecommunications"),
        # ... or a company running its own network, whose employees are the visitors
        (
            "18.0.0.1",
            OrgKind.BUSINESS,
            "'Massachusetts Institute of Technology' operates its own network (not an access provider by list or name)",
        ),
        ("53.1.1.1", OrgKind.BUSINESS, "'Daimler' operates its own network (not an access provider by list or name)"),
    ],
)
def test_an_organisation_named_as_its_own_isp_is_an_isp_or_a_company_on_its_own_network(
    maxmind: MaxMindResolver, ip: str, kind: OrgKind, evidence: str
) -> None:
    org = resolve(maxmind, ip)
    assert (org.kind, org.evidence) == (kind, evidence)


def test_documentation_and_private_ranges_resolve_to_nothing(maxmind: MaxMindResolver) -> None:
    for ip in ("203.0.113.5", "2001:db8::1", "10.0.0.1"):
        assert resolve(maxmind, ip) is None


def test_enterprise_user_type_decides_the_kind() -> None:
    resolver = MaxMindResolver.from_paths([mmdb("GeoIP2-Enterprise-Test")])
    try:
        government = resolve(resolver, "216.160.83.57")
        assert government.name == "Lariat Software" and government.kind is OrgKind.GOVERNMENT
        office = resolve(resolver, "81.2.69.161")
        assert office.name == "STONEHOUSE office network" and office.kind is OrgKind.GOVERNMENT
        assert office.domain is None  # the database says "in-addr.arpa": a reverse zone, not a company
        assert office.access_provider == "Andrews & Arnold Ltd"
        residential = resolve(resolver, "74.209.24.1")
        assert residential.kind is OrgKind.ISP and residential.evidence == "user type residential"
    finally:
        resolver.close()


def test_chain_prefers_the_account_list_and_explains_every_answer(maxmind: MaxMindResolver) -> None:
    index = AccountIndex(parse_accounts("account_id,name,networks\nK1,Karlin Peebles,64.17.254.216/29\n"))
    chain = ResolverChain([AccountNetworkResolver(index), maxmind])
    address = ipaddress.ip_address("64.17.254.217")
    chosen = chain.resolve_organization(address)
    assert chosen.source == "account_networks" and chosen.confidence == 1.0
    answers = chain.answers(address)
    assert [a.resolver for a in answers] == ["account_networks", "maxmind"]
    assert answers[1].organization.name == "Karlin Peebles LLP"


def test_addresses_of_one_network_share_one_remembered_outcome(maxmind: MaxMindResolver) -> None:
    """The classifier remembers an outcome per address; equal outcomes are one object, so its
    caches grow by a key and a reference per address, nothing the garbage collector must walk."""
    accounts = parse_accounts("account_id,name,networks\nK1,Kaisha K.K.,45.20.0.0/16\n")
    index = AccountIndex(accounts)
    classifier = HitClassifier(Settings(), index, ResolverChain([AccountNetworkResolver(index), maxmind]))
    line = '{} - - [24/Nov/2026:10:00:00 +0000] "GET /pricing HTTP/1.1" 200 512 "-" "Mozilla/5.0"'
    account_addresses = [f"45.20.{n // 250}.{n % 250 + 1}" for n in range(3_000)]
    isp_addresses = [f"1.0.128.{n}" for n in range(1, 200)]  # one ISP's network in the test database
    first = list(classifier.classify_lines([line.format(a) for a in account_addresses[:2] + isp_addresses[:2]]))
    assert [type(o) for o in first] == [MatchedHit, MatchedHit, Unmatched, Unmatched]
    assert first[0].match is first[1].match and first[0].organization is first[1].organization
    assert first[0].match.account.account_id == "K1" and first[2] is first[3]
    assert first[2].organization.name == "TOT Public Company Limited"

    gc.collect()
    tracked_before = len(gc.get_objects())
    outcomes = list(classifier.classify_lines([line.format(a) for a in account_addresses + isp_addresses]))
    del outcomes
    gc.collect()
    # 3,199 new addresses; unshared, each would add an Organization, an AccountMatch and their pair
    # (over 9,000 objects); what remains is the standard library's own bounded caches (ipaddress'
    # lru_cache of 128 addresses per property)
    assert len(gc.get_objects()) - tracked_before < 1_000
    assert classifier.address_misses == 3_199  # each distinct address looked up once, none skipped


# --- hot reload: databases replaced on disk as geoipupdate does (new file renamed into place) -----


def _replace_atomically(source: str, target: Path) -> None:
    staging = target.with_suffix(".tmp")
    staging.write_bytes(Path(source).read_bytes())
    os.replace(staging, target)


def test_a_replaced_database_is_picked_up_without_a_restart_or_a_failed_lookup(tmp_path: Path) -> None:
    path = tmp_path / "organisations.mmdb"
    _replace_atomically(mmdb("GeoIP2-ISP-Test"), path)
    resolver = MaxMindResolver.from_paths([path], reload_seconds=0.001)
    office, telstra = ipaddress.ip_address("81.2.69.160"), ipaddress.ip_address("1.128.0.0")
    assert resolver.resolve(office).name == "STONEHOUSE office network"
    failures: list[BaseException] = []
    answers: set[str | None] = set()
    stop = threading.Event()

    def look_up_without_pause() -> None:
        while not stop.is_set():
            try:
                found = resolver.resolve(office)
                answers.add(found.name if found else None)
                resolver.resolve(telstra)
            except BaseException as error:
                failures.append(error)
            time.sleep(0.0002)  # let the swapping thread have the interpreter too (GIL convoy)

    reader = threading.Thread(target=look_up_without_pause)
    reader.start()
    try:
        for swap in range(20):
            _replace_atomically(mmdb("GeoLite2-ASN-Test" if swap % 2 == 0 else "GeoIP2-ISP-Test"), path)
            time.sleep(0.02)
    finally:
        stop.set()
        reader.join()
    assert failures == []
    assert resolver.reloads >= 2
    assert answers == {"STONEHOUSE office network", None}  # the ASN database does not know that office
    resolver.reload_changed()  # the last file (ISP) is what answers now
    assert resolver.resolve(office).name == "STONEHOUSE office network"
    resolver.close()


def test_a_replacement_that_is_not_a_database_keeps_the_loaded_one(tmp_path: Path, caplog) -> None:
    path = tmp_path / "organisations.mmdb"
    _replace_atomically(mmdb("GeoIP2-ISP-Test"), path)
    resolver = MaxMindResolver.from_paths([path], reload_seconds=0.001)
    staging = tmp_path / "broken.tmp"
    staging.write_bytes(b"not a maxmind database" * 100)
    os.replace(staging, path)
    assert resolver.reload_changed() == []
    assert resolver.resolve(ipaddress.ip_address("81.2.69.160")).name == "STONEHOUSE office network"
    assert "not readable, keeping the loaded one" in caplog.text
    resolver.close()
