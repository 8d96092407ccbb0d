"""Visits and alert decisions per account in event time: the second half of a hit's journey.

``VisitTracker`` keeps sessions, held alerts and cooldowns per account; ``track_and_store`` feeds
it the matched hits of ``revisit.enrichment.classify`` and hands hits and alerts to a ``HitSink``
(the database) and new alerts to an ``AlertSender``, both small protocols that the edges implement.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import (
    NamedTuple,
    Protocol,
)

from revisit.alerts.intent import PageScorer
from revisit.alerts.policy import decide_alert, refresh_alert
from revisit.alerts.sessions import advance_session, is_straggler
from revisit.core.alert import Alert
from revisit.core.config import Settings
from revisit.core.visit import PageView, Session
from revisit.enrichment.classify import MatchedHit, RunSummary


class Observation(NamedTuple):
    session: Session | None  # None: a straggler of a visit that is over, kept as a hit only
    page: PageView
    released: list[Alert]  # held alerts whose grouping window passed before this hit
    triggered: Alert | None  # an alert decided by this hit (now held for the grouping window)
    refreshed: Alert | None  # the held alert of this account, with this hit's page added


@dataclass(frozen=True, slots=True)
class PendingAlert:
    alert: Alert
    triggered_at: datetime
    session_started_at: datetime


def state_horizons(settings: Settings, margin: timedelta) -> dict[str, timedelta]:
    """How long after its own time each kind of ``VisitTracker`` state still matters, plus
    ``margin`` for late events: a session until its gap has passed, a last alert time until its
    cooldown has. Older state can be forgotten (the streaming worker's sweep) without changing a
    decision; replay keeps it all in memory anyway. A held alert is not among them: it is stored
    only when the watermark closes it, which takes it out of the state; forgotten, it would be lost."""
    return {
        "session": timedelta(minutes=settings.intent.session_gap_minutes) + margin,
        "last_alert_at": timedelta(hours=settings.alerts.cooldown_hours) + margin,
    }


class Step(NamedTuple):
    """One hit taken into its account's state, with the key it is stored under."""

    key: str
    matched: MatchedHit
    session: Session | None  # None: a straggler of a visit that is over, kept as a hit only
    page: PageView
    triggered: Alert | None
    refreshed: Alert | None


class Advance(NamedTuple):
    """What one move of the watermark decided: hits taken in event-time order, and held alerts
    whose grouping window the watermark has passed (each released before any later hit)."""

    steps: list[Step]
    released: list[Alert]


class VisitTracker:
    """Sessions, pending alerts and last alert times per account, judged in event time.

    An alert is decided when a session first crosses the intent threshold, then held for the
    grouping window while the same visit goes on, and released with the whole visit in it: the
    pages seen before the window ends (trigger time + ``alerts.grouping_minutes``), never a later one.

    Hits are handed in with ``offer``, in whatever order they arrive. They wait in a buffer until the
    watermark (the newest event time seen minus ``stream.max_disorder_seconds``) has passed them and
    are then taken in event-time order; ties in the order of their raw lines, so the same hits
    give the same sessions, pages and alert ids however they were split or interleaved. A hit older
    than the watermark is late (README, "Event time"): it is taken at once, as it comes.

    The state lives in three mappings keyed by account id: plain dicts in replay, changelog-backed
    tables in the streaming worker (which calls ``observe`` per hit with ``release_others=False``,
    since a table may only change the key of the event at hand).
    """

    def __init__(
        self,
        settings: Settings,
        last_alerts: MutableMapping[str, datetime] | None = None,
        sessions: MutableMapping[str, Session] | None = None,
        pending: MutableMapping[str, PendingAlert] | None = None,
        release_others: bool = True,
    ) -> None:
        self.settings = settings
        self.scorer = PageScorer(settings.intent.rules)
        self.gap = timedelta(minutes=settings.intent.session_gap_minutes)
        self.grouping = timedelta(minutes=settings.alerts.grouping_minutes)
        self.max_disorder = timedelta(seconds=settings.stream.max_disorder_seconds)
        self.sessions: MutableMapping[str, Session] = sessions if sessions is not None else {}
        self.pending: MutableMapping[str, PendingAlert] = pending if pending is not None else {}
        self.last_alerts: MutableMapping[str, datetime] = last_alerts if last_alerts is not None else {}
        self.release_others = release_others
        self.decisions: Counter = Counter()  # matched hits by their decision's kind (policy.ALERTED ...)
        self.late_events = 0  # hits that came after the watermark had passed them
        self._waiting: list[tuple[datetime, str, int, str, MatchedHit]] = []  # a heap, in event-time order
        self._arrivals = 0  # arrival number: keeps the heap from comparing two MatchedHits
        self._newest: datetime | None = None
        self._watermark: datetime | None = None

    @property
    def watermark(self) -> datetime | None:
        """Event time below which no more input is expected (None before the first hit)."""
        return self._watermark

    def waiting(self) -> int:
        """Hits buffered until the watermark passes them."""
        return len(self._waiting)

    def offer(self, key: str, matched: MatchedHit) -> Advance:
        """Take a hit in arrival order; returns what the watermark, moved by it, decided."""
        at = matched.hit.timestamp
        if self._watermark is not None and at < self._watermark:
            self.late_events += 1
            return Advance([self._step(key, matched)], [])
        self._arrivals += 1
        heapq.heappush(self._waiting, (at, matched.raw_line, self._arrivals, key, matched))
        if self._newest is None or at > self._newest:
            self._newest = at
            return self.advance_to(at - self.max_disorder)
        return Advance([], [])

    def advance_to(self, watermark: datetime) -> Advance:
        """Take every buffered hit older than ``watermark``, then release the held alerts whose
        window ends at or before it. Hits and releases interleave in event time: a window that
        ends before a hit is closed before that hit is taken."""
        if self._watermark is not None and watermark <= self._watermark:
            return Advance([], [])
        self._watermark = watermark
        steps: list[Step] = []
        released: list[Alert] = []
        while self._waiting and self._waiting[0][0] < watermark:
            at, _line, _arrival, key, matched = heapq.heappop(self._waiting)
            released += self.release_due(at)
            steps.append(self._step(key, matched))
        released += self.release_due(watermark)
        return Advance(steps, released)

    def finish(self) -> Advance:
        """End of the input: every buffered hit is taken and every held alert goes out."""
        steps: list[Step] = []
        released: list[Alert] = []
        while self._waiting:
            at, _line, _arrival, key, matched = heapq.heappop(self._waiting)
            released += self.release_due(at)
            steps.append(self._step(key, matched))
        return Advance(steps, released + self.release_all())

    def _step(self, key: str, matched: MatchedHit) -> Step:
        session, page, released, triggered, refreshed = self._take(matched, release_before=False)
        return Step(key, matched, session, page, triggered, refreshed)

    def observe(self, matched: MatchedHit) -> Observation:
        """Take one hit at once, in the order given (the streaming worker's per-event path); the
        held alert of its account (of every account, with ``release_others``) whose window ended
        before this hit is released first, so it never carries this hit's page."""
        return self._take(matched, release_before=True)

    def _take(self, matched: MatchedHit, release_before: bool) -> Observation:
        account = matched.match.account
        at = matched.hit.timestamp
        released = self.release_due(at, None if self.release_others else account.account_id) if release_before else []
        weight = self.scorer.weigh(matched.hit.path)
        view = PageView(at, matched.hit.path, weight.weight, weight.label)
        previous = self.sessions.get(account.account_id)
        if is_straggler(previous, at, self.gap):
            # Kept as a hit only. It was stored with the visit in progress, which showed an
            # hour-long gap inside one visit in the history (found by a new user, 2026-12-02),
            # and could decide an alert.
            return Observation(None, view, released, None, None)
        session = advance_session(previous, account.account_id, view, self.gap)
        self.sessions[account.account_id] = session
        triggered = refreshed = None
        pending = self.pending.get(account.account_id)
        if pending is not None and pending.session_started_at >= session.started_at:
            refreshed = refresh_alert(pending.alert, session)
            self.pending[account.account_id] = replace(pending, alert=refreshed)
        else:
            decision = decide_alert(
                account,
                matched.match,
                matched.organization,
                session,
                at,
                self.last_alerts.get(account.account_id),
                self.settings,
            )
            self.decisions[decision.kind] += 1
            if decision.alert is not None:
                triggered = decision.alert
                self.pending[account.account_id] = PendingAlert(triggered, at, session.started_at)
                self.last_alerts[account.account_id] = at
        return Observation(session, view, released, triggered, refreshed)

    def release_due(self, now: datetime, account_id: str | None = None) -> list[Alert]:
        """Held alerts whose window has passed at event time ``now`` (of one account, if given)."""
        if account_id is not None:
            held = self.pending.get(account_id)
            candidates = [(account_id, held)] if held is not None else []
        else:
            candidates = list(self.pending.items())
        due = [key for key, held in candidates if now - held.triggered_at >= self.grouping]
        return [self.pending.pop(key).alert for key in sorted(due)]

    def release_all(self) -> list[Alert]:
        """At the end of the input every held alert goes out."""
        return [self.pending.pop(key).alert for key in list(self.pending.keys())]


class HitSink(Protocol):
    """Where matched hits, sessions and alerts are kept (the database in embedded mode)."""

    def add_hit(self, hit_key: str, matched: MatchedHit, session: Session | None, page: PageView) -> None:
        """A hit with its visit (None: a straggler, kept without one)."""
        ...

    def add_alert(self, alert: Alert) -> None: ...

    def flush(self) -> list[Alert]:
        """Persist what was added; returns the alerts that were new (not stored by an earlier run)."""
        ...


class AlertSender(Protocol):
    def deliver(self, alerts: Sequence[Alert]) -> None: ...


class HitKeys:
    """A stable key per hit: the line's hash and its occurrence number among identical lines, so a
    replay of the same log finds the same keys and stores nothing twice."""

    def __init__(self) -> None:
        self._seen: Counter = Counter()

    def key_for(self, line: str) -> str:
        digest = hashlib.sha1(line.rstrip("\r\n").encode("utf-8", "surrogateescape")).hexdigest()
        self._seen[digest] += 1
        return f"{digest}:{self._seen[digest]}"


def track_and_store(
    matched_hits: Iterable[MatchedHit],
    tracker: VisitTracker,
    sink: HitSink,
    sender: AlertSender,
    summary: RunSummary,
    flush_every: int = 2000,
) -> None:
    """Sessions and alert decisions for the matched hits, in event time (``VisitTracker.offer``);
    hits and alerts to the sink, new alerts to the channels after each flush (so an alert is only
    sent once it is stored)."""
    keys = HitKeys()
    pending = 0
    late_before = tracker.late_events
    decided_before = tracker.decisions.copy()
    for matched in matched_hits:
        summary.matched += 1
        summary.accounts_seen.add(matched.match.account.account_id)
        pending += _store(tracker.offer(keys.key_for(matched.raw_line), matched), sink, summary)
        if pending >= flush_every:
            _flush(sink, sender, summary)
            pending = 0
    _store(tracker.finish(), sink, summary)
    summary.late += tracker.late_events - late_before
    summary.decisions.update(tracker.decisions - decided_before)
    _flush(sink, sender, summary)


def _store(advance: Advance, sink: HitSink, summary: RunSummary) -> int:
    for step in advance.steps:
        sink.add_hit(step.key, step.matched, step.session, step.page)
    for alert in advance.released:
        summary.alerts += 1
        sink.add_alert(alert)
    return len(advance.steps)


def _flush(sink: HitSink, sender: AlertSender, summary: RunSummary) -> None:
    new_alerts = sink.flush()
    summary.alerts_new += len(new_alerts)
    if new_alerts:
        sender.deliver(new_alerts)
