"""Kafka topics for the streaming mode, through kafka-python's admin client.

Topics are created explicitly rather than by auto-creation: their partition counts must agree (the
worker's tables need co-partitioned topics), and retention is a decision, not a broker default.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from revisit.config import KafkaSettings
from revisit.errors import BadInput


@dataclass(frozen=True, slots=True)
class TopicReport:
    name: str
    created: bool  # False: it existed already
    partitions: int


def required_topics(settings: KafkaSettings) -> tuple[str, ...]:
    return (settings.raw_topic, settings.matched_topic, settings.dead_letter_topic)


def _admin(settings: KafkaSettings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="revisit-admin",
                                request_timeout_ms=15_000)
    except KafkaError as error:
        raise BadInput(f"Kafka at {settings.bootstrap_servers}: not reachable ({error})") from None


def create_topics(settings: KafkaSettings, partitions: int | None = None,
                  retention_hours: int | None = None) -> list[TopicReport]:
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
                admin.create_topics([NewTopic(name, partitions, 1, topic_configs={"retention.ms": str(retention_ms)})])
                reports.append(TopicReport(name, True, partitions))
            except TopicAlreadyExistsError:  # created meanwhile by another process
                reports.append(TopicReport(name, False, partition_count(admin, name)))
        return reports
    finally:
        admin.close()


def partition_count(admin: KafkaAdminClient, name: str) -> int:
    (description,) = admin.describe_topics([name])
    return len(description["partitions"])


def missing_topics(settings: KafkaSettings) -> list[str]:
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return [name for name in required_topics(settings) if name not in existing]
