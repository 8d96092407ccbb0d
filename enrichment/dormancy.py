"""How long an account has been quiet, judged at the hit's own time."""

from __future__ import annotations

from datetime import date, datetime

from revisit.core.account import Account, DormancyTier
from revisit.core.config import DormancySettings, DormancyThresholds


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from ``earlier`` to ``later`` (Jan 31 → Feb 28 is 0 months)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


def dormancy_tier(account: Account, at: datetime | date, settings: DormancySettings) -> DormancyTier:
    last_touch = account.last_touch
    if last_touch is None:
        return DormancyTier.C
    day = at.date() if isinstance(at, datetime) else at
    months = months_between(last_touch, day)
    thresholds = settings.thresholds_for(account.industry)
    if months < thresholds.tier_a_months:
        return DormancyTier.ACTIVE
    if months < thresholds.tier_b_months:
        return DormancyTier.A
    if months < thresholds.tier_c_months:
        return DormancyTier.B
    return DormancyTier.C


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (following - date.resolution).day
    return date(year, month, min(day.day, last_day))


def tier_cutoffs(thresholds: DormancyThresholds, today: date) -> tuple[date, date, date]:
    """Last-touch dates at or before which an account is at least tier A, B and C today: the same
    decision as ``dormancy_tier`` (``months_between(touch, today) >= N`` exactly when
    ``touch <= months_before(today, N)``), in a form a database can compare against."""
    return (
        months_before(today, thresholds.tier_a_months),
        months_before(today, thresholds.tier_b_months),
        months_before(today, thresholds.tier_c_months),
    )
