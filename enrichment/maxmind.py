"""Organization from MaxMind-format databases: MaxMind's own (ISP, Enterprise, ASN, Domain,
Connection-Type, Anonymous-IP, City), and the open ones in the same file format: IPinfo Lite,
DB-IP Lite ASN, iptoasn, GeoLite2-ASN/City.

Any number of ``.mmdb`` files may be given; each one's type is read from its own metadata (its
``database_type``), or, for a file whose type names no known product, from the shape of its
records (IPinfo's ``asn``/``as_name``/``as_domain``, iptoasn's ``as_number``/``as_description``,
MaxMind's ``autonomous_system_*``). The answers of all of them for one address are merged into one
Organization, whose ``source`` names the product that named it (its terms: enrichment/terms.py). The merge is where the
ISP problem is decided: an organisation name equal to the ISP's, a cellular connection, a hosting
or VPN flag all mark the visit as an access provider's, which is never matched by name.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb

from revisit.core.caches import BoundedCache
from revisit.core.errors import BadInput
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization, OrgKind, clues_said
from revisit.core.phrase import Phrase
from revisit.enrichment.providers import (
    AccessProvider,
    ProviderDirectory,
    access_providers,
    provider_words_clue,
)
from revisit.enrichment.terms import DEMO_DATABASE_TYPE, SOURCE_TERMS, SourceTerms

log = logging.getLogger("revisit.resolve.maxmind")

# MaxMind database_type (substring) → the reader method that answers it.
_LOOKUPS: tuple[tuple[str, str], ...] = (
    ("Enterprise", "enterprise"),
    ("ISP", "isp"),
    ("ASN", "asn"),
    ("Domain", "domain"),
    ("Connection-Type", "connection_type"),
    ("Anonymous-IP", "anonymous_ip"),
    ("Anonymous-Plus", "anonymous_plus"),
    ("City", "city"),  # country only: a clue in the evidence, never an organisation by itself
    ("Country", "country"),
)
# database_type (substring, case-insensitive) → the product, whose terms apply (enrichment/terms.py).
# DB-IP's files say "DBIP-ASN-Lite (compat=GeoLite2-ASN)": they are looked for before GeoLite2.
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("dbip", "dbip_lite"),
    ("db-ip", "dbip_lite"),
    ("ipinfo", "ipinfo_lite"),
    ("iptoasn", "iptoasn"),
    ("ip2asn", "iptoasn"),
    ("geolite", "geolite2"),
    ("geoip", "maxmind"),
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
_CONNECTION_KINDS = {
    "Cellular": OrgKind.MOBILE,
    "Cable/DSL": OrgKind.ISP,
    "Satellite": OrgKind.ISP,
    "Dialup": OrgKind.ISP,
}
_ANONYMOUS_FLAGS = (
    "is_anonymous_vpn",
    "is_public_proxy",
    "is_tor_exit_node",
    "is_residential_proxy",
    "is_anonymous_proxy",
)


@dataclass(frozen=True)
class MaxMindDatabase:
    path: str
    database_type: str
    method: str  # the geoip2 reader method, or "record:<shape>" for records read as they are
    reader: geoip2.database.Reader | maxminddb.Reader = field(repr=False, compare=False)
    file_identity: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file opened
    family: str = "maxmind"  # the product (a key of enrichment.terms.SOURCE_TERMS)

    @property
    def answer_slot(self) -> str:
        """Where its answer goes in the merge: an AS record of any shape answers as "asn"."""
        return "asn" if self.method.startswith("record:") else self.method


@dataclass(frozen=True, slots=True)
class AsRecord:
    """An open database's record in the shape of geoip2's ASN answer, plus its AS domain and country."""

    autonomous_system_number: int | None
    autonomous_system_organization: str | None
    network: str | None
    domain: str | None = None
    country_code: str | None = None


# iptoasn writes "HANDLE - Organisation" ("GOOGLE - Google LLC"): the handle is not a name.
_IPTOASN_HANDLE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]* - (?=\S)")


def _asn_number(value: Any) -> int | None:
    """145, "145" or IPinfo's "AS145" → 145."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    text = str(value or "").strip().upper().removeprefix("AS")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def record_shape(record: Mapping[str, Any]) -> str | None:
    """Which schema a record is in, from its keys (each product's documented fields; the URLs in
    tests/data/open-mmdb/SOURCES.md)."""
    if "as_name" in record or "as_domain" in record or isinstance(record.get("asn"), str):
        return "ipinfo"
    if "as_number" in record or "as_description" in record:
        return "iptoasn"
    if "autonomous_system_number" in record or "autonomous_system_organization" in record:
        return "asn"
    if isinstance(record.get("country"), Mapping) or isinstance(record.get("city"), Mapping):
        return "geo"
    return None


