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

import functools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from rapidfuzz import fuzz, process

from revisit.core.config import MatchingSettings
from revisit.core.phrase import Phrase
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
    said: Phrase  # why the winner won, or why there is none

    @property
    def reason(self) -> str:
        """``said`` in English."""
        return str(self.said)


class FuzzyNames(Generic[Item]):
    """Listed names searched in two steps: only a name that some listed name resembles at least
    ``fuzzy_min_score`` (a narrow search: segments of about 4 letters) can win, and only then are
    the rivals that could take the win looked for: those within ``fuzzy_margin`` of its score, in
    the index cut for the highest cutoff below that score (``_levels``: one every
    ``LEVEL_STEP`` points from ``min - margin`` up, the lowest with segments of about 2 letters
    and ten times the candidates of the narrow search), or in the narrow search's own candidates
    when the winner scores ``min + margin`` or more. Most visitors resemble no account, and for
    them the narrow search is the whole cost; the winner is the exhaustive search's in every case.

    Names are added one by one (``add``) but indexed in bulk (``seal``, through ``ready``: once
    more than ``PENDING_MAX`` names wait, by a search or when the index is pickled): until then
    (a short list, or the few added to a kept index by a changed list), they are candidates of
    every search, and the letter-count filter (``letter_table``) keeps that cheap. Measured in
    CPU time on bench/fuzzy_bench.py's 100,000 much-alike names (2,000 new names, 661 with a
    rival search; 2026-12-01 14:26, load average 2-3, two rounds alternating with the index
    before): 0.41-0.48 ms per new name against 0.40-0.51 ms, the same answers; most of it is the
    ~5,000 candidates a name (1,850 for the narrow search, 3,400-21,000 for a rival search at 88
    down to 82) that the letter-count filter reads, ~100 ns each. Probing only the last d + 1
    segments of each length (``SegmentIndex._probes_for``) brought them to 3,550 a name (150
    probes a plan instead of 240) and the search to 0.33-0.38 ms a new name against 0.42-0.45 ms
    (the code before run at the same time, 17:43, load average 3.6)."""

    def __init__(self, settings: MatchingSettings) -> None:
        self.settings = settings
        self._texts: list[str] = []  # the words of each listed name, sorted, space-separated
        # each name's item (None where a removed account's name was), owner and listed text, in
        # lists side by side: a tuple a name cost 100,000 objects and 6 MB more
        self._items: list[Item | None] = []
        self._owners: list[str] = []
        self._listed: list[str] = []
        self._live = 0  # names still searched
        self.cutoff = max(0.0, settings.fuzzy_min_score - settings.fuzzy_margin)
        # the narrow search's: a verdict compares scores rounded to 0.1, so 89.96 wins at 90
        self._near_cutoff = max(self.cutoff, settings.fuzzy_min_score - 0.1)
        self._levels = tuple(SegmentIndex(cutoff) for cutoff in _level_cutoffs(self.cutoff, self._near_cutoff))
        self._sealed = 0  # the names before this position are in the segment indexes
        # The indexes and the letter table number the names by slot: by length, then position, so
        # that the candidates of one probe, all of one length, have their letters close together
        # (0.72 -> 0.64 ms a name on bench/fuzzy_bench.py than by position, all over the table)
        self._slot_positions = np.zeros(0, np.uint32)  # each slot's position
        self._letters = letter_table((), 0)  # per slot: its name's letter counts (``letter_table``)
        self._pending_letters: np.ndarray | None = None  # those of the names added since ``seal``
        self._format = _FORMAT

    def __getstate__(self) -> dict[str, Any]:
        """Kept on disk sealed when more than ``PENDING_MAX`` names are unindexed, so that a kept
        index is ready when loaded; the few of a changed list stay unindexed, not worth building
        every index again (which raised the peak RSS of a 1 % change of 100,000 accounts). The
        texts, owners and listed names go as one string each (``_joined``): 300,000 strings the
        pickler no longer remembers one by one."""
        self.ready()
        joined = {name: _joined(self.__dict__[name]) for name in _JOINED}
        return {**self.__dict__, **joined, "_pending_letters": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("_format") != _FORMAT:  # the caller then builds the index anew
            raise ValueError("a fuzzy name index kept by another version")
        self.__dict__.update(state)
        for name in _JOINED:
            self.__dict__[name] = _split(*state[name])

    def add(self, normalized: NormalizedName, item: Item, owner: str, listed: str) -> None:
        if len(normalized.key) < self.settings.fuzzy_min_length:
            return
        self._live += 1
        self._texts.append(_sorted_words(normalized))
        self._items.append(item)
        self._owners.append(owner)
        self._listed.append(listed)
        self._pending_letters = None

    @property
    def unindexed(self) -> int:
        """Names added since the last ``seal``: searched without the segment indexes."""
        return len(self._texts) - self._sealed

    def ready(self) -> None:
        """Sealed when more than ``PENDING_MAX`` names are unindexed: what a search or a kept copy
        does first."""
        if len(self._texts) - self._sealed > PENDING_MAX:
            self.seal()

    def seal(self) -> None:
        """Every name added so far into the segment indexes and the letter table, in bulk."""
        if self._sealed == len(self._texts) and self._sealed:
            return
        groups = texts_by_length(self._texts)
        slotted, slots = [], 0
        for n, positions, codes in groups:
            slotted.append((n, np.arange(slots, slots + len(positions), dtype=np.uint32), codes))
            slots += len(positions)
        for level in self._levels:
            level.build(slotted)
        self._letters = letter_table(slotted, slots)
        self._slot_positions = np.concatenate([positions for _n, positions, _codes in groups] or [_NO_POSITIONS])
        self._sealed, self._pending_letters = len(self._texts), None

    def remove(self, owners: Collection[str]) -> None:
        """These owners' names out of the search, in one pass over the names; the segment indexes
        keep their positions, which ``_best_per_owner`` then passes over."""
        for position, owner in enumerate(self._owners):
            if owner in owners and self._items[position] is not None:
                self._texts[position] = ""
                self._items[position] = None
                self._live -= 1

    def _searchable(self, normalized: NormalizedName) -> bool:
        return self._live > 0 and len(normalized.key) >= self.settings.fuzzy_min_length

    def _reaching(self, level: SegmentIndex, text: str, letters: tuple[list[int], int], cutoff: float) -> list[int]:
        """Positions of the names that may reach ``cutoff``: those the level's index finds, and
        every name added since it was sealed, less those whose letters cannot."""
        self.ready()
        positions: list[int] = []
        if self._sealed:
            slots = level.candidates(query_codes(text), cutoff)
            found = reaching(len(text), letters, self._letters.take(slots, axis=1), slots, cutoff)
            positions = self._slot_positions[found].tolist() if found else []
        if 0 < len(self._texts) - self._sealed <= FEW:
            positions.extend(range(self._sealed, len(self._texts)))
        elif self._sealed < len(self._texts):
            if self._pending_letters is None:
                pending = texts_by_length(self._texts[self._sealed :])
                self._pending_letters = letter_table(pending, len(self._texts) - self._sealed)
            added = np.arange(self._sealed, len(self._texts))
            positions += reaching(len(text), letters, self._pending_letters, added, cutoff)
        return sorted(positions)

    def _level_for(self, cutoff: float) -> SegmentIndex:
        """The index cut for the highest cutoff not above ``cutoff``: the longest segments that
        still find every name reaching it."""
        return [level for level in self._levels if level.cutoff <= cutoff][-1]

    def candidates(self, normalized: NormalizedName, limit: int = 5) -> list[FuzzyCandidate[Item]]:
        """The best-scoring listed names, one per account, best first (scores ≥ min - margin).

        Every name above the cutoff is looked at, not just the best few: an account listed under
        many similar aliases would otherwise fill the top places and hide a rival within the
        margin, and the margin rule would then wrongly see no rival."""
        if not self._searchable(normalized):
            return []
        text = _sorted_words(normalized)
        found = self._reaching(self._levels[0], text, letter_masks(text), self.cutoff)
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
            position = positions[found]
            item, owner = self._items[position], self._owners[position]
            if item is None:
                continue  # removed, and scored only because the cutoff is 0
            if owner not in best:  # results come best first
                best[owner] = FuzzyCandidate(item, owner, self._listed[position], round(float(score), 1))
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
        minimum = self.settings.fuzzy_min_score
        near = self._reaching(self._levels[-1], text, letters, self._near_cutoff)
        best = self._best_per_owner(text, near, 1, self._near_cutoff) if near else []
        if not best or best[0].score < minimum:
            return FuzzyVerdict(None, (), Phrase.of("no listed name is {minimum:.0f}% alike", minimum=minimum))
        cutoff = self._rival_cutoff(best[0].score)
        if cutoff < self._near_cutoff:
            near = self._reaching(self._level_for(cutoff), text, letters, cutoff)
        return _verdict(_decisive(self._best_per_owner(text, near, 5, cutoff), self.settings), self.settings)

    def _rival_cutoff(self, best: float) -> float:
        """The lowest score of a rival that can still take the win from a candidate scoring
        ``best``: verdicts compare scores rounded to 0.1, and a rival rounded to more than ``best -
        margin`` scores more than ``best - margin - 0.05`` (the 0.1 keeps a float rounding on the
        side of one rival too many). At or above the narrow search's cutoff, it has found them all
        already."""
        return max(self.cutoff, best - self.settings.fuzzy_margin - 0.1)

    def decide_thoroughly(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict with the near misses too: for explaining a decision, not for the hot path."""
        return _verdict(self.candidates(normalized), self.settings)

    def decide_exhaustively(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict of a scan of every listed name: the reference the index is tested against."""
        return _verdict(_decisive(self.exhaustive_candidates(normalized), self.settings), self.settings)

    def __len__(self) -> int:
        return self._live


_FORMAT = 3  # of what ``FuzzyNames`` keeps on disk: a kept index of another format is built anew
LEVEL_STEP = 2.0  # points between the cutoffs of the segment indexes (``_level_cutoffs``)
PENDING_MAX = 2_000  # names added since the last ``seal`` searched without an index, at most
# so few unindexed names are all scored, without the letter-count filter, whose numpy steps cost
# more than rapidfuzz scoring them (a list of 10 accounts: 0.118 ms a new name with the filter)
FEW = 64


_JOINED = ("_texts", "_owners", "_listed")  # the lists of strings kept as one string each


def _joined(texts: list[str]) -> tuple[str, int, np.ndarray | None]:
    """The texts as one string: joined by NUL, split again at C speed (0.11 s for 300,000 slices
    by their lengths, 0.02 s for ``str.split``), or, should a text hold a NUL, with their lengths."""
    joined = "\0".join(texts)
    if joined.count("\0") == max(0, len(texts) - 1):
        return joined, len(texts), None
    return "".join(texts), len(texts), np.fromiter(map(len, texts), dtype=np.uint32, count=len(texts))


def _split(joined: str, count: int, lengths: np.ndarray | None) -> list[str]:
    if lengths is None:
        return joined.split("\0") if count else []
    ends = np.cumsum(lengths, dtype=np.int64).tolist()
    return [joined[start:end] for start, end in zip([0, *ends], ends, strict=False)]


def _level_cutoffs(lowest: float, highest: float) -> list[float]:
    """The cutoffs of the segment indexes: ``lowest`` (min - margin: ``candidates``), one every
    ``LEVEL_STEP`` points above it, and ``highest`` (the narrow search)."""
    cutoffs = [lowest]
    while cutoffs[-1] + LEVEL_STEP < highest:
        cutoffs.append(cutoffs[-1] + LEVEL_STEP)
    if highest > lowest:
        cutoffs.append(highest)
    return cutoffs


def _decisive(found: list[FuzzyCandidate[Item]], settings: MatchingSettings) -> list[FuzzyCandidate[Item]]:
    """A possible winner and the rivals that decide whether it wins: those within the margin. The
    near misses below them change nothing, and are not looked for on the hot path."""
    if not found or found[0].score < settings.fuzzy_min_score:
        return found
    return [found[0], *(c for c in found[1:] if found[0].score - c.score < settings.fuzzy_margin)]


def _verdict(found: list[FuzzyCandidate[Item]], settings: MatchingSettings) -> FuzzyVerdict[Item]:
    if not found:
        return FuzzyVerdict(None, (), Phrase.of("no listed name is close"))
    first = found[0]
    if first.score < settings.fuzzy_min_score:
        return FuzzyVerdict(
            None,
            tuple(found),
            Phrase.of(
                "the closest listed name, {listed!r}, is only {score:.0f}% alike (needs {minimum:.0f}%)",
                listed=first.listed,
                score=first.score,
                minimum=settings.fuzzy_min_score,
            ),
        )
    if len(found) > 1 and first.score - found[1].score < settings.fuzzy_margin:
        second = found[1]
        return FuzzyVerdict(
            None,
            tuple(found),
            Phrase.of(
                "{first!r} ({first_score:.0f}%) and {second!r} ({second_score:.0f}%) are too close to tell apart",
                first=first.listed,
                first_score=first.score,
                second=second.listed,
                second_score=second.score,
            ),
        )
    if len(found) > 1:
        said = Phrase.of(
            "{score:.0f}% alike to {listed!r}, the next account only {next_score:.0f}%",
            score=first.score,
            listed=first.listed,
            next_score=found[1].score,
        )
    else:
        said = Phrase.of(
            "{score:.0f}% alike to {listed!r}, no other account within {margin:.0f} points",
            score=first.score,
            listed=first.listed,
            margin=settings.fuzzy_margin,
        )
    return FuzzyVerdict(first, tuple(found), said)


def _sorted_words(normalized: NormalizedName) -> str:
    return " ".join(sorted(normalized.words))


class SegmentIndex:
    """Positions of listed texts that may score at least ``cutoff`` (``fuzz.ratio``) against a query.

    ``fuzz.ratio`` is ``100 * (1 - d / (m + n))`` for texts of lengths m and n at insert/delete
    distance d, so reaching the cutoff bounds d, hence the edit distance, by ``d_max(m, n)``. Each
    listed text of length n is cut into ``tau(n) + 1`` segments, tau(n) being the largest d_max of
    any query it could match: a query within tau edits contains one segment unchanged, near the
    segment's own place (the multi-match-aware window of Pass-Join). A search probes those few
    substrings of the query, so its cost follows the query's length and how common its pieces are,
    not the list's length.

    The segments are kept as numbers, not strings: a 64-bit polynomial hash of the segment's code
    points mixed with its length and place (``_salt``), sorted, beside the position of the text
    holding it (``_keys`` and ``_postings``, one row per segment of every text). A build is then a
    few numpy steps per text length, and a search hashes all its probes at once and finds their
    postings with two ``searchsorted``; two segments hashing alike only bring a candidate too many,
    which the letter-count filter or the score drops, so the answers stay exact. Measured on
    bench/fuzzy_bench.py's 100,000 names (2026-12-01, CPU time, a loaded 2-core machine): the
    ``FuzzyNames`` of five such indexes builds in 0.6-0.8 s and holds 44 MB (tracemalloc) where
    the two indexes of a dict of segment strings to bytearrays of records a segment took 3.3-4.0 s
    and 93 MB, and it pickles into 28 MB in 0.2-0.3 s (was 49 MB, 0.9-1.0 s).
    """

    def __init__(self, cutoff: float) -> None:
        self.cutoff = cutoff
        self._slack = (100.0 - cutoff) / 100.0
        self._lengths: list[int] = []  # the lengths of the texts in the index, increasing
        self._tau: dict[int, int] = {}
        self._parts: dict[int, tuple[tuple[int, int], ...]] = {}  # length → (start, size) per segment
        # each segment's key (``_keys_of``), sorted, once; where its texts' positions start in
        # ``_postings`` (and one more: the end)
        self._keys, self._offsets, self._postings = _no_index()
        # (query length, cutoff) → the probes' (gather, weights, salts) for ``_hash_probes``,
        # or None when no listed length is within reach; made once, anew after a build, never kept
        self._plans: dict[tuple[int, float], _Plan | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plans": {}}

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

    def build(self, groups: Sequence[_Group]) -> None:
        """The index of these texts, grouped by length (``texts_by_length``; their positions may be
        any numbers: ``FuzzyNames`` gives slots), replacing any before.
        A text too short to cut (``tau + 1`` segments longer than the text) is kept under its
        length's ``UNCUT`` key: every query within reach of that length gets it."""
        # one 64-bit number a segment: its key, then the position; sorted in place, they give the
        # keys in order and each key's positions in order, with one array of 8 bytes a segment
        # (an argsort and its gathers held three arrays of that size at once)
        total = sum(len(positions) * max(1, len(self._segments_of(n)[1])) for n, positions, _codes in groups)
        self._lengths = sorted(n for n, _positions, _codes in groups)
        self._plans.clear()
        if not total:
            self._keys, self._offsets, self._postings = _no_index()
            return
        entries, filled = np.empty(total, np.uint64), 0
        for n, positions, codes in groups:
            _tau, parts = self._segments_of(n)
            segments = [(UNCUT, 0, 0)] if not parts else [(i, start, size) for i, (start, size) in enumerate(parts)]
            for i, start, size in segments:
                hashes = (codes[:, start : start + size] * _powers(size)).sum(axis=1, dtype=np.uint64)
                keys = _keys_of(hashes + _salt(n, i)).astype(np.uint64)
                entries[filled : filled + len(positions)] = keys << np.uint64(32) | positions.astype(np.uint64)
                filled += len(positions)
        entries.sort()
        keys = (entries >> np.uint64(32)).astype(np.uint32)
        first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        self._keys = keys.take(first)
        self._offsets = np.append(first, len(keys)).astype(np.int32)
        self._postings = entries.astype(np.uint32)  # the low 32 bits: the positions

    def candidates(self, codes: np.ndarray, cutoff: float | None = None) -> np.ndarray:
        """The positions of the texts found for a query given as its code points (``query_codes``),
        unsorted and with repeats (a text found by two of its segments comes twice). A ``cutoff``
        above the index's own (a winner's rivals) looks at fewer lengths and fewer places in the
        query (``_probes_for``)."""
        m = len(codes) - 1  # the last is the padding ``query_codes`` adds
        # plans per whole cutoff (a rival's is any score less the margin: a plan each would cost
        # more to make than it saves), so a rival's search is only wider
        key = (m, self.cutoff if cutoff is None else max(self.cutoff, math.floor(cutoff)))
        plan = self._plans.get(key, _UNPLANNED)
        if plan is _UNPLANNED:
            plan = self._plans[key] = _plan(m, self._probes_for(m, self._edits(*key).tolist()))
        if plan is None or len(self._keys) == 0:
            return _NO_POSITIONS
        gather, weights, salts = plan
        probes = _keys_of((codes[gather] * weights).sum(axis=1, dtype=np.uint64) + salts)
        found = np.minimum(np.searchsorted(self._keys, probes), len(self._keys) - 1)
        found = found[self._keys[found] == probes]
        low = self._offsets[found]
        counts = self._offsets[found + 1] - low
        total = int(counts.sum())
        if not total:
            return _NO_POSITIONS
        # the postings of every probe in one gather: each run of counts[j] places starts at low[j]
        starts = np.repeat(low - (np.cumsum(counts) - counts), counts)
        return self._postings.take(starts + np.arange(total))

    def _edits(self, m: int, cutoff: float) -> np.ndarray:
        """Per listed length, the edits a text of it may be from a query of length m and still
        reach ``cutoff`` (never more than the index was cut for)."""
        lengths = np.array(self._lengths, dtype=np.float64) + m
        return np.floor(lengths * min(self._slack, (100.0 - cutoff) / 100.0) + 1e-7).astype(np.int64)

    def _probes_for(self, m: int, edits: list[int]) -> list[tuple[int, int, int, int]]:
        """(listed length, segment, start in the query, size) of each probe: per listed length n
        within reach, the last d + 1 of its texts' tau + 1 segments, d being the edits a text of
        that length may be from the query at ``cutoff`` (d <= tau: often fewer, at a rival's
        cutoff above the index's own, or where m and n allow fewer edits than tau).

        Why that finds every text reaching the cutoff (Pass-Join's multi-match-aware rule, over
        d + 1 pieces): take as pieces the first tau - d segments with the next one, then each
        later segment on its own. With at most d edits among d + 1 pieces, some piece has none,
        the edits before it no more than its rank r among them, and so at most d - r after it:
        its segment is in the query unchanged, shifted by s places, with |s| <= r and |m - n - s|
        <= d - r. Measured on bench/fuzzy_bench.py's 100,000 names (300 names with a typo):
        rivals at 84.3 7,500 candidates by the first d + 1 segments, 6,200 by the last d + 1, 9,600
        by all tau + 1 in the windows of tau edits as before; 1,150 against 1,400 at 89.9 (the
        last segments of a name's sorted words are more often rare words than the first)."""
        probes: list[tuple[int, int, int, int]] = []
        for n, d in zip(self._lengths, edits, strict=True):
            if abs(m - n) > d:
                continue
            _tau, parts = self._segments_of(n)
            if not parts:
                probes.append((n, UNCUT, 0, 0))
                continue
            first = len(parts) - (d + 1)  # len(parts) is tau + 1, and d <= tau
            for i, (start, size) in enumerate(parts[first:], start=first):
                rank = i - first
                low = max(0, start - rank, start + m - n - (d - rank))
                high = min(m - size, start + rank, start + m - n + (d - rank))
                probes += [(n, i, at, size) for at in range(low, high + 1)]
        return probes


_Group = tuple[int, np.ndarray, np.ndarray]  # length n, the texts' positions, their code points (k x n)
_Plan = tuple[np.ndarray, np.ndarray, np.ndarray]
_NO_POSITIONS = np.zeros(0, np.int64)
_UNPLANNED: Any = object()  # no plan made yet (None is a plan: no length within reach)
UNCUT = 0xFFFF  # the segment number of texts too short to cut
_BASE = 0x100000001B3  # the hash's multiplier (FNV's 64-bit prime: odd, so no information is lost)
_MASK64 = (1 << 64) - 1


def _no_index() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.uint32), np.zeros(1, np.int32), np.zeros(0, np.uint32)


@functools.cache
def _powers(size: int) -> np.ndarray:
    """_BASE ** (k + 1) for k < size, modulo 2 ** 64: the weights of a segment's code points (from
    the first power, so that every code point reaches the high bits ``_keys_of`` keeps)."""
    return np.array([pow(_BASE, k + 1, 1 << 64) for k in range(size)], dtype=np.uint64)


def _keys_of(hashes: np.ndarray) -> np.ndarray:
    """The high 32 bits of 64-bit segment hashes: the keys kept. Two segments of 100,000 names'
    ~3 million share one by chance about once a thousand probes, which only brings a few
    candidates too many; 32 bits instead of 64 keep the index at 8 bytes a segment."""
    return (hashes >> np.uint64(32)).astype(np.uint32)


@functools.cache
def _salt(n: int, segment: int) -> np.uint64:
    """A 64-bit number per (listed length, segment), added to a segment's hash, so that the same
    letters at another length or place are another key (splitmix64's finaliser)."""
    z = (n << 16 | segment) * 0x9E3779B97F4A7C15 & _MASK64
    z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9 & _MASK64
    z = (z ^ z >> 27) * 0x94D049BB133111EB & _MASK64
    return np.uint64(z ^ z >> 31)


def _plan(m: int, probes: list[tuple[int, int, int, int]]) -> _Plan | None:
    """The probes as arrays: which code points of the query each reads (``gather``, reading the
    padding past its size), their weights (0 past the size) and its key's salt."""
    if not probes:
        return None
    starts = np.array([start for _n, _i, start, _size in probes], dtype=np.int64)
    sizes = np.array([size for _n, _i, _start, size in probes], dtype=np.int64)
    widest = int(sizes.max())
    places = np.arange(widest)
    gather = np.minimum(starts[:, None] + places, m)
    weights = np.where(places < sizes[:, None], _powers(widest), np.uint64(0)).astype(np.uint64)
    salts = np.array([_salt(n, i) for n, i, _start, _size in probes], dtype=np.uint64)
    return gather, weights, salts


def query_codes(text: str) -> np.ndarray:
    """The code points of a query, and a 0 after them that probes read past their size."""
    return np.frombuffer((text + "\0").encode("utf-32-le"), dtype="<u4")


def texts_by_length(texts: Sequence[str]) -> list[_Group]:
    """The texts grouped by length, as (length, positions, code points one row a text); empty
    texts (removed names) left out."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    order = np.argsort(lengths, kind="stable")
    groups: list[_Group] = []
    for chunk in np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1):
        if len(chunk) == 0 or lengths[chunk[0]] == 0:
            continue
        joined = "".join([texts[position] for position in chunk.tolist()])
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").reshape(len(chunk), -1)
        groups.append((int(lengths[chunk[0]]), chunk, codes))
    return groups


BUCKETS = 64  # letters are counted in this many buckets (a-z and the space each in its own)
LEVELS = 3  # counts up to this kept exactly as bits (letter_masks sets three); beyond it, only their sum
RECORD_WORDS = LEVELS + 1  # the masks, then length | beyond << 16


def letter_table(groups: Sequence[_Group], size: int) -> np.ndarray:
    """The listed texts' letter counts, a column of ``RECORD_WORDS`` a position (zeros where no
    text is), each word a row of its own so that the filter's steps run on contiguous arrays (4x
    faster than a row a text, whose per-row sums cost 30 ns a row): the count filter that keeps
    the search exact and cheap on names much alike.

    ``fuzz.ratio`` is ``200 * LCS / (m + n)``, and a common subsequence cannot hold more of a
    letter than either text does, so ``200 * sum(min(counts)) / (m + n)`` bounds the score from
    above. A segment the query shares (``trad`` of ``Trading``) finds thousands of names; their
    letter counts leave the few that can reach the cutoff (1,514 → 5 a search on
    bench/fuzzy_bench.py's 100,000 names). The counts are bit masks, one per level (the letters
    occurring at least once, twice, three times), so ``sum(min(counts))`` is the popcount of the
    masks' intersections plus what lies beyond the last level (at most the smaller of both texts'
    excess). Letters go into ``BUCKETS`` buckets by code point: kanji share buckets, which only
    loosens the bound. Counted for all texts of a length at once (``letter_masks`` does one query)."""
    table = np.zeros((RECORD_WORDS, size), dtype=np.uint64)
    for n, all_positions, all_codes in groups:
        # 4,096 texts at a time: a count table of 2 MB (100,000 names of one length at once held
        # 150 MB of counts and their steps, at the peak of a list's build)
        for chunk in range(0, len(all_positions), 4096):
            positions, codes = all_positions[chunk : chunk + 4096], all_codes[chunk : chunk + 4096]
            rows = np.arange(len(positions))[:, None] * BUCKETS
            counts = np.bincount((codes % BUCKETS + rows).ravel(), minlength=len(positions) * BUCKETS)
            counts = counts.reshape(len(positions), BUCKETS)
            for level in range(LEVELS):
                masks = np.packbits(counts > level, axis=1, bitorder="little").view("<u8")[:, 0]
                table[level, positions] = masks
            beyond = np.maximum(counts - LEVELS, 0).sum(axis=1)
            table[LEVELS, positions] = min(n, 0xFFFF) | np.minimum(beyond, 0xFFFF).astype(np.uint64) << 16
    return table


def reaching(
    m: int, letters: tuple[list[int], int], rows: np.ndarray, positions: np.ndarray, cutoff: float
) -> list[int]:
    """The positions whose letters (``rows`` of ``letter_table``) allow ``cutoff`` against a query
    of length m (whose ``letter_masks`` are ``letters``), in increasing order and once each. A
    length or excess past 16 bits is kept at 0xFFFF, which can only keep a text too many; a query
    whose excess is that large is not filtered at all. The 1e-6 keeps a float rounding at the
    boundary on the side of one too many."""
    if len(positions) == 0:
        return []
    masks, beyond = letters
    if beyond < 0xFFFF:
        meta = rows[LEVELS]
        shared = np.minimum(meta >> np.uint64(16), np.uint64(beyond))
        for level, mask in enumerate(masks):
            shared += np.bitwise_count(rows[level] & np.uint64(mask))
        positions = positions[200.0 * shared >= (cutoff - 1e-6) * (m + (meta & np.uint64(0xFFFF)))]
    return sorted(set(positions.tolist()))


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
