"""Outcomes in the database: recording them and reading alerts with their outcomes for the report."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select

from revisit.alerts.report import AlertFollowUp, Outcome
from revisit.core.errors import BadInput
from revisit.storage.models import AlertRow, OutcomeRow
from revisit.storage.store import Store


def record_outcome(store: Store, alert_id: str, outcome: Outcome, note: str, who: str) -> str:
    """Returns the alert's account id; an unknown alert id is bad input, not a silent row."""
    with store.engine.begin() as connection:
        account_id = connection.execute(select(AlertRow.account_id).where(AlertRow.alert_id == alert_id)).scalar()
        if account_id is None:
            raise BadInput(f"no alert {alert_id!r} in the database")
        connection.execute(
            OutcomeRow.__table__.insert().values(
                alert_id=alert_id,
                account_id=account_id,
                outcome=outcome.value,
                note=note,
                recorded_by=who,
                recorded_at=datetime.now(UTC),
            )
        )
    return account_id


SHORTEST_ID_PREFIX = 6  # what ``revisit history`` shows of an alert id is 8 characters


def alert_ids_starting(store: Store, given: str, most: int = 5) -> list[str]:
    """The alert ids ``given`` names: itself when it is one, else those it starts (at least
    ``SHORTEST_ID_PREFIX`` characters; ``revisit history`` shows the first 8), ``most`` at the most."""
    with store.engine.connect() as connection:
        if connection.execute(select(AlertRow.alert_id).where(AlertRow.alert_id == given)).first() is not None:
            return [given]
        if len(given) < SHORTEST_ID_PREFIX or not given.replace("-", "").isalnum():
            return []
        # ids are lower-case hex: a prefix copied in capitals finds them on PostgreSQL as on SQLite
        found = select(AlertRow.alert_id).where(AlertRow.alert_id.startswith(given.lower(), autoescape=True))
        return list(connection.execute(found.order_by(AlertRow.alert_id).limit(most)).scalars())


def follow_ups(store: Store, since: datetime | None = None) -> list[AlertFollowUp]:
    statement = select(AlertRow.alert_id, AlertRow.tier, AlertRow.payload)
    if since is not None:
        statement = statement.where(AlertRow.triggered_at >= since)
    with store.engine.connect() as connection:
        alerts = list(connection.execute(statement))
        outcomes: dict[str, set[str]] = defaultdict(set)
        for alert_id, outcome in connection.execute(select(OutcomeRow.alert_id, OutcomeRow.outcome)):
            outcomes[alert_id].add(outcome)
    return [
        AlertFollowUp(
            alert_id,
            tier,
            payload.get("dormancy_reason", "unknown"),
            payload.get("approach", ""),
            frozenset(outcomes.get(alert_id, ())),
        )
        for alert_id, tier, payload in alerts
    ]


def outcomes_of(store: Store, alert_ids: list[str]) -> dict[str, list[str]]:
    """Alert id → the outcomes recorded for it, in the order of ``Outcome`` (a follow-up's course)."""
    order = {outcome.value: number for number, outcome in enumerate(Outcome)}
    found: dict[str, set[str]] = {}
    with store.engine.connect() as connection:
        for start in range(0, len(alert_ids), 500):
            statement = select(OutcomeRow.alert_id, OutcomeRow.outcome).where(
                OutcomeRow.alert_id.in_(alert_ids[start : start + 500])
            )
            for alert_id, outcome in connection.execute(statement):
                found.setdefault(alert_id, set()).add(outcome)
    return {alert_id: sorted(values, key=lambda v: order.get(v, len(order))) for alert_id, values in found.items()}
