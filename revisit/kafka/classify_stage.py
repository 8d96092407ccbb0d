"""The worker's first stage: raw lines → ``HitClassifier`` → matched topic or dead-letter topic.

Why not a Faust agent: this stage is stateless and sees every line of the site's traffic, most of
which (crawlers, assets, ISPs) ends here. Faust's per-event machinery costs about 0.4 ms per event,
several times the classification itself, so the stage reads whole fetched batches with an aiokafka
consumer (the client Faust itself runs on) in a consumer group of its own, in a process of its own
(``revisit.kafka.classify_process``). Only the few matched hits go on to the stateful Faust agent.

Delivery is at least once: a batch's offsets are committed after the broker acknowledged every
record it caused. A crash re-reads at most the uncommitted batches; their matched hits carry the same
``hit_key`` (``topic:partition:offset`` of the raw line), so storing them again changes nothing.

Lines whose address is being resolved late (reverse DNS, RDAP) are held here, and the committed
offset of their partition stays below the oldest held line until its answer came and the line
went on: a crash while waiting re-reads it rather than losing a late match.

With ``ledger.log_field`` set, a batch's sign-ins are learned before its lines are classified
(``revisit.kafka.ledger_learning``), and what was learned is in the database before the offsets
of its lines are committed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from mode import Service

from revisit.core.config import Settings
from revisit.core.hit import Malformed, MalformedReason
from revisit.core.metrics import RevisitMetrics
from revisit.core.organization import Organization
from revisit.enrichment.classify import (
    Deferred,
    Filtered,
    HeldLines,
    HitClassifier,
    MatchedHit,
    Unmatched,
)
from revisit.enrichment.rdap import NetworkRegistration
from revisit.kafka.event_order import RawWatermarks
from revisit.kafka.ledger_learning import LedgerStore, StreamLedger
from revisit.kafka.records import MARKER_KEY, matched_to_record, watermark_marker, with_source

log = logging.getLogger("revisit.worker.classify")

# How long a fetch waits when no partition has lines buffered, and how soon a stop is noticed. The
# stage's "read to the end" time is taken before the fetch, so a quiet stage's watermark trails
# the clock by this much: at 200 ms, with the marker's quarter second and the stateful stage's
# own delays, alerts closed by the clock left up to 1.06 s after their window's end + the allowed
# disorder (promised: 1 s); at 50 ms, p99 0.50 s and none over 0.75 s (bench, 2026-12-02).
FETCH_TIMEOUT_MS = 50
MAX_BATCH_RECORDS = 5000
COMMIT_INTERVAL_SECONDS = 1.0
MIN_FETCH_INTERVAL_SECONDS = 0.025
KEEP_RESOLUTIONS_SECONDS = 5.0
# How often the watermarks go to the matched partitions: a held alert closes at the first marker
# after its window's end + max_disorder_seconds, so at 1 s the marker's wait alone took a tenth of
# the alerts past the promised + 1 s (bench, 2026-12-01); twenty small records a second cost nothing.
MARKER_INTERVAL_SECONDS = 0.25


class ResolutionStore(Protocol):
    """Where the stage keeps what it learned about addresses (``revisit.storage.Store``)."""

    def save_organizations(self, resolved: dict[str, Organization]) -> None: ...

    def save_network_registrations(self, registrations: list[NetworkRegistration]) -> object: ...


class StageStore(ResolutionStore, LedgerStore, Protocol):
    """Both: the worker's ``revisit.storage.Store``."""


