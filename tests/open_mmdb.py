"""Small databases in the open products' record schemas, written with mmdb-writer (the schemas and
where they are documented: tests/data/open-mmdb/SOURCES.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def write_mmdb(path: Path, database_type: str, records: Mapping[str, Mapping[str, Any]]) -> str:
    """One IPv6 tree with IPv4 mapped in (as the products ship theirs), one record per network."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type, description="revisit test")
    for network, record in records.items():
        writer.insert_network(IPSet([network]), dict(record))
    writer.to_db_file(str(path))
    return str(path)


# IPinfo Lite: asn ("AS" + number, a string), as_name, as_domain, country_code, country, continent...
def ipinfo_lite(path: Path, database_type: str = "ipinfo lite.mmdb") -> str:
    def record(asn: str, name: str, domain: str, code: str, country: str, continent: str) -> dict[str, str]:
        return {
            "asn": asn,
            "as_name": name,
            "as_domain": domain,
            "country_code": code,
            "country": country,
            "continent_code": continent[:2].upper(),
            "continent": continent,
        }

    return write_mmdb(
        path,
        database_type,
        {
            "160.251.10.0/24": record(
                "AS64500", "Sakura Seiki Co., Ltd.", "sakura-seiki.example", "JP", "Japan", "Asia"
            ),
            "153.128.0.0/12": record("AS4713", "NTT Communications Corporation", "ntt.com", "JP", "Japan", "Asia"),
            "18.176.0.0/15": record("AS16509", "Amazon.com, Inc.", "amazon.com", "JP", "Japan", "Asia"),
            "61.112.0.0/16": record("AS64501", "Kamome Broadband", "kamome-bb.example", "JP", "Japan", "Asia"),
            "2400:4050:100::/48": record("AS64502", "Minato Logistics", "minato-logi.example", "JP", "Japan", "Asia"),
        },
    )


# DB-IP Lite ASN: GeoLite2-ASN-compatible fields.
def dbip_asn_lite(path: Path, database_type: str = "DBIP-ASN-Lite (compat=GeoLite2-ASN)") -> str:
    return write_mmdb(
        path,
        database_type,
        {
            "64.225.10.0/24": {
                "autonomous_system_number": 64510,
                "autonomous_system_organization": "Northwind Traders",
            },
            "126.0.0.0/8": {"autonomous_system_number": 17676, "autonomous_system_organization": "SoftBank Corp."},
        },
    )


# iptoasn: the TSV's columns (range_start, range_end, AS_number, country_code, AS_description) under
# the names of its JSON answers: as_number, as_country_code, as_description ("HANDLE - Name").
def iptoasn(path: Path, database_type: str = "iptoasn") -> str:
    return write_mmdb(
        path,
        database_type,
        {
            "91.198.10.0/24": {
                "as_number": 64520,
                "as_country_code": "JP",
                "as_description": "BLUEHARBOR - Blue Harbor Analytics GmbH",
            },
            "91.198.11.0/24": {"as_number": 64521, "as_country_code": "US", "as_description": "Not routed"},
            "106.128.0.0/24": {"as_number": 2516, "as_country_code": "JP", "as_description": "KDDI - KDDI CORPORATION"},
        },
    )


# GeoLite2-City: no organisation, a country.
def geolite2_city(path: Path) -> str:
    return write_mmdb(
        path,
        "GeoLite2-City",
        {"160.251.10.0/24": {"country": {"iso_code": "JP", "names": {"en": "Japan", "ja": "日本"}}}},
    )
