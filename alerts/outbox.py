"""What the sender needs from the outbox, as a protocol: the database implements it
(``revisit.storage.outbox.AlertOutbox``), the sender never sees the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from revisit.alerts.policy import Alert


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """One outbox row whose time has come: this alert, to this channel, after ``attempts`` tries."""

    alert: Alert
    channel: str
    attempts: int


class Outbox(Protocol):
    def due(self, now: datetime, limit: int = 100) -> list[DueDelivery]: ...

    def backlog(self, now: datetime) -> tuple[dict[str, int], float]:
        """Pending rows per channel, and the age in seconds of the oldest one."""
        ...

    def mark_sent(self, alert_id: str, channel: str, attempts: int, provider_ref: str, now: datetime) -> None: ...

    def mark_retry(self, alert_id: str, channel: str, attempts: int, not_before: datetime, error: str) -> None: ...

    def mark_dead(self, alert_id: str, channel: str, attempts: int, error: str) -> None: ...

    def delivery_of(self, alert_id: str, channel: str) -> tuple[str, str] | None:
        """(status, provider reference) of the alert's row for ``channel``, if it has one."""
        ...

    def activity_since(self, account_id: str, since: datetime, limit: int = 200) -> list[tuple[datetime, str]]:
        """The account's page views after ``since``: what a thread reply reports."""
        ...
