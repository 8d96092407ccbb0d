"""The outbox's rows in the database: what is due, and how each attempt ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from revisit.alerts.outbox import DeliveryState, DueDelivery
from revisit.core.alert import Alert
from revisit.storage.models import AlertRow, DeliveryRow, HitRow, SnoozeRow, as_utc, to_utc
from revisit.storage.store import Store


@dataclass(frozen=True, slots=True)
class HeldDelivery:
    """A message the outbox still holds, and until when (grouping wait, quiet hours, digest time)."""

    alert_id: str
    account_name: str
    channel: str
    until: datetime


class AlertOutbox:
    """The sender's ``Outbox`` over the ``deliveries`` table, and snoozes."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def due(self, now: datetime, limit: int = 100) -> list[DueDelivery]:
        statement = (
            select(
                DeliveryRow.channel, DeliveryRow.attempts, AlertRow.payload, DeliveryRow.message_key, DeliveryRow.route
            )
            .join(AlertRow, AlertRow.alert_id == DeliveryRow.alert_id)
            .where(DeliveryRow.status == "pending", DeliveryRow.not_before <= to_utc(now))
            .order_by(DeliveryRow.not_before, DeliveryRow.alert_id, DeliveryRow.channel)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                DueDelivery(Alert.from_record(payload), channel, attempts, key, route)
                for channel, attempts, payload, key, route in connection.execute(statement)
            ]

    def backlog(self, now: datetime) -> tuple[dict[str, int], float]:
        """Pending rows per channel (deferred ones included), and how long the oldest due row has
        waited past its due time in seconds (0 when nothing is due): what the outbox metrics show."""
        counts = (
            select(DeliveryRow.channel, func.count())
            .where(DeliveryRow.status == "pending")
            .group_by(DeliveryRow.channel)
        )
        oldest = select(func.min(DeliveryRow.not_before)).where(
            DeliveryRow.status == "pending", DeliveryRow.not_before <= to_utc(now)
        )
        with self.engine.connect() as connection:
            pending = {channel: count for channel, count in connection.execute(counts)}
            first_due = connection.execute(oldest).scalar()
        return pending, (now - as_utc(first_due)).total_seconds() if first_due is not None else 0.0

    def held(self, after: datetime, limit: int = 50) -> list[HeldDelivery]:
        """Pending rows not due until after ``after``, soonest first: what a command leaves behind."""
        statement = (
            select(DeliveryRow.alert_id, AlertRow.payload, DeliveryRow.channel, DeliveryRow.not_before)
            .join(AlertRow, AlertRow.alert_id == DeliveryRow.alert_id)
            .where(DeliveryRow.status == "pending", DeliveryRow.not_before > to_utc(after))
            .order_by(DeliveryRow.not_before, DeliveryRow.alert_id, DeliveryRow.channel)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                HeldDelivery(alert_id, payload["account_name"], channel, as_utc(at))
                for alert_id, payload, channel, at in connection.execute(statement)
            ]

    def _update(self, alert_id: str, channel: str, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.alert_id == alert_id, DeliveryRow.channel == channel, DeliveryRow.status == "pending"
                )
                .values(**values)
            )

    def mark_sent(
        self,
        alert_id: str,
        channel: str,
        attempts: int,
        provider_ref: str,
        now: datetime,
        covered_until: datetime | None = None,
    ) -> None:
        self._update(
            alert_id,
            channel,
            status="sent",
            attempts=attempts,
            sent_at=now,
            provider_ref=provider_ref,
            last_error="",
            covered_until=None if covered_until is None else to_utc(covered_until),
        )

    def mark_retry(self, alert_id: str, channel: str, attempts: int, not_before: datetime, error: str) -> None:
        self._update(alert_id, channel, attempts=attempts, not_before=to_utc(not_before), last_error=error)

    def mark_dead(self, alert_id: str, channel: str, attempts: int, error: str) -> None:
        self._update(alert_id, channel, status="dead", attempts=attempts, last_error=error)

    def delivery_of(self, alert_id: str, channel: str) -> DeliveryState | None:
        statement = select(
            DeliveryRow.status, DeliveryRow.provider_ref, DeliveryRow.not_before, DeliveryRow.covered_until
        ).where(DeliveryRow.alert_id == alert_id, DeliveryRow.channel == channel)
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return DeliveryState(row[0], row[1], as_utc(row[2]), None if row[3] is None else as_utc(row[3]))

    def activity_since(self, account_id: str, since: datetime, limit: int = 200) -> list[tuple[datetime, str]]:
        """(time, path) of the account's hits after ``since``, oldest first. ``since`` is compared in
        UTC, as every time is stored: SQLite compares the stored text, so an alert's +09:00 time
        given as is would be read nine hours late and miss a comeback."""
        statement = (
            select(HitRow.occurred_at, HitRow.path)
            .where(HitRow.account_id == account_id, HitRow.occurred_at > to_utc(since))
            .order_by(HitRow.occurred_at, HitRow.id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [(as_utc(at), path) for at, path in connection.execute(statement)]

    def defer(self, alert_id: str, channel: str, not_before: datetime) -> None:
        """Wait without counting an attempt (a thread reply waiting for its first message)."""
        self._update(alert_id, channel, not_before=to_utc(not_before))

    def statuses(self) -> list[tuple[str, str, str, int, str]]:
        """(alert_id, channel, status, attempts, last_error) of every row, for people and tests."""
        statement = select(
            DeliveryRow.alert_id, DeliveryRow.channel, DeliveryRow.status, DeliveryRow.attempts, DeliveryRow.last_error
        ).order_by(DeliveryRow.alert_id, DeliveryRow.channel)
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]  # type: ignore[misc]

    def snooze(self, account_id: str, days: float, reason: str, who: str, now: datetime | None = None) -> datetime:
        now = now or datetime.now(UTC)
        until = now + timedelta(days=days)
        with self.engine.begin() as connection:
            connection.execute(SnoozeRow.__table__.delete().where(SnoozeRow.account_id == account_id))
            connection.execute(
                SnoozeRow.__table__.insert().values(
                    account_id=account_id, until=until, reason=reason, created_by=who, created_at=now
                )
            )
        return as_utc(until)

    def end_snooze(self, account_id: str) -> bool:
        """Undoes a snooze: deliveries for the account go out again. False if none was in force."""
        with self.engine.begin() as connection:
            ended = connection.execute(SnoozeRow.__table__.delete().where(SnoozeRow.account_id == account_id))
        return ended.rowcount > 0
