"""``revisit worker``: the streaming pipeline on Kafka with faust-streaming.

Two agents, the same core as replay:

1. ``classify`` reads raw lines (keyed by client IP, so its per-address caches stay partition-local)
   and runs ``HitClassifier``. Malformed lines go to the dead-letter topic with their reasons and
   the raw payload; matched hits are re-keyed by account id onto the matched topic.
2. ``track`` reads matched hits and runs ``VisitTracker`` over three changelog-backed tables
   (sessions, held alerts, last alert times), so a restarted or rebalanced worker continues where
   the last one stopped. Hits and alerts go to the database keyed by their idempotency keys
   (``topic:partition:offset`` of the raw line, ``alert_id``) before the event is acknowledged:
   reprocessing after a crash stores nothing twice.

Faust delivers at least once (its offset commits after a rebalance have known issues), which is why
exactly-once is never assumed: every write is idempotent instead.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import faust
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from revisit.config import Settings
from revisit.storage.store import Store
from stream.hit import Malformed
from stream.pipeline import Filtered, HitClassifier, MatchedHit, Unmatched, VisitTracker
from stream.records import (UnknownAccount, last_alerts_view, matched_from_record, matched_to_record,
                            pending_view, sessions_view)

log = logging.getLogger("revisit.worker")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5,
                   10, 30, 60, 300)


@dataclass
class WorkerMetrics:
    """The worker's Prometheus metrics, in a registry of its own (no global state)."""

    registry: CollectorRegistry
    events: Counter
    dead_letters: Counter
    processing: Histogram
    end_to_end: Histogram
    hit_stored: Histogram
    lag: Gauge

    @classmethod
    def create(cls) -> WorkerMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            events=Counter("revisit_worker_events_total", "Raw lines by outcome.", ["outcome"], registry=registry),
            dead_letters=Counter("revisit_worker_dead_letters_total", "Lines sent to the dead-letter topic.",
                                 registry=registry),
            processing=Histogram("revisit_worker_processing_seconds", "Time to process one event, by stage.",
                                 ["stage"], buckets=LATENCY_BUCKETS, registry=registry),
            end_to_end=Histogram("revisit_worker_event_to_alert_seconds",
                                 "From a hit's own timestamp to its alert being stored.",
                                 buckets=LATENCY_BUCKETS, registry=registry),
            hit_stored=Histogram("revisit_worker_event_to_hit_stored_seconds",
                                 "From a matched hit's own timestamp to the hit being stored.",
                                 buckets=LATENCY_BUCKETS, registry=registry),
            lag=Gauge("revisit_worker_consumer_lag_messages", "Messages not yet processed, per partition.",
                      ["topic", "partition"], registry=registry),
        )


