"""The outbox's rows in the database: what is due, and how each attempt ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from revisit.alerts.outbox import DueDelivery
from revisit.alerts.policy import Alert
from revisit.storage.models import AlertRow, DeliveryRow, HitRow, SnoozeRow, as_utc
from revisit.storage.store import Store


class AlertOutbox:
    """The sender's ``Outbox`` over the ``deliveries`` table, and snoozes."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def due(self, now: datetime, limit: int = 100) -> list[DueDelivery]:
        statement = (
            select(DeliveryRow.channel, DeliveryRow.attempts, AlertRow.payload)
            .join(AlertRow, AlertRow.alert_id == DeliveryRow.alert_id)
            .where(DeliveryRow.status == "pending", DeliveryRow.not_before <= now)
            .order_by(DeliveryRow.not_before, DeliveryRow.alert_id, DeliveryRow.channel)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                DueDelivery(Alert.from_record(payload), channel, attempts)
                for channel, attempts, payload in connection.execute(statement)
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
            DeliveryRow.status == "pending", DeliveryRow.not_before <= now
        )
        with self.engine.connect() as connection:
            pending = {channel: count for channel, count in connection.execute(counts)}
            first_due = connection.execute(oldest).scalar()
        return pending, (now - as_utc(first_due)).total_seconds() if first_due is not None else 0.0

    def _update(self, alert_id: str, channel: str, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.alert_id == alert_id, DeliveryRow.channel == channel, DeliveryRow.status == "pending"
                )
                .values(**values)
            )

    def mark_sent(self, alert_id: str, channel: str, attempts: int, provider_ref: str, now: datetime) -> None:
        self._update(
            alert_id, channel, status="sent", attempts=attempts, sent_at=now, provider_ref=provider_ref, last_error=""
        )

    def mark_retry(self, alert_id: str, channel: str, attempts: int, not_before: datetime, error: str) -> None:
        self._update(alert_id, channel, attempts=attempts, not_before=not_before, last_error=error)

    def mark_dead(self, alert_id: str, channel: str, attempts: int, error: str) -> None:
        self._update(alert_id, channel, status="dead", attempts=attempts, last_error=error)

    def delivery_of(self, alert_id: str, channel: str) -> tuple[str, str] | None:
        """(status, provider_ref) of one row, or None."""
        statement = select(DeliveryRow.status, DeliveryRow.provider_ref).where(
            DeliveryRow.alert_id == alert_id, DeliveryRow.channel == channel
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else (row[0], row[1])

    def activity_since(self, account_id: str, since: datetime, limit: int = 200) -> list[tuple[datetime, str]]:
        """(time, path) of the account's hits after ``since``, oldest first."""
        statement = (
            select(HitRow.occurred_at, HitRow.path)
            .where(HitRow.account_id == account_id, HitRow.occurred_at > since)
            .order_by(HitRow.occurred_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [(as_utc(at), path) for at, path in connection.execute(statement)]

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
