"""Why an address matches an account, or why nothing matched, in words a salesperson can check.

``explain_address`` asks every resolver (the slow ones too, waiting for them), lists the accounts
that came into question with a score, and states the verdict with its reason. Pure apart from the
resolvers it is given; ``revisit explain`` prints the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len

from revisit.core.match import AccountMatch, NoMatch
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization
from revisit.core.text import printable
from revisit.enrichment.late import LateResolver
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.normalize import normalize_name
from revisit.enrichment.resolve import ResolverChain
from revisit.enrichment.terms import SourceTerms, terms_for

SOURCE_NAMES = {
    "account_networks": "your account list's networks",
    "ledger": "your network ledger (sign-ins, forms)",
    "maxmind": "MaxMind databases",
    "geolite2": "MaxMind GeoLite2 databases",
    "ipinfo_lite": "IPinfo Lite database",
    "dbip_lite": "DB-IP Lite database",
    "iptoasn": "iptoasn database",
    "mmdb": "a MaxMind-format database",
    "reverse_dns": "reverse DNS",
    "rdap": "RDAP registry",
    "rdap+jpnic": "RDAP + JPNIC whois",
}


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    source: str  # what was asked, in words
    said: str  # its answer, in words


@dataclass(frozen=True, slots=True)
class Candidate:
    account_id: str
    name: str
    how: str  # "network 203.0.113.0/24", "domain sakura-seiki.co.jp", "name", "fuzzy name"
    score: float  # 0-100


@dataclass(frozen=True)
class Explanation:
    address: IPAddress
    sources: list[SourceAnswer] = field(default_factory=list)
    organization: Organization | None = None
    candidates: list[Candidate] = field(default_factory=list)
    match: AccountMatch | None = None
    reason: str = ""  # why the match, or why none

    @property
    def terms(self) -> SourceTerms | None:
        """The terms of the source that named the organisation."""
        return terms_for(self.organization.source) if self.organization is not None else None

    def lines(self) -> list[str]:
        out = [f"address {self.address}", "what each source says:"]
        out += aligned([(answer.source, answer.said) for answer in self.sources], (30, 0))
        org = self.organization
        if org is None:
            out.append("organisation: unknown (no source named one)")
        else:
            label = org.name or org.domain or "-"
            out.append(
                f"organisation: {label} [{org.kind.value}] from {SOURCE_NAMES.get(org.source, org.source)}"
                + (", an access provider (its customers are not told apart)" if org.is_access_provider else "")
            )
            terms = self.terms
            if terms is not None:
                out.append(f"  terms: {terms.summary()}")
                if terms.note:
                    out.append(f"  note: {terms.note}")
        if self.candidates:
            out.append("accounts considered:")
            out += aligned([(c.account_id, c.name, c.how, f"{c.score:5.1f}") for c in self.candidates], (12, 32, 36, 0))
        else:
            out.append("accounts considered: none")
        if self.match is not None:
            m = self.match
            out.append(
                f"match: account {m.account.account_id} {m.account.name!r} by {m.method.value}, "
                f"confidence {m.confidence:.2f}"
            )
            out.append(f"  why: {self.reason}")
        else:
            out.append(f"no match: {self.reason}")
        return out


def aligned(rows: Sequence[tuple[str, ...]], widths: tuple[int, ...]) -> list[str]:
    """Rows of cells, indented, each column starting at the same terminal cell: padded by display
    width (``rich.cells``: a full-width 株 takes two cells, so ``str.ljust`` put the columns after
    a Japanese name two cells further per character), at least ``widths`` wide; the last cell is
    not padded. Cells are made printable first: a control character would take no cell."""
    printed = [tuple(printable(cell) for cell in row) for row in rows]
    columns = [max([width, *(cell_len(row[i]) for row in printed)]) for i, width in enumerate(widths[:-1])]
    return [
        "  "
        + " ".join(
            [*(cell + " " * (width - cell_len(cell)) for cell, width in zip(row[:-1], columns, strict=True)), row[-1]]
        )
        for row in printed
    ]


def explain_address(
    address: IPAddress, index: AccountIndex, resolvers: ResolverChain, late: LateResolver | None = None
) -> Explanation:
    sources: list[SourceAnswer] = []
    chosen: Organization | None = None
    for answer in resolvers.answers(address):
        org = answer.organization
        sources.append(
            SourceAnswer(
                SOURCE_NAMES.get(answer.resolver, answer.resolver), _describe(org) if org is not None else "no answer"
            )
        )
        if chosen is None and org is not None:
            chosen = org
    result = index.match(address, chosen)
    if isinstance(result, NoMatch) and late is not None and (chosen is None or not chosen.is_access_provider):
        late_answer = late.resolve_now(address)
        for note in late_answer.notes:
            source, _, said = note.partition(": ")
            sources.append(SourceAnswer(source, said))
        if late_answer.organization is not None:
            chosen = late_answer.organization
            result = index.match(address, chosen)
    elif late is not None:
        sources.append(SourceAnswer("reverse DNS / RDAP", "not asked: the fast sources settled it"))
    candidates = _candidates(address, index, chosen)
    if isinstance(result, AccountMatch):
        return Explanation(address, sources, chosen, candidates, result, result.detail)
    return Explanation(address, sources, chosen, candidates, None, result.reason)


def _describe(org: Organization) -> str:
    parts = [org.name or "-", f"[{org.kind.value}]"]
    if org.domain:
        parts.append(f"domain {org.domain}")
    if org.network:
        parts.append(f"network {org.network}")
    if org.asn:
        parts.append(f"AS{org.asn}")
    text = " ".join(parts)
    return f"{text}; {org.evidence}" if org.evidence else text


def _candidates(address: IPAddress, index: AccountIndex, org: Organization | None) -> list[Candidate]:
    found: dict[str, Candidate] = {}

    def consider(candidate: Candidate) -> None:
        if candidate.account_id not in found or candidate.score > found[candidate.account_id].score:
            found[candidate.account_id] = candidate

    by_network = index.by_network(address)
    if by_network is not None:
        accounts, network = by_network
        for account in accounts:
            consider(Candidate(account.account_id, account.name, f"own network {network}", 100.0))
    by_ledger = index.ledger.by_address(address) if index.ledger is not None else None
    if by_ledger is not None:
        entries, learned = by_ledger
        for entry in entries:
            learned_for = index.accounts.get(entry.account_id)
            if learned_for is not None:
                consider(Candidate(learned_for.account_id, learned_for.name, f"ledger {learned} ({entry.kind})", 100.0))
    if org is not None and org.domain:
        by_domain = index.by_domain(org.domain)
        if by_domain is not None:
            accounts, domain = by_domain
            for account in accounts:
                consider(Candidate(account.account_id, account.name, f"domain {domain}", 100.0))
    if org is not None and org.name:
        normalized = normalize_name(org.name)
        for account, method, listed in index.by_name(normalized.key):
            consider(Candidate(account.account_id, account.name, f"{method.value} {listed!r}", 100.0))
        folded, crossed = index.by_cross_script(org.name)
        for account, method, listed in crossed:
            consider(Candidate(account.account_id, account.name, f"registered {method.value} {listed!r}", 100.0))
        if index.matching.fuzzy and folded.key:
            for candidate in index.cross_fuzzy.candidates(folded):
                account, method = index.listed_as(candidate.item)
                consider(
                    Candidate(
                        account.account_id, account.name, f"fuzzy {method.value} {candidate.listed!r}", candidate.score
                    )
                )
        if index.matching.fuzzy and normalized.key:
            for candidate in index.fuzzy_names.candidates(normalized):  # near misses too
                account, method = index.listed_as(candidate.item)
                consider(
                    Candidate(
                        account.account_id, account.name, f"fuzzy {method.value} {candidate.listed!r}", candidate.score
                    )
                )
    return sorted(found.values(), key=lambda c: (-c.score, c.account_id))
