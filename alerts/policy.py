"""Whether a session becomes an alert, and what the alert says (README, "Alert record").

Precision first: active customers, weak sessions and accounts alerted within the cooldown (24 h of
event time by default) give no alert, and each refusal says why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from revisit.alerts.approach import opening_line, suggested_approach
from revisit.core.account import Account, DormancyTier
from revisit.core.alert import Alert, Delivery
from revisit.core.config import Settings
from revisit.core.match import AccountMatch
from revisit.core.organization import Organization
from revisit.core.visit import Session
from revisit.enrichment.dormancy import dormancy_tier

# Fixed namespace: the same account and visit give the same alert_id in every process and replay.
ALERT_NAMESPACE = uuid.UUID("5b0c3f57-8a51-4f7e-9a0b-2f1d3c4e5a61")


# The kinds of decision, counted by the tracker for replay's summary.
ALERTED, ACTIVE, LOW_INTENT, COOLDOWN = "alert", "active customer", "intent score under the threshold", "cooldown"


@dataclass(frozen=True, slots=True)
class AlertDecision:
    alert: Alert | None
    reason: str  # "alert", or why not: "active customer", "cooldown until ...", "score 5 < 10"
    kind: str  # ALERTED, ACTIVE, LOW_INTENT or COOLDOWN


def team_zone(account: Account, settings: Settings) -> ZoneInfo:
    """The zone every time of an alert is shown in: the owner's (``owner_timezone``), else the
    business hours' (``delivery.business_hours.timezone``). A log written in UTC must not show a
    Tokyo rep ``01:02 +0000`` for a visit at 10:02 their time."""
    return ZoneInfo(account.owner.timezone or settings.delivery.business_hours.timezone)


def visit_order_labels(session: Session) -> tuple[str, ...]:
    """The labels of the pages read, each once, in the order they were first read: the alert lists
    them as the visit went (導入事例、料金、お問い合わせ), not alphabetically."""
    return tuple(dict.fromkeys(p.label for p in session.pages if p.label))


def refresh_alert(alert: Alert, session: Session) -> Alert:
    """The same alert (same id, tier, trigger) carrying the pages its session has gathered since,
    while it waits out the grouping window: a burst of page views becomes one alert. Its times stay
    in the zone ``decide_alert`` chose (the team's)."""
    labels = visit_order_labels(session)
    zone = alert.first_seen.tzinfo
    return replace(
        alert,
        score=max(alert.score, session.score),
        last_seen=session.last_seen.astimezone(zone),
        pages=tuple(p.path for p in session.pages),
        page_labels=labels,
        page_times=tuple(p.at.astimezone(zone) for p in session.pages),
        opening_line=opening_line(
            alert.account_name,
            alert.owner.name,
            alert.locale,
            labels,
            alert.dormancy_reason,
            alert.tier,
            alert.lost_deal_at is not None,
        ),
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
        return AlertDecision(None, "active customer (recent deal or contact)", ACTIVE)
    if session.score < settings.intent.threshold:
        return AlertDecision(None, f"intent score {session.score} below {settings.intent.threshold}", LOW_INTENT)
    cooldown = timedelta(hours=settings.alerts.cooldown_hours)
    if last_alert_at is not None and at - last_alert_at < cooldown:
        return AlertDecision(None, f"already alerted at {last_alert_at.isoformat()} (cooldown)", COOLDOWN)
    locale = account.owner.locale or settings.alerts.locale
    alert_id = str(
        uuid.uuid5(ALERT_NAMESPACE, f"{account.account_id}|{session.started_at.isoformat()}|{at.isoformat()}")
    )
    zone = team_zone(account, settings)
    alert = Alert(
        alert_id=alert_id,
        account_id=account.account_id,
        account_name=account.name,
        tier=tier,
        score=session.score,
        first_seen=session.started_at.astimezone(zone),
        last_seen=session.last_seen.astimezone(zone),
        pages=tuple(p.path for p in session.pages),
        page_labels=visit_order_labels(session),
        page_times=tuple(p.at.astimezone(zone) for p in session.pages),
        organization=organization,
        match_method=match.method.value,
        match_confidence=match.confidence,
        match_detail=match.detail,
        owner=account.owner,
        dormancy_reason=account.dormancy_reason,
        approach=suggested_approach(tier, account.dormancy_reason, locale, account.lost_deal_at is not None),
        opening_line=opening_line(
            account.name,
            account.owner.name,
            locale,
            tuple({p.label for p in session.pages if p.label}),
            account.dormancy_reason,
            tier,
            account.lost_deal_at is not None,
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
    return AlertDecision(alert, "alert", ALERTED)
