"""How much a visit says about buying: page rules with weights, summed per session.

A page counts once per label: reading the pricing page ten times is one strong signal, not ten.
Careers, login and the blog carry no weight unless configured to.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import unquote

from revisit.config import PageRule
from stream.fields import BoundedCache


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


def session_score(labels_and_weights: Iterable[PageWeight]) -> int:
    """Sum over labels of the best weight seen for that label."""
    best: dict[str, int] = {}
    for item in labels_and_weights:
        if item.label is not None and item.weight > best.get(item.label, 0):
            best[item.label] = item.weight
    return sum(best.values())
