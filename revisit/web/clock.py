"""The web UI's one time zone: what it shows, and where its days begin and end.

Every time is stored in UTC; a Japanese team reads them in Asia/Tokyo, where a day starts at
15:00 UTC the day before. So every date a page takes (filters, "this week", the chart's days) is
turned into UTC instants here, and every instant shown or exported is turned back here, with its
offset in CSV files and the API (ISO 8601, ``2015-05-18T10:12:00+09:00``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from revisit.core.config import Settings
from revisit.core.errors import BadInput
from revisit.storage.models import as_utc


@dataclass(frozen=True)
class Clock:
    zone: ZoneInfo

    @property
    def name(self) -> str:
        return self.zone.key

    @property
    def label(self) -> str:
        """How pages name the zone beside a time: its short name when the zone keeps one all year
        (``JST``, as the command line and the alerts write it; ``UTC``), else its IANA name
        (``Europe/Berlin``: one column of CET and CEST rows cannot carry either alone)."""
        year = datetime.now(UTC).year
        names = {datetime(year, month, 1, tzinfo=self.zone).tzname() or "" for month in (1, 7)}
        short = names.pop() if len(names) == 1 else ""
        return short if short.isalpha() else self.zone.key

    def local(self, moment: datetime) -> datetime:
        """A stored instant (aware, or naive UTC as SQLite returns it) in the zone."""
        return as_utc(moment).astimezone(self.zone)

    def start_of(self, day: date) -> datetime:
        """The UTC instant at which ``day`` begins in the zone (a DST day begins at its own offset)."""
        return datetime.combine(day, time.min, self.zone).astimezone(UTC)

    def days(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the whole local days from ``first`` to ``last``."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def day_of(
        self,
        column: InstrumentedAttribute[datetime] | ColumnElement[datetime],
        days: Sequence[date],
        dialect: str = "sqlite",
    ) -> ColumnElement[Any]:
        """The local day of ``column`` among consecutive ``days``, in SQL (a date, or ``YYYY-MM-DD``).

        PostgreSQL converts with its own IANA data (``timezone(zone, t)``); SQLite has no zones, so
        there it is a CASE over the days' UTC boundaries, right across DST changes too (28 branches
        per row: on PostgreSQL the function is the cheaper of the two)."""
        if dialect == "postgresql":
            return func.date(func.timezone(self.zone.key, column))
        return case(
            *((column < self.start_of(day + timedelta(days=1)), day.isoformat()) for day in days),
            else_=None,
        )

    def iso(self, moment: datetime | None) -> str:
        return "" if moment is None else self.local(moment).isoformat()


def web_clock(settings: Settings) -> Clock:
    """``web.timezone``, else the business-hours zone; an unknown name is a configuration error (exit 2)."""
    name = settings.web.timezone or settings.delivery.business_hours.timezone
    try:
        return Clock(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(
            f"web.timezone: {name!r} is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin, UTC)"
        ) from None
