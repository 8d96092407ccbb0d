"""Organization → dormant account (名寄せ), precision first, and always able to say why.

Order of trust: the account's own networks (CIDR), then the first-party ledger's learned
addresses (``enrichment.ledger``), then its domains, then its normalised name or
aliases, then a fuzzy name match with a clear margin (``enrichment.fuzzy``). A name or domain that
fits two accounts matches neither, and traffic from an access provider (ISP, mobile, hosting, VPN)
is never matched by name or domain.

Exact lookups are a constant number of dict probes, so 100,000 accounts cost what 10 do; a fuzzy
search runs once per new organisation name, over the few names an index finds (0.03 ms a name on a
log's real organisations at 100,000 accounts, 0.33-0.38 ms on bench/fuzzy_bench.py's much-alike names).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from typing import Any

from revisit.core.account import Account
from revisit.core.caches import BoundedCache
from revisit.core.config import MatchingSettings
from revisit.core.match import AccountMatch, Ambiguity, MatchMethod, NoMatch
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization
from revisit.core.phrase import Phrase
from revisit.enrichment.account_table import AccountTable
from revisit.enrichment.crossscript import cross_key, has_latin
from revisit.enrichment.fuzzy import FuzzyNames, FuzzyVerdict
from revisit.enrichment.ledger import LEDGER_CONFIDENCE, Ledger, entry_accounts
from revisit.enrichment.networks import NetworkTable
from revisit.enrichment.normalize import (
    NormalizedName,
    normalize_name,
    normalize_uncached,
)

_BASE_CONFIDENCE = {
    MatchMethod.NETWORK: 1.0,
    MatchMethod.LEDGER: LEDGER_CONFIDENCE,
    MatchMethod.DOMAIN: 0.95,
    MatchMethod.NAME: 0.9,
    MatchMethod.ALIAS: 0.85,
    MatchMethod.FUZZY: 0.8,
    # below every same-script name: a romanised name is one step removed from the registered one,
    # and readings are shared by homophones (measured on bench/matching_eval.py: precision 1.000)
    MatchMethod.ENGLISH_NAME: 0.75,
    MatchMethod.READING: 0.7,
}
# organisations ``AccountIndex.ambiguous`` remembers at most: a replay's summary names how many
# (the long-running worker must not grow with them)
AMBIGUOUS_KEPT = 65_536
# account CSV columns ``revisit accounts enrich --houjin`` writes (enrichment/houjin.py)
REGISTERED_NAME, REGISTERED_NAME_EN, REGISTERED_KANA = "registered_name", "registered_name_en", "registered_kana"


class AccountIndex:
    """The lookups hold accounts by their position in ``accounts`` (an ``AccountTable``) and their
    methods as plain text, so that an index kept on disk loads as ints and strings, at C speed,
    and an account becomes an object only when a visitor matches it."""

    def __init__(
        self,
        accounts: Iterable[Account],
        matching: MatchingSettings | None = None,
        ledger: Ledger | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        self.matching = matching or MatchingSettings()
        self.ledger = ledger  # the first-party network ledger, asked right after the own networks
        # (position, method): the fuzzy search's items, read with ``listed_as``
        self.fuzzy_names: FuzzyNames[tuple[int, str]] = FuzzyNames(self.matching)
        self._fuzzy_verdicts: BoundedCache = BoundedCache(65_536)
        self.accounts = AccountTable()
        self._networks: NetworkTable[tuple[int, ...]] = NetworkTable()  # tuples: a list costs more memory
        self._domains: dict[str, tuple[int, ...]] = {}
        # normalised name → (position, how it was listed, the listed text) per account holding it
        self._names: dict[str, tuple[tuple[int, str, str], ...]] = {}
        # folded romanised key → (position, english_name or reading, the registered text)
        self._cross: dict[str, tuple[tuple[int, str, str], ...]] = {}
        self.cross_fuzzy: FuzzyNames[tuple[int, str]] = FuzzyNames(self.matching)
        self._cross_verdicts: BoundedCache = BoundedCache(65_536)
        # organisation name → the accounts it fits alike: counted once per organisation, on the
        # branch that declines (a matcher's answer is cached per address, so not once per line)
        self.ambiguous: dict[str, Ambiguity] = {}
        for account in accounts:
            self.add(account, keys)

    def __len__(self) -> int:
        return len(self.accounts)

    def add(self, account: Account, keys: dict[str, str] | None = None) -> None:
        """One more account (``remove`` the one of the same id first, when it changed). ``keys``
        gets the matching key of each name indexed: the import into the database needs them too
        (its sort and search columns), and normalising 100,000 names again took it ~3 s."""
        position = self.accounts.add(account)
        networks, domains, names = self._networks, self._domains, self._names
        for network in account.networks:
            on_network = networks.get(network)
            if on_network is None:
                networks.put(network, (position,))
            elif position not in on_network:
                networks.put(network, on_network + (position,))
        for domain in account.domains:
            on_domain = domains.get(domain)
            if on_domain is None:
                domains[domain] = (position,)
            elif position not in on_domain:
                domains[domain] = on_domain + (position,)
        fuzzy = self.matching.fuzzy
        for text, method in _listed_names(account):
            normalized = normalize_uncached(text)  # each listed name once: not worth a cache entry
            key = normalized.key
            if keys is not None:
                keys[text] = key
            if not key:
                continue
            candidates = names.get(key)
            if candidates is None:
                names[key] = ((position, method, text),)
            elif any(c[0] == position for c in candidates):
                continue  # an alias that normalises to the account's own name adds nothing
            else:
                names[key] = candidates + ((position, method, text),)
            if fuzzy:
                self.fuzzy_names.add(normalized, (position, method), account.account_id, text)
        if not account.attributes:
            return  # no registered English name or reading (most lists)
        for folded, method_of, text in _registered_cross(account):
            cross = self._cross.get(folded.key, ())
            if any(c[0] == position for c in cross):
                continue  # English name and reading alike: one entry
            self._cross[folded.key] = cross + ((position, method_of.value, text),)
            if fuzzy:
                self.cross_fuzzy.add(folded, (position, method_of.value), account.account_id, text)

    def use_ledger(self, ledger: Ledger | None) -> None:
        """Match by these learned addresses from now on (the ledger is read from the database,
        which is opened after the inputs are checked)."""
        self.ledger = ledger

    def __getstate__(self) -> dict[str, Any]:
        """Kept on disk without the ledger (the database's, read afresh at every start) and
        without what a run met (``ambiguous``)."""
        return {**self.__dict__, "ledger": None, "ambiguous": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"ambiguous": {}} | state)  # an index kept before ``ambiguous`` existed

    def _fits_several(self, name: str, address: IPAddress, account_ids: Iterable[str]) -> None:
        """Remember that this organisation name fitted these accounts alike."""
        self.add_ambiguous([Ambiguity(name, tuple(sorted(set(account_ids))), str(address))])

    def add_ambiguous(self, found: Iterable[Ambiguity]) -> None:
        """Organisations that fitted several accounts, each kept with its lowest address: the same
        whichever process (``enrichment.parallel``) or order met its addresses."""
        ambiguous = self.ambiguous
        for ambiguity in found:
            known = ambiguous.get(ambiguity.organization)
            if known is None:
                if len(ambiguous) < AMBIGUOUS_KEPT:
                    ambiguous[ambiguity.organization] = ambiguity
            elif _address_order(ambiguity.address) < _address_order(known.address):
                ambiguous[ambiguity.organization] = ambiguity

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
            for text, _method in _listed_names(account):
                _drop(self._names, normalize_uncached(text).key, position)
            for folded, _method, _text in _registered_cross(account):
                _drop(self._cross, folded.key, position)
            self.accounts.remove(position)
        if gone:
            self.fuzzy_names.remove(gone)
            self.cross_fuzzy.remove(gone)
            self._fuzzy_verdicts.clear()
            self._cross_verdicts.clear()

    def _at(self, positions: tuple[int, ...]) -> tuple[Account, ...]:
        return tuple(self.accounts.at(position) for position in positions)

    def _listed(self, entries: tuple[tuple[int, str, str], ...]) -> tuple[tuple[Account, MatchMethod, str], ...]:
        return tuple((self.accounts.at(position), MatchMethod(method), text) for position, method, text in entries)

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
        return self._listed(self._names.get(key, ())) if key else ()

    def by_cross_script(self, name: str) -> tuple[NormalizedName, tuple[tuple[Account, MatchMethod, str], ...]]:
        """Accounts whose registered English name or romanised reading is this Latin name's."""
        folded = cross_key(name)
        return folded, self._listed(self._cross.get(folded.key, ())) if folded.key else ()

    def cross_verdict(self, folded: NormalizedName) -> FuzzyVerdict[tuple[int, str]]:
        """The fuzzy search over registered English names and readings (cached per key); its
        items are read with ``listed_as``."""
        verdict = self._cross_verdicts.get(folded.key)
        if verdict is None:
            verdict = self._cross_verdicts.remember(folded.key, self.cross_fuzzy.decide(folded))
        return verdict

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
                return NoMatch.because(
                    "network {network} is listed on {count} accounts ({ids}); fix the list",
                    network=network,
                    count=len(accounts),
                    ids=_ids(accounts),
                )
            return AccountMatch.because(
                accounts[0],
                MatchMethod.NETWORK,
                1.0,
                Phrase.of("address is in {network}, one of the account's own networks", network=network),
            )
        ledger_hit = self.ledger.by_address(address) if self.ledger is not None else None
        if ledger_hit is not None:
            entries, learned = ledger_hit
            owners = entry_accounts(entries)
            account = self.accounts.get(owners[0]) if len(owners) == 1 else None
            if len(owners) > 1:
                return NoMatch.because(
                    "ledger: {network} was learned for {count} accounts ({ids}); "
                    "revoke the wrong one (`revisit ledger revoke`)",
                    network=learned,
                    count=len(owners),
                    ids=", ".join(owners),
                )
            if account is not None:
                return AccountMatch.because(
                    account,
                    MatchMethod.LEDGER,
                    LEDGER_CONFIDENCE,
                    Phrase.of(
                        "ledger: address is in {network}, learned for the account from {entry}",
                        network=learned,
                        entry=entries[0].described(),
                    ),
                )
        if organization is None:
            return NoMatch.because("no resolver knows this address")
        if organization.is_access_provider:
            return NoMatch.because(
                "traffic of an access provider ({kind}: {provider}); never matched by name",
                kind=Phrase.of(organization.kind.value),
                provider=organization.name or organization.domain,
            )
        if organization.domain:
            domain_hit = self.by_domain(organization.domain)
            if domain_hit is not None:
                accounts, domain = domain_hit
                if len(accounts) > 1:
                    return NoMatch.because(
                        "domain {domain} is on {count} accounts ({ids})",
                        domain=domain,
                        count=len(accounts),
                        ids=_ids(accounts),
                    )
                return AccountMatch.because(
                    accounts[0],
                    MatchMethod.DOMAIN,
                    round(_BASE_CONFIDENCE[MatchMethod.DOMAIN] * organization.confidence, 2),
                    Phrase.of(
                        "organisation domain {domain} is the account's {listed}",
                        domain=organization.domain,
                        listed=domain,
                    ),
                )
        if organization.name:
            normalized = normalize_name(organization.name)
            key = normalized.key
            candidates = self.by_name(key)
            if len(candidates) > 1:
                self._fits_several(organization.name, address, (c[0].account_id for c in candidates))
                return NoMatch.because(
                    "name {name!r} fits {count} accounts ({ids}); none is alerted",
                    name=organization.name,
                    count=len(candidates),
                    ids=_ids(c[0] for c in candidates),
                )
            if candidates:
                account, method, listed = candidates[0]
                return AccountMatch.because(
                    account,
                    method,
                    round(_BASE_CONFIDENCE[method] * organization.confidence, 2),
                    Phrase.of(
                        "{name!r} and the account's {method} {listed!r} are both {key!r} once legal forms, "
                        "width, case and punctuation are set aside",
                        name=organization.name,
                        method=_METHOD_WORDS[method],
                        listed=listed,
                        key=key,
                    ),
                )
            cross_script = bool(self._cross) and has_latin(organization.name)
            folded, crossed = self.by_cross_script(organization.name) if cross_script else (normalized, ())
            if len(crossed) > 1:
                self._fits_several(organization.name, address, (c[0].account_id for c in crossed))
                return NoMatch.because(
                    "name {name!r} is the registered English name or reading of {count} accounts ({ids}); "
                    "none is alerted",
                    name=organization.name,
                    count=len(crossed),
                    ids=_ids(c[0] for c in crossed),
                )
            if crossed:
                account, method, listed = crossed[0]
                return AccountMatch.because(
                    account,
                    method,
                    round(_BASE_CONFIDENCE[method] * organization.confidence, 2),
                    Phrase.of(
                        "{name!r} and the account's registered {method} {listed!r} are both {key!r} once legal "
                        "forms, case and long vowels are set aside",
                        name=organization.name,
                        method=_METHOD_WORDS[method],
                        listed=listed,
                        key=folded.key,
                    ),
                )
            if self.matching.fuzzy and key:
                verdict = self.fuzzy_verdict(normalized)
                if verdict.winner is not None:
                    account, listed_as = self.listed_as(verdict.winner.item)
                    confidence = (
                        _BASE_CONFIDENCE[MatchMethod.FUZZY] * verdict.winner.score / 100 * organization.confidence
                    )
                    return AccountMatch.because(
                        account,
                        MatchMethod.FUZZY,
                        round(confidence, 2),
                        Phrase.of(
                            "{name!r} is {verdict} (the account's {method})",
                            name=organization.name,
                            verdict=verdict.said,
                            method=_METHOD_WORDS[listed_as],
                        ),
                    )
                if verdict.candidates:
                    self._if_too_close(organization.name, address, verdict)
                    return NoMatch.because(
                        "no account has the organisation's name {name!r} exactly, and the fuzzy match "
                        "declined: {verdict}",
                        name=organization.name,
                        verdict=verdict.said,
                    )
            if cross_script and self.matching.fuzzy and folded.key:
                cross_verdict = self.cross_verdict(folded)
                if cross_verdict.winner is not None:
                    account, method = self.listed_as(cross_verdict.winner.item)
                    confidence = _BASE_CONFIDENCE[method] * cross_verdict.winner.score / 100 * organization.confidence
                    return AccountMatch.because(
                        account,
                        method,
                        round(confidence, 2),
                        Phrase.of(
                            "{name!r} is {verdict} (the account's registered {method}, romanised and folded)",
                            name=organization.name,
                            verdict=cross_verdict.said,
                            method=_METHOD_WORDS[method],
                        ),
                    )
                if cross_verdict.candidates:
                    self._if_too_close(organization.name, address, cross_verdict)
                    return NoMatch.because(
                        "no account has the organisation's name {name!r}, and the match with registered "
                        "English names and readings declined: {verdict}",
                        name=organization.name,
                        verdict=cross_verdict.said,
                    )
        return NoMatch.because(
            "no account has the organisation's network, domain or name ({organization})",
            organization=organization.name or organization.domain,
        )

    def _if_too_close(self, name: str, address: IPAddress, verdict: FuzzyVerdict[Any]) -> None:
        """A declined fuzzy verdict whose best candidate was alike enough: it declined because
        others came within the margin, not because nothing was close."""
        if verdict.candidates[0].score >= self.matching.fuzzy_min_score and len(verdict.candidates) > 1:
            self._fits_several(name, address, (c.owner for c in verdict.candidates))


def method_words(method: MatchMethod) -> Phrase:
    """How a listed name is named in a reason: "the account's alias", "registered reading"."""
    return _METHOD_WORDS.get(method) or Phrase.of(method.value)


_METHOD_WORDS = {
    MatchMethod.NAME: Phrase.of("name"),
    MatchMethod.ALIAS: Phrase.of("alias"),
    MatchMethod.ENGLISH_NAME: Phrase.of("English name"),
    MatchMethod.READING: Phrase.of("reading"),
}


_NAME, _ALIAS = MatchMethod.NAME.value, MatchMethod.ALIAS.value  # as the index holds methods: text


def _listed_names(account: Account) -> list[tuple[str, str]]:
    """The names an account is matched by exactly (with how, ``MatchMethod``'s value): its own,
    its aliases, its registered name."""
    listed = [(account.name, _NAME)]
    if account.aliases:
        listed += [(alias, _ALIAS) for alias in account.aliases]
    if account.attributes and (registered := dict(account.attributes).get(REGISTERED_NAME, "")):
        listed.append((registered, _ALIAS))
    return listed


def _registered_cross(account: Account) -> list[tuple[NormalizedName, MatchMethod, str]]:
    """The account's registered English name and reading, folded for the cross-script lookup."""
    attributes = dict(account.attributes)
    found = []
    for column, method in ((REGISTERED_NAME_EN, MatchMethod.ENGLISH_NAME), (REGISTERED_KANA, MatchMethod.READING)):
        text = attributes.get(column, "")
        folded = cross_key(text) if text else None
        if folded is not None and folded.key:
            found.append((folded, method, text))
    return found


def _drop(lookup: dict[str, tuple[tuple[int, str, str], ...]], key: str, position: int) -> None:
    """The entries of the account at ``position`` out of a name lookup's ``key``."""
    kept = tuple(entry for entry in lookup.get(key, ()) if entry[0] != position)
    if kept:
        lookup[key] = kept
    else:
        lookup.pop(key, None)


def _address_order(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


def _ids(accounts: Iterable[Account]) -> str:
    return ", ".join(sorted(a.account_id for a in accounts))