def dead_letter_record(line_bytes: bytes, reason: str, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """A "bad row": the raw payload, why it failed, and where it came from."""
    return {
        "raw": line_bytes.decode("utf-8", "replace"),
        "raw_base64": base64.b64encode(line_bytes).decode("ascii"),
        "reasons": [reason],
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "failed_at": datetime.now(timezone.utc).isoformat(),
    }


def build_app(settings: Settings, classifier: HitClassifier, store: Store) -> tuple[faust.App, WorkerMetrics]:
    kafka, worker = settings.kafka, settings.worker
    app = faust.App(
        worker.app_id,
        broker=f"kafka://{kafka.bootstrap_servers}",
        store="memory://",  # tables are rebuilt from their changelog topics at start
        topic_partitions=kafka.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
        web_host=worker.web_host,
        web_port=worker.web_port,
        web_bind=worker.web_host,
        value_serializer="json",
        key_serializer="raw",
        # Events whose rows are not stored yet stay unacknowledged and are read again after a stop
        # or rebalance (the writes are idempotent), so nothing waits for them.
        stream_wait_empty=False,
        broker_session_timeout=worker.session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, worker.session_timeout_seconds / 3),
    )
    metrics = WorkerMetrics.create()
    raw_topic = app.topic(kafka.raw_topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                          value_serializer="raw", partitions=kafka.partitions)
    matched_topic = app.topic(kafka.matched_topic, key_type=str, key_serializer="raw", value_serializer="json",
                              partitions=kafka.partitions)
    dead_letter_topic = app.topic(kafka.dead_letter_topic, key_serializer="raw", value_serializer="json",
                                  partitions=kafka.partitions)
    sessions = app.Table("sessions", default=None, partitions=kafka.partitions, key_type=str)
    pending = app.Table("pending-alerts", default=None, partitions=kafka.partitions, key_type=str)
    last_alerts = app.Table("last-alerts", default=None, partitions=kafka.partitions, key_type=str)
    processed: dict[tuple[str, int], int] = {}

    @app.agent(raw_topic)
    async def classify(stream: faust.StreamT) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            value: bytes = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
            outcome = classifier.classify(value.decode("utf-8", "replace"))
            kind = type(outcome)
            if kind is Malformed:
                metrics.events.labels("malformed").inc()
                metrics.dead_letters.inc()
                await dead_letter_topic.send(key=event.key, value=dead_letter_record(
                    value, outcome.reason, message.topic, message.partition, message.offset))
            elif kind is MatchedHit:
                metrics.events.labels("matched").inc()
                hit_key = f"{message.topic}:{message.partition}:{message.offset}"
                await matched_topic.send(key=outcome.match.account.account_id.encode(),
                                         value=matched_to_record(outcome, hit_key))
            elif kind is Filtered:
                metrics.events.labels("filtered").inc()
            elif kind is Unmatched:
                metrics.events.labels("unmatched").inc()
            processed[(message.topic, message.partition)] = message.offset
            metrics.processing.labels("classify").observe(time.perf_counter() - started)

    tracker = VisitTracker(settings, last_alerts_view(last_alerts), sessions_view(sessions), pending_view(pending),
                           release_others=False)
    sink = store.hit_sink()
    unstored: list[tuple[Any, float]] = []  # events (and their event times) whose rows are not yet stored

    def store_and_acknowledge() -> None:
        """One transaction for the buffered rows, then the acks: an event is never acknowledged
        before what it caused is stored (at-least-once, made idempotent by the keys)."""
        if not unstored:
            return
        new_alerts = sink.flush()
        now = time.time()
        for event, event_time in unstored:
            metrics.hit_stored.observe(max(0.0, now - event_time))
            event.ack()
        for alert in new_alerts:
            metrics.end_to_end.observe(max(0.0, now - alert.last_seen.timestamp()))
        unstored.clear()

    @app.agent(matched_topic)
    async def track(stream: faust.StreamT) -> None:
        async for event in stream.noack().events():
            started = time.perf_counter()
            try:
                hit_key, matched = matched_from_record(event.value, classifier.index)
            except UnknownAccount as error:
                log.warning("matched hit for account %s, which this worker's list does not hold", error)
                event.ack()
                continue
            observation = tracker.observe(matched)  # table writes: in the event's own partition
            sink.add_hit(hit_key, matched, observation.session, observation.page)
            if observation.triggered is not None:
                sink.add_alert(observation.triggered)
            if observation.refreshed is not None:
                sink.update_alert(observation.refreshed)
            unstored.append((event, matched.hit.timestamp.timestamp()))
            if len(unstored) >= worker.store_batch:
                store_and_acknowledge()
            metrics.processing.labels("track").observe(time.perf_counter() - started)

    @app.timer(interval=worker.store_interval_seconds)
    async def store_pending_rows() -> None:
        store_and_acknowledge()

    @app.timer(interval=worker.lag_interval_seconds)
    async def measure_lag() -> None:
        for tp in app.consumer.assignment():
            if tp.topic != kafka.raw_topic:
                continue
            done = processed.get((tp.topic, tp.partition))
            highwater = app.consumer.highwater(tp)
            if highwater is not None:
                metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - (done + 1 if done is not None else 0)))

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    return app, metrics


def run_worker(settings: Settings, classifier: HitClassifier, store: Store, loglevel: str = "warning") -> int:
    """Run until SIGTERM or SIGINT: Faust finishes the events in flight, commits and closes."""
    app, _metrics = build_app(settings, classifier, store)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0
