"""Fuzzy name matching (rapidfuzz) for what normalisation cannot equalise: typos and word order.

Precision first, because a wrong alert makes sales look pushy: the best candidate must score at
least ``fuzzy_min_score`` (0-100) and beat the best *other* account by ``fuzzy_margin``; short
names (``NTT`` vs ``NTN``) never match fuzzily. The score is the edit similarity
(``fuzz.ratio``) of the name's words in sorted order, so typos cost a little and word order
nothing.

A search does not scan the list: ``SegmentIndex`` finds every listed name that *can* reach a
cutoff (the pigeonhole of Li et al., "Pass-Join", VLDB 2011), and only those are scored, with the
same scorer and in list order, so the winner is the exhaustive search's (tests compare both on
the evaluation set and on 100,000 generated names).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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
    its rivals down to ``min - margin`` looked for (a wide search: segments of about 2 letters,
    ten times the candidates). Most visitors resemble no account, and for them the narrow search
    is the whole cost; the winner is the exhaustive search's in every case."""

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
        self._near.add(text, len(self._texts))
        self._wide.add(text, len(self._texts))
        self._live += 1
        self._texts.append(text)
        self._entries.append((item, owner, listed))

    def remove(self, owners: Collection[str]) -> None:
        """These owners' names out of the search, in one pass over the names; the segment index
        keeps their positions, which ``_best_per_owner`` then passes over."""
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
        return self._best_per_owner(text, sorted(self._wide.candidates(text)), limit, self.cutoff)

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
        them, through ``decide_thoroughly``)."""
        if not self._searchable(normalized):
            return _verdict([], self.settings)
        text = _sorted_words(normalized)
        near = self._near.candidates(text)
        if not self._best_per_owner(text, sorted(near), 1, self.settings.fuzzy_min_score):
            return FuzzyVerdict(None, (), f"no listed name is {self.settings.fuzzy_min_score:.0f}% alike")
        return _verdict(self.candidates(normalized), self.settings)

    def decide_thoroughly(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict with the near misses too: for explaining a decision, not for the hot path."""
        return _verdict(self.candidates(normalized), self.settings)

    def decide_exhaustively(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        """The verdict of a scan of every listed name: the reference the index is tested against."""
        return _verdict(self.exhaustive_candidates(normalized), self.settings)

    def __len__(self) -> int:
        return self._live


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
    runner_up = f", the next account only {found[1].score:.0f}%" if len(found) > 1 else ", no other account comes close"
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
        self._segments: dict[tuple[int, int, str], list[int]] = {}  # (length, segment, text) → positions
        self._unsegmented: dict[int, list[int]] = {}  # too short to cut: always candidates

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

    def add(self, text: str, position: int) -> None:
        n = len(text)
        self._lengths.add(n)
        _tau, parts = self._segments_of(n)
        if not parts:
            self._unsegmented.setdefault(n, []).append(position)
            return
        for i, (start, size) in enumerate(parts):
            self._segments.setdefault((n, i, text[start : start + size]), []).append(position)

    def candidates(self, query: str) -> set[int]:
        m = len(query)
        found: set[int] = set()
        for n in self._lengths:
            if abs(m - n) > self.d_max(m, n):
                continue
            tau, parts = self._segments_of(n)
            if not parts:
                found.update(self._unsegmented.get(n, ()))
                continue
            delta = m - n
            for i, (start, size) in enumerate(parts):
                low = max(0, start - i, start + delta - (tau - i))
                high = min(m - size, start + i, start + delta + (tau - i))
                for at in range(low, high + 1):
                    positions = self._segments.get((n, i, query[at : at + size]))
                    if positions is not None:
                        found.update(positions)
        return found
