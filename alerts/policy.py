"""Whether a session becomes an alert, and what the alert says (README, "Alert record").

Precision first: active customers, weak sessions and accounts alerted within the cooldown (24 h of
event time by default) give no alert, and each refusal says why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from revisit.alerts.approach import opening_line, suggested_approach
from revisit.alerts.sessions import Session
from revisit.core.config import Settings
from revisit.core.organization import Organization, OrgKind
from revisit.enrichment.accounts import Account, DormancyReason, Owner
from revisit.enrichment.dormancy import DormancyTier, dormancy_tier
from revisit.enrichment.match import AccountMatch

# Fixed namespace: the same account and visit give the same alert_id in every process and replay.
ALERT_NAMESPACE = uuid.UUID("5b0c3f57-8a51-4f7e-9a0b-2f1d3c4e5a61")


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


def organization_record(organization: Organization) -> dict[str, Any]:
    """The contract's {name, domain, network, source}, plus what rebuilds the Organization."""
    return {
        "name": organization.name,
        "domain": organization.domain,
        "network": organization.network,
        "source": organization.source,
        "kind": organization.kind.value,
        "asn": organization.asn,
        "confidence": organization.confidence,
        "access_provider": organization.access_provider,
        "evidence": organization.evidence,
    }


def organization_from_record(record: dict[str, Any]) -> Organization:
    return Organization(
        name=record["name"],
        kind=OrgKind(record["kind"]),
        source=record["source"],
        confidence=record["confidence"],
        domain=record["domain"],
        asn=record["asn"],
        network=record["network"],
        access_provider=record["access_provider"],
        evidence=record["evidence"],
    )


@dataclass(frozen=True, slots=True)
class AlertDecision:
    alert: Alert | None
    reason: str  # "alert", or why not: "active customer", "cooldown until ...", "score 5 < 10"


def refresh_alert(alert: Alert, session: Session) -> Alert:
    """The same alert (same id, tier, trigger) carrying the pages its session has gathered since,
    while it waits out the grouping window: a burst of page views becomes one alert."""
    labels = tuple(sorted({p.label for p in session.pages if p.label}))
    return replace(
        alert,
        score=max(alert.score, session.score),
        last_seen=session.last_seen,
        pages=tuple(p.path for p in session.pages),
        page_labels=labels,
        page_times=tuple(p.at for p in session.pages),
        opening_line=opening_line(alert.account_name, alert.owner.name, alert.locale, labels, alert.dormancy_reason),
    )


def priority_for(lifetime_value: Decimal | None) -> str:
    """Past purchase value sets priority (amounts in the list's own currency)."""
    if lifetime_value is None:
        return "normal"
    if lifetime_value >= Decimal(10_000_000):
        return "high"
    if lifetime_value >= Decimal(1_000_000):
        return "medium"
    return "normal"


def decide_alert(
    account: Account,
    match: AccountMatch,
    organization: Organization,
    session: Session,
    at: datetime,
    last_alert_at: datetime | None,
    settings: Settings,
) -> AlertDecision:
    """Decide at event time ``at`` (the hit that just arrived) whether this session alerts now."""
    tier = dormancy_tier(account, at, settings.dormancy)
    if tier is DormancyTier.ACTIVE:
        return AlertDecision(None, "active customer (recent deal or contact)")
    if session.score < settings.intent.threshold:
        return AlertDecision(None, f"intent score {session.score} below {settings.intent.threshold}")
    cooldown = timedelta(hours=settings.alerts.cooldown_hours)
    if last_alert_at is not None and at - last_alert_at < cooldown:
        return AlertDecision(None, f"already alerted at {last_alert_at.isoformat()} (cooldown)")
    locale = settings.alerts.locale
    alert_id = str(
        uuid.uuid5(ALERT_NAMESPACE, f"{account.account_id}|{session.started_at.isoformat()}|{at.isoformat()}")
    )
    alert = Alert(
        alert_id=alert_id,
        account_id=account.account_id,
        account_name=account.name,
        tier=tier,
        score=session.score,
        first_seen=session.started_at,
        last_seen=session.last_seen,
        pages=tuple(p.path for p in session.pages),
        page_labels=tuple(sorted({p.label for p in session.pages if p.label})),
        page_times=tuple(p.at for p in session.pages),
        organization=organization,
        match_method=match.method.value,
        match_confidence=match.confidence,
        match_detail=match.detail,
        owner=account.owner,
        dormancy_reason=account.dormancy_reason,
        approach=suggested_approach(tier, account.dormancy_reason, locale),
        opening_line=opening_line(
            account.name,
            account.owner.name,
            locale,
            tuple({p.label for p in session.pages if p.label}),
            account.dormancy_reason,
        ),
        delivery=Delivery.DIGEST if tier is DormancyTier.C else Delivery.REALTIME,
        priority=priority_for(account.lifetime_value),
        lifetime_value=account.lifetime_value,
        last_deal_at=account.last_deal_at.isoformat() if account.last_deal_at else None,
        locale=locale,
        industry=account.industry,
        last_contact_at=account.last_contact_at.isoformat() if account.last_contact_at else None,
        lost_deal_at=account.lost_deal_at.isoformat() if account.lost_deal_at else None,
        currency=settings.alerts.currency,
    )
    return AlertDecision(alert, "alert")
