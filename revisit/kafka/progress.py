"""How far each partition has got in event time, counting only events that can never be read again.

The worker forgets the state of visits that are over (``AccountStateTable.expired``), and forgetting
is the one change that re-reading events does not undo: after a crash or a rebalance the worker
reads everything after its committed offset again, against the state it left behind. Had it
forgotten an account's last alert time because of an event it had read but not committed, the
re-read events of that account would find no cooldown and alert a second time (seen in the crash
tests). So the sweep judges by the newest event time *below the committed offset* of each
partition, never by the newest event read.

The committed offsets come from Faust's monitor (``app.monitor.tp_committed_offsets``). Faust
records an offset there even when the broker refused the commit during a rebalance; the worker
then forgets a little early in that one case, as Faust itself assumes that commit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime

Source = tuple[tuple[int, ...], datetime]  # raw partitions of one classify stage, and its low watermark


class CommittedEventTimes:
    """Per partition, the newest event time among events whose offsets are committed, held back to
    the low watermarks of the classify stages that wrote them.

    A matched partition gets hits from every classify stage, each in event-time order but not in
    step with the others: while two workers read a backlog, one stage's hits ran hours of event
    time ahead of the other's (the two-worker test ships four days of log in seconds), and judged by
    the newest hit alone the sweep forgot a cooldown that hits still to come from the slower stage
    needed. Each matched record names its stage's raw partitions and low watermark (``source``);
    a partition's watermark is no later than the lowest of them."""

    def __init__(self) -> None:
        # partition → (offset, newest event time up to and including that offset, source), in read
        # order; the time is None for markers read before any hit of the partition
        self._read: dict[int, deque[tuple[int, datetime | None, Source | None]]] = {}
        self._committed: dict[int, datetime] = {}
        self._sources: dict[int, dict[int, datetime]] = {}  # partition → raw partition → low watermark

    def read(self, partition: int, offset: int, at: datetime, source: Source | None = None) -> None:
        """An event was read (not yet committed)."""
        entries = self._entries(partition, offset)
        newest = entries[-1][1] if entries else None
        entries.append((offset, at if newest is None or at > newest else newest, source))

    def read_marker(self, partition: int, offset: int, source: Source) -> None:
        """A watermark marker was read (not yet committed): its stage has sent every hit below the
        marker's watermark. Without this the committed watermark stopped at the source of the
        partition's last hit: once a log was read, the sweep never passed the visits and cooldowns
        of accounts seen early on (a raw partition read to its end early held the stage's low
        watermark back when that last hit was sent; the markers after it said so no more)."""
        entries = self._entries(partition, offset)
        entries.append((offset, entries[-1][1] if entries else None, source))

    def _entries(self, partition: int, offset: int) -> deque[tuple[int, datetime | None, Source | None]]:
        entries = self._read.setdefault(partition, deque())
        if entries and offset <= entries[-1][0]:
            # Read again from an earlier offset (a rebalance sought back to the committed one):
            # what was read after it is not committed and must not count when that offset is.
            entries.clear()
        return entries

    def commit(self, committed: Iterable[tuple[int, int]]) -> None:
        """``committed``: (partition, offset) pairs, where offset is the next one to be read,
        as Kafka commits it. Events below it count from now on."""
        for partition, offset in committed:
            entries = self._read.get(partition)
            while entries and entries[0][0] < offset:
                _, at, source = entries.popleft()
                previous = self._committed.get(partition)
                if at is not None and (previous is None or at > previous):
                    self._committed[partition] = at
                if source is not None:
                    marks = self._sources.setdefault(partition, {})
                    raw_partitions, watermark = source
                    for raw in raw_partitions:
                        if raw not in marks or watermark > marks[raw]:
                            marks[raw] = watermark

    def watermarks(self) -> dict[int, datetime]:
        """Partition → newest committed event time, but no later than the lowest low watermark of
        the raw partitions its hits came through (partitions with nothing committed are absent)."""
        result = {}
        for partition, newest in self._committed.items():
            marks = self._sources.get(partition)
            result[partition] = min(newest, min(marks.values())) if marks else newest
        return result
