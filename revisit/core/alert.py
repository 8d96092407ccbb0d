"""The alert: what a rep receives about one visit of one dormant account, and its JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from revisit.core.account import DormancyReason, DormancyTier, Owner
from revisit.core.organization import Organization, organization_from_record, organization_record


class Delivery:
    REALTIME = "realtime"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    account_id: str
    account_name: str
    tier: DormancyTier
    score: int
    first_seen: datetime
    last_seen: datetime
    pages: tuple[str, ...]
    page_labels: tuple[str, ...]
    organization: Organization
    match_method: str
    match_confidence: float
    match_detail: str
    owner: Owner
    dormancy_reason: DormancyReason
    approach: str
    opening_line: str
    delivery: str
    priority: str
    lifetime_value: Decimal | None
    last_deal_at: str | None
    locale: str
    industry: str = ""
    page_times: tuple[datetime, ...] = ()  # when each of ``pages`` was seen, same order
    last_contact_at: str | None = None
    lost_deal_at: str | None = None
    currency: str = "JPY"  # ISO 4217 code of the list's amounts (``alerts.currency``)

    def to_record(self) -> dict[str, Any]:
        """The JSON form of the contract (extra keys may be added, never removed or renamed)."""
        return {
            "alert_id": self.alert_id,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "tier": self.tier.value,
            "score": self.score,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "pages": list(self.pages),
            "page_labels": list(self.page_labels),
            "organization": organization_record(self.organization),
            "match": {"method": self.match_method, "confidence": self.match_confidence, "detail": self.match_detail},
            "owner": {
                "name": self.owner.name,
                "email": self.owner.email,
                "slack": self.owner.slack,
                "timezone": self.owner.timezone,
            },
            "dormancy_reason": self.dormancy_reason.value,
            "approach": self.approach,
            "opening_line": self.opening_line,
            "delivery": self.delivery,
            "priority": self.priority,
            "lifetime_value": str(self.lifetime_value) if self.lifetime_value is not None else None,
            "last_deal_at": self.last_deal_at,
            "locale": self.locale,
            "industry": self.industry,
            "page_times": [at.isoformat() for at in self.page_times],
            "last_contact_at": self.last_contact_at,
            "lost_deal_at": self.lost_deal_at,
            "currency": self.currency,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Alert:
        """The inverse of ``to_record``: how a held alert crosses a process boundary."""
        return cls(
            alert_id=record["alert_id"],
            account_id=record["account_id"],
            account_name=record["account_name"],
            tier=DormancyTier(record["tier"]),
            score=record["score"],
            first_seen=datetime.fromisoformat(record["first_seen"]),
            last_seen=datetime.fromisoformat(record["last_seen"]),
            pages=tuple(record["pages"]),
            page_labels=tuple(record["page_labels"]),
            organization=organization_from_record(record["organization"]),
            match_method=record["match"]["method"],
            match_confidence=record["match"]["confidence"],
            match_detail=record["match"]["detail"],
            owner=Owner(**record["owner"]),
            dormancy_reason=DormancyReason(record["dormancy_reason"]),
            approach=record["approach"],
            opening_line=record["opening_line"],
            delivery=record["delivery"],
            priority=record["priority"],
            lifetime_value=Decimal(record["lifetime_value"]) if record["lifetime_value"] is not None else None,
            last_deal_at=record["last_deal_at"],
            locale=record["locale"],
            industry=record.get("industry", ""),
            page_times=tuple(datetime.fromisoformat(at) for at in record.get("page_times", ())),
            last_contact_at=record.get("last_contact_at"),
            lost_deal_at=record.get("lost_deal_at"),
            currency=record.get("currency", "JPY"),
        )
