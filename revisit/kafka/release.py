"""The stateful stage's side of the event-time model: which held alerts the watermark has closed.

Every classify stage sends, about once a second and after the hits it covers, a marker to every
matched partition: the watermark up to which it has sent its hits (``EventTimeOrder.
release_watermark``), naming its raw partitions. Per matched partition the tracker keeps the
latest watermark reported for each raw partition and closes a held alert once the lowest of them
has passed its window's end (trigger + ``alerts.grouping_minutes``), not on its account's next hit
(README, "Event time"). A raw partition no marker has named holds the watermark back until
``stream.idle_seconds`` after the first marker: a stage that has not started yet may still send
older hits.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class WatermarkReport:
    raw_partitions: tuple[int, ...]
    raw_count: int  # partitions of the raw topic: the ones never named hold the watermark back
    watermark: datetime


@dataclass
class LowWatermarks:
    """Matched partition → the low watermark over every raw partition, from the markers read on it.

    Per matched partition because a marker is read in its partition's order: when it is read, the
    hits its stage sent to that partition before it have been taken. It never moves back (a raw
    partition's new owner may start from an older point: what it sends below is late)."""

    idle_seconds: float
    _reports: dict[int, dict[int, datetime]] = field(default_factory=dict)
    _first_heard: dict[int, float] = field(default_factory=dict)
    _low: dict[int, datetime] = field(default_factory=dict)

    def report(self, partition: int, report: WatermarkReport, now: float) -> datetime | None:
        """A marker read on ``partition`` (``now``: monotonic seconds); returns its low watermark."""
        marks = self._reports.setdefault(partition, {})
        first = self._first_heard.setdefault(partition, now)
        for raw in report.raw_partitions:
            marks[raw] = report.watermark  # the latest report wins: the partition may have a new owner
        if set(range(report.raw_count)) - marks.keys() and now - first < self.idle_seconds:
            return self._low.get(partition)
        low = min(marks.values())
        previous = self._low.get(partition)
        if previous is None or low > previous:
            self._low[partition] = low
        return self._low[partition]

    def forget(self, partition: int) -> None:
        """The partition went to another worker: a later owner starts from its markers again."""
        self._reports.pop(partition, None)
        self._first_heard.pop(partition, None)
        self._low.pop(partition, None)


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

    def due(self, partition: int, watermark: datetime) -> list[str]:
        """Accounts of ``partition`` whose held alert's window ends at or before ``watermark``
        (and those of records that name no partition, judged by the same watermark)."""
        accounts: list[str] = []
        for key in (partition, None):
            heap = self._heaps.get(key, [])
            while heap and heap[0][0] <= watermark:
                accounts.append(heapq.heappop(heap)[1])
        return list(dict.fromkeys(accounts))

    def clear(self) -> None:
        self._heaps.clear()
        self._window_ends.clear()
