"""The first-party network ledger: addresses the company itself saw used by an account's people.

Evidence comes from what the company owns: a sign-in in its access log (a log field with the
user's e-mail or account id, ``revisit.stream.identity``) or a form / MA-tool export
(``revisit ledger import``). An e-mail counts through its domain only: the domain names the
account (the list's ``domains``), a free-mail domain names nobody and is never learned, and the
ledger keeps the domain, never the address (see README, "Data map").

Each learned address (or its network, by ``ledger.prefix_v4/v6``) carries its evidence, first and
last sighting and an expiry, since office lines change hands and home addresses move. An account's
own CIDR always decides first: an address inside another account's network is refused when
learned, and at match time the account networks are asked before the ledger.

A sighting counts once: an entry carries its sightings as (instant, who) pairs, who being the
e-mail or account id, held in memory only. The store keeps, per network, account and instant, how
many people were seen then (never who), and counts only what it had not counted before: importing
the same export again, an export that repeats last month's rows, replaying the same log or a line
delivered again adds nothing twice, while three colleagues in a date-only export stay three.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from revisit.core.config import LedgerSettings
from revisit.core.networks import IPAddress, IPNetwork
from revisit.core.organization import Organization, OrgKind, clues_said
from revisit.core.phrase import Phrase
from revisit.enrichment.networks import NetworkTable
from revisit.enrichment.terms import SOURCE_TERMS

if TYPE_CHECKING:
    from revisit.enrichment.match import AccountIndex

_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")

SEEN_ONCE = "{evidence}; seen {count} time, first {first}, last {last}, until {until}"
SEEN_TIMES = "{evidence}; seen {count} times, first {first}, last {last}, until {until}"
SIGN_IN = "sign-in"  # a log field named the signed-in user
FORM = "form"  # a row of a form or MA-tool export


@lru_cache(maxsize=1)
def free_mail_domains() -> frozenset[str]:
    """The packaged list (``enrichment/data/free_mail_domains.txt``; its header names its sources)."""
    text = resources.files("revisit.enrichment").joinpath("data/free_mail_domains.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def is_free_mail(domain: str) -> bool:
    labels = domain.lower().rstrip(".").split(".")
    domains = free_mail_domains()
    return any(".".join(labels[start:]) in domains for start in range(len(labels) - 1))


@dataclass(frozen=True, slots=True)
class Sighting:
    """One piece of evidence: an address seen with an e-mail or an account id at a time."""

    address: IPAddress
    seen_at: datetime  # aware
    email: str = ""
    account_id: str = ""
    kind: str = FORM  # SIGN_IN or FORM
    source: Phrase | str = ""  # where it was read: "leads.csv line 4", "in access.log"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    network: IPNetwork
    account_id: str
    kind: str  # SIGN_IN or FORM: the latest evidence's
    evidence: str  # in words: "form export leads.csv line 4: an address at example.co.jp"
    email_domain: str  # the e-mail's domain ("" for an account id); never the e-mail itself
    first_seen: datetime
    last_seen: datetime
    expires_at: datetime
    sightings: int = 1
    # the evidence, to be said in the reader's language (None: stored before it was kept)
    evidence_said: Phrase | None = field(default=None, compare=False)
    # the sightings learned now as (instant, who: the e-mail or account id), in memory only (none
    # for an entry read from the store): the store counts those it has not counted before
    seen: frozenset[tuple[datetime, str]] = field(default=frozenset(), compare=False, repr=False)

    def merged(self, other: LedgerEntry) -> LedgerEntry:
        """This entry with another sighting of the same network for the same account. The same
        sighting twice (a row repeated in one export, a line delivered again) counts once."""
        latest = other if other.last_seen >= self.last_seen else self
        seen = self.seen | other.seen
        repeated = len(self.seen) + len(other.seen) - len(seen)
        return replace(
            latest,
            first_seen=min(self.first_seen, other.first_seen),
            last_seen=max(self.last_seen, other.last_seen),
            expires_at=max(self.expires_at, other.expires_at),
            sightings=self.sightings + other.sightings - repeated,
            seen=seen,
        )

    def describe(self) -> str:
        return str(self.described())

    def described(self) -> Phrase:
        """What was seen and when, to be said in the reader's language."""
        return Phrase.of(
            SEEN_ONCE if self.sightings == 1 else SEEN_TIMES,
            evidence=self.evidence_said or self.evidence,
            count=self.sightings,
            first=f"{self.first_seen:%Y-%m-%d}",
            last=f"{self.last_seen:%Y-%m-%d}",
            until=f"{self.expires_at:%Y-%m-%d}",
        )


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """An entry as ``revisit ledger list --all`` shows it: a revoked or expired one must not read
    like one in use."""

    entry: LedgerEntry
    revoked_at: datetime | None = None
    revoked_reason: str = ""

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked <day> (<reason>)``."""
        return str(self.state_said(now))

    def state_said(self, now: datetime) -> Phrase:
        """``state``, to be said in the reader's language."""
        if self.revoked_at is not None:
            day = f"{self.revoked_at:%Y-%m-%d}"
            if self.revoked_reason:
                return Phrase.of("revoked {day} ({reason})", day=day, reason=self.revoked_reason)
            return Phrase.of("revoked {day}", day=day)
        return Phrase.of("expired") if self.entry.expires_at <= now else Phrase.of("active")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a sighting teaches nothing (counted per reason by the importers)."""

    reason: str  # one of REFUSAL_REASONS
    said: Phrase  # why, to be said in the reader's language

    @property
    def detail(self) -> str:
        return str(self.said)


REFUSAL_REASONS = (
    "not_public_address",
    "unknown_account",
    "not_an_email",
    "free_mail",
    "unknown_domain",
    "ambiguous_domain",
    "other_account_network",
)


# RFC 5737 and RFC 3849: addresses for examples, never a visitor's
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def not_public(address: IPAddress) -> str:
    """What kind of non-public address this is ("" for a public one): such visits are dropped
    before resolution (``filters.drop_private``), so an entry for one could never match."""
    if any(address in network for network in _DOCUMENTATION if network.version == address.version):
        return "documentation (RFC 5737/3849)"
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return "" if address.is_global else "reserved"


def learn(
    sighting: Sighting, index: AccountIndex, settings: LedgerSettings, drop_private: bool = True
) -> LedgerEntry | Refusal:
    """The ledger entry a sighting teaches, or why it teaches nothing. ``drop_private``: the
    filter's setting of that name; with it on, a private, reserved or documentation address is
    refused (it is filtered before resolution and could never match)."""
    kind = not_public(sighting.address) if drop_private else ""
    if kind:
        said = Phrase.of(
            "{address} is a {kind} address, filtered before resolution: it can never match",
            address=str(sighting.address),
            kind=Phrase.of(kind),
        )
        if sighting.source:
            said = Phrase.of("{source}: {refusal}", source=sighting.source, refusal=said)
        return Refusal("not_public_address", said)
    domain = ""
    if sighting.account_id:
        account = index.accounts.get(sighting.account_id)
        if account is None:
            return Refusal(
                "unknown_account",
                Phrase.of("account id {account!r} is not on the account list", account=sighting.account_id),
            )
        described = Phrase.of("account {account}", account=account.account_id)
    else:
        found = _EMAIL.match(sighting.email.strip())
        if found is None:
            return Refusal("not_an_email", Phrase.of("{email!r} is not an e-mail address", email=sighting.email))
        domain = found.group(1).lower().rstrip(".")
        if is_free_mail(domain):
            return Refusal(
                "free_mail",
                Phrase.of("{domain} is a free-mail domain: it names a person, not a company", domain=domain),
            )
        by_domain = index.by_domain(domain)
        if by_domain is None:
            return Refusal("unknown_domain", Phrase.of("no account has the domain {domain}", domain=domain))
        accounts, listed = by_domain
        if len(accounts) > 1:
            ids = ", ".join(sorted(a.account_id for a in accounts))
            return Refusal(
                "ambiguous_domain",
                Phrase.of(
                    "domain {domain} is on {count} accounts ({ids})", domain=listed, count=len(accounts), ids=ids
                ),
            )
        account = accounts[0]
        described = Phrase.of("an address at {domain}", domain=domain)
    by_network = index.by_network(sighting.address)
    if by_network is not None:
        owners, listed = by_network
        others = [a.account_id for a in owners if a.account_id != account.account_id]
        if others:
            return Refusal(
                "other_account_network",
                Phrase.of(
                    "{address} is in {network}, a network of account {ids}",
                    address=str(sighting.address),
                    network=str(listed),
                    ids=", ".join(sorted(others)),
                ),
            )
    prefix = settings.prefix_v4 if sighting.address.version == 4 else settings.prefix_v6
    network = ipaddress.ip_network((sighting.address, prefix), strict=False)
    what = Phrase.of("sign-in" if sighting.kind == SIGN_IN else "form export")
    if sighting.source:
        evidence = Phrase.of("{what} {source}: {described}", what=what, source=sighting.source, described=described)
    else:
        evidence = Phrase.of("{what}: {described}", what=what, described=described)
    return LedgerEntry(
        network=network,
        account_id=account.account_id,
        kind=sighting.kind,
        evidence=str(evidence),
        evidence_said=evidence,
        email_domain=domain,
        first_seen=sighting.seen_at,
        last_seen=sighting.seen_at,
        expires_at=sighting.seen_at + timedelta(days=settings.expiry_days),
        seen=frozenset(((sighting.seen_at, sighting.email.strip().lower() or sighting.account_id),)),
    )


def people_at(seen: frozenset[tuple[datetime, str]]) -> dict[datetime, int]:
    """How many people (distinct e-mails or account ids) each instant was seen with."""
    people: dict[datetime, int] = {}
    for instant, _who in seen:
        people[instant] = people.get(instant, 0) + 1
    return people


@dataclass(frozen=True, slots=True)
class LedgerSaved:
    """What ``Store.save_ledger_entries`` wrote: entries added or updated, and sightings it had
    counted before (the same export imported again), which it did not count twice."""

    entries: int = 0
    repeated: int = 0


def merge_entries(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """One entry per (network, account): sightings of the same pair folded together."""
    merged: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        key = (str(entry.network), entry.account_id)
        earlier = merged.get(key)
        merged[key] = entry if earlier is None else earlier.merged(entry)
    return list(merged.values())


class Ledger:
    """The unexpired, unrevoked entries, found by address (most specific network first)."""

    def __init__(self, entries: Iterable[LedgerEntry] = (), now: datetime | None = None) -> None:
        self._table: NetworkTable[tuple[LedgerEntry, ...]] = NetworkTable()
        self._keys: set[tuple[IPNetwork, str]] = set()
        self.entries: list[LedgerEntry] = []
        for entry in entries:
            if now is None or entry.expires_at > now:
                self.add(entry)

    def add(self, entry: LedgerEntry) -> None:
        """One more entry, found from now on (the streaming worker adds what it learns)."""
        self.entries.append(entry)
        self._keys.add((entry.network, entry.account_id))
        self._table.put(entry.network, (self._table.get(entry.network) or ()) + (entry,))

    def has(self, entry: LedgerEntry) -> bool:
        """Whether the entry's network is already here for the entry's account."""
        return (entry.network, entry.account_id) in self._keys

    def __len__(self) -> int:
        return len(self.entries)

    def by_address(self, address: IPAddress) -> tuple[tuple[LedgerEntry, ...], IPNetwork] | None:
        for network, entries in self._table.matches(address):
            return entries, network
        return None

    def for_account(self, account_id: str) -> list[LedgerEntry]:
        return sorted((e for e in self.entries if e.account_id == account_id), key=lambda e: -e.last_seen.timestamp())


class LedgerResolver:
    """Names an address by the ledger's account, after the account list's own networks."""

    name = "ledger"
    terms = (SOURCE_TERMS["ledger"],)

    def __init__(self, index: AccountIndex) -> None:
        self._index = index

    def resolve(self, address: IPAddress) -> Organization | None:
        ledger = self._index.ledger
        found = ledger.by_address(address) if ledger is not None else None
        if found is None:
            return None
        entries, network = found
        account = self._index.accounts.get(entries[0].account_id)
        if account is None:
            return None
        return Organization(
            name=account.name,
            kind=OrgKind.BUSINESS,
            source=self.name,
            confidence=LEDGER_CONFIDENCE,
            domain=account.domains[0] if account.domains else None,
            network=str(network),
            **clues_said(
                Phrase.of(
                    "{network} is in the ledger for account {account}: {entry}",
                    network=network,
                    account=account.account_id,
                    entry=entries[0].described(),
                )
            ),
        )


# Below an own CIDR (1.0) and a domain (0.95): the evidence is the company's own, but a learned
# address may have changed hands since (dynamic lines, a visitor's home connection).
LEDGER_CONFIDENCE = 0.9


def entry_accounts(entries: Sequence[LedgerEntry]) -> list[str]:
    return sorted({entry.account_id for entry in entries})
