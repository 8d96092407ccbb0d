"""Faust's Kafka transport with one setting changed: how long a fetch may wait on the broker.

Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting to change it.
aiokafka keeps one fetch in flight per broker and leaves out partitions that still have records
buffered; a record arriving on such a partition waits for the fetch in flight, which the broker
holds for up to that long when its own partitions are quiet. Measured on this worker at 1,000
lines/s: event time → hit stored p50 1.6 s in about half the runs; with 100 ms, p50 0.2 s in all.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when it starts its fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class LowLatencyTransport(faust_aiokafka.Transport):
    """Install with ``app.transport = LowLatencyTransport(app.conf.broker_consumer, app)``."""

    Consumer = _Consumer
