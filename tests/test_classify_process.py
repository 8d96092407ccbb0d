"""The worker's /metrics adds what its forked classify process counted to its own figures: the
child's registry starts as a copy of the worker's, so only what it counted since the fork may be
added (a figure counted before it would show twice)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from revisit.kafka.classify_process import MergedRegistry, merged_families, metric_deltas, sample_values


def scraped(families) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition text as Prometheus reads it: (sample name, labels) → value."""
    text = generate_latest(MergedRegistry(families)).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def a_registry() -> tuple[CollectorRegistry, Counter, Histogram, Gauge]:
    registry = CollectorRegistry()
    hits = Counter("revisit_hits_total", "Lines.", ["outcome"], registry=registry)
    batch = Histogram("revisit_batch_duration_seconds", "Batch.", ["stage"], buckets=(0.1, 1), registry=registry)
    lag = Gauge("revisit_consumer_lag_messages", "Lag.", ["topic", "partition"], registry=registry)
    Gauge("revisit_build_info", "Version.", ["version"], registry=registry).labels("1.0").set(1)
    return registry, hits, batch, lag


def test_a_forked_childs_figures_are_added_once_to_the_workers() -> None:
    worker, hits, batch, lag = a_registry()
    hits.labels("matched").inc(3)  # counted before the fork: in the worker's figures only
    batch.labels("track").observe(0.05)
    lag.labels("matched", "0").set(7)
    # the fork: the child's registry is a copy (here: a registry filled the same way)
    child, child_hits, child_batch, child_lag = a_registry()
    child_hits.labels("matched").inc(3)
    child_batch.labels("track").observe(0.05)
    child_lag.labels("matched", "0").set(7)
    baseline = sample_values(child)
    child_hits.labels("matched").inc(5)
    child_hits.labels("filtered").inc(2)
    child_batch.labels("classify").observe(0.5)
    child_lag.labels("raw", "3").set(11)
    hits.labels("matched").inc(1)  # the worker's own after the fork

    figures = scraped(merged_families(worker.collect(), metric_deltas(child, baseline)))

    assert figures[("revisit_hits_total", (("outcome", "matched"),))] == 3 + 1 + 5
    assert figures[("revisit_hits_total", (("outcome", "filtered"),))] == 2
    assert figures[("revisit_batch_duration_seconds_count", (("stage", "track"),))] == 1
    assert figures[("revisit_batch_duration_seconds_count", (("stage", "classify"),))] == 1
    assert figures[("revisit_batch_duration_seconds_bucket", (("le", "0.1"), ("stage", "classify")))] == 0
    assert figures[("revisit_batch_duration_seconds_bucket", (("le", "1.0"), ("stage", "classify")))] == 1
    assert figures[("revisit_batch_duration_seconds_sum", (("stage", "classify"),))] == 0.5
    assert figures[("revisit_consumer_lag_messages", (("partition", "0"), ("topic", "matched")))] == 7
    assert figures[("revisit_consumer_lag_messages", (("partition", "3"), ("topic", "raw")))] == 11
    assert figures[("revisit_build_info", (("version", "1.0"),))] == 1


def test_nothing_counted_since_the_fork_adds_nothing() -> None:
    child, hits, _, lag = a_registry()
    hits.labels("matched").inc(4)
    lag.labels("raw", "0").set(2)
    assert metric_deltas(child, sample_values(child)) == []


def test_a_family_only_the_child_has_is_shown_whole() -> None:
    worker = CollectorRegistry()
    child, hits, _, _ = a_registry()
    baseline = sample_values(child)
    hits.labels("malformed").inc()
    figures = scraped(merged_families(worker.collect(), metric_deltas(child, baseline)))
    assert figures == {("revisit_hits_total", (("outcome", "malformed"),)): 1}
