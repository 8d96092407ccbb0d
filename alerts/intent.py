"""How much a visit says about buying: page rules with weights, summed per session.

A page counts once per label: reading the pricing page ten times is one strong signal, not ten.
Careers, login and the blog carry no weight unless configured to.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from revisit.core.caches import BoundedCache
from revisit.core.config import PageRule
from revisit.core.visit import LabelWeights


@dataclass(frozen=True, slots=True)
class PageWeight:
    weight: int
    label: str | None


NO_WEIGHT = PageWeight(0, None)


class PageScorer:
    """Weight of a path by the first matching rule of highest weight; cached per path."""

    def __init__(self, rules: Iterable[PageRule], cache_size: int = 100_000) -> None:
        compiled = []
        for rule in rules:
            source = rule.pattern if rule.regex else fnmatch.translate(rule.pattern)
            try:
                compiled.append((re.compile(source, re.IGNORECASE), PageWeight(rule.weight, rule.label)))
            except re.error as error:
                raise ValueError(f"page rule {rule.pattern!r}: {error}") from None
        compiled.sort(key=lambda item: -item[1].weight)
        self._rules = tuple(compiled)
        self._cache = BoundedCache(cache_size)

    def weigh(self, path: str) -> PageWeight:
        found = self._cache.get(path)
        if found is None:
            found = self._cache.remember(path, self._weigh_uncached(path))
        return found

    def _weigh_uncached(self, path: str) -> PageWeight:
        readable = unquote(path, errors="replace")  # /%E6%96%99%E9%87%91 → /料金
        for pattern, weight in self._rules:
            if pattern.match(readable) or pattern.match(path):
                return weight
        return NO_WEIGHT


def with_page(best: LabelWeights, page: PageWeight) -> LabelWeights:
    """``best`` after one more page: a label counts once, at its highest weight, so reading the
    pricing page ten times is one strong signal, not ten."""
    if page.label is None or page.weight <= 0:
        return best
    current = dict(best)
    if page.weight <= current.get(page.label, 0):
        return best
    current[page.label] = page.weight
    return tuple(sorted(current.items()))


def score_of(best: LabelWeights) -> int:
    return sum(weight for _label, weight in best)
