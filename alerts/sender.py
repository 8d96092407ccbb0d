"""``revisit sender``: delivers the outbox, with backoff, never twice to one channel.

Each due row is sent and then marked in its own transaction. The one window for a duplicate is a
sender killed after the provider accepted a message and before the mark committed (milliseconds);
the row is then sent again on restart. Webhook receivers can de-duplicate on the
``X-Revisit-Alert-Id`` header; Slack and e-mail would show the message twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from alerts.channels_remote import DeliveryFailure, RemoteChannel
from revisit.config import DeliverySettings
from revisit.storage.outbox import AlertOutbox

log = logging.getLogger("revisit.sender")


@dataclass
class SendReport:
    outcomes: Counter = field(default_factory=Counter)  # (channel, sent|retry|dead) → count

    def total(self) -> int:
        return sum(self.outcomes.values())


def backoff_delay(attempts: int, delivery: DeliverySettings, retry_after: float | None) -> float:
    """Exponential from ``backoff_seconds``; a provider's Retry-After wins when it asks for longer."""
    delay = min(delivery.backoff_max_seconds, delivery.backoff_seconds * (2 ** max(0, attempts - 1)))
    return max(delay, retry_after or 0.0)


class DeliverySender:
    def __init__(self, outbox: AlertOutbox, channels: Mapping[str, RemoteChannel], delivery: DeliverySettings,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.outbox = outbox
        self.channels = channels
        self.delivery = delivery
        self.clock = clock

    def run_once(self, limit: int = 100) -> SendReport:
        report = SendReport()
        for due in self.outbox.due(self.clock(), limit):
            alert, attempts = due.alert, due.attempts + 1
            channel = self.channels.get(due.channel)
            try:
                if channel is None:
                    raise DeliveryFailure(f"unknown channel {due.channel!r}", permanent=True)
                reference = channel.send(alert)
            except DeliveryFailure as failure:
                if failure.permanent or attempts >= self.delivery.max_attempts:
                    self.outbox.mark_dead(alert.alert_id, due.channel, attempts, failure.reason)
                    report.outcomes[(due.channel, "dead")] += 1
                    log.warning("alert %s via %s: given up after %d attempts: %s", alert.alert_id, due.channel,
                                attempts, failure.reason)
                else:
                    delay = backoff_delay(attempts, self.delivery, failure.retry_after)
                    self.outbox.mark_retry(alert.alert_id, due.channel, attempts,
                                           self.clock() + timedelta(seconds=delay), failure.reason)
                    report.outcomes[(due.channel, "retry")] += 1
                continue
            self.outbox.mark_sent(alert.alert_id, due.channel, attempts, reference, self.clock())
            report.outcomes[(due.channel, "sent")] += 1
        return report

    def run_forever(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            if not self.run_once().total():
                time.sleep(self.delivery.poll_seconds)
