"""What the sender needs from the outbox, as a protocol: the database implements it
(``revisit.storage.outbox.AlertOutbox``), the sender never sees the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from revisit.core.alert import Alert


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """One outbox row whose time has come: this alert, to this channel, after ``attempts`` tries.

    ``message_key`` is the message's idempotency key (``<alert_id>:<channel>``; a thread reply's
    also names the activity it reports): the e-mail's Message-ID and the webhook's Idempotency-Key
    are made from it, so a peer can drop a copy sent again after a crash."""

    alert: Alert
    channel: str
    attempts: int
    message_key: str = ""
    route: str = ""  # which rule planned it, and why held ("route 2, over budget")


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Where one row stands: a thread reply reads its alert's first message this way."""

    status: str
    provider_ref: str
    not_before: datetime
    covered_until: datetime | None  # event time up to which the sent message reported the visit


def message_key(alert_id: str, channel: str, activity: str = "") -> str:
    """The idempotency key of one message: an alert's on a channel, or a thread reply's for the
    activity that started at ``activity`` (an ISO time in UTC)."""
    return f"{alert_id}:{channel}:{activity}" if activity else f"{alert_id}:{channel}"


class Outbox(Protocol):
    def due(self, now: datetime, limit: int = 100) -> list[DueDelivery]: ...

    def backlog(self, now: datetime) -> tuple[dict[str, int], float]:
        """Pending rows per channel, and the age in seconds of the oldest one."""
        ...

    def mark_sent(
        self,
        alert_id: str,
        channel: str,
        attempts: int,
        provider_ref: str,
        now: datetime,
        covered_until: datetime | None = None,
    ) -> None: ...

    def mark_retry(self, alert_id: str, channel: str, attempts: int, not_before: datetime, error: str) -> None: ...

    def mark_dead(self, alert_id: str, channel: str, attempts: int, error: str) -> None: ...

    def defer(self, alert_id: str, channel: str, not_before: datetime) -> None:
        """Wait without counting an attempt."""
        ...

    def delivery_of(self, alert_id: str, channel: str) -> DeliveryState | None:
        """The alert's row for ``channel``, if it has one."""
        ...

    def activity_since(self, account_id: str, since: datetime, limit: int = 200) -> list[tuple[datetime, str]]:
        """The account's page views after ``since`` (any offset): what a thread reply reports."""
        ...
