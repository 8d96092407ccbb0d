"""Visits (sessions) per account, in event time: a gap of 30 minutes without a hit starts a new one.

Pure functions over frozen values, so the replay keeps sessions in a dict and the streaming worker
keeps the same values in a changelog-backed table.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.intent import PageWeight, session_score

MAX_PAGES_PER_SESSION = 200  # a crawler that slipped through must not grow state without bound


@dataclass(frozen=True, slots=True)
class PageView:
    at: datetime
    path: str
    weight: int = 0
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    account_id: str
    started_at: datetime
    last_seen: datetime
    pages: tuple[PageView, ...]
    score: int

    @property
    def session_id(self) -> str:
        text = f"{self.account_id}|{self.started_at.isoformat()}"
        return hashlib.sha1(text.encode()).hexdigest()[:20]


def advance_session(session: Session | None, account_id: str, view: PageView, gap: timedelta) -> Session:
    """The session after one more page view: the same one continued, or a new one after a gap."""
    if session is None or view.at - session.last_seen > gap or session.started_at - view.at > gap:
        return Session(account_id, view.at, view.at, (view,), session_score([_weight(view)]))
    pages = list(session.pages)
    if len(pages) < MAX_PAGES_PER_SESSION:
        position = bisect.bisect_right([p.at for p in pages], view.at)  # late events keep visit order
        pages.insert(position, view)
    return replace(
        session,
        started_at=min(session.started_at, view.at),
        last_seen=max(session.last_seen, view.at),
        pages=tuple(pages),
        score=session_score(_weight(p) for p in pages),
    )


def _weight(view: PageView) -> PageWeight:
    return PageWeight(view.weight, view.label)
