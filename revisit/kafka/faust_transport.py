"""Faust's Kafka transport with two changes: how long a fetch may wait on the broker, and which
partitions a fetch may return (``_ConsumerThread.getmany``).

Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting to change it.
aiokafka keeps one fetch in flight per broker and leaves out partitions that still have records
buffered; a record arriving on such a partition waits for the fetch in flight, which the broker
holds for up to that long when its own partitions are quiet. Measured on this worker at 1,000
lines/s: event time → hit stored p50 1.6 s in about half the runs; with 100 ms, p50 0.2 s in all.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when it starts its fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:
        """Fetch for a copy of the active partitions, taken now.

        Faust hands its live set of active partitions to the consumer thread, and aiokafka reads
        an empty set as "every partition". When table recovery paused the changelog partitions
        while a fetch was waiting, the set went empty under it and aiokafka returned the matched
        topic's records too; Faust then dropped them as not active, silently, with the consumer's
        position already past them. A worker restarted before its first offset commit had no
        committed offset to seek back to and stood idle with its backlog as lag (about 1 crash
        test in 20: aiokafka's positions at the high watermark, Faust's read offsets empty)."""
        if active_partitions is None:
            return await super().getmany(None, timeout)
        snapshot = set(active_partitions)
        if not snapshot:
            return {}
        return await super().getmany(snapshot, timeout)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class LowLatencyTransport(faust_aiokafka.Transport):
    """Install with ``app.transport = LowLatencyTransport(app.conf.broker_consumer, app)``."""

    Consumer = _Consumer