def as_record(shape: str, record: Mapping[str, Any], network: str | None) -> AsRecord:
    if shape == "ipinfo":
        return AsRecord(
            _asn_number(record.get("asn")),
            _text(record.get("as_name")),
            network,
            _text(record.get("as_domain")),
            _text(record.get("country_code")),
        )
    if shape == "iptoasn":
        description = _text(record.get("as_description"))
        if description is not None:
            description = _IPTOASN_HANDLE.sub("", description) or description
        if description is not None and description.casefold() in ("not routed", "none"):
            description = None
        return AsRecord(
            _asn_number(record.get("as_number")), description, network, None, _text(record.get("as_country_code"))
        )
    if shape == "asn":
        return AsRecord(
            _asn_number(record.get("autonomous_system_number")),
            _text(record.get("autonomous_system_organization")),
            network,
        )
    country = record.get("country")
    code = country.get("iso_code") if isinstance(country, Mapping) else None
    return AsRecord(None, None, network, None, _text(code))


def _record_lookup(reader: maxminddb.Reader, shape: str, address: str) -> AsRecord:
    record, prefix_len = reader.get_with_prefix_len(address)
    if not isinstance(record, Mapping):
        raise geoip2.errors.AddressNotFoundError(f"{address} is not in the database", address, prefix_len)
    network = ipaddress.ip_network(f"{address}/{prefix_len}", strict=False)
    return as_record(shape, record, str(network))


def _family(database_type: str, shape: str | None) -> str:
    if database_type == DEMO_DATABASE_TYPE:  # the demo's file, in IPinfo Lite's schema, is not IPinfo's
        return "revisit_demo"
    lowered = database_type.casefold()
    for marker, family in _FAMILIES:
        if marker in lowered:
            return family
    return {"ipinfo": "ipinfo_lite", "iptoasn": "iptoasn"}.get(shape or "", "mmdb")


