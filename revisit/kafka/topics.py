"""Kafka topics for the streaming mode, through kafka-python's admin client.

Topics are created explicitly rather than by auto-creation: their partition counts must agree (the
worker's tables need co-partitioned topics), and retention is a decision, not a broker default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from revisit.core.config import KafkaSettings
from revisit.core.errors import BadInput


@dataclass(frozen=True, slots=True)
class TopicReport:
    name: str
    created: bool  # False: it existed already
    partitions: int


def required_topics(settings: KafkaSettings) -> tuple[str, ...]:
    return (settings.raw_topic, settings.matched_topic, settings.dead_letter_topic)


def _admin(settings: KafkaSettings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, client_id="revisit-admin", request_timeout_ms=15_000
        )
    except KafkaError as error:
        raise BadInput(f"Kafka at {settings.bootstrap_servers}: not reachable ({error})") from None


def create_topics(
    settings: KafkaSettings, partitions: int | None = None, retention_hours: int | None = None
) -> list[TopicReport]:
    """Create the topics revisit uses; existing ones are left as they are and reported."""
    partitions = partitions or settings.partitions
    retention_ms = (retention_hours or settings.retention_hours) * 3600 * 1000
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        reports = []
        for name in required_topics(settings):
            if name in existing:
                reports.append(TopicReport(name, False, partition_count(admin, name)))
                continue
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, 1, topic_configs={"retention.ms": str(retention_ms)})],
                    wait_for_metadata=True,
                )
                reports.append(TopicReport(name, True, partitions))
            except TopicAlreadyExistsError:  # created meanwhile by another process
                reports.append(TopicReport(name, False, partition_count(admin, name)))
        return reports
    finally:
        admin.close()


def partition_count(admin: KafkaAdminClient, name: str, wait_seconds: float = 10.0) -> int:
    """Partitions of an existing topic; a topic created a moment ago may show none until the
    broker's metadata catches up, so ask again for a few seconds."""
    deadline = time.monotonic() + wait_seconds
    while True:
        (description,) = admin.describe_topics([name])
        count = len(description["partitions"])
        if count or time.monotonic() >= deadline:
            return count
        time.sleep(0.2)


def missing_topics(settings: KafkaSettings) -> list[str]:
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return [name for name in required_topics(settings) if name not in existing]
