"""Reverse DNS: the PTR name of an address → its registrable domain → an organisation's domain.

A PTR record is written by whoever holds the address block, so it is only believed when the name
resolves back to the same address (forward-confirmed reverse DNS); otherwise anyone could name
their address ``www.toyota.co.jp``. Names of ISP customer pools (``p1234-ipngn.tokyo.ocn.ne.jp``)
and of access providers' domains are marked as access providers, never used as the company.

Asynchronous (dnspython), with a timeout per query, a bounded number in flight and answers
cached for their TTL (capped): it runs off the hot path, on the late-resolution thread.
dnspython is imported when a resolver is made: reverse DNS is off by default, and the import
(with ipwhois', which loads it too) took 80 ms of every replay's start-up.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from revisit.core.config import ReverseDnsSettings
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization, OrgKind, clues_said
from revisit.core.phrase import Phrase
from revisit.enrichment.providers import (
    ProviderDirectory,
    access_providers,
    pool_name_clue,
)


@dataclass(frozen=True, slots=True)
class PtrAnswer:
    """What reverse DNS said about one address, and why it is or is not used."""

    name: str | None  # the PTR name, without the final dot
    organization: Organization | None
    note: Phrase  # in words, for `revisit explain`


def organization_from_ptr(
    name: str, confirmed: bool, suffixes: PublicSuffixList, providers: ProviderDirectory
) -> Organization | None:
    """The organisation a PTR name stands for (pure: no I/O), or None when it says nothing."""
    domain = suffixes.privatesuffix(name.lower().rstrip("."))
    if domain is None:
        return None
    provider = providers.for_domain(domain)
    if provider is not None:
        return Organization(
            name=provider.name,
            kind=provider.kind,
            source="reverse_dns",
            confidence=0.7,
            domain=domain,
            **clues_said(
                Phrase.of(
                    "PTR {name}: {domain} is {provider}, an access provider",
                    name=name,
                    domain=domain,
                    provider=provider.name,
                )
            ),
        )
    clue = pool_name_clue(name)
    if clue is not None:
        return Organization(
            name=None,
            kind=OrgKind.ISP,
            source="reverse_dns",
            confidence=0.6,
            domain=domain,
            access_provider=domain,
            **clues_said(Phrase.of("PTR {name}: {clue}", name=name, clue=clue)),
        )
    if not confirmed:
        return None
    return Organization(
        name=None,
        kind=OrgKind.UNKNOWN,
        source="reverse_dns",
        confidence=0.75,
        domain=domain,
        **clues_said(
            Phrase.of("PTR {name} (forward-confirmed): registrable domain {domain}", name=name, domain=domain)
        ),
    )


@lru_cache(maxsize=1)
def public_suffixes() -> PublicSuffixList:
    """The packaged Public Suffix List, parsed once per process (a tenth of a second): made before
    replay forks its classifiers, they share it."""
    return PublicSuffixList()


class ReverseDnsResolver:
    """Asks DNS for PTR names; one instance per event loop (dnspython's resolver is not shared)."""

    name = "reverse_dns"

    def __init__(self, config: ReverseDnsSettings, providers: ProviderDirectory | None = None) -> None:
        self.config = config
        self.providers = providers or access_providers()
        self.suffixes = public_suffixes()  # the packaged list: nothing is downloaded
        import dns.asyncresolver

        self._resolver = dns.asyncresolver.Resolver(configure=not config.nameservers)
        if config.nameservers:
            self._resolver.nameservers = list(config.nameservers)
        self._resolver.port = config.port
        self._resolver.timeout = config.timeout_seconds
        self._resolver.lifetime = config.timeout_seconds
        self._cache: dict[str, tuple[float, PtrAnswer]] = {}
        self._in_flight: asyncio.Semaphore | None = None

    async def lookup(self, address: IPAddress) -> PtrAnswer:
        key = str(address)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self.config.concurrency)
        async with self._in_flight:
            answer, ttl = await self._ask(address)
        if len(self._cache) >= self.config.cache_size:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + ttl, answer)
        return answer

    async def _ask(self, address: IPAddress) -> tuple[PtrAnswer, float]:
        import dns.exception
        import dns.resolver
        import dns.reversename

        negative = float(self.config.negative_cache_seconds)
        try:
            reply = await self._resolver.resolve(dns.reversename.from_address(str(address)), "PTR")
        except dns.resolver.NXDOMAIN:
            return PtrAnswer(None, None, Phrase.of("no PTR record")), negative
        except dns.resolver.NoAnswer:
            return PtrAnswer(None, None, Phrase.of("no PTR record")), negative
        except dns.exception.Timeout:
            timeout = Phrase.of("no answer within {seconds:g} s", seconds=self.config.timeout_seconds)
            return PtrAnswer(None, None, timeout), 60.0
        except (dns.exception.DNSException, OSError, ValueError) as error:
            failure = Phrase.of("DNS failure: {error}", error=f"{type(error).__name__}: {error}")
            return PtrAnswer(None, None, failure), 60.0
        ttl = float(min(reply.rrset.ttl if reply.rrset is not None else 0, self.config.max_cache_seconds))
        name = reply[0].target.to_text(omit_final_dot=True)
        confirmed = await self._confirms(name, address) if self.config.confirm_forward else True
        organization = organization_from_ptr(name, confirmed, self.suffixes, self.providers)
        if organization is None:
            note = (
                Phrase.of("PTR {name} does not resolve back to the address, so it is not believed", name=name)
                if not confirmed
                else Phrase.of("PTR {name} names no registrable domain", name=name)
            )
            return PtrAnswer(name, None, note), ttl
        (said,) = organization.evidence_said  # one clue: organization_from_ptr's
        return PtrAnswer(name, organization, said), ttl

    async def _confirms(self, name: str, address: IPAddress) -> bool:
        import dns.exception

        record_type = "A" if address.version == 4 else "AAAA"
        try:
            reply = await self._resolver.resolve(name, record_type)
        except (dns.exception.DNSException, OSError, ValueError):
            return False
        return any(str(record.address) == str(address) for record in reply)
