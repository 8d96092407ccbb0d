"""RDAP (through ipwhois): who the address block is registered to.

The registrant organisation is the entity with the role ``registrant`` (its vCard ``fn``). Blocks
that APNIC delegates to JPNIC name only JPNIC, so for those the JPNIC whois gateway is asked for
the assignment holder (ipwhois parses both answers). A block allocated to a provider (RIPE
"ALLOCATED PA", APNIC "ALLOCATED PORTABLE", ARIN "Direct Allocation") or larger than a /16
(IPv4) or /32 (IPv6) belongs to an access provider: its holder is not the visitor's company.

Lookups are slow (hundreds of milliseconds, rate-limited by the registries), so they run off the
hot path and their answers are cached per returned network, in memory and in the database.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ipwhois.net import Net


from revisit.core.config import RdapSettings
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization, OrgKind, clues_said
from revisit.core.phrase import Phrase
from revisit.enrichment.networks import NetworkTable
from revisit.enrichment.providers import ProviderDirectory, access_providers

_PROVIDER_ALLOCATIONS = (
    "ALLOCATED PA",
    "ALLOCATED PORTABLE",
    "ALLOCATED NON-PORTABLE",
    "DIRECT ALLOCATION",
    "ALLOCATED UNSPECIFIED",
    "ALLOCATED-BY-RIR",
    "ALLOCATED-BY-LIR",
    "REALLOCATION",
)
_JPNIC_NAMES = ("japan network information center", "jpnic")


@dataclass(frozen=True, slots=True)
class NetworkRegistration:
    """One registry answer, cached for the whole network it covers."""

    network: str  # CIDR
    name: str | None  # the registrant organisation; None when the registry names none
    kind: OrgKind
    source: str  # "rdap" or "rdap+jpnic"
    evidence: str
    expires_at: datetime
    # the evidence's clues as sentences and values, for a reader's language (not stored: a cached
    # answer read back says its evidence in English)
    evidence_said: tuple[Phrase, ...] = field(default=(), compare=False)

    @property
    def found(self) -> bool:
        return self.name is not None or self.kind is not OrgKind.UNKNOWN

    def organization(self) -> Organization | None:
        if not self.found:
            return None
        return Organization(
            name=self.name,
            kind=self.kind,
            source=self.source,
            confidence=0.7 if self.kind is OrgKind.UNKNOWN else 0.6,
            network=self.network,
            evidence=self.evidence,
            evidence_said=self.evidence_said,
        )


def registration_from_rdap(
    result: dict[str, Any],
    address: IPAddress,
    now: datetime,
    ttl: timedelta,
    providers: ProviderDirectory | None = None,
) -> NetworkRegistration:
    """A registration from ipwhois' parsed RDAP result (pure: no I/O)."""
    network_info = result.get("network") or {}
    network = _containing_network(str(network_info.get("cidr") or ""), address)
    name = registrant_name(result)
    allocation = str(network_info.get("type") or "").strip()
    clues = [
        Phrase.of("RDAP network {network} ({allocation})", network=network, allocation=allocation)
        if allocation
        else Phrase.of("RDAP network {network}", network=network)
    ]
    kind = OrgKind.UNKNOWN
    size_limit = 16 if address.version == 4 else 32
    parsed = ipaddress.ip_network(network, strict=False)
    provider = (providers or access_providers()).for_name(name)
    if provider is not None:
        kind = provider.kind
        clues.append(
            Phrase.of(
                "the registrant is {provider}, on the access-provider list ({kind})",
                provider=provider.name,
                kind=Phrase.of(provider.kind.value),
            )
        )
    elif allocation.upper() in _PROVIDER_ALLOCATIONS:
        kind = OrgKind.ISP
        clues.append(Phrase.of("allocated to a provider, who hands it out to its customers"))
    elif parsed.prefixlen < size_limit:
        kind = OrgKind.ISP
        clues.append(Phrase.of("a block larger than /{size}: a provider's, not one company's", size=size_limit))
    clues.append(Phrase.of("registrant {name!r}", name=name) if name else Phrase.of("no registrant organisation named"))
    said = clues_said(*clues)
    return NetworkRegistration(str(parsed), name, kind, "rdap", said["evidence"], now + ttl, said["evidence_said"])


def registrant_name(result: dict[str, Any]) -> str | None:
    """The vCard ``fn`` of the entity with the role ``registrant``; failing that, of an
    organisation entity whose name is more than its handle."""
    objects: dict[str, Any] = result.get("objects") or {}
    fallback = None
    for handle, entity in objects.items():
        contact = entity.get("contact") or {}
        name = (contact.get("name") or "").strip()
        if not name:
            continue
        if "registrant" in (entity.get("roles") or ()):
            return name
        if contact.get("kind") == "org" and name != handle and fallback is None:
            fallback = name
    return fallback


def delegated_to_jpnic(result: dict[str, Any]) -> bool:
    """APNIC blocks handed to JPNIC name JPNIC, not the holder: the holder is in JPNIC's whois."""
    network_info = result.get("network") or {}
    if str(network_info.get("name") or "").upper().endswith("-JPNIC-JP"):
        return True
    for handle, entity in (result.get("objects") or {}).items():
        name = ((entity.get("contact") or {}).get("name") or "").casefold()
        if handle.upper() == "JNIC1-AP" or name in _JPNIC_NAMES:
            return True
    return False


