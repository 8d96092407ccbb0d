"""What a worker's bars show is true (issue 20, point 4), on a real broker: offsets committed while
the stream is quiet, lag against the offsets committed on the broker (right after a restart too),
and /readyz 200 only once partitions are assigned and the account state is recovered."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import aiokafka
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner.default import murmur2
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from revisit.cli import main
from revisit.kafka.classify_stage import fetch_in_step
from tests.conftest import APACHE_LOG
from tests.test_worker import TEST_IDLE_SECONDS, Setup, get, get_json

pytestmark = pytest.mark.kafka


def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[dict[int, int], dict[int, int]]:
    """(partition → the group's offset committed on the broker, partition → end offset)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = {
            tp.partition: meta.offset
            for tp, meta in admin.list_group_offsets({group: None})[group].items()
            if tp.topic == topic and meta.offset >= 0
        }
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(4)])
        # an empty partition has nothing to commit: its offset counts as 0
        return {p: committed.get(p, 0) for p in range(4)}, {tp.partition: offset for tp, offset in ends.items()}
    finally:
        admin.close()
        consumer.close()


def group_state(bootstrap: str, group: str) -> tuple[str, int]:
    """(the group's state, members): "Stable" once the broker has handed out the partitions."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
        return description["group_state"], len(description["members"])
    finally:
        admin.close()


def lag_gauges(port: int) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["topic"], sample.labels["partition"]): sample.value
        for family in text_string_to_metric_families(get(port, "/metrics"))
        for sample in family.samples
        if sample.name == "revisit_consumer_lag_messages"
    }


def first_ready(setup: Setup, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _body = get_json(port, "/readyz")
        except OSError:  # not listening yet
            status = 0
        if status == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"/readyz never 200\n{setup.worker_logs()}")


def test_readiness_commits_and_lag_tell_the_truth(bootstrap, tmp_path, replayed) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.start_worker()
    try:
        first_ready(setup, setup.web_ports[0])
        # the moment /readyz first says 200, both stages' groups have handed out their partitions
        assert group_state(bootstrap, f"{setup.name}-app-classify") == ("Stable", 1)
        assert group_state(bootstrap, f"{setup.name}-app") == ("Stable", 1)
        setup.ship(APACHE_LOG)
        setup.assert_same_as_replay(replayed)
        # quiet now: both stages commit within their commit intervals while nothing comes, so the
        # offsets committed on the broker pass the ends seen now. The matched topic's end itself
        # moves on (the classify stage's watermark markers, four a second): equality with the end
        # of the moment was a race, lost by 5 markers on every partition on a loaded machine
        _, raw_end = committed_and_end(bootstrap, f"{setup.name}-app-classify", setup.raw)
        _, matched_end = committed_and_end(bootstrap, f"{setup.name}-app", f"{setup.name}-m")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw, _ = committed_and_end(bootstrap, f"{setup.name}-app-classify", setup.raw)
            matched, _ = committed_and_end(bootstrap, f"{setup.name}-app", f"{setup.name}-m")
            if all(raw[p] >= raw_end[p] and matched[p] >= matched_end[p] for p in range(4)):
                break
            time.sleep(0.5)
        assert raw == raw_end, (raw, raw_end)  # no marker on the raw topic: its end stood still
        assert all(matched[p] >= matched_end[p] for p in range(4)), (matched, matched_end)
        # a restarted worker: lag 0 on every partition of both topics from its first figures
        process = setup.workers[0]
        process.terminate()
        assert process.wait(timeout=60) == 0, setup.worker_logs()
        setup.start_worker(import_accounts=False)
        port = setup.web_ports[-1]
        first_ready(setup, port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(gauges := lag_gauges(port)) < 8:
            time.sleep(0.2)
        # the raw topic stands still: lag 0; on the matched topic, once every raw partition is idle
        # (stream.idle_seconds), markers come on four a second and at most those since the last
        # commit are behind (before, a restarted worker showed every record of the topic as lag)
        assert {key: lag for key, lag in gauges.items() if key[0] == setup.raw} == {
            (setup.raw, str(p)): 0.0 for p in range(4)
        }
        matched_lags = {key: lag for key, lag in gauges.items() if key[0] == f"{setup.name}-m"}
        assert sorted(matched_lags) == [(f"{setup.name}-m", str(p)) for p in range(4)]
        assert all(lag <= 8 for lag in matched_lags.values()), matched_lags
    finally:
        setup.stop_all()


def partition_of(address: str) -> int:
    """The raw partition ``revisit ship`` writes an address's lines to (the client's default partitioner)."""
    return (murmur2(address.encode()) & 0x7FFFFFFF) % 4


def visit_line(address: str, at: str, path: str) -> str:
    return (
        f'{address} - - [20/Nov/2026:{at} +0900] "GET {path} HTTP/1.1" 200 2048 "-" '
        '"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"\n'
    )


def test_one_account_from_three_partitions_gives_replays_alert(bootstrap, tmp_path) -> None:
    """One company (E01's network) visiting from three addresses on three raw partitions, pages
    interleaved in time, one page after the grouping window, a fourth partition quiet: the stored
    alerts (ids, pages, scores) and hits equal replay's of the merged log."""
    addresses = []
    for host in range(1, 255):
        address = f"108.171.116.{host}"
        if partition_of(address) not in {partition_of(a) for a in addresses}:
            addresses.append(address)
        if len(addresses) == 3:
            break
    a, b, c = addresses
    lines = [
        visit_line(a, "10:00:00", "/"),
        visit_line(b, "10:00:20", "/projects/xdotool/"),  # the trigger: the window ends at 10:10:20
        visit_line(c, "10:00:40", "/files/release-notes"),
        visit_line(a, "10:05:00", "/blog/geekery/b.html"),
        visit_line(c, "10:10:19", "/projects/grok/"),
        visit_line(b, "10:10:25", "/files/changelog"),  # after the window: in the visit, not in the alert
        visit_line(a, "10:40:00", "/"),
    ]
    log = tmp_path / "merged.log"
    log.write_text("".join(lines), encoding="utf-8")
    setup = Setup(bootstrap, tmp_path)
    jsonl = tmp_path / "replay.jsonl"
    arguments = ["replay", str(log), "--accounts", str(setup.accounts), "--config", str(setup.config)]
    assert main([*arguments, "--db", f"sqlite:///{tmp_path / 'replay.sqlite'}", "--alerts-jsonl", str(jsonl)]) == 0
    replayed = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [alert["pages"] for alert in replayed] == [
        ["/", "/projects/xdotool/", "/files/release-notes", "/blog/geekery/b.html", "/projects/grok/"]
    ]
    setup.ship(log)
    setup.start_worker()
    try:
        setup.wait_for_hits(len(lines))
        engine = create_engine(setup.db)
        with engine.connect() as connection:
            stored = [
                (row[0], row[1], json.loads(row[2])["pages"])
                for row in connection.execute(text("SELECT alert_id, score, payload FROM alerts"))
            ]
            hits = connection.execute(text("SELECT count(*) FROM hits")).scalar_one()
        engine.dispose()
        assert stored == [(alert["alert_id"], alert["score"], alert["pages"]) for alert in replayed]
        assert hits == len(lines)
    finally:
        setup.stop_all()


def test_a_hit_is_stored_before_the_watermark_passes_it(bootstrap, tmp_path) -> None:
    """Hits are stored at once; only visits and alerts wait for the watermark. Three raw
    partitions never read (idle only after an hour) hold the watermark back: the hit is stored
    all the same, without a visit, and no session or alert is decided from it yet."""
    setup = Setup(bootstrap, tmp_path)
    with setup.config.open("a", encoding="utf-8") as config:
        config.write("\n[stream]\nidle_seconds = 3600\n")
    log = tmp_path / "one.log"
    log.write_text(visit_line("108.171.116.1", "10:00:00", "/projects/xdotool/"), encoding="utf-8")
    setup.ship(log)
    setup.start_worker()
    engine = create_engine(setup.db)
    query = text("SELECT account_id, path, session_id FROM hits")
    try:
        deadline = time.monotonic() + 90
        stored: list = []
        while time.monotonic() < deadline and not stored:
            time.sleep(0.2)
            try:
                with engine.connect() as connection:
                    stored = [tuple(row) for row in connection.execute(query)]
            except Exception:  # the worker has not created the schema yet
                stored = []
        assert stored == [("E01", "/projects/xdotool/", None)], setup.worker_logs()
        with engine.connect() as connection:
            decided = [
                connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("sessions", "alerts")
            ]
        assert decided == [0, 0]
    finally:
        engine.dispose()
        setup.stop_all()


def address_on(partition: int, network: str = "198.51.100") -> str:
    """An address of ``network`` whose lines go to raw ``partition`` (198.51.100.0/24, a
    documentation range, is filtered: its lines only move the event time)."""
    return next(f"{network}.{host}" for host in range(1, 255) if partition_of(f"{network}.{host}") == partition)


def traffic_on_every_partition(at: str) -> list[str]:
    """A line on each of the four raw partitions at ``at``: every partition's event time reaches it."""
    return [visit_line(address_on(partition), at, "/") for partition in range(4)]


HELD_VISIT = [  # E01's visit: the trigger at 10:00:20, so its grouping window ends at 10:10:20
    visit_line("108.171.116.7", "10:00:00", "/"),
    visit_line("108.171.116.7", "10:00:20", "/projects/xdotool/"),
    visit_line("108.171.116.7", "10:03:00", "/files/release-notes"),
]


def replay_of(setup: Setup, *parts: list[str]) -> tuple[list[tuple[str, int, list[str]]], list[tuple]]:
    """(alerts as (id, score, pages), sessions) that `revisit replay` makes of the parts merged."""
    log = setup.tmp_path / "merged.log"
    log.write_text("".join(line for part in parts for line in part), encoding="utf-8")
    jsonl, database = setup.tmp_path / "replay.jsonl", f"sqlite:///{setup.tmp_path / 'replay.sqlite'}"
    arguments = ["replay", str(log), "--accounts", str(setup.accounts), "--config", str(setup.config)]
    assert main([*arguments, "--db", database, "--alerts-jsonl", str(jsonl)]) == 0
    alerts = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    return [(alert["alert_id"], alert["score"], alert["pages"]) for alert in alerts], stored_sessions(database)


def stored_sessions(database: str) -> list[tuple]:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text("SELECT session_id, account_id, page_count, score FROM sessions ORDER BY session_id")
                )
            ]
    finally:
        engine.dispose()


