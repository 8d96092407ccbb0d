"""Which channels an alert goes to, and not before when: pure functions of the alert and config.

Routes are tried in order (first match wins), like Alertmanager's routing tree flattened; an
alert that matches none goes to ``default_channels``. Quiet hours defer, they never drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from alerts.policy import Alert
from revisit.config import BusinessHours, DeliverySettings, Route

CHANNELS = ("slack", "email", "webhook")


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    alert_id: str
    channel: str
    not_before: datetime
    route: str  # which rule chose it, for the record


def route_matches(route: Route, alert: Alert) -> bool:
    owner_keys = {alert.owner.email.casefold(), alert.owner.name.casefold()} - {""}
    return ((not route.tiers or alert.tier.value in route.tiers)
            and (not route.owners or bool(owner_keys & {o.casefold() for o in route.owners}))
            and (not route.industries or alert.industry in route.industries)
            and alert.score >= route.min_score)


def choose_channels(alert: Alert, delivery: DeliverySettings) -> tuple[tuple[str, ...], str]:
    for number, route in enumerate(delivery.routes, start=1):
        if route_matches(route, alert):
            return route.channels, f"route {number}"
    return delivery.default_channels, "default"


def next_opening(now: datetime, hours: BusinessHours) -> datetime:
    """``now`` if inside business hours, else the next opening (aware, in UTC offset of ``now``)."""
    if not hours.enabled:
        return now
    zone = ZoneInfo(hours.timezone)
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


def plan_deliveries(alert: Alert, delivery: DeliverySettings, now: datetime) -> list[PlannedDelivery]:
    channels, route = choose_channels(alert, delivery)
    not_before = next_opening(now, delivery.business_hours)
    return [PlannedDelivery(alert.alert_id, channel, not_before, route) for channel in dict.fromkeys(channels)]
