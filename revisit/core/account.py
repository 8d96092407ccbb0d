"""A customer of the list: who they are, who owns them, and how the relationship went quiet.

Values only: reading and checking the list is `revisit.enrichment.accounts`' work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from revisit.core.networks import IPNetwork


class DormancyTier(StrEnum):
    ACTIVE = "active"  # a current customer: never alerted
    A = "A"  # 6-12 months: contact first
    B = "B"  # over a year, often a lost deal: relationship repair
    C = "C"  # two years and more, or no date at all: light touch, digest


class DormancyReason(StrEnum):
    FORGOTTEN = "forgotten"
    DISSATISFIED = "dissatisfied"
    TIMING = "timing"
    COMPETITOR = "competitor"
    CAMPAIGN = "campaign"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Owner:
    name: str = ""
    email: str = ""
    slack: str = ""
    timezone: str = ""  # IANA name, e.g. Asia/Tokyo: business hours are the owner's own
    locale: str = ""  # ja or en: the language of this owner's alerts; empty: alerts.locale


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()
    owner: Owner = field(default_factory=Owner)
    last_deal_at: date | None = None
    last_contact_at: date | None = None
    lost_deal_at: date | None = None
    lifetime_value: Decimal | None = None
    dormancy_reason: DormancyReason = DormancyReason.UNKNOWN
    industry: str = ""
    attributes: tuple[tuple[str, str], ...] = ()  # unknown columns, kept as they were

    @property
    def reading(self) -> str:
        """The name's reading (フリガナ) from an optional ``name_kana`` column, for sorting."""
        return dict(self.attributes).get("name_kana", "")

    @property
    def last_touch(self) -> date | None:
        """The latest of last deal and last contact: dormancy counts from here."""
        dates = [d for d in (self.last_deal_at, self.last_contact_at) if d is not None]
        return max(dates) if dates else None
