"""When each account's state next expires, so the worker's sweep looks only at what is due.

The sweep used to read every account in the state table each time. With a 24-hour cooldown the
table holds every account that alerted that day (70,000 after 30 minutes of the soak), and a full
scan every minute took the CPU from events for seconds: the p99 latency rose with it. A queue
ordered by due time makes a sweep cost what it forgets, not what it keeps.

Entries are never removed in place (a heap cannot do that cheaply): an account's state moves its
due time later with every event, and the queue keeps the earlier entry. When that entry comes up,
the caller checks the account's record and schedules it again at its true time ("lazy deletion").
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from datetime import datetime

Partition = int | None  # None: a record of an older version that does not name its partition


def watermark_of(partition: Partition, watermarks: Mapping[int, datetime]) -> datetime | None:
    """The event time a partition's state is judged by: its own watermark (None while nothing of
    it is known for good), or the slowest partition's for a record that names none."""
    if partition is None:
        return min(watermarks.values(), default=None)
    return watermarks.get(partition)


class ExpiryQueue:
    """Accounts by the time their earliest state field expires, one heap per partition.

    Per partition because each partition is judged by its own event time (see
    ``AccountStateTable.forget_expired``): a partition re-reading the morning must not let the night of
    another one expire its accounts."""

    def __init__(self) -> None:
        self._heaps: dict[Partition, list[tuple[datetime, str]]] = {}
        self._scheduled: dict[str, tuple[datetime, Partition]] = {}  # account → its live entry

    def __len__(self) -> int:
        """Accounts scheduled."""
        return len(self._scheduled)

    def entries(self) -> int:
        """Entries held, stale ones included: what the queue costs in memory."""
        return sum(len(heap) for heap in self._heaps.values())

    def schedule(self, account_id: str, due: datetime, partition: Partition) -> None:
        """The account's state expires at ``due`` at the earliest. A later time than the one
        already queued changes nothing: the earlier entry comes up first and is re-checked."""
        current = self._scheduled.get(account_id)
        if current is not None and current[1] == partition and current[0] <= due:
            return
        self._scheduled[account_id] = (due, partition)
        heap = self._heaps.setdefault(partition, [])
        heapq.heappush(heap, (due, account_id))
        if len(heap) > 2 * len(self._scheduled) + 1024:
            self._compact()

    def unschedule(self, account_id: str) -> None:
        self._scheduled.pop(account_id, None)

    def pop_due(self, watermarks: Mapping[int, datetime]) -> list[str]:
        """Accounts whose entry is due before their partition's watermark, each once; they are no
        longer scheduled (the caller forgets their expired fields and schedules what remains).
        Partitions without a watermark are not read yet: nothing of theirs is due. Records with no
        partition are judged by the slowest one."""
        due_accounts: list[str] = []
        for partition, heap in self._heaps.items():
            watermark = watermark_of(partition, watermarks)
            if watermark is None:
                continue
            while heap and heap[0][0] < watermark:
                due, account_id = heapq.heappop(heap)
                if self._scheduled.get(account_id) == (due, partition):
                    del self._scheduled[account_id]
                    due_accounts.append(account_id)
        return due_accounts

    def clear(self) -> None:
        self._heaps.clear()
        self._scheduled.clear()

    def _compact(self) -> None:
        """Drops the stale entries (accounts whose due time moved earlier, or that were forgotten)."""
        self._heaps = {}
        for account_id, (due, partition) in self._scheduled.items():
            self._heaps.setdefault(partition, []).append((due, account_id))
        for heap in self._heaps.values():
            heapq.heapify(heap)
