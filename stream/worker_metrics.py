"""The streaming worker's Prometheus metrics, in a registry of their own (no global state)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5,
                   10, 30, 60, 300)


@dataclass
class WorkerMetrics:
    registry: CollectorRegistry
    events: Counter
    dead_letters: Counter
    processing: Histogram
    batch: Histogram
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
            processing=Histogram("revisit_worker_processing_seconds", "Time to process one matched hit, by stage.",
                                 ["stage"], buckets=LATENCY_BUCKETS, registry=registry),
            batch=Histogram("revisit_worker_batch_seconds",
                            "Time to classify one fetched batch of raw lines, send its results and commit.",
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
