"""Which channels an alert goes to, and not before when: pure functions of the alert and config.

Routes are tried in order (first match wins), like Alertmanager's routing tree flattened; an
alert that matches none goes to ``default_channels``. Quiet hours defer, they never drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from revisit.alerts.channels import digest_channel
from revisit.alerts.policy import Alert, Delivery
from revisit.core.config import BusinessHours, DeliverySettings, Route

DIGEST = "digest"  # the daily e-mail per owner, a channel of its own in the outbox
THREAD_REPLY = "slack-thread"  # more activity on an alert already in Slack: a reply in its thread


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    alert_id: str
    channel: str
    not_before: datetime
    route: str  # which rule chose it, for the record


def route_matches(route: Route, alert: Alert) -> bool:
    owner_keys = {alert.owner.email.casefold(), alert.owner.name.casefold()} - {""}
    return (
        (not route.tiers or alert.tier.value in route.tiers)
        and (not route.owners or bool(owner_keys & {o.casefold() for o in route.owners}))
        and (not route.industries or alert.industry in route.industries)
        and alert.score >= route.min_score
    )


def choose_channels(alert: Alert, delivery: DeliverySettings) -> tuple[tuple[str, ...], str]:
    for number, route in enumerate(delivery.routes, start=1):
        if route_matches(route, alert):
            return route.channels, f"route {number}"
    return delivery.default_channels, "default"


def next_opening(now: datetime, hours: BusinessHours, owner_zone: str = "") -> datetime:
    """``now`` if inside business hours, else the next opening (aware, in UTC offset of ``now``).

    Hours are read in the owner's time zone when the list gives one, else ``hours.timezone``."""
    if not hours.enabled:
        return now
    zone = ZoneInfo(owner_zone or hours.timezone)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        if day.isoweekday() not in hours.weekdays:
            continue
        opening = datetime.combine(day, start, zone)
        closing = datetime.combine(day, end, zone)
        if days_ahead == 0 and opening <= local < closing:
            return now
        if local < opening:
            return opening.astimezone(now.tzinfo)
    return now  # no working day configured: deliver rather than hold forever


def next_digest(now: datetime, delivery: DeliverySettings) -> datetime:
    """The next daily digest time (today's if still ahead) in the business time zone."""
    zone = ZoneInfo(delivery.business_hours.timezone)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time.fromisoformat(delivery.digest_time), zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), time.fromisoformat(delivery.digest_time), zone)
    return at.astimezone(now.tzinfo)


def plan_deliveries(alert: Alert, delivery: DeliverySettings, now: datetime) -> list[PlannedDelivery]:
    """Tier C (``delivery == "digest"``) goes only into the owner's daily digest e-mail: a light
    touch, no ping (without e-mail among its channels: the others, once a day at digest time). An
    e-mail that quiet hours would hold joins the digest too; other channels wait for the opening."""
    channels, route = choose_channels(alert, delivery)
    if not channels:
        return []
    if alert.delivery == Delivery.DIGEST:
        at = next_digest(now, delivery)
        if digest_channel() in channels:
            return [PlannedDelivery(alert.alert_id, DIGEST, at, route)]
        return [PlannedDelivery(alert.alert_id, channel, at, route) for channel in dict.fromkeys(channels)]
    grouped = now + timedelta(seconds=delivery.group_wait_seconds)
    not_before = next_opening(grouped, delivery.business_hours, alert.owner.timezone)
    planned = []
    for channel in dict.fromkeys(channels):
        if channel == digest_channel() and not_before > grouped:
            planned.append(PlannedDelivery(alert.alert_id, DIGEST, next_digest(now, delivery), route + ", quiet hours"))
        else:
            planned.append(PlannedDelivery(alert.alert_id, channel, not_before, route))
    return planned
