"""Fuzzy name matching (rapidfuzz) for what normalisation cannot equalise: typos and word order.

Precision first, because a wrong alert makes sales look pushy: the best candidate must score at
least ``fuzzy_min_score`` (0-100) and beat the best *other* account by ``fuzzy_margin``; short
names (``NTT`` vs ``NTN``) never match fuzzily. The score is the edit similarity
(``fuzz.ratio``) of the name's words in sorted order, so typos cost a little and word order
nothing; one search over 100,000 names takes about 10 ms and runs once per new name.
"""

from __future__ import annotations

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
    def __init__(self, settings: MatchingSettings) -> None:
        self.settings = settings
        self._texts: list[str] = []  # the words of each listed name, sorted, space-separated
        self._entries: list[tuple[Item, str, str]] = []  # (item, owner, listed name)

    def add(self, normalized: NormalizedName, item: Item, owner: str, listed: str) -> None:
        if len(normalized.key) < self.settings.fuzzy_min_length:
            return
        self._texts.append(_sorted_words(normalized))
        self._entries.append((item, owner, listed))

    def candidates(self, normalized: NormalizedName, limit: int = 5) -> list[FuzzyCandidate[Item]]:
        """The best-scoring listed names, one per account, best first (scores ≥ min - margin).

        Every name above the cutoff is looked at, not just the best few: an account listed under
        many similar aliases would otherwise fill the top places and hide a rival within the
        margin, and the margin rule would then wrongly see no rival."""
        if not self._texts or len(normalized.key) < self.settings.fuzzy_min_length:
            return []
        cutoff = max(0.0, self.settings.fuzzy_min_score - self.settings.fuzzy_margin)
        best: dict[str, FuzzyCandidate[Item]] = {}
        for _text, score, position in process.extract(
            _sorted_words(normalized), self._texts, scorer=fuzz.ratio, processor=None, limit=None, score_cutoff=cutoff
        ):
            item, owner, listed = self._entries[position]
            if owner not in best:  # results come best first
                best[owner] = FuzzyCandidate(item, owner, listed, round(float(score), 1))
                if len(best) == limit:
                    break
        return sorted(best.values(), key=lambda c: (-c.score, c.owner))

    def decide(self, normalized: NormalizedName) -> FuzzyVerdict[Item]:
        found = self.candidates(normalized)
        settings = self.settings
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
            f", the next account only {found[1].score:.0f}%" if len(found) > 1 else ", no other account comes close"
        )
        return FuzzyVerdict(first, tuple(found), f"{first.score:.0f}% alike to {first.listed!r}{runner_up}")

    def __len__(self) -> int:
        return len(self._texts)


def _sorted_words(normalized: NormalizedName) -> str:
    return " ".join(sorted(normalized.words))