def _file_identity(path: str | Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def open_database(path: str | Path) -> MaxMindDatabase:
    """Open one .mmdb and detect its type; BadInput (exit 2) for a missing, unreadable or
    unsupported file, naming it."""
    identity = _file_identity(path)  # before opening: a file replaced meanwhile is seen next time
    try:
        reader = geoip2.database.Reader(str(path))
    except FileNotFoundError:
        raise BadInput(f"{path}: MaxMind database not found") from None
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
        raise BadInput(f"{path}: not a readable MaxMind database ({error})") from None
    database_type = reader.metadata().database_type
    family = _family(database_type, None)
    if family in ("maxmind", "geolite2"):
        for marker, method in _LOOKUPS:
            if marker in database_type:
                return MaxMindDatabase(str(path), database_type, method, reader, identity, family)
    reader.close()
    raw = maxminddb.open_database(str(path))
    first = next(iter(raw), None)
    shape = record_shape(first[1]) if first is not None and isinstance(first[1], Mapping) else None
    if shape is None:
        raw.close()
        raise BadInput(
            f"{path}: database type {database_type!r} says nothing about organisations; use ISP, "
            "Enterprise, ASN, Domain, Connection-Type or Anonymous-IP databases, or an open AS "
            "database (IPinfo Lite, DB-IP Lite ASN, iptoasn, GeoLite2-ASN)"
        )
    return MaxMindDatabase(str(path), database_type, f"record:{shape}", raw, identity, _family(database_type, shape))


_Lookups = tuple[tuple[str, Callable[[str], Any]], ...]


@dataclass(frozen=True, slots=True)
class _Loaded:
    """The databases in use, swapped as one value on reload (their answers cache with them)."""

    databases: tuple[MaxMindDatabase, ...]
    lookups: _Lookups
    raw_lookups: tuple[Callable[[str], tuple[Any, int]], ...]  # maxminddb's record and prefix length
    by_network: BoundedCache  # (IP version, then per database its network) → the merged answer


class MaxMindResolver:
    """Answers from every configured database, merged.

    Hot reload: every ``reload_seconds`` the files are looked at; one that was replaced (as
    ``geoipupdate`` does, writing a new file and renaming it into place) is opened anew and swapped
    in as one step, so a lookup sees either all old or all new readers, never a closed one. The
    old reader is closed a grace period later. A new file that cannot be read is logged and the
    loaded one kept.
    """

    name = "maxmind"
    RETIRED_GRACE_SECONDS = 60.0
    NETWORK_CACHE_SIZE = 100_000

    @property
    def terms(self) -> tuple[SourceTerms, ...]:
        return tuple(dict.fromkeys(_terms_of(database) for database in self.databases))

    def __init__(
        self,
        databases: Sequence[MaxMindDatabase],
        providers: ProviderDirectory | None = None,
        reload_seconds: float = 0.0,
    ) -> None:
        self.providers = providers or access_providers()
        self.reload_seconds = reload_seconds
        self._state: _Loaded = _state_of(databases, self.NETWORK_CACHE_SIZE)
        self._next_check = time.monotonic() + reload_seconds
        self._retired: list[tuple[float, MaxMindDatabase]] = []
        self.reloads = 0

    @property
    def databases(self) -> tuple[MaxMindDatabase, ...]:
        return self._state.databases

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path], reload_seconds: float = 0.0) -> MaxMindResolver:
        return cls([open_database(path) for path in paths], reload_seconds=reload_seconds)

    def close(self) -> None:
        for database in self.databases:
            database.reader.close()
        for _retired_at, database in self._retired:
            database.reader.close()
        self._retired = []

    def reload_changed(self) -> list[str]:
        """Reopen the databases whose file was replaced; returns their paths."""
        now = time.monotonic()
        self._next_check = now + self.reload_seconds
        still_retired = []
        for retired_at, database in self._retired:
            if now - retired_at >= self.RETIRED_GRACE_SECONDS:
                database.reader.close()
            else:
                still_retired.append((retired_at, database))
        self._retired = still_retired
        current, changed = [], []
        for database in self.databases:
            identity = _file_identity(database.path)
            if identity is None or identity == database.file_identity:
                current.append(database)  # unchanged, or gone for the moment: keep what is loaded
                continue
            try:
                fresh = open_database(database.path)
            except BadInput as error:
                log.warning("MaxMind database replaced but not readable, keeping the loaded one: %s", error)
                current.append(database)
                continue
            current.append(fresh)
            self._retired.append((now, database))
            changed.append(database.path)
        if changed:
            self._state = _state_of(
                current, self.NETWORK_CACHE_SIZE
            )  # one assignment: lookups never see a half-swapped set
            self.reloads += len(changed)
            log.info("MaxMind databases reloaded: %s", ", ".join(changed))
        return changed

    def resolve(self, address: IPAddress) -> Organization | None:
        """The merged answer of the databases, remembered per network: every database answers an
        address with the record of the network holding it, so two addresses in the same network
        of every database get the same answer. Finding the networks (maxminddb's
        ``get_with_prefix_len``, about 1 µs a database) is all an address costs once its networks
        were seen, or when no database knows it: building geoip2's answers and merging them took
        41 µs an address (10,000 addresses of the replay bench, five test databases; 3,144
        distinct networks among them), and a not-found address raised an exception in each
        database that had no answer."""
        if self.reload_seconds > 0 and time.monotonic() >= self._next_check:
            self.reload_changed()
        loaded = self._state
        text = str(address)
        bits = int(address)
        width = address.max_prefixlen
        key: list[object] = [address.version]
        answered = False
        for raw_lookup in loaded.raw_lookups:
            try:
                record, prefix = raw_lookup(text)
            except ValueError:  # an IPv6 address asked of an IPv4 database
                record = None
            if record is None:
                key.append(None)
            else:
                key.append((prefix, bits >> (width - prefix)))  # the network holding the address
                answered = True
        if not answered:
            return None
        network_key = tuple(key)
        cached = loaded.by_network.get(network_key, _UNSEEN)
        if cached is not _UNSEEN:
            return cached
        return loaded.by_network.remember(network_key, self._merged(loaded, text, network_key[1:]))

    def _merged(self, loaded: _Loaded, text: str, networks: tuple[object, ...]) -> Organization | None:
        """geoip2's answers merged, asked only of the databases that hold the address (``networks``:
        None for the others, which would raise an exception each)."""
        answers: dict[str, Any] = {}
        families: dict[str, str] = {}
        for (slot, lookup), database, network in zip(loaded.lookups, loaded.databases, networks, strict=True):
            if slot in answers or network is None:
                continue
            try:
                answers[slot] = lookup(text)
            except (geoip2.errors.AddressNotFoundError, ValueError):
                continue
            families[slot] = database.family
        if not answers:
            return None
        return merge_answers(answers, self.providers, families)


def _terms_of(database: MaxMindDatabase) -> SourceTerms:
    """The terms of a database's product."""
    return SOURCE_TERMS[database.family]


_UNSEEN = object()


