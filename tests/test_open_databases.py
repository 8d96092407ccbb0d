"""Open databases in the MaxMind file format (IPinfo Lite, DB-IP Lite ASN, iptoasn, GeoLite2-ASN
and City), recognised by metadata or record shape and used like MaxMind's: the AS organisation and
domain name the visitor, the access-provider list tells ISPs and clouds apart. The files are
written with mmdb-writer in each product's documented schema (tests/data/open-mmdb/SOURCES.md)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from revisit.core.config import Settings
from revisit.core.errors import BadInput
from revisit.core.match import AccountMatch
from revisit.core.organization import Organization, OrgKind
from revisit.enrichment.accounts import parse_accounts
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver, open_database
from tests import open_mmdb
from tests.conftest import mmdb
from tests.open_mmdb import write_mmdb


def resolve(resolver: MaxMindResolver, address: str) -> Organization | None:
    return resolver.resolve(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "build, database_type, method, family",
    [
        (open_mmdb.ipinfo_lite, "ipinfo lite.mmdb", "record:ipinfo", "ipinfo_lite"),
        (open_mmdb.ipinfo_lite, "Custom", "record:ipinfo", "ipinfo_lite"),  # by record shape alone
        (open_mmdb.dbip_asn_lite, "DBIP-ASN-Lite (compat=GeoLite2-ASN)", "record:asn", "dbip_lite"),
        (open_mmdb.dbip_asn_lite, "Custom", "record:asn", "mmdb"),  # an AS file of unknown origin
        (open_mmdb.iptoasn, "iptoasn", "record:iptoasn", "iptoasn"),
        (open_mmdb.iptoasn, "Custom", "record:iptoasn", "iptoasn"),
    ],
)
def test_open_databases_are_recognised_by_metadata_or_record_shape(
    tmp_path: Path, build, database_type: str, method: str, family: str
) -> None:
    database = open_database(build(tmp_path / "open.mmdb", database_type))
    assert (database.method, database.family) == (method, family)
    database.reader.close()


def test_maxmind_products_keep_their_readers_and_a_city_database_is_accepted(tmp_path: Path) -> None:
    opened = [open_database(mmdb("GeoLite2-ASN-Test")), open_database(mmdb("GeoIP2-ISP-Test"))]
    assert [(d.method, d.family) for d in opened] == [("asn", "geolite2"), ("isp", "maxmind")]
    city = open_database(open_mmdb.geolite2_city(tmp_path / "city.mmdb"))
    assert (city.method, city.family) == ("city", "geolite2")
    with pytest.raises(BadInput, match="says nothing about organisations"):
        open_database(write_mmdb(tmp_path / "other.mmdb", "Custom", {"160.251.10.0/24": {"score": 3}}))


def test_ipinfo_lite_names_the_organisation_by_its_as_name_and_domain(tmp_path: Path) -> None:
    resolver = MaxMindResolver.from_paths([open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")])
    try:
        assert resolve(resolver, "160.251.10.9") == Organization(
            name="Sakura Seiki Co., Ltd.",
            kind=OrgKind.UNKNOWN,
            source="ipinfo_lite",
            confidence=0.6,
            domain="sakura-seiki.example",
            asn=64500,
            network="160.251.10.0/24",
            evidence="country JP; named only by its autonomous system AS64500 'Sakura Seiki Co., Ltd.'",
        )
        ntt = resolve(resolver, "153.130.1.1")
        assert ntt is not None and (ntt.kind, ntt.source) == (OrgKind.ISP, "ipinfo_lite")
        assert ntt.evidence.startswith("AS4713 is NTT Communications (OCN), on the access-provider list (isp)")
        amazon = resolve(resolver, "18.177.0.1")
        assert amazon is not None and amazon.kind is OrgKind.HOSTING
        broadband = resolve(resolver, "61.112.3.4")  # not on the list: the word "broadband" tells
        assert broadband is not None and broadband.kind is OrgKind.ISP
        assert "the autonomous system's operator is a network operator (the name has the word 'broadband')" in (
            broadband.evidence
        )
        v6 = resolve(resolver, "2400:4050:100::7")
        assert v6 is not None and (v6.name, v6.network) == ("Minato Logistics", "2400:4050:100::/48")
        assert resolve(resolver, "8.8.8.8") is None
    finally:
        resolver.close()


def test_dbip_iptoasn_and_geolite2_answers_with_their_own_source(tmp_path: Path) -> None:
    resolver = MaxMindResolver.from_paths(
        [
            open_mmdb.dbip_asn_lite(tmp_path / "dbip.mmdb"),
            open_mmdb.iptoasn(tmp_path / "iptoasn.mmdb"),
            mmdb("GeoLite2-ASN-Test"),
        ]
    )
    try:
        northwind = resolve(resolver, "64.225.10.20")
        assert northwind is not None and (northwind.name, northwind.source, northwind.asn) == (
            "Northwind Traders",
            "dbip_lite",
            64510,
        )
        softbank = resolve(resolver, "126.1.2.3")  # AS17676 is on the access-provider list
        assert softbank is not None and (softbank.kind, softbank.source) == (OrgKind.ISP, "dbip_lite")
        harbor = resolve(resolver, "91.198.10.1")  # the "HANDLE - " of iptoasn's description is dropped
        assert harbor is not None and (harbor.name, harbor.source) == ("Blue Harbor Analytics GmbH", "iptoasn")
        assert resolve(resolver, "91.198.11.1") is None  # "Not routed" names no one
        kddi = resolve(resolver, "106.128.0.9")
        assert kddi is not None and (kddi.name, kddi.kind) == ("KDDI CORPORATION", OrgKind.ISP)
        telstra = resolve(resolver, "1.128.0.1")  # MaxMind's own GeoLite2-ASN test data
        assert telstra is not None and (telstra.name, telstra.source) == ("Telstra Pty Ltd", "geolite2")
        assert [t.key for t in resolver.terms] == ["dbip_lite", "iptoasn", "geolite2"]
    finally:
        resolver.close()


def test_an_open_database_answer_matches_the_account_and_an_isp_never_does(tmp_path: Path) -> None:
    accounts = parse_accounts(
        "account_id,name,aliases,domains\n"
        "C-1001,株式会社さくら精機,Sakura Seiki Co. Ltd.,\n"
        "C-1009,NTT Communications,,\n"
        "C-1002,ミナト物流㈱,,minato-logi.example\n"
    )
    index = AccountIndex(accounts, Settings().matching)
    resolver = MaxMindResolver.from_paths([open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb")])
    try:
        sakura = index.match(ipaddress.ip_address("160.251.10.9"), resolve(resolver, "160.251.10.9"))
        assert isinstance(sakura, AccountMatch) and sakura.account.account_id == "C-1001"
        minato = index.match(ipaddress.ip_address("2400:4050:100::7"), resolve(resolver, "2400:4050:100::7"))
        assert isinstance(minato, AccountMatch) and minato.account.account_id == "C-1002"
        ntt = index.match(ipaddress.ip_address("153.130.1.1"), resolve(resolver, "153.130.1.1"))
        assert not isinstance(ntt, AccountMatch)
    finally:
        resolver.close()
