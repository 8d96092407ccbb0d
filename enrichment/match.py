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

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from revisit.core.caches import BoundedCache
from revisit.core.config import MatchingSettings
from revisit.core.organization import Organization
from revisit.enrichment.account_table import AccountTable
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
    """The lookups hold accounts by their position in ``accounts`` (an ``AccountTable``) and their
    methods as plain text, so that an index kept on disk loads as ints and strings, at C speed,
    and an account becomes an object only when a visitor matches it."""

    def __init__(self, accounts: Iterable[Account], matching: MatchingSettings | None = None) -> None:
        self.matching = matching or MatchingSettings()
        # (position, method): the fuzzy search's items
        self.fuzzy_names: FuzzyNames[tuple[int, str]] = FuzzyNames(self.matching)
        self._fuzzy_verdicts: BoundedCache = BoundedCache(65_536)
        self.accounts = AccountTable()
        self._networks: NetworkTable[tuple[int, ...]] = NetworkTable()  # tuples: a list costs more memory
        self._domains: dict[str, tuple[int, ...]] = {}
        # normalised name → (position, how it was listed, the listed text) per account holding it
        self._names: dict[str, tuple[tuple[int, str, str], ...]] = {}
        for account in accounts:
            self.add(account)

    def __len__(self) -> int:
        return len(self.accounts)

    def add(self, account: Account) -> None:
        """One more account (``remove`` the one of the same id first, when it changed)."""
        position = self.accounts.add(account)
        for network in account.networks:
            on_network = self._networks.get(network) or ()
            if position not in on_network:
                self._networks.put(network, on_network + (position,))
        for domain in account.domains:
            on_domain = self._domains.get(domain, ())
            if position not in on_domain:
                self._domains[domain] = on_domain + (position,)
        for text, method in [(account.name, MatchMethod.NAME)] + [(a, MatchMethod.ALIAS) for a in account.aliases]:
            normalized = normalize_uncached(text)  # each listed name once: not worth a cache entry
            key = normalized.key
            if not key:
                continue
            candidates = self._names.get(key, ())
            if any(c[0] == position for c in candidates):
                continue  # an alias that normalises to the account's own name adds nothing
            self._names[key] = candidates + ((position, method.value, text),)
            if self.matching.fuzzy:
                self.fuzzy_names.add(normalized, (position, method.value), account.account_id, text)

    def remove(self, account_ids: Collection[str]) -> None:
        """These accounts out of every lookup: a changed list is the previous index with its
        difference applied, not a new index (building one for 100,000 accounts took 13 s)."""
        gone = {account_id for account_id in account_ids if self.accounts.position(account_id) is not None}
        for account_id in gone:
            position = self.accounts.position(account_id)
            assert position is not None  # looked up above
            account = self.accounts.at(position)
            for network in account.networks:
                on_network = tuple(p for p in self._networks.get(network) or () if p != position)
                if on_network:
                    self._networks.put(network, on_network)
                else:
                    self._networks.remove(network)
            for domain in account.domains:
                on_domain = tuple(p for p in self._domains.get(domain, ()) if p != position)
                if on_domain:
                    self._domains[domain] = on_domain
                else:
                    self._domains.pop(domain, None)
            for text in (account.name, *account.aliases):
                key = normalize_uncached(text).key
                named = tuple(entry for entry in self._names.get(key, ()) if entry[0] != position)
                if named:
                    self._names[key] = named
                else:
                    self._names.pop(key, None)
            self.accounts.remove(position)
        if gone:
            self.fuzzy_names.remove(gone)
            self._fuzzy_verdicts.clear()

    def _at(self, positions: tuple[int, ...]) -> tuple[Account, ...]:
        return tuple(self.accounts.at(position) for position in positions)

    # --- lookups ---------------------------------------------------------------------------
    def by_network(self, address: IPAddress) -> tuple[tuple[Account, ...], str] | None:
        """Accounts whose most specific network holds the address, and that network."""
        for network, positions in self._networks.matches(address):
            return self._at(positions), str(network)
        return None

    def by_domain(self, domain: str) -> tuple[tuple[Account, ...], str] | None:
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):  # a.b.example.co.jp → ... → co.jp
            candidate = ".".join(labels[start:])
            found = self._domains.get(candidate)
            if found is not None:
                return self._at(found), candidate
        return None

    def by_name(self, key: str) -> tuple[tuple[Account, MatchMethod, str], ...]:
        """Accounts listed under a normalised name (``normalize_name(...).key``)."""
        return tuple(
            (self.accounts.at(position), MatchMethod(method), text)
            for position, method, text in (self._names.get(key, ()) if key else ())
        )

    def listed_as(self, item: tuple[int, str]) -> tuple[Account, MatchMethod]:
        """The account and how it was listed, of a fuzzy candidate's ``item``."""
        position, method = item
        return self.accounts.at(position), MatchMethod(method)

    def fuzzy_verdict(self, normalized: NormalizedName) -> FuzzyVerdict[tuple[int, str]]:
        """The fuzzy search's answer for a name, with its candidates (cached per key); its items
        are read with ``listed_as``."""
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
                    account, listed_as = self.listed_as(verdict.winner.item)
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
