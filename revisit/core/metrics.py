"""Every Prometheus metric revisit exports, one definition for all its processes.

The worker, the shipper and the sender each create a ``RevisitMetrics`` of their own (its own
registry: no global state) and fill the families their work touches; Prometheus' ``job`` label tells
the processes apart, so names carry no process prefix. Conventions: base units (seconds, bytes),
``_total`` counters, and label values from closed sets only (outcomes, reasons, channels, resolver
names, partitions), never addresses, accounts or free text. Known label values are created up front
so that every series exists from the first scrape and ``rate()`` sees its start.

The dashboard in deploy/grafana and the rules in deploy/prometheus name these metrics; a test checks
both against a live worker's and shipper's ``/metrics``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from revisit.core.version import __version__

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)
# An alert closes when the watermark passes its window's end: the allowed disorder (60 s by
# default) plus a moment for the next watermark marker (promised: within 1 s), or more while input
# is late. Quarter seconds up to the promise, so a bench can say how many alerts kept it.
ALERT_CLOSE_BUCKETS = (
    *(0.5, 1, 2, 5, 10, 20, 30, 45, 60, 60.25, 60.5, 60.75, 61, 61.5, 62, 63, 65, 70),
    *(90, 120, 300, 600, 3600, 24 * 3600),
)
# Delivery waits for grouping (30 s), retries with backoff and quiet hours: seconds to a day.
DELIVERY_BUCKETS = (1, 5, 15, 30, 45, 60, 90, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600)

HIT_OUTCOMES = ("matched", "unmatched", "filtered", "malformed", "skipped")  # skipped: no data (W3C directives)
DELIVERY_STATUSES = ("sent", "retry", "dead")
RESOLUTION_RESULTS = ("answer", "none", "error")


@dataclass
class RevisitMetrics:
    registry: CollectorRegistry
    # stream: the worker's stages
    hits: Counter
    parse_failures: Counter
    filtered: Counter
    matches: Counter
    dead_letters: Counter
    late_events: Counter
    cache_lookups: Counter
    resolution: Histogram
    resolutions: Counter
    processing: Histogram
    batch: Histogram
    consumer_lag: Gauge
    event_to_hit_stored: Histogram
    event_to_alert_stored: Histogram
    window_to_alert_stored: Histogram
    alerts: Counter
    state_accounts: Gauge
    sweep: Histogram
    # alerts: the sender
    deliveries: Counter
    event_to_delivery: Histogram
    outbox_backlog: Gauge
    outbox_oldest_age: Gauge
    database_errors: Counter
    # the shipper
    lines_shipped: Counter
    lines_acknowledged: Counter
    ship_failures: Counter
    ship_skipped: Counter
    ship_commit: Histogram
    ship_backlog: Gauge
    # the web UI and API
    http_requests: Counter
    http_duration: Histogram
    # the interpreter
    gc_pause: Histogram
    # (resolver, result) → its duration histogram and its counter (see observe_resolution)
    _resolution_children: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)

    @classmethod
    def create(cls) -> RevisitMetrics:
        r = CollectorRegistry()
        Gauge("revisit_build_info", "Always 1; the running version as a label.", ["version"], registry=r).labels(
            __version__
        ).set(1)
        return cls(
            registry=r,
            hits=Counter("revisit_hits_total", "Access-log lines classified, by outcome.", ["outcome"], registry=r),
            parse_failures=Counter(
                "revisit_parse_failures_total", "Lines that could not be parsed, by reason.", ["reason"], registry=r
            ),
            filtered=Counter(
                "revisit_hits_filtered_total",
                "Lines left out before resolution (bots, assets, statuses, own networks), by reason.",
                ["reason"],
                registry=r,
            ),
            matches=Counter(
                "revisit_matches_total",
                "Hits matched to a dormant-customer account, by match method.",
                ["method"],
                registry=r,
            ),
            dead_letters=Counter("revisit_dead_letters_total", "Lines sent to the dead-letter topic.", registry=r),
            late_events=Counter(
                "revisit_late_events_total",
                "Matched hits that came after the watermark had passed them (taken as they came), by stage.",
                ["stage"],
                registry=r,
            ),
            cache_lookups=Counter(
                "revisit_cache_lookups_total",
                "Look-ups in the per-address resolution cache, by result (hit or miss).",
                ["cache", "result"],
                registry=r,
            ),
            resolution=Histogram(
                "revisit_resolution_duration_seconds",
                "Time one resolver took for one address.",
                ["resolver"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            resolutions=Counter(
                "revisit_resolutions_total",
                "Resolver calls by result: an organisation, none, or an error.",
                ["resolver", "result"],
                registry=r,
            ),
            processing=Histogram(
                "revisit_processing_duration_seconds",
                "Time to process one matched hit, by stage.",
                ["stage"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            batch=Histogram(
                "revisit_batch_duration_seconds",
                "Time to classify one fetched batch of raw lines, send its results and commit.",
                ["stage"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            consumer_lag=Gauge(
                "revisit_consumer_lag_messages",
                "Messages not yet processed, per partition.",
                ["topic", "partition"],
                registry=r,
            ),
            event_to_hit_stored=Histogram(
                "revisit_event_to_hit_stored_seconds",
                "From a matched hit's own timestamp to the hit being stored.",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            event_to_alert_stored=Histogram(
                "revisit_event_to_alert_stored_seconds",
                "From the last hit of an alert's visit to the alert being stored.",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            window_to_alert_stored=Histogram(
                "revisit_window_end_to_alert_stored_seconds",
                "From the end of an alert's grouping window (its trigger's event time + "
                "alerts.grouping_minutes) to the alert stored.",
                buckets=ALERT_CLOSE_BUCKETS,
                registry=r,
            ),
            alerts=Counter("revisit_alerts_total", "Alerts stored, by dormancy tier.", ["tier"], registry=r),
            state_accounts=Gauge(
                "revisit_state_accounts",
                "Accounts with tracking state in this worker (recent visits, held alerts, "
                "cooldowns), after the last sweep.",
                registry=r,
            ),
            sweep=Histogram(
                "revisit_sweep_duration_seconds",
                "One sweep of the worker's account state (finding and forgetting ended visits), "
                "from start to end: due accounts are forgotten in slices, their changelog records "
                "sent between slices while events go on.",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            deliveries=Counter(
                "revisit_deliveries_total",
                "Delivery attempts by channel and result (sent, retry, dead).",
                ["channel", "status"],
                registry=r,
            ),
            event_to_delivery=Histogram(
                "revisit_event_to_delivery_seconds",
                "From the hit that triggered an alert to its delivery, by channel.",
                ["channel"],
                buckets=DELIVERY_BUCKETS,
                registry=r,
            ),
            outbox_backlog=Gauge(
                "revisit_outbox_backlog", "Deliveries waiting in the outbox, by channel.", ["channel"], registry=r
            ),
            outbox_oldest_age=Gauge(
                "revisit_outbox_oldest_due_age_seconds",
                "How long the oldest due delivery has waited past its due time (0: none).",
                registry=r,
            ),
            database_errors=Counter(
                "revisit_database_errors_total",
                "Database operations that failed and will be retried, by process.",
                ["process"],
                registry=r,
            ),
            lines_shipped=Counter("revisit_ship_lines_total", "Lines handed to the Kafka producer.", registry=r),
            lines_acknowledged=Counter(
                "revisit_ship_acknowledged_lines_total",
                "Lines the broker acknowledged (the checkpoint moved past them).",
                registry=r,
            ),
            ship_failures=Counter(
                "revisit_ship_failures_total",
                "Shipper failures by kind (broker refused a line, checkpoint not written).",
                ["kind"],
                registry=r,
            ),
            ship_skipped=Counter(
                "revisit_ship_skipped_lines_total",
                "Lines not sent, by reason (too_long: over the parser's limit; too_large_for_broker).",
                ["reason"],
                registry=r,
            ),
            ship_commit=Histogram(
                "revisit_ship_commit_duration_seconds",
                "Time to flush a batch to the broker and write the checkpoint.",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            ship_backlog=Gauge(
                "revisit_ship_backlog_bytes",
                "Bytes in the followed files not yet acknowledged by the broker.",
                registry=r,
            ),
            http_requests=Counter(
                "revisit_http_requests_total",
                "Web requests by route (its template, not the URL), method and status.",
                ["route", "method", "status"],
                registry=r,
            ),
            http_duration=Histogram(
                "revisit_http_request_duration_seconds",
                "Server time of one web request.",
                ["route"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            gc_pause=Histogram(
                "revisit_gc_pause_seconds",
                "Python's cyclic garbage collector: how long each collection stopped the process, "
                "by generation (2 = a full collection, which grows with the objects alive).",
                ["generation"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
        )

    def watch_garbage_collector(self) -> None:
        """Time every collection of Python's cyclic garbage collector into ``gc_pause``: a full
        collection stops the event loop for as long as it takes to visit every tracked object.
        Once per process (``gc.callbacks`` is the interpreter's)."""
        started = [0.0]

        def on_collection(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                self.gc_pause.labels(str(info["generation"])).observe(time.perf_counter() - started[0])

        for generation in ("0", "1", "2"):
            self.gc_pause.labels(generation)
        gc.callbacks.append(on_collection)

    def observe_resolution(self, resolver: str, seconds: float, result: str) -> None:
        """A ``ResolutionObserver`` (enrichment.resolve) feeding the resolver metrics: once per
        resolver asked about a new address, so the labelled children are looked up once each
        (``labels()`` took a lock and built its key every call: 4 % of a busy worker's time)."""
        children = self._resolution_children.get((resolver, result))
        if children is None:
            children = (self.resolution.labels(resolver), self.resolutions.labels(resolver, result))
            self._resolution_children[resolver, result] = children
        children[0].observe(seconds)
        children[1].inc()

    def start_series(
        self,
        outcomes: Iterable[str] = HIT_OUTCOMES,
        parse_reasons: Iterable[str] = (),
        filter_reasons: Iterable[str] = (),
        match_methods: Iterable[str] = (),
        resolvers: Iterable[str] = (),
        channels: Iterable[str] = (),
    ) -> None:
        """Create the series of known label values at zero, so each exists before its first event."""
        for outcome in outcomes:
            self.hits.labels(outcome)
        for reason in parse_reasons:
            self.parse_failures.labels(reason)
        for reason in filter_reasons:
            self.filtered.labels(reason)
        for method in match_methods:
            self.matches.labels(method)
        for resolver in resolvers:
            for result in RESOLUTION_RESULTS:
                self.resolutions.labels(resolver, result)
        for channel in channels:
            for status in DELIVERY_STATUSES:
                self.deliveries.labels(channel, status)
            self.outbox_backlog.labels(channel)
        for result in ("hit", "miss"):
            self.cache_lookups.labels("address", result)
        self.late_events.labels("classify")  # 0 is news too: no input came after the watermark
