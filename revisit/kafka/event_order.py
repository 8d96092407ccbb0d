"""The classify stage's event-time clock: how far its raw partitions have got in event time, which
the stateful stage orders every account's hits by (README, "Event time").

Raw lines are keyed by client address, so one company behind several addresses reaches the worker
through several raw partitions, each nearly in time order but read in batches of thousands of lines
a partition at a time: hours of event time apart while a backlog is read. Each raw partition's
watermark is the newest event time read there minus ``stream.max_disorder_seconds``; the stage's
low watermark is the smallest of them, and it never moves back. Matched hits are sent the moment
they are matched; every hit sent later than a marker naming this watermark is at or after it, but
the late ones: a hit the low watermark had already passed when it came is late, sent all the same
and counted. The tracker keeps each hit in its account's state until the markers of every stage
say the low watermark has passed it (``revisit.kafka.release``), then takes the account's hits in
event-time order.

A raw partition that has given no line for ``stream.idle_seconds`` of wall-clock time stops
holding the low watermark back (Flink's ``withIdleness``); when every partition is idle, the low
watermark goes just past the newest event time read: all that was read has been sent, so a quiet
site's last visit is not held until its next visitor.

Ordering here as well was tried and dropped: holding each hit in the stage until the low watermark
passed it, then sending it again in order, doubled the matched records (an early copy had to go
at once so that the hit was stored without waiting) while the tracker orders them anyway.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)  # a raw partition


@dataclass
class _Clock:
    newest: datetime | None  # None: nothing read from it yet, which holds the watermark back
    last_seen: float  # monotonic seconds of its last line (or of its assignment)
    caught_up_at: datetime | None = None  # wall-clock time it was last read to its end


@dataclass
class RawWatermarks(Generic[P]):
    max_disorder: timedelta
    idle_seconds: float
    late: int = 0  # hits the low watermark had passed when they came
    _clocks: dict[P, _Clock] = field(default_factory=dict)
    _low: datetime | None = None

    @property
    def watermark(self) -> datetime | None:
        """The low watermark as last moved by ``advance``: hits sent from now on are not older, but
        the late ones (None before every assigned partition was read or idle)."""
        return self._low

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

    def caught_up(self, partition: P, at: datetime) -> None:
        """Every line of ``partition`` shipped before wall-clock ``at`` has been read."""
        clock = self._clocks.get(partition)
        if clock is not None:
            clock.caught_up_at = at

    def is_late(self, at: datetime) -> bool:
        """A matched hit at ``at`` is about to be sent: True (and counted) if the low watermark has
        already passed it."""
        if self._low is not None and at < self._low:
            self.late += 1
            return True
        return False

    def low_watermark(self, now: float) -> datetime | None:
        """The smallest watermark of the partitions not idle; None while one of them has not been
        read yet, or when every one is idle."""
        active = [clock for clock in self._clocks.values() if now - clock.last_seen < self.idle_seconds]
        if not active or any(clock.newest is None for clock in active):
            return None
        return min(self._watermark_of(clock) for clock in active)

    def _watermark_of(self, clock: _Clock) -> datetime:
        """A partition's watermark: its newest event time − ``max_disorder``, or, while its input
        is live and it was read to its end at wall-clock time ``c``, ``c`` − ``max_disorder``.

        Live input is shipped within the allowed disorder of its event time (what the model
        assumes of it, README "Event time"), so a partition read to its end at ``c`` will give no
        line older than ``c`` − ``max_disorder``, whatever its newest line says; it is live while
        that newest line is itself within the bound of ``c``. By event time alone, a held alert
        waited for the newest line, a moment behind the clock, and once the traffic stopped for
        ``idle_seconds`` more: up to 70 s after its window's end in the bench, against the
        promised 61 s. A backlog, whose lines lie further behind the clock, is never live: its
        hits and alerts go by its event time, as in replay."""
        assert clock.newest is not None
        by_event_time = clock.newest - self.max_disorder
        read_to = clock.caught_up_at
        if read_to is not None and clock.newest >= read_to - self.max_disorder:
            return max(by_event_time, read_to - self.max_disorder)
        return by_event_time

    def advance(self, now: float) -> datetime | None:
        """Move the low watermark by what has been read (past the newest event time read once
        every partition is idle); call it after the hits read so far have been sent."""
        watermark = self.low_watermark(now)
        if watermark is None and self.all_idle(now):
            newest = [clock.newest for clock in self._clocks.values() if clock.newest is not None]
            watermark = max(newest) + timedelta(microseconds=1) if newest else None
        if watermark is not None and (self._low is None or watermark > self._low):
            self._low = watermark
        return self._low

    def release_watermark(self, now: float, wall_now: datetime) -> datetime | None:
        """The event time up to which held alerts may close: the low watermark and, once every raw
        partition is idle, wall-clock ``wall_now`` − ``max_disorder`` if later.

        Live input is shipped within the allowed disorder of its event time, so a quiet site's
        held alert closes on time without another visitor (Beam's ``KafkaIO`` limited-delay policy
        advances an idle partition's watermark the same way); a backlog, whose event times lie far
        behind the clock, has every held alert closed at its end, as replay closes them at the
        end of its input. Hits are not judged by it: a backlog shipped after a pause is not late."""
        watermark = self._low
        if self.all_idle(now):
            idle_watermark = wall_now - self.max_disorder
            if watermark is None or idle_watermark > watermark:
                watermark = idle_watermark
        return watermark

    def all_idle(self, now: float) -> bool:
        """Every raw partition idle (and at least one assigned): all that was read has been sent."""
        return bool(self._clocks) and all(now - clock.last_seen >= self.idle_seconds for clock in self._clocks.values())

    def keep(self, kept: set[P]) -> None:
        """Forget the clocks of partitions no longer assigned: their new owner reads them."""
        self._clocks = {partition: clock for partition, clock in self._clocks.items() if partition in kept}
