"""Why an address matches an account, or why nothing matched, in words a salesperson can check.

``explain_address`` asks every resolver (the slow ones too, waiting for them), lists the accounts
that came into question with a score, and states the verdict with its reason. Pure apart from the
resolvers it is given; ``revisit explain`` prints the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.cells import cell_len

from revisit.core.account import Account, DormancyTier
from revisit.core.config import DormancySettings
from revisit.core.match import AccountMatch, NoMatch
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization
from revisit.core.phrase import Phrase
from revisit.core.text import printable
from revisit.enrichment import japanese
from revisit.enrichment.dormancy import dormancy_tier, months_between
from revisit.enrichment.late import LateResolver
from revisit.enrichment.match import AccountIndex, method_words
from revisit.enrichment.normalize import normalize_name
from revisit.enrichment.resolve import ResolverChain
from revisit.enrichment.terms import SourceTerms, terms_for

SOURCE_NAMES = {
    "account_networks": "your account list's networks",
    "ledger": "your network ledger (sign-ins, forms)",
    "maxmind": "MaxMind databases",
    "geolite2": "MaxMind GeoLite2 databases",
    "ipinfo_lite": "IPinfo Lite database",
    "revisit_demo": "the revisit demo's invented database",
    "dbip_lite": "DB-IP Lite database",
    "iptoasn": "iptoasn database",
    "mmdb": "a MaxMind-format database",
    "reverse_dns": "reverse DNS",
    "rdap": "RDAP registry",
    "rdap+jpnic": "RDAP + JPNIC whois",
}


NOT_ASKED = "not asked: the fast sources settled it"
# ledger entries whose account is not in the list explain matched against (``revisit explain``)
_LEDGER_CANNOT_MATCH = "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in "
LEDGER_NOT_IN_CSV = (
    _LEDGER_CANNOT_MATCH + "the --accounts list (they left the list, or pass the list the ledger was learned with)"
)
LEDGER_NO_LIST = (
    _LEDGER_CANNOT_MATCH + "the database's account list, which is empty (store the list with "
    "`revisit accounts import CSV --db URL`, or pass --accounts CSV)"
)
LEDGER_NOT_IN_DATABASE = (
    _LEDGER_CANNOT_MATCH
    + "the database's account list (they left the list, or pass the current list with --accounts CSV)"
)


@dataclass(frozen=True)
class ExplainWords:
    """The words of ``revisit explain`` in one language: the translations of its sentences and of
    the match reasons (English → the language's, none for English), and the names of sources,
    organisation kinds and match methods."""

    translations: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=lambda: SOURCE_NAMES)
    kinds: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, str] = field(default_factory=dict)
    titles: Mapping[str, str] = field(default_factory=dict)  # of a source's terms, by its key
    licences: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    note_leads: Mapping[str, str] = field(default_factory=dict)  # before a note kept in its own words
    separator: str = "; "  # between a source's clues

    def say(self, template: str, /, **values: Any) -> str:
        return Phrase.of(template, **values).said_in(self.translations)

    def source(self, key: str) -> str:
        return self.sources.get(key, SOURCE_NAMES.get(key, key))

    def kind(self, value: str) -> str:
        return self.kinds.get(value, value)

    def method(self, value: str) -> str:
        return self.methods.get(value, value)

    def clues(self, said: Sequence[Phrase | str]) -> str:
        """A source's clues, one after the other; a stored text as it is."""
        return self.separator.join(
            clue.said_in(self.translations) if isinstance(clue, Phrase) else clue for clue in said
        )


ENGLISH = ExplainWords()
JAPANESE = ExplainWords(
    japanese.TRANSLATIONS,
    japanese.SOURCES,
    japanese.KINDS,
    japanese.METHODS,
    japanese.TITLES,
    japanese.LICENCES,
    japanese.NOTES,
    japanese.NOTE_LEADS,
    japanese.SEPARATOR,
)


def words_in(locale: str) -> ExplainWords:
    """``alerts.locale``'s words: Japanese for "ja", English otherwise."""
    return JAPANESE if locale == "ja" else ENGLISH


def terms_summary(terms: SourceTerms, words: ExplainWords = ENGLISH) -> str:
    """A source's terms in one line: what it is, its licence, whether sales may use it, the
    credit it requires."""
    text = words.say(
        "{title}: {licence} ({url}); sales use {sales_use}",
        title=words.titles.get(terms.key, terms.title),
        licence=words.licences.get(terms.key, terms.licence),
        url=words.translations.get(terms.terms_url, terms.terms_url),  # own data: where it is, in words
        sales_use=words.say(terms.sales_use_words()),
    )
    if terms.attribution:
        text += words.say("; credit required: {credit!r}", credit=terms.attribution)
    return text


def sources_page(
    sources: Iterable[SourceTerms], unacknowledged: frozenset[str] = frozenset(), words: ExplainWords = ENGLISH
) -> list[str]:
    """The attribution page for the enabled sources, as plain-text lines (``revisit sources``).
    ``unacknowledged``: keys of sources that need an acknowledgement not given yet; the page is
    where the refusal sends the user, so it is printed anyway, with that said at the source. The
    credits are the owners' own words, in every language."""
    listed = list(dict.fromkeys(sources))
    lines = [words.say("Data sources of this revisit installation"), ""]
    for terms in listed:
        lines.append(words.titles.get(terms.key, terms.title))
        licence = words.licences.get(terms.key, terms.licence)
        url = words.translations.get(terms.terms_url, terms.terms_url)
        lines.append(words.say("  licence: {licence} ({url})", licence=licence, url=url))
        lines.append(words.say("  sales use: {sales_use}", sales_use=words.say(terms.sales_use_words())))
        if terms.attribution:
            lines.append(words.say("  credit: {credit}", credit=_credit(terms)))
        if terms.note:
            lines.append(words.say("  note: {note}", note=terms_note(terms, words)))
        if terms.key in unacknowledged:
            lines.append(
                words.say(
                    "  NOT ACKNOWLEDGED: set resolution.rdap.acknowledge_terms = true once your use complies "
                    "with these terms; until then every other command refuses to start"
                )
            )
        lines.append("")
    credits = [t for t in listed if t.attribution]
    if credits:
        lines.append(words.say("Show these credits wherever revisit's results are shown:"))
        lines += [f"  {_credit(t)}" for t in credits]
    else:
        lines.append(words.say("No enabled source asks for a credit."))
    return lines


def _credit(terms: SourceTerms) -> str:
    return terms.attribution + (f" <{terms.attribution_url}>" if terms.attribution_url else "")


def terms_note(terms: SourceTerms, words: ExplainWords = ENGLISH) -> str:
    """A source's note; a registry's terms, quoted, stay in the registry's words."""
    lead = words.note_leads.get(terms.key)
    return lead + terms.note if lead is not None else words.notes.get(terms.key, terms.note)


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    source: str  # the resolver asked (``SOURCE_NAMES``), or a late resolver's own label
    organization: Organization | None = None
    said: tuple[Phrase | str, ...] = ()  # a late resolver's answer, instead of an organisation


@dataclass(frozen=True, slots=True)
class Candidate:
    account_id: str
    name: str
    how: Phrase  # "own network 203.0.113.0/24", "domain sakura-seiki.co.jp", "fuzzy name 'Sakura'"
    score: float  # 0-100


@dataclass(frozen=True)
class Explanation:
    address: IPAddress
    sources: list[SourceAnswer] = field(default_factory=list)
    organization: Organization | None = None
    candidates: list[Candidate] = field(default_factory=list)
    match: AccountMatch | None = None
    reason: str = ""  # why the match, or why none
    why: Phrase | None = None  # the reason, to be said in the reader's language
    dormancy: Phrase | None = None  # the matched account's tier today: is an alert possible at all?

    @property
    def terms(self) -> SourceTerms | None:
        """The terms of the source that named the organisation."""
        return terms_for(self.organization.source) if self.organization is not None else None

    def lines(self, words: ExplainWords | None = None) -> list[str]:
        """In the language of ``words`` (``words_in(alerts.locale)``; English by default); names,
        addresses and the sources' own evidence (PTR names, registry text) are quoted as they are."""
        words = words or ENGLISH
        say = words.say
        out = [say("address {address}", address=self.address), say("what each source says:")]
        out += aligned([(words.source(a.source), self._said(a, words)) for a in self.sources], (30, 0))
        org = self.organization
        if org is None:
            out.append(say("organisation: unknown (no source named one)"))
        else:
            out.append(
                say(
                    "organisation: {organization} [{kind}] from {source}",
                    organization=org.name or org.domain or "-",
                    kind=words.kind(org.kind.value),
                    source=words.source(org.source),
                )
                + (say(", an access provider (its customers are not told apart)") if org.is_access_provider else "")
            )
            terms = self.terms
            if terms is not None:
                out.append("  " + say("terms: {summary}", summary=terms_summary(terms, words)))
                if terms.note:
                    out.append("  " + say("note: {note}", note=terms_note(terms, words)))
        if self.candidates:
            out.append(say("accounts considered (the last column: how closely the name fits, 0-100):"))
            out += aligned(
                [(c.account_id, c.name, c.how.said_in(words.translations), f"{c.score:5.1f}") for c in self.candidates],
                (12, 32, 36, 0),
            )
        else:
            out.append(say("accounts considered: none"))
        why = self.why.said_in(words.translations) if self.why is not None else self.reason
        if self.match is not None:
            m = self.match
            out.append(
                say(
                    "match: account {account} {name!r} by {method}, confidence {confidence:.2f}",
                    account=m.account.account_id,
                    name=m.account.name,
                    method=words.method(m.method.value),
                    confidence=m.confidence,
                )
            )
            out.append("  " + say("why: {reason}", reason=why))
            if self.dormancy is not None:
                out.append("  " + self.dormancy.said_in(words.translations))
        else:
            out.append(say("no match: {reason}", reason=why))
        return out

    @staticmethod
    def _said(answer: SourceAnswer, words: ExplainWords) -> str:
        if answer.organization is None:
            return words.clues(answer.said) if answer.said else words.say("no answer")
        org = answer.organization
        parts = [org.name or "-", f"[{words.kind(org.kind.value)}]"]
        if org.domain:
            parts.append(words.say("domain {domain}", domain=org.domain))
        if org.network:
            parts.append(words.say("network {network}", network=org.network))
        if org.asn:
            parts.append(f"AS{org.asn}")
        text = " ".join(parts)
        evidence = words.clues(org.evidence_said) if org.evidence_said else org.evidence
        return words.say("{described}; {evidence}", described=text, evidence=evidence) if evidence else text


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


def dormancy_today(account: Account, settings: DormancySettings, today: date) -> Phrase:
    """Whether a visit of the account today can raise an alert: an active customer's never does
    (a matched visitor with no alert is most often that)."""
    tier = dormancy_tier(account, today, settings)
    last = account.last_touch
    if last is None:
        return Phrase.of("dormancy today: tier C (no deal or contact date in the list)")
    months = months_between(last, today)
    if tier is DormancyTier.ACTIVE:
        return Phrase.of(
            "dormancy today: an active customer (last deal or contact {day}, {months} months ago): never alerted",
            day=last.isoformat(),
            months=months,
        )
    return Phrase.of(
        "dormancy today: tier {tier} (last deal or contact {day}, {months} months ago)",
        tier=tier.value,
        day=last.isoformat(),
        months=months,
    )


def explain_address(
    address: IPAddress,
    index: AccountIndex,
    resolvers: ResolverChain,
    late: LateResolver | None = None,
    dormancy: DormancySettings | None = None,
    today: date | None = None,
) -> Explanation:
    """``dormancy``: the tier of a matched account is judged ``today`` (the local date by default)."""
    sources: list[SourceAnswer] = []
    chosen: Organization | None = None
    for answer in resolvers.answers(address):
        org = answer.organization
        sources.append(SourceAnswer(answer.resolver, org))
        if chosen is None and org is not None:
            chosen = org
    result = index.match(address, chosen)
    if isinstance(result, NoMatch) and late is not None and (chosen is None or not chosen.is_access_provider):
        late_answer = late.resolve_now(address)
        for note in late_answer.notes:
            sources.append(SourceAnswer(note.source, None, note.said))
        if late_answer.organization is not None:
            chosen = late_answer.organization
            result = index.match(address, chosen)
    elif late is not None:
        sources.append(SourceAnswer("reverse DNS / RDAP", None, (Phrase.of(NOT_ASKED),)))
    candidates = _candidates(address, index, chosen)
    if isinstance(result, AccountMatch):
        tier = dormancy_today(result.account, dormancy, today or date.today()) if dormancy is not None else None
        return Explanation(address, sources, chosen, candidates, result, result.detail, result.phrase, tier)
    return Explanation(address, sources, chosen, candidates, None, result.reason, result.phrase)


def _candidates(address: IPAddress, index: AccountIndex, org: Organization | None) -> list[Candidate]:
    found: dict[str, Candidate] = {}

    def consider(candidate: Candidate) -> None:
        if candidate.account_id not in found or candidate.score > found[candidate.account_id].score:
            found[candidate.account_id] = candidate

    by_network = index.by_network(address)
    if by_network is not None:
        accounts, network = by_network
        for account in accounts:
            consider(
                Candidate(account.account_id, account.name, Phrase.of("own network {network}", network=network), 100.0)
            )
    by_ledger = index.ledger.by_address(address) if index.ledger is not None else None
    if by_ledger is not None:
        entries, learned = by_ledger
        for entry in entries:
            learned_for = index.accounts.get(entry.account_id)
            if learned_for is not None:
                consider(
                    Candidate(
                        learned_for.account_id,
                        learned_for.name,
                        Phrase.of("ledger {network} ({kind})", network=learned, kind=Phrase.of(entry.kind)),
                        100.0,
                    )
                )
    if org is not None and org.domain:
        by_domain = index.by_domain(org.domain)
        if by_domain is not None:
            accounts, domain = by_domain
            for account in accounts:
                consider(
                    Candidate(account.account_id, account.name, Phrase.of("domain {domain}", domain=domain), 100.0)
                )
    if org is not None and org.name:
        normalized = normalize_name(org.name)
        for account, method, listed in index.by_name(normalized.key):
            consider(
                Candidate(
                    account.account_id,
                    account.name,
                    Phrase.of("{method} {listed!r}", method=method_words(method), listed=listed),
                    100.0,
                )
            )
        folded, crossed = index.by_cross_script(org.name)
        for account, method, listed in crossed:
            consider(
                Candidate(
                    account.account_id,
                    account.name,
                    Phrase.of("registered {method} {listed!r}", method=method_words(method), listed=listed),
                    100.0,
                )
            )
        if index.matching.fuzzy and folded.key:
            for candidate in index.cross_fuzzy.candidates(folded):
                account, method = index.listed_as(candidate.item)
                consider(
                    Candidate(
                        account.account_id,
                        account.name,
                        Phrase.of("fuzzy {method} {listed!r}", method=method_words(method), listed=candidate.listed),
                        candidate.score,
                    )
                )
        if index.matching.fuzzy and normalized.key:
            for candidate in index.fuzzy_names.candidates(normalized):  # near misses too
                account, method = index.listed_as(candidate.item)
                consider(
                    Candidate(
                        account.account_id,
                        account.name,
                        Phrase.of("fuzzy {method} {listed!r}", method=method_words(method), listed=candidate.listed),
                        candidate.score,
                    )
                )
    return sorted(found.values(), key=lambda c: (-c.score, c.account_id))
