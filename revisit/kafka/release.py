"""The stateful stage's side of the event-time model: which held alerts the watermark has closed.

Every classify stage sends, about once a second and after the hits it covers, a marker to every
matched partition: the low watermark of its raw partitions, below which it has sent every hit
but late ones (``RawWatermarks.watermark``), the one up to which held alerts may close
(``RawWatermarks.release_watermark``), and its raw partitions. Per matched partition the tracker keeps the
latest watermark reported for each raw partition and closes a held alert once the lowest of them
has passed its window's end (trigger + ``alerts.grouping_minutes``), not on its account's next hit
(README, "Event time"). A raw partition no marker has named holds the watermark back until
``stream.idle_seconds`` after the first marker: a stage that has not started yet may still send
older hits.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class WatermarkReport:
    raw_partitions: tuple[int, ...]
    raw_count: int  # partitions of the raw topic: the ones never named hold the watermark back
    watermark: datetime  # held alerts may close up to it
    hits_watermark: datetime | None  # every hit below it has been sent (None: none sent yet)
    idle: bool = False  # every raw partition of the stage idle: it holds no hit back


@dataclass(frozen=True, slots=True)
class Lows:
    """A matched partition's low watermarks: hits below ``hits`` are taken, held alerts whose
    window ends at or before ``release`` close (None: not known yet)."""

    hits: datetime | None
    release: datetime | None
    idle: bool = False  # every stage's last marker said idle: all they read has been sent


@dataclass
class LowWatermarks:
    """Matched partition → the low watermarks over every raw partition, from the markers read on it.

    Per matched partition because a marker is read in its partition's order: when it is read, the
    hits its stage sent to that partition before it have been read. They never move back (a raw
    partition's new owner may start from an older point: what it sends below is late)."""

    idle_seconds: float
    _release: dict[int, dict[int, datetime]] = field(default_factory=dict)
    _hits: dict[int, dict[int, tuple[datetime | None, bool]]] = field(default_factory=dict)
    _first_heard: dict[int, float] = field(default_factory=dict)
    _low: dict[int, Lows] = field(default_factory=dict)

    def report(self, partition: int, report: WatermarkReport, now: float) -> Lows:
        """A marker read on ``partition`` (``now``: monotonic seconds); returns its low watermarks."""
        release, hits = self._release.setdefault(partition, {}), self._hits.setdefault(partition, {})
        first = self._first_heard.setdefault(partition, now)
        for raw in report.raw_partitions:  # the latest report wins: the partition may have a new owner
            release[raw] = report.watermark
            hits[raw] = (report.hits_watermark, report.idle)
        previous = self._low.get(partition, Lows(None, None))
        if set(range(report.raw_count)) - release.keys() and now - first < self.idle_seconds:
            return previous
        low = Lows(
            _later(previous.hits, _hits_low(list(hits.values()))),
            _later(previous.release, min(release.values())),
            all(idle for _watermark, idle in hits.values()),
        )
        self._low[partition] = low
        return low

    def lows(self, partition: int) -> Lows:
        return self._low.get(partition, Lows(None, None))


def _hits_low(reports: list[tuple[datetime | None, bool]]) -> datetime | None:
    """The lowest hits' watermark of the stages not idle (Flink's ``withIdleness``: an idle stage
    has sent all it read and holds nothing back); when every one is idle, the highest, below
    which every stage has sent all it read."""
    active = [watermark for watermark, idle in reports if not idle]
    if active:
        return None if None in active else min(w for w in active if w is not None)
    return max((watermark for watermark, _idle in reports if watermark is not None), default=None)


def _later(previous: datetime | None, new: datetime | None) -> datetime | None:
    if previous is None or (new is not None and new > previous):
        return new
    return previous


def _pop_due(
    heaps: dict[int | None, list[tuple[datetime, str]]],
    partition: int,
    is_due: Callable[[datetime], bool],
    limit: int | None,
) -> list[str]:
    """Pops the due entries of ``partition`` and of records naming none, earliest first across
    both, until ``limit`` distinct accounts are found."""
    accounts: dict[str, None] = {}
    own, unnamed = heaps.get(partition, []), heaps.get(None, [])
    while limit is None or len(accounts) < limit:
        candidates = [heap for heap in (own, unnamed) if heap and is_due(heap[0][0])]
        if not candidates:
            break
        accounts[heapq.heappop(min(candidates, key=lambda heap: heap[0][0]))[1]] = None
    return list(accounts)


@dataclass
class WaitingIndex:
    """Matched partition → accounts by the event time of their earliest hit waiting for the low
    watermark, so a marker looks only at the accounts it lets go on. Stale entries (hits taken
    since) are found empty when they come up."""

    _heaps: dict[int | None, list[tuple[datetime, str]]] = field(default_factory=dict)

    def wait(self, partition: int | None, at: datetime, account_id: str) -> None:
        heapq.heappush(self._heaps.setdefault(partition, []), (at, account_id))

    def due(self, partition: int, watermark: datetime, limit: int | None = None) -> list[str]:
        """Accounts of ``partition`` (or of records naming none) with a hit older than ``watermark``,
        the earliest first; at most ``limit`` of them (the rest stay due for the next call)."""
        return _pop_due(self._heaps, partition, lambda at: at < watermark, limit)

    def clear(self) -> None:
        self._heaps.clear()


@dataclass
class HeldAlertIndex:
    """Matched partition → held alerts by window end, so a marker looks only at what it closes.

    Entries are not removed in place: an alert closed on its account's own hit leaves its entry,
    and the caller finds no held alert (or a later one, not yet due) when it comes up."""

    grouping: timedelta
    _heaps: dict[int | None, list[tuple[datetime, str]]] = field(default_factory=dict)
    _window_ends: dict[str, datetime] = field(default_factory=dict)  # account → its held alert's

    def hold(self, partition: int | None, triggered_at: datetime, account_id: str) -> None:
        end = triggered_at + self.grouping
        heapq.heappush(self._heaps.setdefault(partition, []), (end, account_id))
        self._window_ends[account_id] = end

    def closed(self, account_id: str) -> datetime | None:
        """The account's held alert was closed: the end of its window (None if not known here)."""
        return self._window_ends.pop(account_id, None)

    def due(self, partition: int, watermark: datetime, limit: int | None = None) -> list[str]:
        """Accounts of ``partition`` whose held alert's window ends at or before ``watermark``
        (and those of records that name no partition, judged by the same watermark), the earliest
        window first; at most ``limit`` of them (the rest stay due for the next call)."""
        return _pop_due(self._heaps, partition, lambda end: end <= watermark, limit)

    def clear(self) -> None:
        self._heaps.clear()
        self._window_ends.clear()