def dead_letter_record(line_bytes: bytes, reason: str, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """A "bad row": the raw payload, why it failed, and where it came from."""
    return {
        "raw": line_bytes.decode("utf-8", "replace"),
        "raw_base64": base64.b64encode(line_bytes).decode("ascii"),
        "reasons": [reason],
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "failed_at": datetime.now(UTC).isoformat(),
    }


def encode_json(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)  # as json.dumps(ensure_ascii=False, separators=(",", ":")) writes it, in C


class _CommitBeforeHandingOver(ConsumerRebalanceListener):
    """Commits what is done before partitions move to another worker, so it reads little again."""

    def __init__(self, stage: ClassifyStage) -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.stage._assigned = False
        await self.stage._commit()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        # partitions gone to another worker are judged by it: not here
        self.stage._clock.keep(set(assigned))
        self.stage._clock.assign(set(assigned), time.monotonic())
        self.stage._assigned = True


async def fetch_in_step(
    consumer: AIOKafkaConsumer, max_records: int, timeout_ms: int
) -> dict[TopicPartition, list[ConsumerRecord]]:
    """At most an equal share of ``max_records`` from every assigned partition that has records
    buffered, waiting up to ``timeout_ms`` only when none has.

    aiokafka's ``getmany`` drains its buffered partitions one after the other, and a fetch holds
    up to 4 MB of a partition (~20,000 lines): in a backlog one raw partition ran hours of event
    time ahead of the others, whose low watermark held its hits back. Each of them waited in its
    account's state, which was decoded and written again with every further hit of that account:
    the stateful stage stored ~150 hits/s behind a classifier done seconds earlier (bench,
    2026-12-01). Taken in step, the partitions stay within a share of lines of each other."""
    assigned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
    share = max(1, max_records // max(1, len(assigned)))
    batches: dict[TopicPartition, list[ConsumerRecord]] = {}
    for tp in assigned:
        batches.update(await consumer.getmany(tp, timeout_ms=0, max_records=share))
    if not batches:
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=share)
    return batches


class ClassifyStage(Service):
    """Consumes the raw topic in group ``<app_id>-classify``; started and stopped with the worker."""

    def __init__(
        self,
        settings: Settings,
        classifier: HitClassifier,
        metrics: RevisitMetrics,
        resolutions: StageStore | None = None,
        ledger: StreamLedger | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = settings
        self.classifier = classifier
        self.metrics = metrics
        self.resolutions = resolutions
        self.ledger = ledger if resolutions is not None else None  # learning needs the database
        self._ledger_reload_due = time.monotonic() + settings.ledger.reload_seconds
        resolution = settings.resolution
        self._held: HeldLines[tuple[TopicPartition, int]] | None = (
            HeldLines(classifier, resolution.late_held_lines_per_address, resolution.late_held_lines)
            if classifier.late is not None
            else None
        )
        self._resolutions_due = 0.0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._loop_finished = asyncio.Event()
        self._lag_labelled: set[TopicPartition] = set()
        self._processed_to: dict[TopicPartition, int] = {}  # next offset after what is processed and delivered
        self._committed: dict[TopicPartition, int] = {}
        self._commit_due = 0.0
        self._assigned = False  # the group has given this worker its partitions (maybe none)
        # how far the raw partitions have got in event time: the markers tell the tracker
        self._clock: RawWatermarks[TopicPartition] = RawWatermarks(
            timedelta(seconds=settings.stream.max_disorder_seconds), settings.stream.idle_seconds
        )
        self._late_counted = 0
        self._marker_due = 0.0
        self._counted_lookups = self._counted_misses = 0  # the classifier's totals already in the metrics
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        kafka, worker = self.settings.kafka, self.settings.worker
        session_ms = int(worker.session_timeout_seconds * 1000)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all", linger_ms=5
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"{worker.app_id}-classify",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(1000, session_ms // 3),
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_wait_ms=100,
        )
        await self._producer.start()
        await self._consumer.start()
        self._consumer.subscribe([kafka.raw_topic], listener=_CommitBeforeHandingOver(self))

    @Service.task
    async def _consume(self) -> None:
        assert self._consumer is not None
        lag_due = time.monotonic()
        fetched_at = 0.0
        try:
            while not self.should_stop:
                # At a low rate every fetch would return a handful of lines, and the per-batch work
                # (produce request, commit bookkeeping) would crowd out the Faust stage in the same
                # process; waiting a few milliseconds makes batches of useful size.
                pause = fetched_at + MIN_FETCH_INTERVAL_SECONDS - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                fetched_at, fetched_wall = time.monotonic(), datetime.now(UTC)
                batches = await fetch_in_step(self._consumer, MAX_BATCH_RECORDS, FETCH_TIMEOUT_MS)
                if batches:
                    await self._process(batches)
                self._note_caught_up(fetched_wall)
                if self._held is not None:
                    await self._settle_late()
                self._advance()
                await self._send_marker()
                if time.monotonic() >= self._commit_due:
                    # here rather than after a batch only: what the last batch before a quiet spell
                    # (or a late answer) finished is committed within the interval too
                    await self._commit()
                await self._keep_resolutions()
                await self._reload_ledger()
                if time.monotonic() >= lag_due:
                    await self._measure_lag()
                    lag_due = time.monotonic() + self.settings.worker.lag_interval_seconds
            await self._commit()
        finally:
            self._loop_finished.set()

    def problem(self) -> str | None:
        """A readiness check: None once the raw topic's consumer has started."""
        if self._consumer is None or not self.started or self._loop_finished.is_set():
            return "the raw-topic consumer is not running"
        if not self._assigned:
            return "raw-topic partitions not assigned yet (joining the group or rebalancing)"
        return None

    async def on_stop(self) -> None:
        """Let the batch in flight finish and commit, then close: SIGTERM loses and repeats nothing."""
        if self._consumer is not None:
            await self._loop_finished.wait()
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self._producer is not None and self._consumer is not None
        started = time.perf_counter()
        kafka = self.settings.kafka
        classify_lines, send = self.classifier.classify_lines, self._producer.send
        outcomes: Counter[tuple[str, str]] = Counter()  # (outcome, reason or match method) → lines
        deliveries: list[asyncio.Future] = []
        next_offsets: dict[TopicPartition, int] = {}
        clock, now = self._clock, time.monotonic()
        source = self._source()
        for tp, records in batches.items():
            encoding = self.settings.log.encoding  # ship sends the file's bytes as they are
            lines = [(record.value or b"").decode(encoding, "replace") for record in records]
            if self.ledger is not None:
                # before classifying: the sign-in line itself matches by what it taught
                self.classifier.forget_addresses_in(self.ledger.learn_lines(lines))
            # the last line tells how far the partition has got, even when none of it matched
            clock.saw(tp, self.classifier.event_time(lines[-1]), now)
            for record, outcome in zip(records, classify_lines(lines), strict=True):  # one pass, as in replay
                if type(outcome) is MatchedHit:
                    outcomes["matched", outcome.match.method] += 1
                    key, value = self._encoded(tp, record.offset, outcome, source)
                    deliveries.append(await send(kafka.matched_topic, key=key, value=value))
                elif type(outcome) is Filtered:
                    outcomes["filtered", outcome.reason] += 1
                elif type(outcome) is Unmatched:
                    outcomes["unmatched", ""] += 1
                elif type(outcome) is Deferred:
                    if self._held is None or not self._held.hold(outcome, (tp, record.offset)):
                        outcomes["unmatched", ""] += 1
                elif type(outcome) is Malformed and outcome.reason in MalformedReason.NOT_DATA:
                    outcomes["skipped", outcome.reason] += 1  # a W3C directive or a blank line: no fault
                elif type(outcome) is Malformed:
                    outcomes["malformed", outcome.reason] += 1
                    deliveries.append(
                        await send(
                            kafka.dead_letter_topic,
                            key=record.key,
                            value=encode_json(
                                dead_letter_record(
                                    record.value or b"", outcome.reason, record.topic, record.partition, record.offset
                                )
                            ),
                        )
                    )
            next_offsets[tp] = records[-1].offset + 1
        if deliveries:
            await asyncio.gather(*deliveries)  # raises if the broker refused one: nothing is committed
        self._processed_to.update(next_offsets)
        self._count(outcomes)
        self.metrics.batch.labels("classify").observe(time.perf_counter() - started)

    def _source(self) -> tuple[list[int], datetime | None]:
        """This stage's raw partitions and low watermark, named by each record it sends: what the
        stateful stage's sweep judges by (revisit/kafka/progress.py)."""
        assert self._consumer is not None
        return [tp.partition for tp in self._consumer.assignment()], self._clock.watermark

    def _encoded(
        self, tp: TopicPartition, offset: int, matched: MatchedHit, source: tuple[list[int], datetime | None]
    ) -> tuple[bytes, bytes]:
        """A matched hit's one record, keyed by its account, sent the moment it is matched: the
        tracker stores the hit at once and orders it among its account's hits by the markers. A hit
        the low watermark has passed is late: counted here, taken as it comes there."""
        self._clock.is_late(matched.hit.timestamp)
        record = matched_to_record(matched, f"{tp.topic}:{tp.partition}:{offset}")
        return matched.match.account.account_id.encode(), encode_json(with_source(record, *source))

    def _note_caught_up(self, fetched_wall: datetime) -> None:
        """Partitions whose every line the broker held at the last fetch (started at wall-clock
        ``fetched_wall``) has been processed and sent: read to their end then, which lets held
        alerts close by the clock while the input is live (``RawWatermarks.release_watermark``)."""
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is not None and self._processed_to.get(tp, 0) >= end:
                self._clock.caught_up(tp, fetched_wall)

    def _advance(self) -> None:
        """Between batches, after the hits read so far were handed to the producer: the low
        watermark moves (an idle partition, the end of a backlog) for the next marker."""
        self._clock.advance(time.monotonic())
        if self._clock.late > self._late_counted:
            self.metrics.late_events.labels("classify").inc(self._clock.late - self._late_counted)
            self._late_counted = self._clock.late

    async def _send_marker(self) -> None:
        """Four times a second, after the hits it covers: the watermark up to which held alerts may
        close (``RawWatermarks.release_watermark``) to every partition of the matched topic, so the
        stateful stage closes them without waiting for their account's next hit. One small record per
        matched partition each time, sent whether or not it moved: a restarted or rebalanced tracker
        learns it at once."""
        now = time.monotonic()
        if now < self._marker_due or not self._assigned:
            return
        self._marker_due = now + MARKER_INTERVAL_SECONDS
        assert self._consumer is not None and self._producer is not None
        kafka = self.settings.kafka
        assigned = [tp.partition for tp in self._consumer.assignment()]
        watermark = self._clock.release_watermark(now, datetime.now(UTC))
        raw_count = len(self._consumer.partitions_for_topic(kafka.raw_topic) or ())
        if watermark is None or not assigned or not raw_count:
            return
        value = encode_json(
            # idle: every partition idle, so all it read has been sent and it holds no hit back
            watermark_marker(assigned, raw_count, watermark, self._clock.watermark, self._clock.all_idle(now))
        )
        try:
            partitions = sorted(await self._producer.partitions_for(kafka.matched_topic))
            deliveries = [
                await self._producer.send(kafka.matched_topic, key=MARKER_KEY, value=value, partition=partition)
                for partition in partitions
            ]
            await asyncio.gather(*deliveries)
        except KafkaError as error:  # the next marker says as much: none is owed
            log.warning("watermark marker not sent (the next one goes in a second): %s", error)

    def _count(self, outcomes: Counter[tuple[str, str]]) -> None:
        metrics = self.metrics
        for (outcome, detail), count in outcomes.items():
            metrics.hits.labels(outcome).inc(count)
            if outcome == "matched":
                metrics.matches.labels(detail).inc(count)
            elif outcome == "filtered":
                metrics.filtered.labels(detail).inc(count)
            elif outcome == "malformed":
                metrics.parse_failures.labels(detail).inc(count)
                metrics.dead_letters.inc(count)
        lookups, misses = self.classifier.address_lookups, self.classifier.address_misses
        metrics.cache_lookups.labels("address", "hit").inc(
            max(0, (lookups - self._counted_lookups) - (misses - self._counted_misses))
        )
        metrics.cache_lookups.labels("address", "miss").inc(misses - self._counted_misses)
        self._counted_lookups, self._counted_misses = lookups, misses

    async def _commit(self) -> None:
        """Commit the offsets of batches whose results the broker has acknowledged.

        Once a second rather than per batch: a commit is a broker round trip, and what a crash
        makes the next owner read again (at most a second of lines) is stored idempotently.
        """
        assert self._consumer is not None
        self._commit_due = time.monotonic() + COMMIT_INTERVAL_SECONDS
        if not await self._save_learned():
            return  # the lines are read again and teach it again; none is lost
        held_from: dict[TopicPartition, int] = {}  # lines waiting for a late answer are read again after a crash
        for tp, offset in self._held.tags() if self._held is not None else ():
            held_from[tp] = min(offset, held_from.get(tp, offset))
        assigned = self._consumer.assignment()
        for tp in [tp for tp in self._processed_to if tp not in assigned]:  # moved to another worker
            del self._processed_to[tp]
            self._committed.pop(tp, None)
        offsets = {}
        for tp, processed_to in self._processed_to.items():
            offset = min(processed_to, held_from.get(tp, processed_to))
            if offset > self._committed.get(tp, -1):
                offsets[tp] = offset
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
            self._committed.update(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            # A rebalance took partitions away: their new owner reads those lines again, harmlessly.
            log.warning("offsets not committed after a rebalance (%s); the lines will be read again", error)

    async def _save_learned(self) -> bool:
        """Write what the ledger learned since the last commit, in one batch off the event loop's
        thread; False if the database refused it (kept for the next try)."""
        if self.ledger is None or not self.ledger.has_pending:
            return True
        assert self.resolutions is not None
        entries = self.ledger.take_pending()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.ledger.save, self.resolutions, entries)
        except Exception as error:
            self.ledger.keep_pending(entries)
            log.warning(
                "ledger entries not written, offsets not committed (tried again in a second): %s: %s",
                type(error).__name__,
                error,
            )
            return False
        return True

    async def _reload_ledger(self) -> None:
        """Every ``ledger.reload_seconds``: the ledger as every worker and the command line left it."""
        if self.ledger is None or time.monotonic() < self._ledger_reload_due:
            return
        assert self.resolutions is not None
        self._ledger_reload_due = time.monotonic() + self.settings.ledger.reload_seconds
        if not await self._save_learned():
            return
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(None, self.ledger.load, self.resolutions)
        except Exception as error:
            log.warning("ledger not read back (the one in memory stays): %s: %s", type(error).__name__, error)
            return
        self.classifier.forget_addresses_in(self.ledger.use(*loaded))

    async def _settle_late(self) -> None:
        """Send on the held lines whose late answers came."""
        assert self._held is not None and self._producer is not None
        released = self._held.settle()
        outcomes: Counter[tuple[str, str]] = Counter()
        deliveries = []
        for outcome, tag in released:
            if type(outcome) is MatchedHit:
                assert tag is not None  # the stage holds every line with its partition and offset
                tp, offset = tag
                outcomes["matched", outcome.match.method] += 1
                key, value = self._encoded(tp, offset, outcome, self._source())
                deliveries.append(await self._producer.send(self.settings.kafka.matched_topic, key=key, value=value))
            else:
                outcomes["unmatched", ""] += 1
        if deliveries:
            await asyncio.gather(*deliveries)
        self._count(outcomes)

    async def _keep_resolutions(self) -> None:
        """Every few seconds, the organisations resolved since (the ``organizations`` table explains
        the matches) and the new RDAP answers go to the database, off the event loop's thread.

        Taken out of the classifier either way: replay keeps them until its end, but a worker that
        never stops would hold every address it ever resolved (a leak the soak could not show:
        it runs without MaxMind databases)."""
        if time.monotonic() < self._resolutions_due:
            return
        self._resolutions_due = time.monotonic() + KEEP_RESOLUTIONS_SECONDS
        classifier = self.classifier
        organizations, registrations = dict(classifier.resolved_addresses), list(classifier.new_registrations)
        classifier.resolved_addresses.clear()
        classifier.new_registrations.clear()
        if self.resolutions is None or not (organizations or registrations):
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._save_resolutions, organizations, registrations)
        except Exception as error:
            log.warning(
                "resolutions not kept in the database (they are looked up again when needed): %s: %s",
                type(error).__name__,
                error,
            )

    def _save_resolutions(
        self, organizations: dict[str, Organization], registrations: list[NetworkRegistration]
    ) -> None:
        assert self.resolutions is not None
        if organizations:
            self.resolutions.save_organizations(organizations)
        if registrations:
            self.resolutions.save_network_registrations(registrations)

    async def _measure_lag(self) -> None:
        """Lag per assigned raw partition: the broker's high watermark minus the group's offset
        committed on the broker, which is what a restarted or new owner resumes from. The
        consumer's own position runs ahead of what is done (fetched, not yet processed) and starts
        from nothing after a restart, so it showed less, or other, than what is left to do."""
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        for tp in self._lag_labelled - assigned:  # moved to another worker after a rebalance
            self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        self._lag_labelled = set()
        for tp in assigned:
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            committed = await self._consumer.committed(tp)
            if committed is None:  # nothing committed yet: all that the log still holds is to do
                committed = (await self._consumer.beginning_offsets([tp]))[tp]
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - committed))
            self._lag_labelled.add(tp)
