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


class CommittedEventTimes:
    """Per partition, the newest event time among events whose offsets are committed."""

    def __init__(self) -> None:
        # partition → (offset, newest event time up to and including that offset), in read order
        self._read: dict[int, deque[tuple[int, datetime]]] = {}
        self._committed: dict[int, datetime] = {}

    def read(self, partition: int, offset: int, at: datetime) -> None:
        """An event was read (not yet committed)."""
        entries = self._read.setdefault(partition, deque())
        if entries and offset <= entries[-1][0]:
            # Read again from an earlier offset (a rebalance sought back to the committed one):
            # what was read after it is not committed and must not count when that offset is.
            entries.clear()
        if entries and entries[-1][1] > at:
            at = entries[-1][1]
        entries.append((offset, at))

    def commit(self, committed: Iterable[tuple[int, int]]) -> None:
        """``committed``: (partition, offset) pairs, where offset is the next one to be read,
        as Kafka commits it. Events below it count from now on."""
        for partition, offset in committed:
            entries = self._read.get(partition)
            while entries and entries[0][0] < offset:
                _, at = entries.popleft()
                previous = self._committed.get(partition)
                if previous is None or at > previous:
                    self._committed[partition] = at

    def watermarks(self) -> dict[int, datetime]:
        """Partition → newest committed event time (partitions with nothing committed are absent)."""
        return dict(self._committed)