def _lookup_of(database: MaxMindDatabase) -> Callable[[str], Any]:
    if not isinstance(database.reader, geoip2.database.Reader):  # a record-shaped file, read as it is
        return functools.partial(_record_lookup, database.reader, database.method.removeprefix("record:"))
    return getattr(database.reader, database.method)


def _raw_lookup_of(database: MaxMindDatabase) -> Callable[[str], tuple[Any, int]]:
    reader = database.reader
    raw: maxminddb.Reader = reader._db_reader if isinstance(reader, geoip2.database.Reader) else reader
    return raw.get_with_prefix_len


def _state_of(databases: Sequence[MaxMindDatabase], cache_size: int) -> _Loaded:
    return _Loaded(
        tuple(databases),
        tuple((db.answer_slot, _lookup_of(db)) for db in databases),
        tuple(_raw_lookup_of(db) for db in databases),
        BoundedCache(cache_size),
    )


def merge_answers(
    answers: dict[str, Any], providers: ProviderDirectory | None = None, families: Mapping[str, str] | None = None
) -> Organization | None:
    """One Organization from the answers of several database types for one address.

    ``providers`` (the packaged access-provider list) marks an answer that names no organisation
    of its own, only an ISP or an autonomous system, when that system is a known access or cloud
    provider's; a business behind such a provider, named by the database, stays a business."""
    enterprise = answers.get("enterprise")
    traits = enterprise.traits if enterprise is not None else None
    isp_answer = answers.get("isp")
    asn_answer = answers.get("asn")

    def first(*values: Any) -> Any:
        return next((v for v in values if v), None)

    organization = first(traits and traits.organization, isp_answer and isp_answer.organization)
    isp_name = first(traits and traits.isp, isp_answer and isp_answer.isp)
    asn = first(
        traits and traits.autonomous_system_number,
        isp_answer and isp_answer.autonomous_system_number,
        asn_answer and asn_answer.autonomous_system_number,
    )
    asn_org = first(
        traits and traits.autonomous_system_organization,
        isp_answer and isp_answer.autonomous_system_organization,
        asn_answer and asn_answer.autonomous_system_organization,
    )
    domain_answer = answers.get("domain")
    as_domain = getattr(asn_answer, "domain", None)  # IPinfo's as_domain: the AS organisation's own
    domain = first(traits and traits.domain, domain_answer and domain_answer.domain, as_domain)
    if domain is not None and domain.lower().endswith(".arpa"):
        domain = None  # a reverse-DNS zone says nothing about who the visitor is
    connection_answer = answers.get("connection_type")
    connection = first(traits and traits.connection_type, connection_answer and connection_answer.connection_type)
    user_type = traits.user_type if traits is not None else None
    # the first answer's network; geoip2 makes a network object anew each time it is asked (15 µs)
    networks = (getattr(a, "network", None) for a in (traits, isp_answer, asn_answer, domain_answer) if a is not None)
    network = next((str(n) for n in networks if n is not None), None)

    clues: list[Phrase] = []
    kind = OrgKind.UNKNOWN
    anonymous = [
        flag
        for flag in _ANONYMOUS_FLAGS
        for source in (traits, answers.get("anonymous_ip"), answers.get("anonymous_plus"))
        if source is not None and getattr(source, flag, False)
    ]
    hosting = any(
        getattr(source, "is_hosting_provider", False)
        for source in (traits, answers.get("anonymous_ip"), answers.get("anonymous_plus"))
        if source is not None
    )
    if anonymous:
        kind = OrgKind.VPN
        clues.append(Phrase.of("anonymous network ({flags})", flags=", ".join(sorted(set(anonymous)))))
    elif hosting:
        kind = OrgKind.HOSTING
        clues.append(Phrase.of("hosting provider"))
    elif user_type in _USER_TYPE_KINDS:
        kind = _USER_TYPE_KINDS[user_type]
        clues.append(Phrase.of("user type {user_type}", user_type=user_type))
    elif connection in _CONNECTION_KINDS and (not organization or organization == isp_name):
        kind = _CONNECTION_KINDS[connection]
        clues.append(Phrase.of("connection type {connection}", connection=connection))
    elif organization and providers is not None and providers.for_name(organization) is not None:
        provider = providers.for_name(organization)
        assert provider is not None
        kind = provider.kind
        clues.append(_on_the_list(organization, provider))
    elif organization and isp_name and organization == isp_name:
        # The operator of the network named as the organisation: an ISP (Telstra Internet), or a
        # company running its own network (Hewlett-Packard, Daimler): told apart by the
        # access-provider list (ASN) and by the words of the name.
        provider = providers.for_asn(asn) if providers is not None else None
        words = provider_words_clue(organization)
        if provider is not None or words is not None or connection in _CONNECTION_KINDS:
            kind = provider.kind if provider is not None else OrgKind.ISP
            clues.append(
                Phrase.of(
                    "organisation is the ISP itself{words}{provider}",
                    words=Phrase.of(" ({words})", words=words) if words else "",
                    provider=Phrase.of("; AS{asn} is {provider}", asn=asn, provider=provider.name) if provider else "",
                )
            )
        else:
            kind = OrgKind.BUSINESS
            clues.append(
                Phrase.of(
                    "{organization!r} operates its own network (not an access provider by list or name)",
                    organization=organization,
                )
            )
    elif not organization and providers is not None and providers.for_asn(asn) is not None:
        provider = providers.for_asn(asn)
        assert provider is not None
        kind = provider.kind
        clues.append(_on_the_list(f"AS{asn}", provider, quoted=False))
    elif not organization and not isp_name and asn_org and _as_provider(asn_org, as_domain, providers) is not None:
        # An AS database alone (GeoLite2-ASN, IPinfo Lite, DB-IP, iptoasn) names the network's
        # operator: an access or cloud provider by the list's names and domains, or by its words.
        found = _as_provider(asn_org, as_domain, providers)
        assert found is not None  # the condition above
        kind, clue = found
        clues.append(clue)
    elif organization:
        kind = OrgKind.BUSINESS if connection in (None, "Corporate") else OrgKind.UNKNOWN
        clues.append(
            Phrase.of("organisation {organization!r} behind ISP {isp!r}", organization=organization, isp=isp_name)
            if isp_name
            else Phrase.of("organisation {organization!r}", organization=organization)
        )
    elif isp_name:
        kind = OrgKind.ISP
        clues.append(Phrase.of("only an ISP is named"))
    if connection == "Cellular" and kind not in (OrgKind.VPN, OrgKind.HOSTING):
        kind = OrgKind.MOBILE

    name = organization or isp_name or asn_org
    if name is None and domain is None and kind is OrgKind.UNKNOWN:
        return None  # a City or Country answer alone names no one
    country = _country_code(answers)
    if country:
        clues.append(Phrase.of("country {country}", country=country))
    if organization:
        confidence = 0.8
    elif asn_org:
        confidence = 0.6
        clues.append(Phrase.of("named only by its autonomous system AS{asn} {name!r}", asn=asn, name=asn_org))
    else:
        confidence = 0.5
    return Organization(
        name=name,
        kind=kind,
        source=_answering_family(families or {}, organization is not None, enterprise is not None),
        confidence=confidence,
        domain=domain,
        asn=asn,
        network=network,
        access_provider=isp_name if isp_name != name else None,
        **clues_said(*clues),
    )


