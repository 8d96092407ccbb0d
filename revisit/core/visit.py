"""A visit (session) of one account: the pages seen, in event time, and what they scored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

LabelWeights = tuple[tuple[str, int], ...]  # the best weight seen per label, sorted by label


@dataclass(frozen=True, slots=True)
class PageView:
    at: datetime
    path: str
    weight: int = 0
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str  # fixed when the session starts: account and first event time
    account_id: str
    started_at: datetime
    last_seen: datetime
    pages: tuple[PageView, ...]
    best_by_label: LabelWeights
    score: int
