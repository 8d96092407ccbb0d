"""Visits (sessions) per account, in event time: a gap of 30 minutes without a hit starts a new one.

Pure functions over frozen values, so the replay keeps sessions in a dict and the streaming worker
keeps the same values in a changelog-backed table.
"""

from __future__ import annotations

import bisect
import hashlib
from datetime import datetime, timedelta
from typing import TypeGuard

from revisit.alerts.intent import PageWeight, score_of, with_page
from revisit.core.visit import PageView, Session

MAX_PAGES_PER_SESSION = 200  # a crawler that slipped through must not grow state without bound


def session_id_for(account_id: str, started_at: datetime) -> str:
    return hashlib.sha1(f"{account_id}|{started_at.isoformat()}".encode()).hexdigest()[:20]


def is_straggler(session: Session | None, at: datetime, gap: timedelta) -> TypeGuard[Session]:
    """Older than the visit in progress by more than a gap: a straggler of a visit that is over
    (late input, or a line read twice after a crash)."""
    return session is not None and session.started_at - at > gap


def advance_session(session: Session | None, account_id: str, view: PageView, gap: timedelta) -> Session:
    """The session after one more page view: the same one continued, or a new one after a gap.

    Work per view is independent of the session's length but for one tuple copy, so an account
    with hundreds of page views a day costs no more per view than one with three.
    """
    page = PageWeight(view.weight, view.label)
    if is_straggler(session, view.at, gap):  # it must not end the visit in progress
        return session
    if session is None or view.at - session.last_seen > gap:
        best = with_page((), page)
        return Session(session_id_for(account_id, view.at), account_id, view.at, view.at, (view,), best, score_of(best))
    pages = session.pages
    if _has_view(pages, view):
        # The same page at the same second: a reload, or a hit read twice after a crash (delivery
        # is at least once). Either way it adds nothing to the visit.
        return session
    if len(pages) < MAX_PAGES_PER_SESSION:
        if view.at >= pages[-1].at:
            pages = pages + (view,)
        else:  # a late event keeps visit order
            position = bisect.bisect_right(pages, view.at, key=_time_of)
            pages = pages[:position] + (view,) + pages[position:]
    best = with_page(session.best_by_label, page)
    return Session(
        session.session_id,
        account_id,
        min(session.started_at, view.at),
        max(session.last_seen, view.at),
        pages,
        best,
        score_of(best),
    )


def _has_view(pages: tuple[PageView, ...], view: PageView) -> bool:
    position = bisect.bisect_left(pages, view.at, key=_time_of)
    while position < len(pages) and pages[position].at == view.at:
        if pages[position].path == view.path:
            return True
        position += 1
    return False


def _time_of(view: PageView) -> datetime:
    return view.at
