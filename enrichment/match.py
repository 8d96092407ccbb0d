"""Organization → dormant account (名寄せ), precision first, and always able to say why.

Order of trust: the account's own networks (CIDR), then its domains, then its normalised name or
aliases, then a fuzzy name match with a clear margin (``enrichment.fuzzy``). A name or domain that
fits two accounts matches neither, and traffic from an access provider (ISP, mobile, hosting, VPN)
is never matched by name or domain.

Exact lookups are a constant number of dict probes, so 100,000 accounts cost what 10 do; a fuzzy
search runs once per new organisation name, over the few names an index finds (about 0.1 ms at
100,000 accounts, bench/fuzzy_bench.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from revisit.core.caches import BoundedCache
from revisit.core.config import MatchingSettings
from revisit.core.organization import Organization
from revisit.enrichment.accounts import Account
from revisit.enrichment.fuzzy import FuzzyNames, FuzzyVerdict
from revisit.enrichment.networks import NetworkTable
from revisit.enrichment.normalize import (
    NormalizedName,
    normalize_name,
    normalize_uncached,
)
from revisit.stream.fields import IPAddress


class MatchMethod(StrEnum):
    NETWORK = "network"
    DOMAIN = "domain"
    NAME = "name"
    ALIAS = "alias"
    FUZZY = "fuzzy"


_BASE_CONFIDENCE = {
    MatchMethod.NETWORK: 1.0,
    MatchMethod.DOMAIN: 0.95,
    MatchMethod.NAME: 0.9,
    MatchMethod.ALIAS: 0.85,
    MatchMethod.FUZZY: 0.8,
}


@dataclass(frozen=True, slots=True)
class AccountMatch:
    account: Account
    method: MatchMethod
    confidence: float
    detail: str  # in words: "network 203.0.113.0/24 is on the account", "name 'acme' = 'ACME Co., Ltd.'"


@dataclass(frozen=True, slots=True)
class NoMatch:
    reason: str


class AccountIndex:
    """``normalize``: how listed names become keys; ``enrichment.prepared`` passes one that
    remembers the previous list's names, so a changed list normalises only its new names."""

    def __init__(
        self,
        accounts: Iterable[Account],
        matching: MatchingSettings | None = None,
        normalize: Callable[[str], NormalizedName] = normalize_uncached,
    ) -> None:
        self.matching = matching or MatchingSettings()
        self._normalize = normalize
        self.fuzzy_names: FuzzyNames[tuple[Account, MatchMethod]] = FuzzyNames(self.matching)
        self._fuzzy_verdicts: BoundedCache = BoundedCache(65_536)
        self.accounts: dict[str, Account] = {}
        self._networks: NetworkTable[tuple[Account, ...]] = NetworkTable()  # tuples: a list costs more memory
        self._domains: dict[str, tuple[Account, ...]] = {}
        # normalised name → (account, how it was listed, the listed text) per account holding it
        self._names: dict[str, tuple[tuple[Account, MatchMethod, str], ...]] = {}
        for account in accounts:
            self._add(account)
        del self._normalize  # not kept: the index is pickled, and a memo would only cost memory

    def __len__(self) -> int:
        return len(self.accounts)

    def _add(self, account: Account) -> None:
        self.accounts[account.account_id] = account
        for network in account.networks:
            self._networks.put(network, (self._networks.get(network) or ()) + (account,))
        for domain in account.domains:
            self._domains[domain] = self._domains.get(domain, ()) + (account,)
        for text, method in [(account.name, MatchMethod.NAME)] + [(a, MatchMethod.ALIAS) for a in account.aliases]:
            normalized = self._normalize(text)  # each listed name once: not worth a cache entry
            key = normalized.key
            if not key:
                continue
            candidates = self._names.get(key, ())
            if any(c[0].account_id == account.account_id for c in candidates):
                continue  # an alias that normalises to the account's own name adds nothing
            self._names[key] = candidates + ((account, method, text),)
            if self.matching.fuzzy:
                self.fuzzy_names.add(normalized, (account, method), account.account_id, text)

    # --- lookups ---------------------------------------------------------------------------
    def by_network(self, address: IPAddress) -> tuple[tuple[Account, ...], str] | None:
        """Accounts whose most specific network holds the address, and that network."""
        for network, accounts in self._networks.matches(address):
            return accounts, str(network)
        return None

    def by_domain(self, domain: str) -> tuple[tuple[Account, ...], str] | None:
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):  # a.b.example.co.jp → ... → co.jp
            candidate = ".".join(labels[start:])
            found = self._domains.get(candidate)
            if found is not None:
                return found, candidate
        return None

    def by_name(self, key: str) -> tuple[tuple[Account, MatchMethod, str], ...]:
        """Accounts listed under a normalised name (``normalize_name(...).key``)."""
        return self._names.get(key, ()) if key else ()

    def fuzzy_verdict(self, normalized: NormalizedName) -> FuzzyVerdict[tuple[Account, MatchMethod]]:
        """The fuzzy search's answer for a name, with its candidates (cached per key)."""
        verdict = self._fuzzy_verdicts.get(normalized.key)
        if verdict is None:
            verdict = self._fuzzy_verdicts.remember(normalized.key, self.fuzzy_names.decide(normalized))
        return verdict

    def match(self, address: IPAddress, organization: Organization | None) -> AccountMatch | NoMatch:
        network_hit = self.by_network(address)
        if network_hit is not None:
            accounts, network = network_hit
            if len(accounts) > 1:
                return NoMatch(
                    f"network {network} is listed on {len(accounts)} accounts ({_ids(accounts)}); fix the list"
                )
            return AccountMatch(
                accounts[0], MatchMethod.NETWORK, 1.0, f"address is in {network}, one of the account's own networks"
            )
        if organization is None:
            return NoMatch("no resolver knows this address")
        if organization.is_access_provider:
            return NoMatch(
                f"traffic of an access provider ({organization.kind.value}: "
                f"{organization.name or organization.domain}); never matched by name"
            )
        if organization.domain:
            domain_hit = self.by_domain(organization.domain)
            if domain_hit is not None:
                accounts, domain = domain_hit
                if len(accounts) > 1:
                    return NoMatch(f"domain {domain} is on {len(accounts)} accounts ({_ids(accounts)})")
                return AccountMatch(
                    accounts[0],
                    MatchMethod.DOMAIN,
                    round(_BASE_CONFIDENCE[MatchMethod.DOMAIN] * organization.confidence, 2),
                    f"organisation domain {organization.domain} is the account's {domain}",
                )
        if organization.name:
            normalized = normalize_name(organization.name)
            key = normalized.key
            candidates = self.by_name(key)
            if len(candidates) > 1:
                return NoMatch(
                    f"name {organization.name!r} fits {len(candidates)} accounts "
                    f"({_ids(c[0] for c in candidates)}); none is alerted"
                )
            if candidates:
                account, method, listed = candidates[0]
                return AccountMatch(
                    account,
                    method,
                    round(_BASE_CONFIDENCE[method] * organization.confidence, 2),
                    f"{organization.name!r} and the account's {method.value} {listed!r} "
                    f"are both {key!r} once legal forms, width, case and punctuation are set aside",
                )
            if self.matching.fuzzy and key:
                verdict = self.fuzzy_verdict(normalized)
                if verdict.winner is not None:
                    account, listed_as = verdict.winner.item
                    confidence = (
                        _BASE_CONFIDENCE[MatchMethod.FUZZY] * verdict.winner.score / 100 * organization.confidence
                    )
                    return AccountMatch(
                        account,
                        MatchMethod.FUZZY,
                        round(confidence, 2),
                        f"{organization.name!r} is {verdict.reason} (the account's {listed_as.value})",
                    )
                if verdict.candidates:
                    return NoMatch(
                        f"no account has the organisation's name {organization.name!r} exactly, and "
                        f"the fuzzy match declined: {verdict.reason}"
                    )
        return NoMatch(
            f"no account has the organisation's network, domain or name ({organization.name or organization.domain})"
        )


def _ids(accounts: Iterable[Account]) -> str:
    return ", ".join(sorted(a.account_id for a in accounts))
