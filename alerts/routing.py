"""Which channels an alert goes to, and not before when: pure functions of the alert and config.

Routes are tried in order (first match wins), like Alertmanager's routing tree flattened; an
alert that matches none goes to ``default_channels``. Quiet hours defer, they never drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from revisit.alerts.channels import digest_channel, machine_channels
from revisit.core.alert import Alert, Delivery
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


def next_digest(now: datetime, delivery: DeliverySettings, owner_zone: str = "") -> datetime:
    """The next daily digest time (today's if still ahead) in the owner's time zone when the list
    gives one, else the business time zone."""
    zone = ZoneInfo(owner_zone or delivery.business_hours.timezone)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time.fromisoformat(delivery.digest_time), zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), time.fromisoformat(delivery.digest_time), zone)
    return at.astimezone(now.tzinfo)


OVER_BUDGET = "over budget"  # in the route of an alert the owner's daily budget sent to the digest


def owner_key(alert: Alert) -> str:
    """Whose budget an alert counts against: the owner's e-mail, else name (case-folded)."""
    return (alert.owner.email or alert.owner.name).casefold()


def owner_day(now: datetime, alert: Alert, delivery: DeliverySettings) -> tuple[datetime, datetime]:
    """The owner's calendar day around ``now`` (their time zone), as [start, end) in UTC."""
    zone = ZoneInfo(alert.owner.timezone or delivery.business_hours.timezone)
    start = datetime.combine(now.astimezone(zone).date(), time(), zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def plan_deliveries(
    alert: Alert, delivery: DeliverySettings, now: datetime, over_budget: bool = False
) -> list[PlannedDelivery]:
    """Tier C (``delivery == "digest"``) goes only into the owner's daily digest e-mail: a light
    touch, no ping (without e-mail among its channels: the others, once a day at digest time). So
    does a realtime alert past the owner's daily budget (``over_budget``). Quiet hours and the
    digest are for people: a machine's channel (the webhook: a CRM that must see every alert) gets
    every alert at once, after the grouping wait of a realtime one. An e-mail that quiet hours
    would hold joins the digest too; other channels wait for the opening."""
    channels, route = choose_channels(alert, delivery)
    if not channels:
        return []
    zone = alert.owner.timezone
    machines = machine_channels()
    if alert.delivery == Delivery.DIGEST or over_budget:
        at = next_digest(now, delivery, zone)
        why = f"{route}, {OVER_BUDGET}" if over_budget else route
        people = [channel for channel in dict.fromkeys(channels) if channel not in machines]
        planned = (
            [PlannedDelivery(alert.alert_id, DIGEST, at, why)]
            if digest_channel() in people
            else [PlannedDelivery(alert.alert_id, channel, at, why) for channel in people]
        )
        return planned + [
            PlannedDelivery(alert.alert_id, c, now, why) for c in dict.fromkeys(channels) if c in machines
        ]
    grouped = now + timedelta(seconds=delivery.group_wait_seconds)
    not_before = next_opening(grouped, delivery.business_hours, zone)
    planned = []
    for channel in dict.fromkeys(channels):
        if channel in machines:
            planned.append(PlannedDelivery(alert.alert_id, channel, grouped, route))
        elif channel == digest_channel() and not_before > grouped:
            planned.append(
                PlannedDelivery(alert.alert_id, DIGEST, next_digest(now, delivery, zone), route + ", quiet hours")
            )
        else:
            planned.append(PlannedDelivery(alert.alert_id, channel, not_before, route))
    return planned