def stored_alerts(setup: Setup) -> list[tuple[str, int, list[str]]]:
    engine = create_engine(setup.db)
    try:
        with engine.connect() as connection:
            return [
                (row[0], row[1], json.loads(row[2])["pages"])
                for row in connection.execute(text("SELECT alert_id, score, payload FROM alerts ORDER BY alert_id"))
            ]
    except Exception:  # the worker has not created the schema yet
        return []
    finally:
        engine.dispose()


def ship_lines(setup: Setup, name: str, lines: list[str]) -> None:
    log = setup.tmp_path / name
    log.write_text("".join(lines), encoding="utf-8")
    setup.ship(log)


def wait_for_alerts(setup: Setup, count: int, timeout: float = 120) -> list[tuple[str, int, list[str]]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(alerts := stored_alerts(setup)) >= count:
            return alerts
        time.sleep(0.3)
    raise AssertionError(f"{stored_alerts(setup)} after {timeout} s\n{setup.worker_logs()}\n{setup.worker_metrics()}")


def held_alert_setup(bootstrap: str, tmp_path) -> Setup:
    """A worker's topics and config where no raw partition turns idle: only event time moves the watermark."""
    setup = Setup(bootstrap, tmp_path)
    with setup.config.open("a", encoding="utf-8") as config:
        config.write("\n[stream]\nidle_seconds = 3600\n")
    return setup


def assert_held_then_closed_by_others_traffic(setup: Setup, kill_while_held: bool) -> None:
    """E01's visit is taken and its alert held (not stored) while the watermark is inside the window;
    traffic of others on every partition moves the watermark past the window's end, and the alert
    is stored with replay's id, score and pages, without a later hit of E01."""
    before, after = [*HELD_VISIT, *traffic_on_every_partition("10:05:00")], traffic_on_every_partition("10:12:00")
    replayed_alerts, replayed_sessions = replay_of(setup, before, after)
    assert [pages for _id, _score, pages in replayed_alerts] == [["/", "/projects/xdotool/", "/files/release-notes"]]
    ship_lines(setup, "before.log", before)
    setup.start_worker()
    setup.wait_for_hits(len(HELD_VISIT))  # taken by the event-time order: the watermark is at 10:04
    assert stored_alerts(setup) == []  # held: the window ends at 10:10:20
    if kill_while_held:
        time.sleep(3)  # a commit interval: the state's changelog and the offsets are written
        setup.workers[0].send_signal(signal.SIGKILL)
        setup.workers[0].wait(timeout=30)
        setup.start_worker(import_accounts=False)
    ship_lines(setup, "after.log", after)
    assert wait_for_alerts(setup, 1) == replayed_alerts
    setup.wait_for_hits(len(HELD_VISIT))
    assert (setup.counts(), stored_sessions(setup.db)) == ((len(HELD_VISIT), 1), replayed_sessions)


def test_a_held_alert_closes_when_the_watermark_passes_its_window(bootstrap, tmp_path) -> None:
    setup = held_alert_setup(bootstrap, tmp_path)
    try:
        assert_held_then_closed_by_others_traffic(setup, kill_while_held=False)
    finally:
        setup.stop_all()


def test_sigkill_while_an_alert_is_held_gives_replays_alert(bootstrap, tmp_path) -> None:
    setup = held_alert_setup(bootstrap, tmp_path)
    try:
        assert_held_then_closed_by_others_traffic(setup, kill_while_held=True)
    finally:
        setup.stop_all()


def all_hits_stored(setup: Setup) -> int:
    """Hits stored, with or without their visit (a hit is stored from its early copy at once)."""
    engine = create_engine(setup.db)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM hits")).scalar_one()
    except Exception:  # the worker has not created the schema yet
        return 0
    finally:
        engine.dispose()


def test_two_workers_order_one_accounts_hits_from_partitions_each_owns(bootstrap, tmp_path) -> None:
    """The interleaved visit of three addresses with two workers: raw partitions 0 and 1 are read
    by one classify stage, 2 and 3 by the other, so the hits reach the tracker from two stages out
    of step (partition 3 holds the second one back at 10:00:30 - 60 s while the first sends up to
    10:09:19); the tracker takes them in event-time order by the low watermark of every raw
    partition: replay's alert (id, pages, score), hits and sessions."""
    a, c, b = (address_on(partition, "108.171.116") for partition in (0, 1, 2))
    visit = [
        visit_line(a, "10:00:00", "/"),
        visit_line(b, "10:00:20", "/projects/xdotool/"),  # the trigger: the window ends at 10:10:20
        visit_line(address_on(3), "10:00:30", "/"),  # another visitor: partition 3 has reached 10:00:30
        visit_line(c, "10:00:40", "/files/release-notes"),
        # sent by the first stage long before the true trigger: taken first, this page would
        # trigger the alert itself, with another id
        visit_line(a, "10:02:00", "/projects/grok/"),
        visit_line(c, "10:10:19", "/blog/geekery/b.html"),
        visit_line(b, "10:10:25", "/files/changelog"),  # after the window: in the visit, not in the alert
        visit_line(a, "10:40:00", "/"),
    ]
    later = traffic_on_every_partition("11:00:00")  # moves every partition's watermark past the visit
    setup = held_alert_setup(bootstrap, tmp_path)
    replayed_alerts, replayed_sessions = replay_of(setup, visit, later)
    assert [pages for _id, _score, pages in replayed_alerts] == [
        ["/", "/projects/xdotool/", "/files/release-notes", "/projects/grok/", "/blog/geekery/b.html"]
    ]
    hits = len(visit) - 1
    setup.start_worker()
    setup.start_worker()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (
            group_state(bootstrap, f"{setup.name}-app-classify") != ("Stable", 2)
            or group_state(bootstrap, f"{setup.name}-app") != ("Stable", 2)
        ):
            time.sleep(0.5)
        ship_lines(setup, "visit.log", visit)
        while time.monotonic() < deadline and all_hits_stored(setup) < hits:  # both stages have read it
            time.sleep(0.3)
        ship_lines(setup, "later.log", later)
        assert wait_for_alerts(setup, 1) == replayed_alerts
        setup.wait_for_hits(hits)
        assert (setup.counts(), stored_sessions(setup.db)) == ((hits, 1), replayed_sessions)
    finally:
        setup.stop_all()


def waiting_in_changelog(setup: Setup, account_id: str) -> list[str]:
    """The paths of ``account_id``'s hits waiting in its account-state record, as the state's
    changelog topic (what a restarted worker recovers from) last holds it."""
    consumer = KafkaConsumer(bootstrap_servers=setup.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    topic = f"{setup.name}-app-account-state-changelog"
    try:
        partitions = [TopicPartition(topic, partition) for partition in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        latest = None
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for messages in consumer.poll(timeout_ms=1000).values():
                for message in messages:
                    if message.key and json.loads(message.key) == account_id:  # Faust's JSON of the key
                        latest = message.value
        record = json.loads(latest) if latest else {}  # the record's JSON bytes as they are (None: deleted)
        return [hit["hit"][3] for hit in record.get("waiting") or []]
    finally:
        consumer.close()


def test_sigkill_while_hits_wait_in_the_trackers_state_gives_replays_alert(bootstrap, tmp_path) -> None:
    """E01's hits are stored (without their visit) and wait in E01's changelog-backed state while
    three raw partitions never read hold the watermark back; the worker is SIGKILLed then. After a
    restart, traffic of others on every partition moves the watermark past the grouping window:
    the recovered hits are taken in order, and the stored alert, hits and sessions equal replay's."""
    setup = held_alert_setup(bootstrap, tmp_path)
    after = traffic_on_every_partition("10:12:00")
    replayed_alerts, replayed_sessions = replay_of(setup, HELD_VISIT, after)
    ship_lines(setup, "visit.log", HELD_VISIT)
    setup.start_worker()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and all_hits_stored(setup) < len(HELD_VISIT):
            time.sleep(0.3)
        assert (all_hits_stored(setup), setup.counts()) == (len(HELD_VISIT), (0, 0)), setup.worker_logs()
        paths = [line.split('"GET ')[1].split(" ")[0] for line in HELD_VISIT]
        while time.monotonic() < deadline and waiting_in_changelog(setup, "E01") != paths:
            time.sleep(0.5)
        assert waiting_in_changelog(setup, "E01") == paths
        setup.workers[0].send_signal(signal.SIGKILL)
        setup.workers[0].wait(timeout=30)
        setup.start_worker(import_accounts=False)
        ship_lines(setup, "after.log", after)
        assert wait_for_alerts(setup, 1) == replayed_alerts
        setup.wait_for_hits(len(HELD_VISIT))
        assert (setup.counts(), all_hits_stored(setup), stored_sessions(setup.db)) == (
            (len(HELD_VISIT), 1),
            len(HELD_VISIT),
            replayed_sessions,
        )
    finally:
        setup.stop_all()


def test_a_restart_with_nothing_new_to_read_takes_the_hits_left_waiting(bootstrap, tmp_path) -> None:
    """E01's hits wait in its state (no raw partition idle) when the worker is stopped; restarted
    with nothing new shipped, its partitions turn idle without a line read: the recovered hits are
    taken and the alert closes by the clock, replay's, without another visitor (they waited for
    the next line shipped, found by a new user, 2026-12-02)."""
    setup = held_alert_setup(bootstrap, tmp_path)
    replayed_alerts, replayed_sessions = replay_of(setup, HELD_VISIT)
    ship_lines(setup, "visit.log", HELD_VISIT)
    setup.start_worker()
    try:
        deadline = time.monotonic() + 90
        paths = [line.split('"GET ')[1].split(" ")[0] for line in HELD_VISIT]
        while time.monotonic() < deadline and waiting_in_changelog(setup, "E01") != paths:
            time.sleep(0.5)
        assert waiting_in_changelog(setup, "E01") == paths, setup.worker_logs()
        setup.stop_all()
        setup.config.write_text(
            setup.config.read_text(encoding="utf-8").replace(
                "idle_seconds = 3600", f"idle_seconds = {TEST_IDLE_SECONDS}"
            ),
            encoding="utf-8",
        )
        setup.start_worker(import_accounts=False)
        assert wait_for_alerts(setup, 1) == replayed_alerts
        setup.wait_for_hits(len(HELD_VISIT))
        assert (setup.counts(), stored_sessions(setup.db)) == ((len(HELD_VISIT), 1), replayed_sessions)
    finally:
        setup.stop_all()


def test_a_backlog_is_read_from_every_raw_partition_in_step(bootstrap, tmp_path) -> None:
    """A backlog of 3,000 lines on each of 4 raw partitions, fetched 4 MB at a time: the classify
    stage takes at most a quarter of its 5,000-line batch from each, so no partition runs more
    than two shares (2,500 lines) ahead of another. aiokafka alone drained one partition and half
    the next first (3,000 lines apart): a partition hours of event time ahead, whose hits all
    waited for the others' watermark in their accounts' state."""
    setup = Setup(bootstrap, tmp_path)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    for partition in range(4):
        for number in range(3000):
            producer.send(setup.raw, value=f"{partition} {number}".encode(), partition=partition)
    producer.flush()
    producer.close()

    async def read() -> tuple[list[int], dict[int, list[int]]]:
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=bootstrap, auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024
        )
        await consumer.start()
        consumer.assign([aiokafka.TopicPartition(setup.raw, partition) for partition in range(4)])
        read = {partition: [] for partition in range(4)}
        gaps = []
        try:
            while sum(map(len, read.values())) < 4 * 3000:
                for tp, records in (await fetch_in_step(consumer, 5000, 1000)).items():
                    read[tp.partition].extend(int(record.value.split()[1]) for record in records)
                counts = [len(numbers) for numbers in read.values()]
                if min(counts) < 3000:  # while every partition still has lines
                    gaps.append(max(counts) - min(counts))
        finally:
            await consumer.stop()
        return gaps, read

    gaps, read = asyncio.run(read())
    assert read == {partition: list(range(3000)) for partition in range(4)}
    assert max(gaps) <= 2500, gaps
