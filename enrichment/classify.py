"""Classifying lines: parse → filter → resolve → match, the first half of a hit's journey.

``HitClassifier`` is the pure core for one line (with per-value caches, no I/O): its outcome is a
``MatchedHit`` for a known account, or the reason the line goes no further. Replay and the streaming
worker both use it; ``revisit.alerts.tracker`` takes the matched hits from there.

Work is done lazily, cheapest check first: most lines are bots, assets or visitors we cannot name,
and they cost a regex match and a few dict lookups. Only a hit from a known account is turned into
a `Hit` value.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import (
    Any,
    Generic,
    NamedTuple,
    Protocol,
    TypeVar,
    cast,
    final,
    overload,
)

from revisit.core.caches import BoundedCache
from revisit.core.config import Settings
from revisit.core.hit import Hit, Malformed, MalformedReason
from revisit.core.match import AccountMatch, NoMatch
from revisit.core.networks import IPNetwork
from revisit.core.organization import Organization
from revisit.enrichment.late import LateAnswer, LateResolver
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.rdap import NetworkRegistration
from revisit.enrichment.resolve import ResolverChain
from revisit.stream.fields import (
    ClientAddressResolver,
    TimestampParser,
    normalize_address,
    split_request,
    zone_named,
)
from revisit.stream.filters import FilterReason, HitFilter
from revisit.stream.formats import LineParser, make_line_parser
from revisit.stream.rows import MALFORMED, Row, RowParser


# The outcomes are final: they are told apart by `type(outcome) is ...` (faster than isinstance),
# which mypy narrows only for final classes.
@final
@dataclass(frozen=True, slots=True)
class Filtered:
    reason: str


@final
@dataclass(frozen=True, slots=True)
class Unmatched:
    organization: Organization | None
    reason: str


@final
@dataclass(frozen=True, slots=True)
class MatchedHit:
    hit: Hit
    organization: Organization
    match: AccountMatch
    raw_line: str


# Named tuples rather than frozen dataclasses: one is made per line while an address waits, and
# they cost a third as much to make.
class Awaiting(NamedTuple):
    """Remembered for an address while reverse DNS / RDAP look it up: what it is until then."""

    unmatched: Unmatched


@final
class Deferred(NamedTuple):
    """A line whose address is being resolved late: held by the caller, classified again later."""

    client_ip: str
    line: str
    unmatched: Unmatched  # what the line is if no late answer comes


@final
class Held(NamedTuple):
    """A line held for late resolution by the ``HeldLines`` given to ``classify_lines``."""


HELD = Held()


@final
class Settled(NamedTuple):
    """A held line, classified again once its late answer arrived (already counted as a line)."""

    outcome: Classified


Classified = Malformed | Filtered | Unmatched | MatchedHit  # where a line ends up
LineOutcome = Classified | Deferred | Held

_MALFORMED = {reason: Malformed(reason) for reason in MalformedReason.ALL}
_FILTERED = {reason: Filtered(reason) for reason in FilterReason.ALL}


@dataclass(frozen=True, slots=True)
class _Known:
    """What the classifier remembers per client address (also the misses)."""

    organization: Organization
    match: AccountMatch


_AddressOutcome = Filtered | Unmatched | Awaiting | _Known
_Shareable = TypeVar("_Shareable", bound=Hashable)  # frozen values: equal ones are interchangeable
_Tag = TypeVar("_Tag")


class SharedDecisions(Protocol):
    """Per-address decisions shared by the processes classifying one file (``enrichment.parallel``):
    an address one process decided is taken by the others instead of being decided again."""

    def take(self, client_ip: str) -> object | None:
        """What another process decided for this address, if it did (then forgotten here)."""
        ...

    def publish(self, client_ip: str, outcome: object) -> None:
        """Tell the other processes what this one decided."""
        ...


class _Request(NamedTuple):
    method: str
    path: str
    query: str
    asset: bool


_NOT_A_REQUEST = _Request("", "", "", False)


class HitClassifier:
    def __init__(
        self,
        settings: Settings,
        index: AccountIndex,
        resolvers: ResolverChain,
        parser: LineParser | None = None,
        late: LateResolver | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.resolvers = resolvers
        self.late = late if late is not None and late.enabled else None
        self.parser = parser or make_line_parser(settings.log)
        self._rows = RowParser(self.parser)
        self._timestamps = TimestampParser(zone_named(settings.log.timezone))
        self._clients = ClientAddressResolver(settings.log.trusted_proxies, settings.resolution.cache_size)
        self._filter = HitFilter(settings.filters)
        self._by_address: BoundedCache = BoundedCache(settings.resolution.cache_size)
        self._requests: BoundedCache = BoundedCache(settings.resolution.cache_size)
        # each distinct per-address outcome once: the addresses of one network or provider share it
        self._outcomes: BoundedCache = BoundedCache(settings.resolution.cache_size)
        self.resolved_addresses: dict[str, Organization] = {}  # new answers, for the resolution cache
        self.new_registrations: list[NetworkRegistration] = []  # new RDAP answers, for the database
        # look-ups in the per-address cache and how many missed (for the cache-hit-ratio metric)
        self.address_lookups = 0
        self.address_misses = 0
        # the other replay workers' decisions (``use_shared_decisions``); None in one process
        self._peers: SharedDecisions | None = None

    def use_shared_decisions(self, peers: SharedDecisions) -> None:
        """Take the decisions of other processes reading the same file, and give them this one's.

        Only without late resolution: an address waiting for its late answer is waited for in the
        process that asked, which alone gets the answer."""
        if self.late is not None:
            raise ValueError("decisions are shared only without late resolution")
        self._peers = peers

    def prepare_to_fork(self) -> None:
        """Made once here what each forked process would otherwise make for itself at its first
        lines: the crawler list's regular expression (compiled at the first user agent asked;
        ~0.1 s, once per replay worker before) and the fuzzy name index of a new list (indexed
        at the first name searched: each replay worker built it, and the parent again to keep
        the list; 100,000 accounts, ~0.6 s of CPU a process)."""
        self._filter.compile_bot_patterns()
        self.index.fuzzy_names.ready()

    def classify(self, line: str) -> LineOutcome:
        """The outcome of one line (see ``classify_lines`` for the work done)."""
        for outcome in self.classify_lines((line,)):
            return outcome
        raise AssertionError("classify_lines yields one outcome per line")

    def event_time(self, line: str) -> datetime | None:
        """The line's timestamp, or None if it has none that parses: how far a stream that read
        it has got in event time, whatever became of the line."""
        parsed = self.parser.split(line)
        if type(parsed) is Malformed:
            return None
        time_text = parsed[2]
        return self._timestamps.parse(time_text)

    @overload
    def classify_lines(self, lines: Iterable[str], held: None = None) -> Iterator[Classified | Deferred]: ...

    @overload
    def classify_lines(self, lines: Iterable[str], held: HeldLines[Any]) -> Iterator[Classified | Held]: ...

    def classify_lines(self, lines: Iterable[str], held: HeldLines[Any] | None = None) -> Iterator[LineOutcome]:
        """One outcome per line, in order (see ``_classify_rows`` for the work done)."""
        return self._classify_rows(self._rows.of_lines(lines), held)

    @overload
    def classify_blocks(self, blocks: Iterable[str], held: None = None) -> Iterator[Classified | Deferred]: ...

    @overload
    def classify_blocks(self, blocks: Iterable[str], held: HeldLines[Any]) -> Iterator[Classified | Held]: ...

    def classify_blocks(self, blocks: Iterable[str], held: HeldLines[Any] | None = None) -> Iterator[LineOutcome]:
        """One outcome per line of blocks of whole lines (``stream.sources.text_blocks``, a file's
        text), the same as ``classify_lines`` gives for their lines, parsed a block at a time."""
        return self._classify_rows(self._rows.of_blocks(blocks), held)

    def matched_hits_of_blocks(self, blocks: Iterable[str], summary: RunSummary) -> Iterator[MatchedHit]:
        """The matched hits of blocks of whole lines, every other line's outcome counted into
        ``summary`` as ``tally`` counts it (without late resolution: no line is held).

        Replay's path: the outcomes are counted in the loop itself rather than each passed on to
        ``tally``, a generator hand-over and a type test less for each line that is not a hit
        (see ``_classify_rows``)."""
        if self.late is not None:
            raise ValueError("with late resolution, lines are held: see matched_hits_of_text")
        return cast(Iterator[MatchedHit], self._classify_rows(self._rows.of_blocks(blocks), None, summary))

    def _classify_rows(
        self, rows: Iterator[Row], held: HeldLines[Any] | None, summary: RunSummary | None = None
    ) -> Iterator[LineOutcome]:
        """One outcome per row (``stream.rows``), in order: cheapest checks first, each behind a cache.

        A single loop with its collaborators bound to local names: this is the hot path of every
        mode, and per-line method calls and attribute look-ups are most of its cost in Python.

        A line whose address is under late resolution comes out as ``Deferred`` (the caller holds
        it), or, given ``held``, is held there at once and comes out as ``HELD``.

        Given ``summary`` (only without late resolution), only matched hits come out: the assets,
        crawlers and unmatched addresses (97 % of the replay bench's lines) are counted in local
        integers, the other outcomes by their reason, and everything is added to ``summary`` when
        the rows end (or the iterator is closed). The warm classification of the bench's 1,000,000
        lines took 2.05-2.11 s this way against 2.30-2.33 s through ``tally`` (best of six,
        alternating).
        """
        hold = held.hold_line if held is not None else None
        timestamps, parse_timestamp = self._timestamps.cache, self._timestamps.parse
        requests, describe_request = self._requests, self._describe_request
        kept_statuses, is_bot, bots = self._filter.kept_statuses, self._filter.is_bot, self._filter.bot_cache
        client_ip_of, clients = self._clients.client_ip, self._clients.cache
        by_address, look_up = self._by_address, self._look_up
        bad_timestamp = _MALFORMED[MalformedReason.BAD_TIMESTAMP]
        bad_request = _MALFORMED[MalformedReason.BAD_REQUEST]
        filtered_status, filtered_asset = _FILTERED[FilterReason.STATUS], _FILTERED[FilterReason.ASSET]
        filtered_bot, filtered_client = _FILTERED[FilterReason.BOT], _FILTERED[FilterReason.CLIENT_NOT_IP]
        counting = summary is not None
        assert not counting or (held is None and self.late is None), "no line is held when the loop counts"
        # the other outcomes counted by their reason (a string hashes once; an outcome, in Python)
        malformed: Counter[str] = Counter()
        filtered: Counter[str] = Counter()
        assets = bots_seen = unmatched = unmatched_resolved = hits = 0
        try:
            for line, vhost, client, time_text, request_text, status, size, referrer, agent, forwarded in rows:
                if vhost is MALFORMED:
                    if counting:
                        malformed[client.reason] += 1
                        continue
                    yield client  # the line's Malformed reason
                    continue
                timestamp = timestamps.get(time_text) or parse_timestamp(time_text)
                if timestamp is None:
                    if counting:
                        malformed[MalformedReason.BAD_TIMESTAMP] += 1
                        continue
                    yield bad_timestamp
                    continue
                request = requests.get(request_text)
                if request is None:
                    request = requests.remember(request_text, describe_request(request_text))
                if request is _NOT_A_REQUEST:
                    if counting:
                        malformed[MalformedReason.BAD_REQUEST] += 1
                        continue
                    yield bad_request
                    continue
                # the filters in HitFilter.reason_for_request's order, with the request's part cached
                if status not in kept_statuses:
                    if counting:
                        filtered[FilterReason.STATUS] += 1
                        continue
                    yield filtered_status
                    continue
                if request.asset:
                    if counting:
                        assets += 1
                        continue
                    yield filtered_asset
                    continue
                if agent is not None:
                    bot = bots.get(agent)
                    if bot is None:
                        bot = is_bot(agent)
                    if bot:
                        if counting:
                            bots_seen += 1
                            continue
                        yield filtered_bot
                        continue
                # a plain client field with no forwarded chain is by far the most common: one look-up
                client_ip = clients.get(client, "") if not forwarded else ""
                if client_ip == "":
                    client_ip = client_ip_of(client, forwarded)
                if client_ip is None:
                    if counting:
                        filtered[FilterReason.CLIENT_NOT_IP] += 1
                        continue
                    yield filtered_client
                    continue
                self.address_lookups += 1
                known = by_address.get(client_ip)
                if known is None:
                    known = by_address.remember(client_ip, look_up(client_ip))
                if type(known) is not _Known:
                    if type(known) is Awaiting:
                        if hold is None:
                            yield Deferred(client_ip, line, known.unmatched)
                        else:
                            yield HELD if hold(client_ip, line, known.unmatched) else known.unmatched
                    elif not counting:
                        yield known
                    elif type(known) is Unmatched:
                        unmatched += 1
                        if known.organization is not None:
                            unmatched_resolved += 1
                    else:
                        filtered[known.reason] += 1  # an address filter's
                    continue
                hit = Hit(
                    client_ip,
                    timestamp,
                    request.method,
                    request.path,
                    request.query,
                    int(status),
                    int(size) if size.isdigit() else 0,
                    _text(referrer),
                    _text(agent),
                    vhost or "",
                )
                hits += 1
                yield MatchedHit(hit, known.organization, known.match, line)
        finally:
            if summary is not None:
                # as tally counts them: a reason only once a line had it
                filtered.update({FilterReason.ASSET: assets, FilterReason.BOT: bots_seen})
                summary.filtered.update(+filtered)
                for reason, count in malformed.items():
                    summary.count_malformed(reason, count)
                summary.lines += sum(filtered.values()) + malformed.total() + unmatched + hits
                summary.unmatched += unmatched
                summary.unmatched_resolved += unmatched_resolved

    def _describe_request(self, request: str) -> _Request:
        parts = split_request(request)
        if parts is None:
            return _NOT_A_REQUEST
        method, path, query = parts
        return _Request(method, path, query, self._filter.is_asset(path))

    def _look_up(self, client_ip: str) -> _AddressOutcome:
        """Everything that depends only on the address, done once per address (and, with shared
        decisions, once per replay: each of its worker processes met nearly every address)."""
        peers = self._peers
        if peers is not None:
            taken = peers.take(client_ip)
            if taken is not None:
                return self._shared(cast(_AddressOutcome, taken))
        self.address_misses += 1
        outcome = self._shared(self._decide_address(client_ip))
        if peers is not None:
            peers.publish(client_ip, outcome)
        return outcome

    def _shared(self, outcome: _Shareable) -> _Shareable:
        """The equal outcome (or organisation) already remembered for another address, else this one.

        Most addresses share their outcome with others (one account network, one provider's pool):
        remembering each outcome once keeps the per-address caches to a key and a reference, so
        they cost less memory and, holding no objects of their own, add nothing to the work of a
        full garbage collection (which otherwise grew with them until the caches emptied)."""
        shared = self._outcomes.get(outcome)
        return shared if shared is not None else self._outcomes.remember(outcome, outcome)

    def _decide_address(self, client_ip: str) -> _AddressOutcome:
        last = self._clients.last_found
        address = last[1] if last is not None and last[0] == client_ip else normalize_address(client_ip)
        if address is None:
            return _FILTERED[FilterReason.CLIENT_NOT_IP]
        reason = self._filter.reason_for_address(address)
        if reason is not None:
            return _FILTERED[reason]
        organization = self.resolvers.resolve_organization(address)
        if organization is not None:
            organization = self._shared(organization)
        if organization is not None and organization.source != "account_networks":
            self.resolved_addresses[client_ip] = organization
        match = self.index.match(address, organization)
        if isinstance(match, NoMatch):
            unmatched = Unmatched(organization, match.reason)
            late = self.late
            if (
                late is not None
                and (organization is None or not organization.is_access_provider)
                and late.submit(address, client_ip)
            ):
                return Awaiting(unmatched)
            return unmatched
        # Only an account network matches without a name, and AccountNetworkResolver, first in
        # every chain (revisit.app.build_enrichment), names each of its addresses.
        assert organization is not None, "a matched address has an organisation"
        return _Known(organization, match)

    def awaiting(self, address: str) -> bool:
        """Whether ``address`` is still being looked up late."""
        return type(self._by_address.get(address)) is Awaiting

    def forget_addresses_in(self, networks: Sequence[IPNetwork]) -> int:
        """Decide the addresses of these networks again (the ledger learned or dropped them);
        returns how many cached addresses were forgotten.

        A learned host (a /32, a /128) is one key. A wider network walks the cache once, only when
        the ledger changed: IPv4 /16 and /24 by the text's start (14 ms for a full cache of
        100,000 addresses), other prefixes and IPv6 by parsing the keys of that family (0.6 s for
        100,000, on the event loop: rare, since learned networks are /32 or /24 unless configured)."""
        forgotten = 0
        wide: set[IPNetwork] = set()
        for network in networks:
            if network.num_addresses == 1:
                forgotten += self._by_address.pop(str(network.network_address), None) is not None
            else:
                wide.add(network)
        if not wide:
            return forgotten
        dotted = tuple(
            ".".join(str(n.network_address).split(".")[: n.prefixlen // 8]) + "."
            for n in wide
            if n.version == 4 and n.prefixlen % 8 == 0
        )
        parse_v4 = any(n.version == 4 and n.prefixlen % 8 for n in wide)
        parse_v6 = any(n.version == 6 for n in wide) or bool(dotted)  # ::ffff:a.b.c.d names an IPv4 address
        heads: dict[tuple[int, int], set[int]] = {}  # (version, prefix length) → the networks' leading bits
        for n in wide:
            heads.setdefault((n.version, n.prefixlen), set()).add(
                int(n.network_address) >> (n.max_prefixlen - n.prefixlen)
            )
        for key in list(self._by_address):
            if ":" not in key:
                if dotted and key.startswith(dotted):
                    del self._by_address[key]
                    forgotten += 1
                    continue
                if not parse_v4:
                    continue
            elif not parse_v6:
                continue
            address = normalize_address(key)
            if address is None:
                continue
            bits = address.max_prefixlen
            if any(
                version == address.version and int(address) >> (bits - prefix) in leading
                for (version, prefix), leading in heads.items()
            ):
                del self._by_address[key]
                forgotten += 1
        return forgotten

    def settle_late(self) -> list[str]:
        """Take in the late answers that arrived; returns their addresses, whose held lines can now
        be classified again (``classify_lines`` gives their final outcome)."""
        if self.late is None:
            return []
        settled = []
        for answer in self.late.finished():
            before = self._by_address.get(answer.address)
            fallback = (
                before.unmatched if type(before) is Awaiting else Unmatched(None, "no resolver knows this address")
            )
            self._by_address.remember(answer.address, self._shared(self._late_outcome(answer, fallback)))
            if answer.new_registration is not None:
                self.new_registrations.append(answer.new_registration)
            if answer.organization is not None:
                self.resolved_addresses[answer.address] = answer.organization
            settled.append(answer.address)
        return settled

    def _late_outcome(self, answer: LateAnswer, fallback: Unmatched) -> Unmatched | _Known:
        address = normalize_address(answer.address)
        if answer.organization is None or address is None:
            return fallback
        match = self.index.match(address, answer.organization)
        if isinstance(match, NoMatch):
            return Unmatched(answer.organization, match.reason)
        return _Known(answer.organization, match)


def _text(value: str | None) -> str:
    return "" if value is None or value == "-" else value


@dataclass
class RunSummary:
    """What a run saw, for the console and for tests; counters only grow."""

    lines: int = 0
    deferred: int = 0  # lines held for late resolution right now (0 once a run has ended)
    malformed: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # MalformedReason.NOT_DATA: no data, no fault
    filtered: Counter = field(default_factory=Counter)
    unmatched: int = 0
    unmatched_resolved: int = 0  # unmatched, but some resolver named an organisation
    matched: int = 0
    alerts: int = 0
    alerts_new: int = 0
    late: int = 0  # matched hits older than the watermark when they came (README, "Event time")
    decisions: Counter = field(default_factory=Counter)  # matched hits by their alert decision's kind
    accounts_seen: set = field(default_factory=set)
    seconds: float = 0.0  # time spent in the pipeline itself, without start-up

    @property
    def parsed(self) -> int:
        return self.lines - sum(self.malformed.values()) - sum(self.skipped.values())

    @property
    def resolved(self) -> int:
        return self.matched + self.unmatched_resolved

    def count_malformed(self, reason: str, lines: int = 1) -> None:
        """Lines that did not parse: skipped when they hold no data (blank, comments), else malformed."""
        (self.skipped if reason in MalformedReason.NOT_DATA else self.malformed)[reason] += lines

    def add_counts(self, other: RunSummary) -> None:
        """Add the line counts of another part of the same input (a parallel chunk)."""
        self.lines += other.lines
        self.deferred += other.deferred
        self.malformed.update(other.malformed)
        self.skipped.update(other.skipped)
        self.filtered.update(other.filtered)
        self.unmatched += other.unmatched
        self.unmatched_resolved += other.unmatched_resolved

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "parsed": self.parsed,
            "malformed": sum(self.malformed.values()),
            "skipped": sum(self.skipped.values()),
            "filtered": sum(self.filtered.values()),
            "resolved": self.resolved,
            "matched": self.matched,
            "alerts": self.alerts,
            "late": self.late,
            "malformed_by_reason": dict(sorted(self.malformed.items())),
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "filtered_by_reason": dict(sorted(self.filtered.items())),
        }


def tally(outcomes: Iterable[LineOutcome | Settled | GaveUp], summary: RunSummary) -> Iterator[MatchedHit]:
    """Count every outcome into ``summary`` and pass on only the matched hits, which are all the
    rest of the pipeline needs to see."""
    filtered = summary.filtered
    lines = unmatched = unmatched_resolved = 0
    try:
        for outcome in outcomes:
            # the common outcomes first: three lines in four are filtered on real traffic
            if type(outcome) is Filtered:
                lines += 1
                filtered[outcome.reason] += 1
                continue
            if type(outcome) is Unmatched:
                lines += 1
                unmatched += 1
                if outcome.organization is not None:
                    unmatched_resolved += 1
                continue
            if type(outcome) is Settled:  # a held line back from late resolution: counted once already
                summary.deferred -= 1
                outcome = outcome.outcome
            elif type(outcome) is GaveUp:
                summary.deferred -= outcome.lines
                unmatched += outcome.lines
                if outcome.unmatched.organization is not None:
                    unmatched_resolved += outcome.lines
                continue
            elif type(outcome) is Held or type(outcome) is Deferred:
                lines += 1
                summary.deferred += 1
                continue
            else:
                lines += 1
            if type(outcome) is Filtered:
                filtered[outcome.reason] += 1
            elif type(outcome) is Malformed:
                summary.count_malformed(outcome.reason)
            elif type(outcome) is Unmatched:
                unmatched += 1
                if outcome.organization is not None:
                    unmatched_resolved += 1
            else:
                yield outcome
    finally:
        summary.lines += lines
        summary.unmatched += unmatched
        summary.unmatched_resolved += unmatched_resolved


class HeldLines(Generic[_Tag]):
    """Lines held while their address is resolved late, given back classified when it answers.

    Bounded: past ``per_address`` lines for one address, or ``limit`` in all, a line is not held
    but counted unmatched at once, as it would be without late resolution. ``tag`` is whatever the
    caller needs to act on the line later (the worker: its topic, partition and offset).

    The lines are kept as plain strings, one list per address: a hundred thousand held lines
    then cost the garbage collector nothing (strings are not tracked; tuples would be).
    """

    def __init__(self, classifier: HitClassifier, per_address: int, limit: int) -> None:
        self.classifier = classifier
        self.per_address = per_address
        self.limit = limit
        self._lines: dict[str, list[str]] = {}
        self._tags: dict[str, list[_Tag]] = {}  # only for callers that give tags
        self._fallback: dict[str, Unmatched] = {}  # what each address's lines are if no answer comes
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def tags(self) -> Iterator[_Tag]:
        for tags in self._tags.values():
            yield from tags

    def hold(self, deferred: Deferred, tag: _Tag | None = None) -> bool:
        return self.hold_line(deferred.client_ip, deferred.line, deferred.unmatched, tag)

    def hold_line(self, address: str, line: str, unmatched: Unmatched, tag: _Tag | None = None) -> bool:
        """Keep the line (False: over a limit, the line is unmatched now)."""
        lines = self._lines.get(address)
        if lines is None:
            lines = self._lines[address] = []
            self._fallback[address] = unmatched
        elif len(lines) >= self.per_address:
            return False
        if self._count >= self.limit:
            return False
        lines.append(line)
        if tag is not None:
            self._tags.setdefault(address, []).append(tag)
        self._count += 1
        return True

    def settle(self) -> list[tuple[Classified, _Tag | None]]:
        """Held lines whose late answer arrived, classified again (a line may be held anew if its
        address went back under resolution meanwhile)."""
        released: list[tuple[Classified, _Tag | None]] = []
        answered = dict.fromkeys(self.classifier.settle_late())
        # Answers another holder took in first (replay reads several files at once, one holder each)
        answered.update(dict.fromkeys(address for address in self._lines if not self.classifier.awaiting(address)))
        for address in answered:
            lines = self._lines.pop(address, None)
            if lines is None:
                continue
            self._fallback.pop(address, None)
            address_tags = self._tags.pop(address, None)
            tags: Sequence[_Tag | None] = address_tags if address_tags else [None] * len(lines)
            self._count -= len(lines)
            for outcome, tag in zip(self.classifier.classify_lines(lines), tags, strict=True):  # a tag per line
                if type(outcome) is Deferred and self.hold(outcome, tag):
                    continue
                released.append((outcome.unmatched if type(outcome) is Deferred else outcome, tag))
        return released

    def give_up(self) -> list[tuple[Unmatched, int]]:
        """Every held line as unmatched (late answers that never came): (outcome, lines) per address."""
        given_up = [(self._fallback[address], len(lines)) for address, lines in self._lines.items()]
        self._lines.clear()
        self._tags.clear()
        self._fallback.clear()
        self._count = 0
        return given_up


@final
class GaveUp(NamedTuple):
    """``lines`` held lines that stay ``unmatched``: their late answer did not come in time."""

    unmatched: Unmatched
    lines: int


def matched_hits_of_text(
    blocks: Iterable[str], classifier: HitClassifier, summary: RunSummary, check_every: int = 4096
) -> Iterator[MatchedHit]:
    """Replay's matched hits of a file's text (blocks of whole lines, ``stream.sources.text_blocks``),
    every line's outcome counted into ``summary``.

    With late resolution, lines whose address is being looked up are held, put back when their
    answers arrive, and at the end the run waits up to ``resolution.late_wait_seconds`` for the
    rest (then still unmatched). Held lines come back after later lines of the file; sessions are
    judged in event time, so a visit's pages still land in the right session. Answers are looked
    for every ``check_every`` lines, between chunks: no per-line work is added to the hot loop.
    Without it, the classifier counts the lines itself (``HitClassifier.matched_hits_of_blocks``)."""
    late = classifier.late
    if late is None:
        return classifier.matched_hits_of_blocks(blocks, summary)
    return tally(_with_late_resolution(blocks, classifier, late, classifier.settings, check_every), summary)


def _with_late_resolution(
    blocks: Iterable[str], classifier: HitClassifier, late: LateResolver, settings: Settings, check_every: int
) -> Iterator[LineOutcome | Settled | GaveUp]:
    resolution = settings.resolution
    held: HeldLines[None] = HeldLines(classifier, resolution.late_held_lines_per_address, resolution.late_held_lines)
    outcomes = classifier.classify_blocks(blocks, held)
    while True:
        chunk = list(itertools.islice(outcomes, check_every))
        if not chunk:
            break
        yield from chunk
        for settled, _tag in held.settle():
            yield Settled(settled)
    deadline = time.monotonic() + resolution.late_wait_seconds
    while len(held):
        late.wait_idle(max(0.0, min(0.05, deadline - time.monotonic())))
        for settled, _tag in held.settle():
            yield Settled(settled)
        if time.monotonic() >= deadline:
            break
    for unmatched, count in held.give_up():
        yield GaveUp(unmatched, count)