def registration_from_jpnic(
    result: dict[str, Any], address: IPAddress, now: datetime, ttl: timedelta
) -> NetworkRegistration | None:
    """A registration from ipwhois' parsed JPNIC whois answer, or None if it names no network."""
    for net in result.get("nets") or ():
        name = (net.get("name") or "").strip() or None
        if not net.get("cidr"):
            continue
        parsed = ipaddress.ip_network(_containing_network(str(net["cidr"]), address), strict=False)
        said = Phrase.of("JPNIC whois: {network} is assigned to {name!r}", network=str(parsed), name=name)
        return NetworkRegistration(str(parsed), name, OrgKind.UNKNOWN, "rdap+jpnic", str(said), now + ttl, (said,))
    return None


def _containing_network(cidrs: str, address: IPAddress) -> str:
    """The CIDR (of a comma-separated list) that holds the address; the address alone if none."""
    for text in cidrs.split(","):
        text = text.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if network.version == address.version and address in network:
            return str(network)
    return f"{address}/{address.max_prefixlen}"


# ipwhois' own errors are added where it is imported (RdapClient): RDAP is off by default, and
# ipwhois (with the dnspython it loads) took 80 ms of every replay's start-up.
_LOOKUP_ERRORS: tuple[type[BaseException], ...] = (
    json.JSONDecodeError,
    UnicodeError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    OSError,
)


class RdapLookupFailed(Exception):
    """The registry did not answer usably (timeout, HTTP error, not RDAP JSON)."""


class RdapClient:
    """Blocking lookups through ipwhois' own HTTP client and parsers; run in a thread pool."""

    name = "rdap"

    def __init__(self, config: RdapSettings) -> None:
        from ipwhois.exceptions import BaseIpwhoisException

        self.config = config
        self._errors = (BaseIpwhoisException, *_LOOKUP_ERRORS)

    def lookup(self, address: IPAddress, now: datetime | None = None) -> NetworkRegistration:
        from ipwhois.net import Net
        from ipwhois.rdap import RDAP

        now = now or datetime.now(UTC)
        ttl = timedelta(days=self.config.cache_days)
        net = Net(str(address), timeout=self.config.timeout_seconds)
        try:
            response = net.get_http_json(
                url=self.config.url.format(address=address), retry_count=self.config.retries, rate_limit_timeout=1
            )
            if not isinstance(response, dict) or "startAddress" not in response and "cidr0_cidrs" not in response:
                raise RdapLookupFailed("the answer is not an RDAP ip network object")
            result = RDAP(net).lookup(response=response, bootstrap=True, depth=0, root_ent_check=False)
            registration = registration_from_rdap(result, address, now, ttl)
        except RdapLookupFailed:
            raise
        except self._errors as error:
            raise RdapLookupFailed(f"{type(error).__name__}: {error}") from None
        if delegated_to_jpnic(result):
            return self._ask_jpnic(net, address, now, ttl) or replace(
                registration,
                **clues_said(*registration.evidence_said, Phrase.of("JPNIC whois named no holder")),
            )
        return registration

    def _ask_jpnic(self, net: Net, address: IPAddress, now: datetime, ttl: timedelta) -> NetworkRegistration | None:
        from ipwhois.nir import NIRWhois

        try:
            raw = net.get_http_raw(
                url=self.config.jpnic_url.format(address=address),
                retry_count=self.config.retries,
                headers={"Accept": "text/html"},
            )
            return registration_from_jpnic(
                NIRWhois(net).lookup(nir="jpnic", response=raw, is_offline=True), address, now, ttl
            )
        except self._errors:
            return None

    def negative(self, address: IPAddress, reason: str, now: datetime | None = None) -> NetworkRegistration:
        """A remembered failure for the address's /24 or /48, so a busy unknown block is not asked
        again on every hit (until ``negative_cache_hours`` pass)."""
        now = now or datetime.now(UTC)
        network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False)
        return NetworkRegistration(
            str(network),
            None,
            OrgKind.UNKNOWN,
            "rdap",
            f"RDAP: {reason}",
            now + timedelta(hours=self.config.negative_cache_hours),
        )


class RegistrationCache:
    """Registrations by network, most specific first; expired ones are ignored and dropped."""

    def __init__(self, registrations: Iterable[NetworkRegistration] = ()) -> None:
        self._networks: NetworkTable[NetworkRegistration] = NetworkTable()
        for registration in registrations:
            self.add(registration)

    def __len__(self) -> int:
        return len(self._networks)

    def add(self, registration: NetworkRegistration) -> None:
        self._networks.put(ipaddress.ip_network(registration.network, strict=False), registration)

    def find(self, address: IPAddress, now: datetime) -> NetworkRegistration | None:
        for network, registration in list(self._networks.matches(address)):
            if registration.expires_at > now:
                return registration
            self._networks.remove(network)
        return None
