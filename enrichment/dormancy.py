"""How long an account has been quiet, judged at the hit's own time."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from enrichment.accounts import Account
from revisit.config import DormancySettings


class DormancyTier(StrEnum):
    ACTIVE = "active"  # a current customer: never alerted
    A = "A"  # 6-12 months: contact first
    B = "B"  # over a year, often a lost deal: relationship repair
    C = "C"  # two years and more, or no date at all: light touch, digest


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
