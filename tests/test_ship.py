"""``revisit ship`` and ``revisit topics`` against the real Apache Kafka broker started by tests/run.sh."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from revisit.cli import main
from tests.conftest import APACHE_LOG
from tests.test_bounded_input import HEAD, PEAK_RSS_LIMIT, run_measured, write_with_giant_line

pytestmark = pytest.mark.kafka


@pytest.fixture
def topic(bootstrap: str, tmp_path: Path) -> str:
    name = f"raw-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "kafka.toml"
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\nraw_topic = "{name}"\n'
        f'matched_topic = "{name}-matched"\ndead_letter_topic = "{name}-dlq"\npartitions = 4\n',
        encoding="utf-8",
    )
    assert main(["topics", "create", "--config", str(config)]) == 0
    return name


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[tuple[bytes, bytes, int]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=2000
    )
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records: list[tuple[bytes, bytes, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=1000, max_records=5000)
        for messages in batch.values():
            records.extend((m.key, m.value, m.partition) for m in messages)
        if len(records) >= expected and not batch:
            break
    consumer.close()
    return records


def wait_until_shipped(bootstrap: str, topic: str, lines: list[bytes], timeout: float = 180) -> None:
    """Wait until every one of ``lines`` is on the topic: the follower has caught up.

    Rotation and copytruncate are only safe for lines the follower has read (logrotate's own
    caveat for copytruncate), so the test waits for that instead of sleeping a guessed time,
    which lost 600 lines on a loaded machine where the follower started late.
    """
    wanted = {line.rstrip(b"\n") for line in lines}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {value for _key, value, _partition in consume_all(bootstrap, topic, 0, timeout=3)}
        if wanted <= seen:
            return
    raise AssertionError(f"{len(wanted - seen)} lines not shipped within {timeout} s")


def ship(bootstrap: str, topic: str, checkpoint: Path, *logs: str, follow: bool = False) -> list[str]:
    return [
        sys.executable,
        "-m",
        "revisit",
        "ship",
        *logs,
        "--topic",
        topic,
        "--bootstrap",
        bootstrap,
        "--checkpoint",
        str(checkpoint),
        *(["--follow"] if follow else []),
    ]


def test_topics_are_created_once(bootstrap: str, tmp_path: Path, capsys) -> None:
    name = f"raw-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "kafka.toml"
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\nraw_topic = "{name}"\n'
        f'matched_topic = "{name}-m"\ndead_letter_topic = "{name}-dlq"\n',
        encoding="utf-8",
    )
    assert main(["topics", "create", "--config", str(config), "--partitions", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{name}: created, 3 partitions",
        f"{name}-m: created, 3 partitions",
        f"{name}-dlq: created, 3 partitions",
    ]
    assert main(["topics", "create", "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{name}: exists, 3 partitions",
        f"{name}-m: exists, 3 partitions",
        f"{name}-dlq: exists, 3 partitions",
    ]


def test_a_real_log_is_shipped_whole_keyed_by_client(bootstrap: str, topic: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ship(bootstrap, topic, tmp_path / "ckpt.json", str(APACHE_LOG)), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "shipped 10,000 lines" in result.stdout
    records = consume_all(bootstrap, topic, 10_000)
    lines = APACHE_LOG.read_bytes().splitlines()
    assert Counter(value for _key, value, _p in records) == Counter(lines)
    partitions_by_key: dict[bytes, set[int]] = {}
    for key, _value, partition in records:
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())  # one visitor, one partition, in order
    assert b"50.139.66.106" in partitions_by_key and len({p for s in partitions_by_key.values() for p in s}) == 4
    # nothing new: a second run sends nothing
    again = subprocess.run(
        ship(bootstrap, topic, tmp_path / "ckpt.json", str(APACHE_LOG)), capture_output=True, text=True, timeout=300
    )
    assert "shipped 0 lines" in again.stdout


def test_gzip_is_shipped_when_not_following(bootstrap: str, topic: str, tmp_path: Path) -> None:

    packed = tmp_path / "a.log.gz"
    lines = APACHE_LOG.read_bytes().splitlines()[:500]
    packed.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    assert subprocess.run(ship(bootstrap, topic, tmp_path / "c.json", str(packed)), timeout=120).returncode == 0
    assert sorted(v for _k, v, _p in consume_all(bootstrap, topic, 500)) == sorted(lines)


def test_follow_survives_sigkill_rotation_and_truncation(bootstrap: str, topic: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    source = APACHE_LOG.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(source[:1000]))
    checkpoint = tmp_path / "ckpt.json"

    first = subprocess.Popen(
        ship(bootstrap, topic, checkpoint, str(log), follow=True), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(4)
    with log.open("ab") as handle:
        handle.writelines(source[1000:1500])
    time.sleep(3)
    first.send_signal(signal.SIGKILL)  # no goodbye: the checkpoint is whatever was last acknowledged
    first.wait(timeout=30)

    with log.open("ab") as handle:
        handle.writelines(source[1500:2000])
    second = subprocess.Popen(
        ship(bootstrap, topic, checkpoint, str(log), follow=True), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_until_shipped(bootstrap, topic, source[:2000])
    log.rename(tmp_path / "access.log.1")  # logrotate: move away, then a new file
    with (tmp_path / "access.log.1").open("ab") as handle:
        handle.writelines(source[2000:2100])  # late lines written to the old file
    log.write_bytes(b"".join(source[2100:2600]))
    wait_until_shipped(bootstrap, topic, source[:2600])
    with log.open("r+b") as handle:  # copytruncate
        handle.truncate(0)
    time.sleep(2)
    log.write_bytes(b"".join(source[2600:2700]))
    wait_until_shipped(bootstrap, topic, source[:2700])
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()

    expected = Counter(line.rstrip(b"\n") for line in source[:2700])
    got = Counter(v for _k, v, _p in consume_all(bootstrap, topic, 2700))
    missing = expected - got
    assert not missing, f"{sum(missing.values())} lines lost"
    duplicates = sum((got - expected).values())
    assert duplicates <= 2000, duplicates  # at most the batch in flight when killed (ship.batch_lines)


def checkpoint_offset(checkpoint: Path, log: Path) -> int:
    return json.loads(checkpoint.read_text("utf-8"))[str(log.resolve())]["offset"]


def test_a_512_mib_line_is_skipped_in_bounded_memory(bootstrap: str, topic: str, tmp_path: Path) -> None:
    packed = tmp_path / "giant.log.gz"
    write_with_giant_line(packed)
    checkpoint = tmp_path / "ckpt.json"
    code, output, errors, peak = run_measured(ship(bootstrap, topic, checkpoint, str(packed)))
    assert code == 0, errors
    assert "Traceback" not in errors
    assert output.splitlines() == [f"shipped 200 lines to {topic}", "skipped 1 line: too_long 1"]
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
    assert Counter(v for _k, v, _p in consume_all(bootstrap, topic, 200)) == Counter(
        line.rstrip(b"\n") for line in HEAD
    )
    again = subprocess.run(ship(bootstrap, topic, checkpoint, str(packed)), capture_output=True, text=True)
    assert again.stdout.splitlines() == [f"shipped 0 lines to {topic}"]  # the checkpoint is past the line


def test_a_line_the_broker_refuses_as_too_large_is_skipped_and_passed(bootstrap: str, tmp_path: Path) -> None:
    name = f"small-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 2, 1, topic_configs={"max.message.bytes": "20000"})])
    admin.close()
    log = tmp_path / "access.log"
    refused = b"a" * 50_000 + b"\n"  # under the parser's limit, over this topic's
    log.write_bytes(b"".join(HEAD[:100]) + refused + b"".join(HEAD[100:]))
    checkpoint = tmp_path / "ckpt.json"
    result = subprocess.run(ship(bootstrap, name, checkpoint, str(log)), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"shipped 200 lines to {name}", "skipped 1 line: too_large_for_broker 1"]
    assert "Traceback" not in result.stderr
    assert Counter(v for _k, v, _p in consume_all(bootstrap, name, 200)) == Counter(line.rstrip(b"\n") for line in HEAD)
    assert checkpoint_offset(checkpoint, log) == log.stat().st_size
    again = subprocess.run(ship(bootstrap, name, checkpoint, str(log)), capture_output=True, text=True, timeout=300)
    assert again.stdout.splitlines() == [f"shipped 0 lines to {name}"]


def test_follow_skips_an_over_long_line_written_in_two_parts(bootstrap: str, topic: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(HEAD[:10]) + b"a" * 600_000)  # the long line's end is not written yet
    checkpoint = tmp_path / "ckpt.json"
    following = subprocess.Popen(
        ship(bootstrap, topic, checkpoint, str(log), follow=True),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "REVISIT_SHIP__WEB_PORT": "0"},
    )
    try:
        assert len(consume_all(bootstrap, topic, 10)) == 10
        with log.open("ab") as handle:
            handle.write(b"a" * 600_000 + b"\n")
            handle.writelines(HEAD[10:20])
        assert len(consume_all(bootstrap, topic, 20)) == 20
    finally:
        following.send_signal(signal.SIGTERM)
        out, err = following.communicate(timeout=60)
    assert following.returncode == 0, err.decode()
    assert out.decode().splitlines() == [f"shipped 20 lines to {topic}", "skipped 1 line: too_long 1"]
    assert Counter(v for _k, v, _p in consume_all(bootstrap, topic, 20)) == Counter(
        line.rstrip(b"\n") for line in HEAD[:20]
    )
    assert checkpoint_offset(checkpoint, log) == log.stat().st_size


def test_a_damaged_gzip_ships_what_it_holds_and_stops_clearly(bootstrap: str, topic: str, tmp_path: Path) -> None:
    packed = tmp_path / "cut.log.gz"
    whole = gzip.compress(APACHE_LOG.read_bytes())
    packed.write_bytes(whole[: len(whole) // 2])  # a copy that ended early
    not_gzip = tmp_path / "plain.log.gz"
    not_gzip.write_bytes(b"".join(HEAD))
    checkpoint = tmp_path / "ckpt.json"
    result = subprocess.run(ship(bootstrap, topic, checkpoint, str(packed)), capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"revisit: {packed}: gzip data ends early or is damaged")
    assert "Traceback" not in result.stderr
    shipped = checkpoint_offset(checkpoint, packed)
    lines = APACHE_LOG.read_bytes()[:shipped].splitlines()
    assert len(lines) > 1000 and sorted(v for _k, v, _p in consume_all(bootstrap, topic, len(lines))) == sorted(lines)
    refused = subprocess.run(ship(bootstrap, topic, checkpoint, str(not_gzip)), capture_output=True, text=True)
    assert (refused.returncode, refused.stderr) == (2, f"revisit: {not_gzip}: named .gz but not gzip data\n")


def _times_in_file_order(lines: list[bytes]) -> list[datetime]:
    """Each line's time, a line without one taking its file's time before it (the earliest first)."""
    times: list[datetime] = []
    last = datetime.min.replace(tzinfo=UTC)
    for line in lines:
        found = re.search(rb"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]", line)
        if found is not None:
            last = datetime.strptime(found.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z")
        times.append(last)
    return times


@pytest.mark.parametrize("follow", [False, True], ids=["once", "follow"])
def test_two_servers_files_are_sent_merged_by_event_time(bootstrap: str, tmp_path: Path, follow: bool) -> None:
    """Two servers' logs of the same hours go to the topic as one stream in time order, not one
    file after the other (which made the second file's lines late by the first file's length).

    The real log, split by client address as a load balancer with sticky sessions does; within a
    minute its lines are not in time order, so the assertion is the merge rule itself: each line
    sent is the next one of its own file, and no earlier than the next one of the other file
    (the first file first on a tie)."""
    name = f"merged-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 1, 1)])  # one partition: the order sent is the order read
    admin.close()
    source = APACHE_LOG.read_bytes().splitlines(keepends=True)[:3000]
    split: tuple[list[bytes], list[bytes]] = ([], [])
    for line in source:
        split[int(line.split(b" ", 1)[0].rsplit(b".", 1)[-1]) % 2].append(line)
    split[1].insert(40, b"a line without a time\n")  # it keeps its place after the line before it
    logs = [tmp_path / "web1.log", tmp_path / "web2.log"]
    for log, lines in zip(logs, split, strict=True):
        log.write_bytes(b"".join(lines))
    checkpoint = tmp_path / "ckpt.json"
    command = ship(bootstrap, name, checkpoint, *map(str, logs), follow=follow)
    if follow:
        follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until_shipped(bootstrap, name, split[0] + split[1])
        follower.send_signal(signal.SIGTERM)
        _out, err = follower.communicate(timeout=60)
        assert follower.returncode == 0, err.decode()
    else:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"shipped 3,001 lines to {name}"]

    sent = [value for _key, value, _partition in consume_all(bootstrap, name, 3001)]
    assert len(sent) == 3001
    files = [[line.rstrip(b"\n") for line in lines] for lines in split]
    times = [_times_in_file_order(lines) for lines in files]
    heads = [0, 0]
    for value in sent:
        own = 0 if heads[0] < len(files[0]) and files[0][heads[0]] == value else 1
        other = 1 - own
        assert heads[own] < len(files[own]) and files[own][heads[own]] == value, "a file's lines left its order"
        if heads[other] < len(files[other]):
            mine, theirs = times[own][heads[own]], times[other][heads[other]]
            assert mine < theirs or (mine == theirs and own == 0), (value, theirs)
        heads[own] += 1
    assert heads == [len(files[0]), len(files[1])]
    assert [checkpoint_offset(checkpoint, log) for log in logs] == [log.stat().st_size for log in logs]


def _one_partition_topic(bootstrap: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 1, 1)])
    admin.close()
    return name


def test_a_file_named_twice_is_sent_once(bootstrap: str, tmp_path: Path) -> None:
    """Overlapping globs (``logs/*.log logs/web1.log``) name a file twice: read twice from the same
    checkpoint, its lines were sent twice."""
    name = _one_partition_topic(bootstrap, "twice")
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(HEAD[:5]))
    result = subprocess.run(
        ship(bootstrap, name, tmp_path / "c.json", str(log), str(tmp_path / "." / "a.log")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.splitlines() == [f"shipped 5 lines to {name}"], result.stderr
    assert [v for _k, v, _p in consume_all(bootstrap, name, 5)] == [line.rstrip(b"\n") for line in HEAD[:5]]


def test_a_hundred_rotated_archives_ship_under_a_small_descriptor_limit(bootstrap: str, tmp_path: Path) -> None:
    """A server's rotated archives follow one another in time: merged, each is opened when the
    merge reaches its first line and closed at its end. All opened at once, 100 files under a limit
    of 80 descriptors failed with "Too many open files"."""
    name = _one_partition_topic(bootstrap, "archives")
    lines = APACHE_LOG.read_bytes().splitlines(keepends=True)[:2000]
    archives = []
    for number in range(100):  # access.log.100.gz is the oldest, as logrotate numbers them
        archive = tmp_path / f"access.log.{100 - number}.gz"
        archive.write_bytes(gzip.compress(b"".join(lines[number * 20 : number * 20 + 20])))
        archives.append(str(archive))

    def small_limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))

    result = subprocess.run(
        ship(bootstrap, name, tmp_path / "c.json", *sorted(archives)),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_limit,
    )
    assert (result.returncode, result.stdout.splitlines()) == (0, [f"shipped 2,000 lines to {name}"]), result.stderr
    sent = [v for _k, v, _p in consume_all(bootstrap, name, 2000)]
    assert Counter(sent) == Counter(line.rstrip(b"\n") for line in lines)
    archive_lines = [[line.rstrip(b"\n") for line in lines[n * 20 : n * 20 + 20]] for n in range(100)]
    heads = [0] * 100
    for value in sent:  # each line sent is the next one of some archive: each archive in its own order
        number = next(n for n in range(100) if heads[n] < 20 and archive_lines[n][heads[n]] == value)
        heads[number] += 1
    assert heads == [20] * 100


def test_a_stop_in_the_middle_of_a_merge_loses_no_line_of_a_rotated_file(bootstrap: str, tmp_path: Path) -> None:
    """SIGTERM and logrotate at once: the merge that stops has read one line ahead in each file;
    the rotated file's rest is then read from its last line sent (it was read from past it: one
    line never sent, the next logged at the wrong byte), and read to its end though stopping (the
    checkpoint then names the new file: nothing would read the old one's last lines again)."""
    from threading import Event

    from revisit.core.config import LogSettings, ShipSettings
    from revisit.kafka.ship import Checkpoint, LineKeyer, Shipper, make_producer

    def line(client: str, second: int, page: str) -> bytes:
        return f'{client} - - [10/Oct/2024:13:55:{second:02d} +0000] "GET /{page} HTTP/1.1" 200 1 "-" "ua"\n'.encode()

    name = _one_partition_topic(bootstrap, "rotated")
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(line("10.0.0.1", 1, "A1") + line("10.0.0.1", 3, "A2"))
    b.write_bytes(line("10.0.0.2", 2, "B1") + line("10.0.0.2", 4, "B2") + line("10.0.0.2", 5, "B3"))
    stop = Event()
    producer = make_producer(bootstrap)
    checkpoint = Checkpoint(tmp_path / "c.json")
    shipper = Shipper(producer, name, LineKeyer(LogSettings()), checkpoint, ShipSettings(), stop)
    sent_at: list[tuple[bytes, int]] = []
    send = shipper._send

    def send_then_rotate(value: bytes, key: bytes, source: str, offset: int) -> None:
        send(value, key, source, offset)
        sent_at.append((value.split(b'"')[1], offset))
        if b"/A1 " in value:  # SIGTERM arrives, and logrotate moves b.log away, right after A1
            stop.set()
            b.rename(tmp_path / "b.log.1")
            b.write_bytes(b"")

    shipper._send = send_then_rotate  # type: ignore[method-assign]
    shipper.follow([str(a), str(b)])
    producer.close()
    b1, b2 = len(line("10.0.0.2", 2, "B1")), len(line("10.0.0.2", 4, "B2"))
    assert sent_at == [
        (b"GET /A1 HTTP/1.1", 0),
        (b"GET /B1 HTTP/1.1", 0),
        (b"GET /B2 HTTP/1.1", b1),
        (b"GET /B3 HTTP/1.1", b1 + b2),
    ]
    assert [v.split(b'"')[1] for _k, v, _p in consume_all(bootstrap, name, 4)] == [page for page, _at in sent_at]
