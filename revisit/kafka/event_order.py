"""The classify stage's event-time order: matched hits leave for the matched topic sorted by event
time, once the low watermark of the raw partitions has passed them (README, "Event time").

Raw lines are keyed by client address, so one company behind several addresses reaches the worker
through several raw partitions, each nearly in time order but read in batches of thousands of lines
a partition at a time: hours of event time apart while a backlog is read. Each raw partition's
watermark is its newest matched hit's time minus ``stream.max_disorder_seconds``; the low watermark
is the smallest of them, and a hit is sent once it is older than the low watermark, in the order of
(event time, raw line): the order replay takes the same hits in.

A raw partition that has given no matched hit for ``stream.idle_seconds`` of wall-clock time stops
holding the low watermark back (Flink's ``withIdleness``); when every partition is idle, all that
waits is sent: a quiet site's last visit is not held until its next visitor. A hit that comes after
the low watermark passed it is late: sent at once and counted.

Nothing waiting here is committed (``held_from``), so a crash, a stop or a rebalance loses nothing:
the raw lines are read again and wait again.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)  # a raw partition
T = TypeVar("T")  # what is sent for a hit


@dataclass
class _Clock:
    newest: datetime | None  # None: nothing read from it yet, which holds the watermark back
    last_seen: float  # monotonic seconds of its last line (or of its assignment)


@dataclass
class EventTimeOrder(Generic[P, T]):
    max_disorder: timedelta
    idle_seconds: float
    late: int = 0  # hits sent at once because the low watermark had passed them
    _waiting: list[tuple[datetime, str, int, P, int, T]] = field(default_factory=list)  # a heap
    _clocks: dict[P, _Clock] = field(default_factory=dict)
    _arrivals: int = 0
    _sent_below: datetime | None = None  # the low watermark everything before it was sent by

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def watermark(self) -> datetime | None:
        """The low watermark hits have been sent by: no hit sent from now on is older, but late ones."""
        return self._sent_below

    def assign(self, partitions: set[P], now: float) -> None:
        """Partitions given to this stage: until they are read or idle they hold the watermark back
        (a partition not fetched yet may hold the oldest lines of all)."""
        for partition in partitions:
            self._clocks.setdefault(partition, _Clock(None, now))

    def saw(self, partition: P, at: datetime | None, now: float) -> None:
        """A line of ``partition`` was read (``at``: its event time, when it has one)."""
        clock = self._clocks.get(partition)
        if clock is None:
            clock = self._clocks[partition] = _Clock(None, now)
        clock.last_seen = now
        if at is not None and (clock.newest is None or at > clock.newest):
            clock.newest = at

    def add(self, partition: P, offset: int, at: datetime, raw_line: str, item: T, now: float) -> list[T]:
        """A matched hit of ``partition`` at ``offset``; returns what is to be sent at once: the
        hit itself if it is late, else nothing (it waits for ``due``)."""
        self.saw(partition, at, now)
        if self._sent_below is not None and at < self._sent_below:
            self.late += 1
            return [item]
        self._arrivals += 1
        heapq.heappush(self._waiting, (at, raw_line, self._arrivals, partition, offset, item))
        return []

    def low_watermark(self, now: float) -> datetime | None:
        """The smallest watermark of the partitions not idle; None while one of them has not been
        read yet, or when every one is idle."""
        active = [clock.newest for clock in self._clocks.values() if now - clock.last_seen < self.idle_seconds]
        if not active or any(newest is None for newest in active):
            return None
        return min(newest for newest in active if newest is not None) - self.max_disorder

    def due(self, now: float) -> list[T]:
        """Items older than the low watermark (everything, when every partition is idle), in
        event-time order."""
        watermark = self.low_watermark(now)
        if watermark is None and self.all_idle(now):
            newest = [clock.newest for clock in self._clocks.values() if clock.newest is not None]
            watermark = max(newest) + timedelta(microseconds=1) if newest else None
        if watermark is not None and (self._sent_below is None or watermark > self._sent_below):
            self._sent_below = watermark
        items: list[T] = []
        while self._waiting and self._sent_below is not None and self._waiting[0][0] < self._sent_below:
            items.append(heapq.heappop(self._waiting)[5])
        return items

    def release_watermark(self, now: float, wall_now: datetime) -> datetime | None:
        """The event time up to which held alerts may close: the watermark hits have been sent by
        and, once every raw partition is idle, wall-clock ``wall_now`` − ``max_disorder`` if later.

        Live input is shipped within the allowed disorder of its event time, so a quiet site's
        held alert closes on time without another visitor (Beam's ``KafkaIO`` limited-delay policy
        advances an idle partition's watermark the same way); a backlog, whose event times lie far
        behind the clock, has every held alert closed at its end, as replay closes them at the
        end of its input. Hits are not sent by it: a backlog shipped after a pause is not late."""
        watermark = self._sent_below
        if self.all_idle(now):
            idle_watermark = wall_now - self.max_disorder
            if watermark is None or idle_watermark > watermark:
                watermark = idle_watermark
        return watermark

    def all_idle(self, now: float) -> bool:
        """Every raw partition idle (and at least one assigned): all that was read has been sent."""
        return bool(self._clocks) and all(now - clock.last_seen >= self.idle_seconds for clock in self._clocks.values())

    def held_from(self) -> dict[P, int]:
        """Partition → smallest offset still waiting: commits stop below it."""
        held: dict[P, int] = {}
        for _at, _line, _arrival, partition, offset, _item in self._waiting:
            held[partition] = min(offset, held.get(partition, offset))
        return held

    def drop(self, kept: set[P]) -> None:
        """Forget the hits and clocks of partitions no longer assigned: their new owner reads them."""
        self._waiting = [entry for entry in self._waiting if entry[3] in kept]
        heapq.heapify(self._waiting)
        self._clocks = {partition: clock for partition, clock in self._clocks.items() if partition in kept}
