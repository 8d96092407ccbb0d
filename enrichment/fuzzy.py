"""Fuzzy name matching (rapidfuzz) for what normalisation cannot equalise: typos and word order.

Precision first, because a wrong alert makes sales look pushy: the best candidate must score at
least ``fuzzy_min_score`` (0-100) and beat the best *other* account by ``fuzzy_margin``; short
names (``NTT`` vs ``NTN``) never match fuzzily. The score is the edit similarity
(``fuzz.ratio``) of the name's words in sorted order, so typos cost a little and word order
nothing.

A search does not scan the list: ``SegmentIndex`` finds every listed name that *can* reach a
cutoff (the pigeonhole of Li et al., "Pass-Join", VLDB 2011), a count filter drops those whose
letters cannot (``LetterCounts``), and only the rest are scored, with the same scorer and in list
order, so the winner is the exhaustive search's (tests compare both on the evaluation set and on
100,000 generated names).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from rapidfuzz import fuzz, process

from revisit.core.config import MatchingSettings
from revisit.enrichment.normalize import NormalizedName

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class FuzzyCandidate(Generic[Item]):
    item: Item
    owner: str  # the account id: two names of one account are not rivals
    listed: str  # the name as listed
    score: float  # 0-100


@dataclass(frozen=True, slots=True)
class FuzzyVerdict(Generic[Item]):
    winner: FuzzyCandidate[Item] | None
    candidates: tuple[FuzzyCandidate[Item], ...]  # best per account, best first
    reason: str  # in words: why the winner won, or why there is none


class FuzzyNames(Generic[Item]):
    """Listed names searched in two steps: only a name that some listed name resembles at least
    ``fuzzy_min_score`` (a narrow search: segments of about 4 letters) can win, and only then are
    the rivals that could take the win looked for: those within ``fuzzy_margin`` of its score, in
    a wide index cut for ``min - margin`` (segments of about 2 letters, ten times the candidates),
    or in the narrow search's own candidates when the winner scores ``min + margin`` or more. Most
    visitors resemble no account, and for them the narrow search is the whole cost; the winner is
    the exhaustive search's in every case. Measured in CPU time on bench/fuzzy_bench.py's 100,000
    much-alike names (2,000 new names, 661 with a rival search; 2026-12-01 11:01-11:03, a shared
    2-core machine, runs alternating with the code that looked for rivals down to ``min -
    margin``): 0.17-0.19 ms for a narrow search alone, 0.90-0.97 ms with the rival search (was
    1.29-1.36: 131 of them now answered by the narrow search, the other 530 probing fewer lengths
    and places for 19,300 candidates instead of 22,000, 88 scored instead of 176), 0.41-0.45 ms
    per new name on the bench's mix (was 0.54-0.58), against 45-57 ms for a scan."""

    def __init__(self, settings: MatchingSettings) -> None:
        self.settings = settings
        self._texts: list[str] = []  # the words of each listed name, sorted, space-separated
        # (item, owner, listed name); None where a removed account's name was
        self._entries: list[tuple[Item, str, str] | None] = []
        self._live = 0  # names still searched
        self.cutoff = max(0.0, settings.fuzzy_min_score - settings.fuzzy_margin)
        self._near = SegmentIndex(settings.fuzzy_min_score)
        self._wide = SegmentIndex(self.cutoff)

    def add(self, normalized: NormalizedName, item: Item, owner: str, listed: str) -> None:
        if len(normalized.key) < self.settings.fuzzy_min_length:
            return
        text = _sorted_words(normalized)
        record = letter_record(text, len(self._texts))
        self._near.add(text, record)
        self._wide.add(text, record)
        self._live += 1
        self._texts.append(text)
        self._entries.append((item, owner, listed))

    def remove(self, owners: Collection[str]) -> None:
        """These owners' names out of the search, in one pass over the names; the segment index
        keeps their records, which ``_best_per_owner`` then passes over."""
        for position, entry in enumerate(self._entries):
            if entry is not None and entry[1] in owners:
                self._texts[position] = ""
                self._entries[position] = None
                self._live -= 1

    def _searchable(self, normalized: NormalizedName) -> bool:
        return self._live > 0 and len(normalized.key) >= self.settings.fuzzy_min_length

    def candidates(self, normalized: NormalizedName, limit: int = 5) -> list[FuzzyCandidate[Item]]:
        """The best-scoring listed names, one per account, best first (scores ≥ min - margin).

        Every name above the cutoff is looked at, not just the best few: an account listed under
        many similar aliases would otherwise fill the top places and hide a rival within the
        margin, and the margin rule would then wrongly see no rival."""
        if not self._searchable(normalized):
            return []
        text = _sorted_words(normalized)
        return self._wide_candidates(text, letter_masks(text), limit)

    def _wide_candidates(self, text: str, letters: tuple[list[int], int], limit: int) -> list[FuzzyCandidate[Item]]:
        found = reaching(text, letters, self._wide.candidates(text), self.cutoff)
        return self._best_per_owner(text, found, limit, self.cutoff)

    def exhaustive_candidates(self, normalized: NormalizedName, limit: int = 5) -> list[FuzzyCandidate[Item]]:
        """``candidates`` by scoring every listed name: the reference the index is tested against."""
        if not self._searchable(normalized):
            return []
        return self._best_per_owner(_sorted_words(normalized), range(len(self._texts)), limit, self.cutoff)

    def _best_per_owner(
        self, text: str, positions: Sequence[int], limit: int, cutoff: float
    ) -> list[FuzzyCandidate[Item]]:
        """Positions in list order, so that ties fall as in a scan of the whole list."""
        choices = [self._texts[position] for position in positions]  # a removed name is "": no score
        best: dict[str, FuzzyCandidate[Item]] = {}
        for _text, score, found in process.extract(
            text, choices, scorer=fuzz.ratio, processor=None, limit=None, score_cutoff=cutoff
        ):
            entry = self._entries[positions[found]]
            if entry is None:
                continue  # removed, and scored only because the cutoff is 0
            item, owner, listed = entry
            if owner not in best:  # results come best first
                best[owner] = FuzzyCandidate(item, owner, listed, round(float(score), 1))
                if len(best) == limit:
                    break
        return sorted(best.values(), key=lambda c: (-c.score, c.owner))

    def decide(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict of the margin rule. A name no listed name resembles ``fuzzy_min_score`` has
        no winner whatever its rivals, so its near misses are not looked for (``explain`` shows
        them, through ``decide_thoroughly``). A name with a winner is searched again only for the
        rivals that could take the win away, those within ``fuzzy_margin`` of the winner's score
        (``_rival_cutoff``)."""
        if not self._searchable(normalized):
            return _verdict([], self.settings)
        text = _sorted_words(normalized)
        letters = letter_masks(text)
        near = reaching(text, letters, self._near.candidates(text), self.settings.fuzzy_min_score)
        best = self._best_per_owner(text, near, 1, self.settings.fuzzy_min_score) if near else []
        if not best:
            return FuzzyVerdict(None, (), f"no listed name is {self.settings.fuzzy_min_score:.0f}% alike")
        cutoff = self._rival_cutoff(best[0].score)
        if cutoff < self.settings.fuzzy_min_score:
            near = reaching(text, letters, self._wide.candidates(text, cutoff), cutoff)
        return _verdict(_decisive(self._best_per_owner(text, near, 5, cutoff), self.settings), self.settings)

    def _rival_cutoff(self, best: float) -> float:
        """The lowest score of a rival that can still take the win from a candidate scoring
        ``best``: verdicts compare scores rounded to 0.1, and a rival rounded to more than ``best -
        margin`` scores more than ``best - margin - 0.05`` (the 0.1 keeps a float rounding on the
        side of one rival too many). At or above ``fuzzy_min_score`` the narrow search has found
        them all already."""
        return max(self.cutoff, best - self.settings.fuzzy_margin - 0.1)

    def decide_thoroughly(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict with the near misses too: for explaining a decision, not for the hot path."""
        return _verdict(self.candidates(normalized), self.settings)

    def decide_exhaustively(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict of a scan of every listed name: the reference the index is tested against."""
        return _verdict(_decisive(self.exhaustive_candidates(normalized), self.settings), self.settings)

    def __len__(self) -> int:
        return self._live


def _decisive(found: list[FuzzyCandidate[Item]], settings: MatchingSettings) -> list[FuzzyCandidate[Item]]:
    """A possible winner and the rivals that decide whether it wins: those within the margin. The
    near misses below them change nothing, and are not looked for on the hot path."""
    if not found or found[0].score < settings.fuzzy_min_score:
        return found
    return [found[0], *(c for c in found[1:] if found[0].score - c.score < settings.fuzzy_margin)]


def _verdict(found: list[FuzzyCandidate[Item]], settings: MatchingSettings) -> FuzzyVerdict[Item]:
    if not found:
        return FuzzyVerdict(None, (), "no listed name is close")
    first = found[0]
    if first.score < settings.fuzzy_min_score:
        return FuzzyVerdict(
            None,
            tuple(found),
            f"the closest listed name, {first.listed!r}, is only "
            f"{first.score:.0f}% alike (needs {settings.fuzzy_min_score:.0f}%)",
        )
    if len(found) > 1 and first.score - found[1].score < settings.fuzzy_margin:
        second = found[1]
        return FuzzyVerdict(
            None,
            tuple(found),
            f"{first.listed!r} ({first.score:.0f}%) and {second.listed!r} "
            f"({second.score:.0f}%) are too close to tell apart",
        )
    runner_up = (
        f", the next account only {found[1].score:.0f}%"
        if len(found) > 1
        else f", no other account within {settings.fuzzy_margin:.0f} points"
    )
    return FuzzyVerdict(first, tuple(found), f"{first.score:.0f}% alike to {first.listed!r}{runner_up}")


def _sorted_words(normalized: NormalizedName) -> str:
    return " ".join(sorted(normalized.words))


class SegmentIndex:
    """Positions of listed texts that may score at least ``cutoff`` (``fuzz.ratio``) against a query.

    ``fuzz.ratio`` is ``100 * (1 - d / (m + n))`` for texts of lengths m and n at insert/delete
    distance d, so reaching the cutoff bounds d, hence the edit distance, by ``d_max(m, n)``. Each
    listed text of length n is cut into ``tau(n) + 1`` segments, tau(n) being the largest d_max of
    any query it could match: a query within tau edits contains one segment unchanged, near the
    segment's own place (the multi-match-aware window of Pass-Join). A search probes those few
    substrings of the query in a dict, so its cost follows the query's length and how common its
    pieces are, not the list's length.
    """

    def __init__(self, cutoff: float) -> None:
        self._slack = (100.0 - cutoff) / 100.0
        self._lengths: set[int] = set()
        self._tau: dict[int, int] = {}
        self._parts: dict[int, tuple[tuple[int, int], ...]] = {}  # length → (start, size) per segment
        # length → per segment: its text → the records (``letter_record``) of the texts holding it
        self._segments: dict[int, list[dict[str, bytearray]]] = {}
        self._unsegmented: dict[int, bytearray] = {}  # too short to cut: always candidates
        # (query length, whole cutoff) → what to look up: per listed length, the segments' dicts and
        # which (start, end) of the query to probe in each (None: the length is too short to cut,
        # all its texts are candidates); made once, anew when a length is new, never kept on disk
        self._probes: dict[tuple[int, int], list[tuple[int, _Windows | None]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_probes": {}}

    def d_max(self, m: int, n: int) -> int:
        """The largest distance at which texts of lengths m and n still reach the cutoff (the
        1e-7 keeps a float rounding at the boundary on the side of a candidate too many)."""
        return math.floor((m + n) * self._slack + 1e-7)

    def _segments_of(self, n: int) -> tuple[int, tuple[tuple[int, int], ...]]:
        parts = self._parts.get(n)
        if parts is None:
            tau, m = 0, 1
            while m <= 4 * n + 8:  # m - n grows by 1 a step, d_max by less: the loop ends
                if abs(m - n) <= self.d_max(m, n):
                    tau = max(tau, self.d_max(m, n))
                m += 1
            count = tau + 1
            if count > n:
                parts = ()
            else:
                short, longer = n // count, n % count  # the last `longer` segments get one more
                starts, start = [], 0
                for i in range(count):
                    size = short + (1 if i >= count - longer else 0)
                    starts.append((start, size))
                    start += size
                parts = tuple(starts)
            self._tau[n], self._parts[n] = tau, parts
        return self._tau[n], parts

    def add(self, text: str, record: bytes) -> None:
        """The text under each of its segments, as its ``letter_record``."""
        n = len(text)
        if n not in self._lengths:
            self._lengths.add(n)
            self._probes.clear()
        _tau, parts = self._segments_of(n)
        if not parts:
            self._unsegmented.setdefault(n, bytearray()).extend(record)
            return
        segments = self._segments.setdefault(n, [{} for _ in parts])
        for (start, size), records in zip(parts, segments, strict=True):
            found = records.get(text[start : start + size])
            if found is None:
                records[text[start : start + size]] = bytearray(record)
            else:
                found.extend(record)

    def candidates(self, query: str, cutoff: float | None = None) -> np.ndarray:
        """The ``letter_record`` of each text found, one row each, unsorted and with repeats (a text
        found by two of its segments comes twice). A ``cutoff`` above the index's own (a winner's
        rivals) looks at fewer lengths and fewer places in the query (``_probes_for``)."""
        own = math.floor(100.0 - 100.0 * self._slack - 1e-7)  # plans are per whole cutoff: only wider
        whole = own if cutoff is None else max(own, math.floor(cutoff))
        probes = self._probes.get((len(query), whole))
        if probes is None:
            probes = self._probes[len(query), whole] = self._probes_for(len(query), whole)
        found: list[bytearray] = []
        for n, windows in probes:
            if windows is None:
                found.append(self._unsegmented[n])
                continue
            for records, start, end in windows:
                hit = records.get(query[start:end])
                if hit is not None:
                    found.append(hit)
        return np.frombuffer(b"".join(found), dtype=np.uint64).reshape(-1, RECORD_WORDS)

    def _probes_for(self, m: int, cutoff: int) -> list[tuple[int, _Windows | None]]:
        """Per listed length within reach, the windows of Pass-Join's multi-match-aware rule for
        the tau its texts were cut for. A text that reaches a higher ``cutoff`` is within d < tau
        edits, so its lengths differ by at most d and an unchanged segment lies at most d places
        from its own, on either side of the length difference: the windows narrow to that."""
        slack = (100.0 - cutoff) / 100.0
        probes: list[tuple[int, _Windows | None]] = []
        for n in sorted(self._lengths):
            d = min(self.d_max(m, n), math.floor((m + n) * slack + 1e-7))
            if abs(m - n) > d:
                continue
            tau, parts = self._segments_of(n)
            if not parts:
                probes.append((n, None))
                continue
            windows: _Windows = []
            for i, ((start, size), records) in enumerate(zip(parts, self._segments.get(n, ()), strict=True)):
                low = max(0, start - i, start + m - n - (tau - i), start - d, start + m - n - d)
                high = min(m - size, start + i, start + m - n + (tau - i), start + d, start + m - n + d)
                windows += [(records, at, at + size) for at in range(low, high + 1)]
            probes.append((n, windows))
        return probes


_Windows = list[tuple[dict[str, bytearray], int, int]]  # (a segment's dict, start, end in the query)
BUCKETS = 64  # letters are counted in this many buckets (a-z and the space each in its own)
LEVELS = 3  # counts up to this kept exactly as bits (letter_masks sets three); beyond it, only their sum
RECORD_WORDS = LEVELS + 1  # the masks, then position | length << 32 | beyond << 48
_RECORD = struct.Struct(f"<{RECORD_WORDS}Q")


def letter_record(text: str, position: int) -> bytes:
    """A listed text's letter counts, kept beside its position in the segment index: the count
    filter that keeps the search exact and cheap on names much alike.

    ``fuzz.ratio`` is ``200 * LCS / (m + n)``, and a common subsequence cannot hold more of a
    letter than either text does, so ``200 * sum(min(counts)) / (m + n)`` bounds the score from
    above. A segment the query shares (``trad`` of ``Trading``) finds thousands of names; their
    letter counts leave the few that can reach the cutoff (1,514 → 5 a search on
    bench/fuzzy_bench.py's 100,000 names). The counts are bit masks, one per level (the letters
    occurring at least once, twice, three times), so ``sum(min(counts))`` is the popcount of the
    masks' intersections plus what lies beyond the last level (at most the smaller of both texts'
    excess). Each record sits in the segment's posting itself, so that the candidates of a search
    are one ``bytes.join`` and a few numpy steps, with no lookup per candidate. Letters go into
    ``BUCKETS`` buckets by code point: kanji share buckets, which only loosens the bound."""
    masks, beyond = letter_masks(text)
    return _RECORD.pack(*masks, position | min(len(text), 0xFFFF) << 32 | min(beyond, 0xFFFF) << 48)


def reaching(query: str, letters: tuple[list[int], int], records: np.ndarray, cutoff: float) -> list[int]:
    """The positions of these records whose letters allow ``cutoff`` against the query (whose
    ``letter_masks`` are ``letters``), in increasing order and once each. A length or excess past
    16 bits is kept at 0xFFFF, which can only keep a text too many; a query whose excess is that
    large is not filtered at all. The 1e-6 keeps a float rounding at the boundary on the side of
    one too many."""
    if len(records) == 0:
        return []
    masks, beyond = letters
    meta = records[:, LEVELS]
    if beyond < 0xFFFF:
        shared = np.minimum(meta >> 48, beyond).astype(np.int32)
        for level, mask in enumerate(masks):
            shared += np.bitwise_count(records[:, level] & np.uint64(mask))
        meta = meta[200.0 * shared >= (cutoff - 1e-6) * (len(query) + ((meta >> 32) & 0xFFFF))]
    return sorted(set((meta & 0xFFFFFFFF).tolist()))


def letter_masks(text: str) -> tuple[list[int], int]:
    """Per level, the buckets holding at least that many letters; and the letters beyond. Each
    letter sets its bucket's bit in the first level that lacks it (3x faster than counting first:
    11 µs a name on the loaded bench machine)."""
    once = twice = thrice = beyond = 0
    for letter in text:
        bit = 1 << (ord(letter) % BUCKETS)
        if not once & bit:
            once |= bit
        elif not twice & bit:
            twice |= bit
        elif not thrice & bit:
            thrice |= bit
        else:
            beyond += 1
    return [once, twice, thrice], beyond
