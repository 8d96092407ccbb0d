"""``revisit worker``: the streaming pipeline on Kafka, the same core as replay, in two stages.

1. ``ClassifyStage`` (revisit/kafka/classify_stage.py), in a process of its own forked at start
   (revisit/kafka/classify_process.py), reads raw lines, keyed by client IP so its per-address
   caches stay partition-local, and runs ``HitClassifier`` over whole fetched batches.
   Malformed lines go to the dead-letter topic with their reasons and the raw payload; matched hits
   are re-keyed by account id onto the matched topic.
2. The Faust agent ``track`` reads matched hits and watermark markers and runs ``VisitTracker``
   over one changelog-backed record per account (session, held alert, last alert time, hits
   waiting for the low watermark of every raw partition: ``revisit.kafka.release``), so a
   restarted or rebalanced worker continues where the last one stopped. Hits and alerts go to
   the database keyed by their idempotency keys (``topic:partition:offset`` of the raw line,
   ``alert_id``) before the event is acknowledged: reprocessing after a crash stores nothing twice.

Both stages deliver at least once (Faust's offset commits after a rebalance have known issues), which
is why exactly-once is never assumed: every write is idempotent instead.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import faust
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from sqlalchemy.exc import DBAPIError

from revisit.alerts.sender import SenderThread
from revisit.alerts.tracker import VisitTracker, state_horizons
from revisit.core.alert import Alert
from revisit.core.config import Settings
from revisit.core.metrics import RevisitMetrics
from revisit.endpoints import ReadinessCheck, readiness_body
from revisit.enrichment.classify import HitClassifier, MatchedHit
from revisit.kafka.classify_process import (
    ClassifyProcess,
    MergedRegistry,
    StageParts,
    fork_classify_stage,
    merged_families,
)
from revisit.kafka.faust_transport import LowLatencyTransport
from revisit.kafka.faust_web import WorkerApp
from revisit.kafka.lag import GroupOffsets
from revisit.kafka.ledger_learning import StreamLedger
from revisit.kafka.progress import CommittedEventTimes
from revisit.kafka.records import (
    AccountStateTable,
    UnknownAccount,
    last_alerts_field,
    marker_of,
    matched_from_record,
    pending_field,
    sessions_field,
    source_of,
    waiting_field,
    waiting_order,
)
from revisit.kafka.release import HeldAlertIndex, Lows, LowWatermarks, WaitingIndex
from revisit.storage.store import Store

log = logging.getLogger("revisit.worker")
DATABASE_RETRY_SECONDS = 1.0
SWEEP_SLICE = 50  # accounts forgotten at a time; the sweep waits for their changelog records between slices
CHANGELOG_QUEUE_CALM = 25  # records in Faust's producer buffer below which the sweep goes on
CHANGELOG_WAIT_LIMIT_SECONDS = 1.0
CHANGELOG_BATCH_BYTES = 512 * 1024  # under the broker's 1 MB message limit
# Accounts whose held alert, and accounts whose waiting hits, one marker takes at most. When every
# raw partition goes idle the watermarks jump to the newest event time, and the last minute of
# hits and held alerts (~6,000 hits, ~600 alerts at 1,000 lines/s) came due at once: taken all in
# one marker, the alerts due by the clock at that moment waited behind all of it, and the other
# partitions' markers behind them (61-65 s after their window's end against the promised 61,
# bench 2026-12-01). The earliest come first, so what is due by the clock does not wait behind
# what is early (and alerts before hits: see ``go_on``).
MARKER_ACCOUNTS = 100
# And hits for this long at most a marker, a few accounts at a time: in the bench's alert phase a
# marker's 100 accounts were ~1,000 hits, four partitions' markers took longer than the quarter of
# a second between them, and the markers that close alerts by the clock waited behind them. Hits
# are stored already (their early copy); taking them into their visits can wait for the next marker.
MARKER_HITS_SECONDS = 0.025
MARKER_SLICE = 10
# A backlog (a restart, a burst) is stored in larger transactions: rows wait up to this long while
# at least BACKLOG_EVENTS more events are queued for the agent. The transactions every 0.05 s took
# a third of the stateful stage's time in a backlog (py-spy, 2026-12-02); at 1,000 lines/s the
# queue holds a few events, and waiting on those raised the event → hit stored p99 to 549 ms.
BACKLOG_STORE_SECONDS = 0.25
BACKLOG_EVENTS = 20


def default_data_dir(app_id: str) -> Path:
    """``worker.data_dir`` when empty: one folder per user under the system's temporary folder
    (shared by every user, a folder another user made first was not ours to write in)."""
    return Path(tempfile.gettempdir()) / f"revisit-worker-{os.getuid()}" / app_id


def build_app(
    settings: Settings,
    classifier: HitClassifier,
    store: Store,
    metrics: RevisitMetrics,
    checks: dict[str, ReadinessCheck],
    other_metrics: Callable[[], Awaitable[list[Metric]]] | None = None,
) -> faust.App:
    """The Faust app of the stateful stage: tables, the ``track`` agent, /metrics, /healthz, /readyz.

    ``checks`` are the readiness checks of the whole worker (the caller adds the classify stage's);
    ``other_metrics``, the classify process's figures, are added to this process's in /metrics."""
    kafka, worker = settings.kafka, settings.worker
    data_dir = Path(worker.data_dir or default_data_dir(worker.app_id))
    data_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # Faust makes only the last level
    app = WorkerApp(  # /metrics, /healthz and /readyz only: no /table, /router
        worker.app_id,
        broker=f"kafka://{kafka.bootstrap_servers}",
        store="memory://",  # tables are rebuilt from their changelog topics at start
        datadir=str(data_dir),
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
        producer_linger=0.005,  # table changelog records go out in batches, not one request each
        # An account's record is 4 KB (p50; p90 7 KB, up to 14 KB) with its visit, held alert and
        # waiting hits: Faust's 16 KB batches held one to four of them, a broker round trip each
        # per partition, and at 1,000 lines/s the changelog could not keep up (Faust's "producer
        # buffer full" stalls, 141-154 a run in the bench's alert phase).
        producer_max_batch_size=CHANGELOG_BATCH_BYTES,
        broker_session_timeout=worker.session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, worker.session_timeout_seconds / 3),
    )
    app.transport = LowLatencyTransport(app.conf.broker_consumer, app)
    matched_topic = app.topic(
        kafka.matched_topic, key_type=str, key_serializer="raw", value_serializer="json", partitions=kafka.partitions
    )
    # One record per account (see AccountStateTable for why not one table per field).
    # use_partitioner: records are written after the database commit, outside the event's own
    # context; the key (account id, raw bytes) hashes to the partition of the matched topic.
    state_table = app.Table(
        "account-state", default=None, partitions=kafka.partitions, key_type=str, value_type=bytes, use_partitioner=True
    )  # bytes: the raw codec, JSON made here
    states = AccountStateTable(state_table, state_horizons(settings, timedelta(minutes=worker.forget_margin_minutes)))

    held = HeldAlertIndex(timedelta(minutes=settings.alerts.grouping_minutes))
    waiting_accounts = WaitingIndex()
    low_watermarks = LowWatermarks(settings.stream.idle_seconds)

    @state_table.on_recover
    async def schedule_recovered_state() -> None:
        """Recovery fills the table from its changelog behind the state's back: queue it all once."""
        states.rebuild_expiry()
        held.clear()
        for account_id, partition, pending in states.stored("pending"):
            held.hold(partition, datetime.fromisoformat(pending["triggered_at"]), account_id)
        waiting_accounts.clear()
        for account_id, partition, records in states.stored("waiting"):
            waiting_accounts.wait(partition, waiting_order(records[0])[0], account_id)
        metrics.state_accounts.set(states.stored_count())
        log.info("account state ready: %d accounts with visit or cooldown state", states.stored_count())

    tracker = VisitTracker(
        settings, last_alerts_field(states), sessions_field(states), pending_field(states), release_others=False
    )
    waiting = waiting_field(states)
    committed_times = CommittedEventTimes()  # what the sweep judges by: see revisit/kafka/progress.py
    sink = store.hit_sink()
    # events whose rows are not yet stored, with the event time of the hits (None for markers)
    unstored: list[tuple[Any, float | None]] = []
    write_failure: list[str] = []  # why the last write failed, while it keeps failing (for /readyz)

    def store_and_acknowledge() -> bool:
        """One transaction for the buffered rows, then the state they came from, then the acks: an
        event is acknowledged only after what it caused is stored (at-least-once, idempotent).
        False when the database refused the rows: they, the state and the events stay as they are,
        to be written by a later call (a restarted or read-only database loses nothing).

        On the loop's own thread, without awaiting: a database thread competing with the busy loop
        for the interpreter lock made a 2,000-row write take 1.7 s instead of 70 ms (measured)."""
        if not unstored and not sink.pending:
            return True
        state = states.staged()
        try:
            new_alerts = store.write_rows(sink.pending)
        except DBAPIError as error:
            if not write_failure:
                log.error(
                    "cannot store hits (%s); holding %d events and retrying: %s",
                    type(error).__name__,
                    len(unstored),
                    str(error.orig).strip().splitlines()[0] if error.orig else error,
                )
            write_failure[:] = [f"cannot store hits: {type(error.orig or error).__name__}"]
            metrics.database_errors.labels("worker").inc()
            return False
        if write_failure:
            log.warning("storing hits again after a database failure")
            write_failure.clear()
        sink.take()
        events = list(unstored)
        unstored.clear()
        states.publish(state)  # only now: see AccountStateTable
        now = time.time()
        for event, event_time in events:
            if event_time is not None:  # a hit, stored now with or without its visit: its latency
                metrics.event_to_hit_stored.observe(max(0.0, now - event_time))
            event.ack()
        for alert in new_alerts:
            metrics.event_to_alert_stored.observe(max(0.0, now - alert.last_seen.timestamp()))
            metrics.alerts.labels(alert.tier.value).inc()
            if (end := window_ends.get(alert.alert_id)) is not None:
                metrics.window_to_alert_stored.observe(max(0.0, now - end.timestamp()))
        window_ends.clear()  # the alerts of this write (one already stored is no news)
        return True

    window_ends: dict[str, datetime] = {}  # alert id → the end of its grouping window, until stored
    agent_queue: list[Any] = []  # the track agent's input queue, once it runs
    unstored_since = [0.0]  # monotonic time the oldest unstored event came

    def note_unstored(event: Any, event_time: float | None) -> None:
        if not unstored:
            unstored_since[0] = time.monotonic()
        unstored.append((event, event_time))

    def close(alerts: list[Alert]) -> None:
        """Held alerts the watermark (or their account's next hit) has closed: stored now."""
        for alert in alerts:
            sink.add_alert(alert)
            end = held.closed(alert.account_id)
            if end is not None:
                window_ends[alert.alert_id] = end

    def take(partition: int, hit_key: str, matched: MatchedHit) -> None:
        """One hit into its account's visit and alert decisions, in event-time order."""
        observation = tracker.observe(matched)  # state changes are staged: see AccountStateTable
        sink.add_hit(hit_key, matched, observation.session, observation.page)
        close(observation.released)  # closed by this hit, which it does not carry
        if observation.triggered is not None:  # held, and stored once the watermark closes it
            held.hold(partition, matched.hit.timestamp, matched.match.account.account_id)

    def wait(partition: int, account_id: str, record: dict[str, Any]) -> None:
        """A hit waits in its account's state until the low watermark of every raw partition has
        passed it: hits of one account sent by several classify stages are taken in event-time order."""
        kept_records = waiting.get(account_id) or []
        if any(kept["hit_key"] == record["hit_key"] for kept in kept_records):
            return  # sent again after a stage's crash or rebalance
        # a new list (the staged one may be the published state's), kept in order: the new
        # record's place by bisection, not every record's time parsed again
        records = list(kept_records)
        bisect.insort(records, record, key=waiting_order)
        waiting[account_id] = records
        waiting_accounts.wait(partition, waiting_order(records[0])[0], account_id)

    def go_on(partition: int, lows: Lows) -> None:
        """A marker moved the partition's low watermarks: the held alerts whose window the release
        watermark has passed close (an account's alert waits for its own hits before the window's
        end still waiting), then the waiting hits below the hits' watermark are taken.

        Alerts first: when every raw partition goes idle, the last minute of hits comes due at
        once (~6,000 at 1,000 lines/s), and an alert due by the clock that waited behind them left
        up to 61.5 s after its window's end against the promised 61 (bench, 2026-12-02). An alert
        closed before its account's later hits are taken is the same alert: those hits are after
        its window, which never carries them. At most ``MARKER_ACCOUNTS`` accounts' alerts and as
        many accounts' hits a marker, hits for ``MARKER_HITS_SECONDS`` at most, the earliest
        first; the rest at the partition's next marker, a quarter of a second later."""
        if lows.release is not None:
            for account_id in held.due(partition, lows.release, MARKER_ACCOUNTS):
                still = waiting.get(account_id)
                limit = min(lows.release, waiting_order(still[0])[0]) if still else lows.release
                closed = tracker.release_due(limit, account_id)
                close(closed)
                pending = tracker.pending.get(account_id)
                if not closed and pending is not None:
                    held.hold(partition, pending.triggered_at, account_id)  # closes after its hits
        hits_low = lows.hits
        if hits_low is None and lows.idle:
            # Every stage idle without a line read since it started (a restart with nothing new to
            # read): the hits a stopped worker left waiting go on by the release watermark, the
            # clock's, without it becoming the hits' watermark (a backlog shipped next is not late).
            # Before, they waited for the next line shipped, however long that took.
            hits_low = lows.release
        if hits_low is None:
            return
        taken, until = 0, time.perf_counter() + MARKER_HITS_SECONDS
        while taken < MARKER_ACCOUNTS and time.perf_counter() < until:
            accounts = waiting_accounts.due(partition, hits_low, MARKER_SLICE)
            if not accounts:
                return
            taken += len(accounts)
            for account_id in accounts:
                take_waiting(partition, account_id, hits_low)

    def take_waiting(partition: int, account_id: str, hits_low: datetime) -> None:
        """The account's waiting hits below the hits' watermark, taken in event-time order."""
        records = waiting.get(account_id) or []
        due = [record for record in records if waiting_order(record)[0] < hits_low]
        rest = records[len(due) :]
        for record in due:
            try:
                take(partition, *matched_from_record(record, classifier.index))
            except UnknownAccount:  # the list was changed since it came: as on arrival
                log.warning("waiting hit for account %s, which this worker's list no longer holds", account_id)
        if rest:
            waiting[account_id] = rest
            waiting_accounts.wait(partition, waiting_order(rest[0])[0], account_id)
        elif records:
            del waiting[account_id]

    track_seconds = metrics.processing.labels("track")

    @app.agent(matched_topic)
    async def track(stream: faust.StreamT) -> None:
        agent_queue[:] = [stream.channel.queue]  # type: ignore[attr-defined]
        # faust.StreamT does not declare noack(), which every Stream an agent is given has
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            started = time.perf_counter()
            partition = event.message.partition
            report = marker_of(event.value)
            if report is not None:
                if report.hits_watermark is not None:
                    source = (report.raw_partitions, report.hits_watermark)
                    committed_times.read_marker(partition, event.message.offset, source)
                # hits go on and held alerts close when the low watermarks pass them, not on their
                # account's next hit; the state changes are staged and stored like a hit's
                go_on(partition, low_watermarks.report(partition, report, time.monotonic()))
                note_unstored(event, None)
                continue
            try:
                hit_key, matched = matched_from_record(event.value, classifier.index)
            except UnknownAccount as error:
                log.warning("matched hit for account %s, which this worker's list does not hold", error)
                event.ack()
                continue
            committed_times.read(partition, event.message.offset, matched.hit.timestamp, source_of(event.value))
            account_id = matched.match.account.account_id
            states.note_partition(account_id, partition)
            hits_low = low_watermarks.lows(partition).hits
            if hits_low is not None and matched.hit.timestamp < hits_low:
                take(partition, hit_key, matched)  # late: taken as it comes (README, "Event time")
            else:
                # stored at once, without its visit; taken into it once the watermarks pass it
                sink.add_early_hit(hit_key, matched, tracker.scorer.weigh(matched.hit.path).label)
                wait(partition, account_id, event.value)
            note_unstored(event, matched.hit.timestamp.timestamp())
            if len(unstored) >= worker.store_batch:
                while not store_and_acknowledge():  # back-pressure: read nothing more until stored
                    await asyncio.sleep(DATABASE_RETRY_SECONDS)
            track_seconds.observe(time.perf_counter() - started)

    @app.timer(interval=worker.store_interval_seconds)
    async def store_pending_rows() -> None:
        if not backlog():
            store_and_acknowledge()

    def backlog() -> bool:
        """``BACKLOG_EVENTS`` or more matched events are queued for ``track`` and the rows waiting
        are younger than ``BACKLOG_STORE_SECONDS``: they go with the next ones, in one larger
        transaction. Never while a closed alert waits: its promise is its window's end +
        max_disorder_seconds + 1 s."""
        queue = agent_queue[0] if agent_queue else None
        if queue is None or queue.qsize() < BACKLOG_EVENTS or not unstored or window_ends:
            return False
        return time.monotonic() - unstored_since[0] < BACKLOG_STORE_SECONDS

    @app.timer(interval=worker.forget_interval_seconds)
    async def forget_ended_visits() -> None:
        """State of visits that are over (in event time) leaves the table: memory stays bounded by
        the accounts active lately, not by every account ever seen."""
        committed_times.commit(
            (tp.partition, offset)
            for tp, offset in app.monitor.tp_committed_offsets.items()
            if tp.topic == kafka.matched_topic
        )
        # never past the hits still waiting for every raw partition's watermark: a visit they
        # continue must not be forgotten before they are taken
        watermarks = {
            partition: min(watermark, hits_low)
            for partition, watermark in committed_times.watermarks().items()
            if (hits_low := low_watermarks.lows(partition).hits) is not None
        }
        if not watermarks:
            return
        started = time.perf_counter()
        due = states.due_accounts(watermarks)  # only these: see revisit/kafka/expiry.py
        for start in range(0, len(due), SWEEP_SLICE):
            states.forget_expired(watermarks, due[start : start + SWEEP_SLICE])
            await changelog_sent()
        metrics.state_accounts.set(states.stored_count())
        metrics.sweep.observe(time.perf_counter() - started)

    async def changelog_sent() -> None:
        """Wait until the changelog records written so far are mostly on their way.

        Faust stops every stream while its producer buffer holds over 100 records, until it is
        back under 100. A sweep that forgot 1,300 accounts at once filled it with 1,300 records
        and stalled events for ~0.7 s twice a minute, the soak's p99 (2026-11-24). Forgetting
        a slice at a time and letting the buffer drain in between keeps events flowing."""
        buffer = app.producer.buffer
        waited_until = time.monotonic() + CHANGELOG_WAIT_LIMIT_SECONDS
        await asyncio.sleep(0)
        while buffer.size > CHANGELOG_QUEUE_CALM and time.monotonic() < waited_until:
            await asyncio.sleep(0.005)

    group_offsets = GroupOffsets(kafka.bootstrap_servers, worker.app_id)
    lag_labelled: set[int] = set()

    @app.timer(interval=worker.lag_interval_seconds)
    async def measure_lag() -> None:
        """Matched-topic lag per assigned partition against the group's offsets committed on the
        broker: right after a restart too, when this process has read nothing yet (it used to
        show the whole topic as lag then)."""
        assigned = {tp for tp in app.consumer.assignment() if tp.topic == kafka.matched_topic}
        for partition in lag_labelled - {tp.partition for tp in assigned}:  # moved to another worker
            metrics.consumer_lag.remove(kafka.matched_topic, str(partition))
            lag_labelled.discard(partition)
        highwaters = {tp: app.consumer.highwater(tp) for tp in assigned}
        known = {tp: highwater for tp, highwater in highwaters.items() if highwater is not None}
        if not known:
            return
        committed = await group_offsets.committed(kafka.matched_topic)
        if committed is None:
            return
        missing = [tp for tp in known if tp.partition not in committed]
        earliest = await app.consumer.earliest_offsets(*missing) if missing else {}
        for tp, highwater in known.items():
            done = committed.get(tp.partition, earliest.get(tp, 0))
            metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - done))
            lag_labelled.add(tp.partition)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        families: Any = metrics.registry
        if other_metrics is not None:
            families = MergedRegistry(merged_families(metrics.registry.collect(), await other_metrics()))
        return web.bytes(generate_latest(families), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def ready_page(web: Any, request: Any) -> Any:
        status, body = readiness_body(checks)
        return web.bytes(body, content_type="application/json", status=status)

    checks["database"] = store.problem
    checks["storing"] = lambda: write_failure[0] if write_failure else None
    checks["stream"] = lambda: stream_problem(app)
    return app


def stream_problem(app: faust.App) -> str | None:
    """A readiness check: None once the matched topic's partitions are assigned and the account
    state recovered from its changelog (after the first assignment and after every rebalance).
    Faust's ``rebalancing`` flag alone turned false before recovery, so /readyz said 200 while
    the state was still being read back."""
    if not app.started:
        return "starting"
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    if not recovery.completed.is_set():
        return "matched-topic partitions not assigned yet or account state not recovered"
    if app.rebalancing or recovery.in_recovery:
        return "tables are being recovered after a rebalance"
    return None


def run_worker(
    settings: Settings,
    classifier: HitClassifier,
    store: Store,
    metrics: RevisitMetrics,
    sender: SenderThread | None = None,
    ledger: StreamLedger | None = None,
) -> int:
    """Run until SIGTERM or SIGINT: Faust finishes the events in flight, commits and closes.
    ``sender``, when given, delivers the outbox in a thread of this process meanwhile; ``ledger``,
    when given, learns the sign-ins of the raw lines (``revisit.kafka.ledger_learning``)."""
    # first: fork() before the Faust app makes its event loop and threads
    child = fork_classify_stage(
        StageParts(settings, classifier, metrics, store, ledger, store.forget_inherited_connections)
    )
    classify_process = ClassifyProcess(child)
    try:
        checks: dict[str, ReadinessCheck] = {"raw_topic": classify_process.problem}
        app = build_app(settings, classifier, store, metrics, checks, classify_process.metric_families)
        classify_process.loop = app.loop
        # override_logging=False: the process's logging (revisit.logs) stays as configured.
        worker = faust.Worker(app, classify_process, quiet=True, override_logging=False)
        # Faust's start-up spinner sets the root logger to DEBUG for good, and building every debug
        # record of aiokafka and Faust then costs a large share of the CPU.
        worker.spinner = None
        if sender is not None:
            sender.start()
        worker.execute_from_commandline()
    except SystemExit as stop:
        code = 1 if classify_process.failed else int(stop.code or 0)
        if code == 0:
            log.info("worker stopped: the events in flight finished, offsets committed (exit 0)")
        return code
    finally:
        if sender is not None:
            sender.stop()
        child.stop()
    return 1 if classify_process.failed else 0
