"""Organization from MaxMind databases (ISP, Enterprise, ASN, Domain, Connection-Type, Anonymous-IP).

Any number of ``.mmdb`` files may be given; each one's type is read from its own metadata, and the
answers of all of them for one address are merged into one Organization. The merge is where the
ISP problem is decided: an organisation name equal to the ISP's, a cellular connection, a hosting
or VPN flag all mark the visit as an access provider's, which is never matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import geoip2.database
import geoip2.errors
import maxminddb

from enrichment.organization import Organization, OrgKind
from revisit.errors import BadInput
from stream.fields import IPAddress

# MaxMind database_type (substring) → the reader method that answers it.
_LOOKUPS: tuple[tuple[str, str], ...] = (
    ("Enterprise", "enterprise"),
    ("ISP", "isp"),
    ("ASN", "asn"),
    ("Domain", "domain"),
    ("Connection-Type", "connection_type"),
    ("Anonymous-IP", "anonymous_ip"),
    ("Anonymous-Plus", "anonymous_plus"),
)

# Enterprise `user_type` → kind. Unlisted values (business, unknown) leave the kind to other clues.
_USER_TYPE_KINDS = {
    "cellular": OrgKind.MOBILE,
    "residential": OrgKind.ISP,
    "dialup": OrgKind.ISP,
    "traveler": OrgKind.ISP,
    "cafe": OrgKind.ISP,
    "hosting": OrgKind.HOSTING,
    "content_delivery_network": OrgKind.HOSTING,
    "search_engine_spider": OrgKind.HOSTING,
    "consumer_privacy_network": OrgKind.VPN,
    "college": OrgKind.EDUCATION,
    "school": OrgKind.EDUCATION,
    "library": OrgKind.EDUCATION,
    "government": OrgKind.GOVERNMENT,
    "military": OrgKind.GOVERNMENT,
    "business": OrgKind.BUSINESS,
}
_CONNECTION_KINDS = {"Cellular": OrgKind.MOBILE, "Cable/DSL": OrgKind.ISP, "Satellite": OrgKind.ISP,
                     "Dialup": OrgKind.ISP}
_ANONYMOUS_FLAGS = ("is_anonymous_vpn", "is_public_proxy", "is_tor_exit_node", "is_residential_proxy",
                    "is_anonymous_proxy")


@dataclass(frozen=True)
class MaxMindDatabase:
    path: str
    database_type: str
    method: str
    reader: geoip2.database.Reader = field(repr=False, compare=False)


def open_database(path: str | Path) -> MaxMindDatabase:
    """Open one .mmdb and detect its type; BadInput (exit 2) for a missing, unreadable or
    unsupported file, naming it."""
    try:
        reader = geoip2.database.Reader(str(path))
    except FileNotFoundError:
        raise BadInput(f"{path}: MaxMind database not found") from None
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
        raise BadInput(f"{path}: not a readable MaxMind database ({error})") from None
    database_type = reader.metadata().database_type
    for marker, method in _LOOKUPS:
        if marker in database_type:
            return MaxMindDatabase(str(path), database_type, method, reader)
    reader.close()
    raise BadInput(f"{path}: database type {database_type!r} says nothing about organisations; "
                   "use ISP, Enterprise, ASN, Domain, Connection-Type or Anonymous-IP databases")


class MaxMindResolver:
    name = "maxmind"

    def __init__(self, databases: Sequence[MaxMindDatabase]) -> None:
        self.databases = tuple(databases)
        self._lookups: list[tuple[str, Callable[[str], Any]]] = [
            (db.method, getattr(db.reader, db.method)) for db in self.databases
        ]

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path]) -> MaxMindResolver:
        return cls([open_database(path) for path in paths])

    def close(self) -> None:
        for database in self.databases:
            database.reader.close()

    def resolve(self, address: IPAddress) -> Organization | None:
        answers: dict[str, Any] = {}
        for method, lookup in self._lookups:
            try:
                answers.setdefault(method, lookup(str(address)))
            except (geoip2.errors.AddressNotFoundError, ValueError):
                continue
        if not answers:
            return None
        return merge_answers(answers)


def merge_answers(answers: dict[str, Any]) -> Organization | None:
    """One Organization from the answers of several database types for one address."""
    enterprise = answers.get("enterprise")
    traits = enterprise.traits if enterprise is not None else None
    isp_answer = answers.get("isp")
    asn_answer = answers.get("asn")

    def first(*values: Any) -> Any:
        return next((v for v in values if v), None)

    organization = first(traits and traits.organization, isp_answer and isp_answer.organization)
    isp_name = first(traits and traits.isp, isp_answer and isp_answer.isp)
    asn = first(traits and traits.autonomous_system_number,
                isp_answer and isp_answer.autonomous_system_number,
                asn_answer and asn_answer.autonomous_system_number)
    asn_org = first(traits and traits.autonomous_system_organization,
                    isp_answer and isp_answer.autonomous_system_organization,
                    asn_answer and asn_answer.autonomous_system_organization)
    domain_answer = answers.get("domain")
    domain = first(traits and traits.domain, domain_answer and domain_answer.domain)
    if domain is not None and domain.lower().endswith(".arpa"):
        domain = None  # a reverse-DNS zone says nothing about who the visitor is
    connection_answer = answers.get("connection_type")
    connection = first(traits and traits.connection_type,
                       connection_answer and connection_answer.connection_type)
    user_type = traits.user_type if traits is not None else None
    network = next((str(a.network) for a in (traits, isp_answer, asn_answer, domain_answer)
                    if a is not None and getattr(a, "network", None) is not None), None)

    clues: list[str] = []
    kind = OrgKind.UNKNOWN
    anonymous = [flag for flag in _ANONYMOUS_FLAGS
                 for source in (traits, answers.get("anonymous_ip"), answers.get("anonymous_plus"))
                 if source is not None and getattr(source, flag, False)]
    hosting = any(getattr(source, "is_hosting_provider", False)
                  for source in (traits, answers.get("anonymous_ip"), answers.get("anonymous_plus"))
                  if source is not None)
    if anonymous:
        kind = OrgKind.VPN
        clues.append("anonymous network (" + ", ".join(sorted(set(anonymous))) + ")")
    elif hosting:
        kind = OrgKind.HOSTING
        clues.append("hosting provider")
    elif user_type in _USER_TYPE_KINDS:
        kind = _USER_TYPE_KINDS[user_type]
        clues.append(f"user type {user_type}")
    elif connection in _CONNECTION_KINDS and (not organization or organization == isp_name):
        kind = _CONNECTION_KINDS[connection]
        clues.append(f"connection type {connection}")
    elif organization and isp_name and organization == isp_name:
        kind = OrgKind.ISP
        clues.append("organisation is the ISP itself")
    elif organization:
        kind = OrgKind.BUSINESS if connection in (None, "Corporate") else OrgKind.UNKNOWN
        clues.append(f"organisation {organization!r} behind ISP {isp_name!r}" if isp_name
                     else f"organisation {organization!r}")
    elif isp_name:
        kind = OrgKind.ISP
        clues.append("only an ISP is named")
    if connection == "Cellular" and kind not in (OrgKind.VPN, OrgKind.HOSTING):
        kind = OrgKind.MOBILE

    name = organization or isp_name or asn_org
    if name is None and domain is None and kind is OrgKind.UNKNOWN:
        return None
    if organization:
        confidence = 0.8
    elif asn_org:
        confidence = 0.6
        clues.append(f"named only by its autonomous system AS{asn} {asn_org!r}")
    else:
        confidence = 0.5
    return Organization(
        name=name, kind=kind, source="maxmind", confidence=confidence, domain=domain, asn=asn,
        network=network, access_provider=isp_name if isp_name != name else None,
        evidence="; ".join(clues),
    )
