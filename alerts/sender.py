"""``revisit sender``: delivers the outbox, with backoff, never twice to one channel.

Each due row is sent and then marked in its own transaction. The one window for a duplicate is a
sender killed after the provider accepted a message and before the mark committed (milliseconds);
the row is then sent again on restart, with the same message key: webhook receivers de-duplicate
on ``Idempotency-Key`` (and ``X-Revisit-Alert-Id``), mail systems on the stable ``Message-ID``;
Slack would show the message twice.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from revisit.alerts.channels import (
    REMOTE_CHANNELS,
    DeliveryFailure,
    DigestChannel,
    RemoteChannel,
    ThreadChannel,
    digest_channel,
    thread_channel,
)
from revisit.alerts.outbox import DueDelivery, Outbox
from revisit.alerts.routing import DIGEST, OVER_BUDGET, THREAD_REPLY
from revisit.core.config import DeliverySettings

if TYPE_CHECKING:  # prometheus_client is imported by whoever makes the metrics, not by a replay
    from revisit.core.metrics import RevisitMetrics

log = logging.getLogger("revisit.sender")

# Every value the outbox's channel column takes: the label values of the delivery metrics.
OUTBOX_CHANNELS = (*REMOTE_CHANNELS, DIGEST, THREAD_REPLY)


class NotYet(Exception):
    """A message that must wait for another (a thread reply for its first message): no attempt."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"waiting until {until.isoformat()}")
        self.until = until


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
    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[str, RemoteChannel],
        delivery: DeliverySettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: RevisitMetrics | None = None,
    ) -> None:
        self.outbox = outbox
        self.channels = channels
        self.delivery = delivery
        self.clock = clock
        self.metrics = metrics
        if metrics is not None:
            metrics.start_series(outcomes=(), channels=OUTBOX_CHANNELS)

    def run_once(self, limit: int = 100, due_by: datetime | None = None) -> SendReport:
        """One pass over what is due by ``due_by`` (default: the clock; a replay: the time of its
        last hit, so what its log's own time has made due goes, and nothing later)."""
        report = self._send_due(limit, due_by or self.clock())
        if self.metrics is not None:
            self._measure_backlog()
        return report

    def _measure_backlog(self) -> None:
        assert self.metrics is not None
        pending, oldest_age = self.outbox.backlog(self.clock())
        for channel in set(OUTBOX_CHANNELS) | set(pending):
            self.metrics.outbox_backlog.labels(channel).set(pending.get(channel, 0))
        self.metrics.outbox_oldest_age.set(oldest_age)

    def _send_due(self, limit: int, due_by: datetime) -> SendReport:
        report = SendReport()
        due = self.outbox.due(due_by, limit)
        digests: dict[str, list[DueDelivery]] = defaultdict(list)
        email = self.channels.get(digest_channel())
        digest = email if isinstance(email, DigestChannel) else None
        # a thread reply after the other rows: its first message may be due in the same pass
        for item in sorted(due, key=lambda row: row.channel == THREAD_REPLY):
            if item.channel == DIGEST and digest is not None:
                digests[digest.recipient(item.alert)].append(item)
            elif item.channel == THREAD_REPLY:
                self._attempt(report, [item], partial(self._reply_in_thread, item))
            else:
                self._attempt(report, [item], partial(self._send_one, item))
        if digest is not None:  # else no digests were gathered
            for recipient, items in digests.items():
                self._attempt(report, items, partial(self._send_digest, digest, items, recipient))
        return report

    @staticmethod
    def _send_digest(channel: DigestChannel, items: list[DueDelivery], recipient: str) -> tuple[str, datetime | None]:
        over_budget = sum(item.route.endswith(OVER_BUDGET) for item in items)
        return channel.send_digest([i.alert for i in items], recipient, over_budget), None

    def _send_one(self, item: DueDelivery) -> tuple[str, datetime | None]:
        channel = self.channels.get(item.channel)
        if channel is None:
            raise DeliveryFailure(f"no channel {item.channel!r} configured for delivery", permanent=True)
        return channel.send(item.alert), None

    def _reply_in_thread(self, item: DueDelivery) -> tuple[str, datetime | None]:
        """The pages after what the thread already told: after the first message's visit, or after
        the previous reply. Nothing new (a comeback the first message already carried): no post."""
        slack = self.channels.get(thread_channel())
        first = self.outbox.delivery_of(item.alert.alert_id, thread_channel())
        if not isinstance(slack, ThreadChannel) or first is None or first.status in ("dead", "suppressed"):
            raise DeliveryFailure("no Slack message to reply to", permanent=True)
        if first.status != "sent":
            # the first message shows the visit as it is when it goes; what comes after, the reply
            raise NotYet(
                max(first.not_before, self.clock()) + timedelta(seconds=self.delivery.thread_reply_delay_seconds)
            )
        previous = self.outbox.delivery_of(item.alert.alert_id, THREAD_REPLY)
        told = [t for t in (first.covered_until, previous.covered_until if previous else None) if t is not None]
        since = max(told) if told else item.alert.last_seen
        activity = self.outbox.activity_since(item.alert.account_id, since)
        if not activity:  # pages the stored alert gathered without stored hits: its own page times
            times = item.alert.page_times
            activity = [
                (times[n] if n < len(times) else item.alert.last_seen, page)
                for n, page in enumerate(item.alert.pages)
                if n >= len(times) or times[n] > since
            ]
        if not activity:
            return "nothing new since the last message", since
        return slack.send_reply(item.alert, first.provider_ref, activity), max(since, activity[-1][0])

    def _attempt(
        self, report: SendReport, items: list[DueDelivery], send: Callable[[], tuple[str, datetime | None]]
    ) -> None:
        """One message (an alert, or one digest of several): every row it carries ends the same way.
        A sent row remembers up to which event time it told the visit (the alert's last page, or a
        reply's last activity)."""
        try:
            reference, covered = send()
        except NotYet as waiting:
            for item in items:
                self.outbox.defer(item.alert.alert_id, item.channel, waiting.until)
            return
        except DeliveryFailure as failure:
            for item in items:
                attempts = item.attempts + 1
                if failure.permanent or attempts >= self.delivery.max_attempts:
                    self.outbox.mark_dead(item.alert.alert_id, item.channel, attempts, failure.reason)
                    self._count(report, item, "dead")
                    log.warning(
                        "alert %s via %s: given up after %d attempts: %s",
                        item.alert.alert_id,
                        item.channel,
                        attempts,
                        failure.reason,
                    )
                else:
                    delay = backoff_delay(attempts, self.delivery, failure.retry_after)
                    self.outbox.mark_retry(
                        item.alert.alert_id,
                        item.channel,
                        attempts,
                        self.clock() + timedelta(seconds=delay),
                        failure.reason,
                    )
                    self._count(report, item, "retry")
            return
        for item in items:
            self.outbox.mark_sent(
                item.alert.alert_id,
                item.channel,
                item.attempts + 1,
                reference,
                self.clock(),
                covered if covered is not None else item.alert.last_seen,
            )
            self._count(report, item, "sent")

    def _count(self, report: SendReport, item: DueDelivery, status: str) -> None:
        report.outcomes[(item.channel, status)] += 1
        if self.metrics is not None:
            self.metrics.deliveries.labels(item.channel, status).inc()
            if status == "sent":
                # from the newest hit the message carries: how fresh the news was when it arrived
                waited = (self.clock() - item.alert.last_seen).total_seconds()
                self.metrics.event_to_delivery.labels(item.channel).observe(max(0.0, waited))

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.run_once().total()
            except DBAPIError as error:  # the database is away or read-only for a while: try again later
                log.warning("sender: database unavailable (%s); retrying", type(error).__name__)
                if self.metrics is not None:
                    self.metrics.database_errors.labels("sender").inc()
                sent = 0
            if not sent:
                stop.wait(self.delivery.poll_seconds)


def wants_sender(delivery: DeliverySettings) -> bool:
    return bool(delivery.routes or delivery.default_channels)


class SenderThread(threading.Thread):
    """The sender inside a long-running process (the worker): its network waits release the
    interpreter lock, so it costs the event loop little."""

    def __init__(self, sender: DeliverySender) -> None:
        super().__init__(name="revisit-sender", daemon=True)
        self.sender = sender
        self.stopping = threading.Event()

    def run(self) -> None:
        self.sender.run_forever(self.stopping)

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.join(timeout)