def _as_provider(
    asn_org: str, as_domain: str | None, providers: ProviderDirectory | None
) -> tuple[OrgKind, Phrase] | None:
    """(kind, why) when an autonomous system's operator is an access provider, else None."""
    provider = providers.for_name(asn_org) or providers.for_domain(as_domain) if providers is not None else None
    if provider is not None:
        return provider.kind, _on_the_list(asn_org, provider)
    words = provider_words_clue(asn_org)
    if words is not None:
        return OrgKind.ISP, Phrase.of("the autonomous system's operator is a network operator ({words})", words=words)
    return None


def _on_the_list(named: str, provider: AccessProvider, quoted: bool = True) -> Phrase:
    """Why a name or an AS is an access provider's: it is on the packaged list."""
    return Phrase.of(
        "{named!r} is {provider}, on the access-provider list ({kind})"
        if quoted
        else "{named} is {provider}, on the access-provider list ({kind})",
        named=named,
        provider=provider.name,
        kind=Phrase.of(provider.kind.value),
    )


def _country_code(answers: Mapping[str, Any]) -> str | None:
    for slot in ("asn", "city", "country"):
        answer = answers.get(slot)
        code = getattr(answer, "country_code", None)
        if code is None:
            country = getattr(answer, "country", None)
            code = getattr(country, "iso_code", None)
        if code:
            return str(code)
    return None


def _answering_family(families: Mapping[str, str], named_by_organization: bool, enterprise: bool) -> str:
    """The product whose answer named the visitor: its terms are the ones that apply."""
    if named_by_organization:
        slot = "enterprise" if enterprise else "isp"
        return families.get(slot, families.get("isp", "maxmind"))
    for slot in ("asn", "isp", "enterprise", "domain"):
        if slot in families:
            return families[slot]
    return next(iter(families.values()), "maxmind")
