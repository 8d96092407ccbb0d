"""``revisit ship``: access-log lines into Kafka, keyed by client IP, at least once.

Files are read as bytes so that the checkpoint can hold exact byte offsets. The checkpoint of a file
moves only after the broker acknowledged every line before it (the producer is flushed per batch),
so a restart never skips a line and re-sends at most the batch that was in flight. With ``--follow``
files are tailed like ``tail -F``: a rotated file is read to its end before the new one is opened,
and a truncated file is read again from its start. Several files (several servers' logs) are sent
merged by event time, like replay reads them.

Two kinds of line are counted and skipped (not sent, not dead-lettered: neither could be parsed or
stored downstream), and the checkpoint moves past them so a rerun does not meet them again:

- ``too_long``: over the parser's limit (``MAX_LINE_BYTES``). It is never held whole: its
  beginning is read, the rest dropped up to its newline in bounded chunks (a 512 MiB line read
  whole took ship to 1.7 GB, then a traceback; now 83 MB).
- ``too_large_for_broker``: over the topic's ``max.message.bytes``, read from the broker at start
  and given to the producer as ``max_request_size``, so the producer refuses the line before
  sending it. A refusal by the broker itself is fatal to kafka-python's idempotent producer and
  every line in flight would fail with it.
"""

from __future__ import annotations

import gzip
import heapq
import io
import json
import logging
import os
import signal
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Event

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError, MessageSizeTooLargeError

from revisit.core.config import LogSettings, ShipSettings
from revisit.core.errors import BadInput, ServiceFailure
from revisit.core.hit import Malformed, MalformedReason
from revisit.core.metrics import RevisitMetrics
from revisit.endpoints import ServiceEndpoints
from revisit.stream.fields import ClientAddressResolver, TimestampParser, zone_named
from revisit.stream.formats import make_line_parser
from revisit.stream.sources import MAX_LINE_BYTES, LineReader, check_log_paths, is_cut, skip_rest_of_line

log = logging.getLogger("revisit.ship")

TOO_LONG = MalformedReason.TOO_LONG
TOO_LARGE_FOR_BROKER = "too_large_for_broker"
# The broker's own default for message.max.bytes: the limit when the topic's cannot be read.
DEFAULT_MESSAGE_LIMIT = 1_048_588
EARLIEST = datetime.min.replace(tzinfo=UTC)  # the place of a file's lines before its first time


class LineKeyer:
    """The partition key of a line: its client address, so that one visitor's lines stay in order
    on one partition and the worker's per-address caches stay partition-local. And its event
    time, by which the lines of several files are sent merged."""

    def __init__(self, settings: LogSettings) -> None:
        self._parser = make_line_parser(settings)
        self.encoding = settings.encoding  # lines are sent as read; this only finds their key
        self._clients = ClientAddressResolver(settings.trusted_proxies)
        self._timestamps = TimestampParser(zone_named(settings.timezone))

    def key_for(self, line: str) -> bytes:
        return self.key_and_time(line)[0]

    def key_and_time(self, line: str) -> tuple[bytes, datetime | None]:
        """The key, and the time when the line has one that parses."""
        raw = self._parser.split(line)
        if not isinstance(raw, Malformed):
            when = self._timestamps.parse(raw.timestamp)
            client = self._clients.client_ip(raw.client, raw.forwarded_for)
            if client is not None:
                return client.encode(), when
        else:
            when = None
        return line.split(" ", 1)[0][:64].encode("utf-8", "replace"), when


class Checkpoint:
    """Byte offsets of acknowledged lines per file (and the file's inode), written atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, int]] = {}
        if self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text("utf-8"))
            except (ValueError, OSError) as error:
                raise BadInput(
                    f"{self.path}: unreadable ship checkpoint ({error}); move it away to start over"
                ) from None

    def offset_for(self, path: str, inode: int) -> int:
        entry = self.entries.get(os.path.abspath(path))
        return entry["offset"] if entry and entry.get("inode") == inode else 0

    def record(self, path: str, inode: int, offset: int) -> None:
        self.entries[os.path.abspath(path)] = {"inode": inode, "offset": offset}

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.entries, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


@dataclass
class _Cursor:
    path: str
    handle: io.BufferedIOBase  # a plain file, or a GzipFile
    inode: int
    offset: int  # bytes read and handed to the producer (or skipped)
    acknowledged: int  # bytes the broker confirmed
    # Bytes of an over-long line dropped so far whose newline is not written yet (following):
    # the offset stays at the line's start until its end arrives.
    dropping: int | None = None
    # the event time of the last line read that had one: a line without one keeps its place after it
    last_time: datetime = EARLIEST


@dataclass(frozen=True, slots=True)
class _ReadLine:
    """A line read from a file, not sent yet; ``raw`` None: an over-long line of ``size`` bytes to pass."""

    time: datetime
    cursor: _Cursor
    start: int
    size: int
    raw: bytes | None
    key: bytes = b""


class _DamagedFile(Exception):
    def __init__(self, path: str, error: BaseException) -> None:
        super().__init__(path, error)
        self.path, self.error = path, error


@dataclass(frozen=True)
class ShipResult:
    sent: int
    skipped: dict[str, int] = field(default_factory=dict)  # lines not sent, by reason


class Shipper:
    def __init__(
        self,
        producer: KafkaProducer,
        topic: str,
        keyer: LineKeyer,
        checkpoint: Checkpoint | None,
        settings: ShipSettings,
        stop: Event,
        metrics: RevisitMetrics | None = None,
    ) -> None:
        self.producer = producer
        self.metrics = metrics or RevisitMetrics.create()
        self.topic = topic
        self.keyer = keyer
        self.checkpoint = checkpoint
        self.settings = settings
        self.stop = stop
        self.sent = 0
        self.skipped: Counter[str] = Counter()
        self._errors: list[BaseException] = []
        self._pending = 0
        self._skipped_since_commit = False
        self._last_flush = time.monotonic()
        self._flushing_since: float | None = None  # set while waiting for the broker's acknowledgements

    # --- sending -------------------------------------------------------------------------
    def _send(self, value: bytes, key: bytes, source: str, offset: int) -> None:
        try:
            future = self.producer.send(self.topic, key=key, value=value)
        except MessageSizeTooLargeError:  # over the topic's max.message.bytes (max_request_size)
            self._skip(TOO_LARGE_FOR_BROKER, source, offset, len(value))
            return
        except KafkaError as error:
            self.metrics.ship_failures.labels("broker").inc()
            raise ServiceFailure(
                f"the producer could not take a line ({error}); the checkpoint was not moved, "
                "so a restart re-sends from there"
            ) from None
        future.add_errback(self._errors.append)
        self.sent += 1
        self._pending += 1

    def _skip(self, reason: str, source: str, offset: int, size: int) -> None:
        self.skipped[reason] += 1
        self._skipped_since_commit = True
        self.metrics.ship_skipped.labels(reason).inc()
        log.warning("line skipped (%s): %s, byte %d, %d bytes", reason, source, offset, size)

    def _batch_due(self) -> bool:
        return (
            self._pending >= self.settings.batch_lines
            or time.monotonic() - self._last_flush >= self.settings.batch_seconds
        )

    def commit(self, cursors: Sequence[_Cursor]) -> None:
        """Wait for the broker to acknowledge everything sent, then move the checkpoint."""
        started = time.perf_counter()
        self.metrics.lines_shipped.inc(self._pending)
        self._flushing_since = time.monotonic()
        try:
            self.producer.flush()
        finally:
            self._flushing_since = None
        if self._errors:
            self.metrics.ship_failures.labels("broker").inc()
            if isinstance(self._errors[0], MessageSizeTooLargeError):
                raise ServiceFailure(
                    "the broker refused a line as too large (was the topic's max.message.bytes lowered "
                    "while shipping?); the checkpoint was not moved, and a restart reads the new limit "
                    "and skips such lines"
                )
            raise ServiceFailure(
                f"the broker refused a line: {self._errors[0]!r}; "
                "the checkpoint was not moved, so a restart re-sends from there"
            )
        self.metrics.lines_acknowledged.inc(self._pending)
        self._pending = 0
        self._skipped_since_commit = False
        for cursor in cursors:
            cursor.acknowledged = cursor.offset
            if self.checkpoint is not None:
                self.checkpoint.record(cursor.path, cursor.inode, cursor.acknowledged)
        if self.checkpoint is not None:
            try:
                self.checkpoint.save()
            except OSError as error:
                self.metrics.ship_failures.labels("checkpoint").inc()
                raise ServiceFailure(
                    f"checkpoint {self.checkpoint.path}: cannot write it ({error.strerror}); the lines sent "
                    "since the last checkpoint are in Kafka, and a restart (after freeing space) re-sends "
                    "them from the last checkpoint written, so none is lost"
                ) from None
        self._last_flush = time.monotonic()
        self.metrics.ship_backlog.set(sum(_unacknowledged_bytes(cursor) for cursor in cursors))
        self.metrics.ship_commit.observe(time.perf_counter() - started)

    def problem(self, patience: float = 10.0) -> str | None:
        """A readiness check: None unless a batch has waited over ``patience`` s for the broker."""
        since = self._flushing_since
        if since is not None and time.monotonic() - since > patience:
            return f"waiting {time.monotonic() - since:.0f} s for the broker to acknowledge a batch"
        return None

    # --- reading -------------------------------------------------------------------------
    def _open(self, path: str) -> _Cursor:
        # owned by the cursor, closed when the file is done with or rotated away
        handle: io.BufferedIOBase = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")  # noqa: SIM115
        inode = os.fstat(handle.fileno()).st_ino if not path.endswith(".gz") else os.stat(path).st_ino
        start = self.checkpoint.offset_for(path, inode) if self.checkpoint is not None else 0
        if not path.endswith(".gz") and start > os.fstat(handle.fileno()).st_size:
            start = 0  # truncated while we were away
        handle.seek(start)
        return _Cursor(path, handle, inode, start, start)

    def _send_merged(self, cursors: Sequence[_Cursor], final: bool) -> None:
        """Send every complete line now in the files (with ``final`` also an unterminated last
        one), the files' lines merged by event time.

        Several files are the logs of several servers, each in time order. Sent one after the
        other, the second file's lines were older than the first's by up to the length of the
        backlog, beyond the worker's allowed disorder, so they were late and the alerts differed
        from replay's (4-11 of 42 alert ids on a two-server split of a real log). Merged, one line
        of each file is held at a time; a line is sent in its own file's order, so each file's
        checkpoint (the end of its last line sent) only moves forward."""
        streams = [self._lines_of(cursor, final) for cursor in cursors]
        lines = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_time_of)
        self._send_lines(lines, cursors)

    def _send_lines(self, lines: Iterable[_ReadLine], committed: Sequence[_Cursor], stoppable: bool = True) -> None:
        """Send ``lines``, a batch committing the checkpoints of ``committed``; until a stop is asked
        when ``stoppable``."""
        for line in lines:
            cursor = line.cursor
            if line.raw is None:
                self._skip(TOO_LONG, cursor.path, line.start, line.size)
            else:
                self._send(line.raw, line.key, cursor.path, line.start)
            cursor.offset = line.start + line.size
            if self._batch_due():
                self.commit(committed)
            if stoppable and self.stop.is_set():
                return

    def _opened_in_time(self, paths: Sequence[str], opened: list[_Cursor]) -> Iterator[_ReadLine]:
        """The lines of the files merged by event time, as ``_send_merged``'s merge gives them,
        each file opened only when the merge reaches its first line's time and closed at its end
        (``opened``: every cursor opened, for the checkpoint). A server's rotated archives follow
        one another in time, so a hundred ``access.log.N.gz`` hold one or two open at once, not a
        hundred: all open at once, 100 files under a limit of 80 descriptors failed."""
        waiting: list[tuple[datetime, int, str]] = []
        for order, path in enumerate(paths):
            cursor = self._open(path)
            try:
                first = next(self._lines_of(cursor, final=True), None)
            finally:
                cursor.handle.close()
            if first is not None:  # else nothing new in it
                waiting.append((first.time, order, path))
        heapq.heapify(waiting)
        active: list[tuple[datetime, int, _ReadLine, Iterator[_ReadLine]]] = []
        while waiting or active:
            if waiting and (not active or waiting[0][:2] <= active[0][:2]):
                _time, order, path = heapq.heappop(waiting)
                cursor = self._open(path)
                opened.append(cursor)
                lines = self._lines_of(cursor, final=True)
            else:
                _time, order, line, lines = heapq.heappop(active)
                cursor = line.cursor
                yield line  # sent when this resumes: the file's next line may be read
            following = next(lines, None)
            if following is None:
                cursor.handle.close()  # at its end: its descriptor back
            else:
                heapq.heappush(active, (following.time, order, following, lines))

    def _lines_of(self, cursor: _Cursor, final: bool) -> Iterator[_ReadLine]:
        """The file's lines from ``cursor.offset``. It is resumed only once the line it gave
        before was sent (``_send_merged`` moved ``cursor.offset`` past it)."""
        expected = cursor.offset + (cursor.dropping or 0)
        if cursor.handle.tell() != expected:  # a merge stopped early had read on: read that line again
            cursor.handle.seek(expected)
        try:
            while True:
                if cursor.dropping is not None:
                    if not self._drop_rest(cursor, final):
                        return
                    size, cursor.dropping = cursor.dropping, None
                    yield _ReadLine(cursor.last_time, cursor, cursor.offset, size, None)
                    continue
                line = cursor.handle.readline(MAX_LINE_BYTES)
                if not line:
                    return
                if is_cut(line):
                    cursor.dropping = len(line)
                    continue
                if not line.endswith(b"\n") and not final:
                    cursor.handle.seek(cursor.offset)  # a line still being written: wait for its end
                    return
                value = line.rstrip(b"\r\n")
                key, when = self.keyer.key_and_time(value.decode(self.keyer.encoding, "replace"))
                if when is not None:
                    cursor.last_time = when
                yield _ReadLine(cursor.last_time, cursor, cursor.offset, len(line), value, key)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise _DamagedFile(cursor.path, error) from None

    def _drop_rest(self, cursor: _Cursor, final: bool) -> bool:
        """Read on through an over-long line; whether it ended (then it is to be counted and passed)."""
        dropped, ended = skip_rest_of_line(cursor.handle)
        cursor.dropping = (cursor.dropping or 0) + dropped
        return ended or final  # else its end is not written yet

    def ship_once(self, paths: Sequence[str]) -> int:
        """Send what the files hold now, from their checkpoints, merged by event time, and return."""
        cursors: list[_Cursor] = []
        try:
            self._send_lines(self._opened_in_time(paths, cursors), cursors)
        except _DamagedFile as damaged:
            self.commit(cursors)  # what was read is shipped and its checkpoint kept
            raise BadInput(
                f"{damaged.path}: gzip data ends early or is damaged ({damaged.error}); the lines before it "
                "were shipped, and the other files' lines up to their time: ship the others again without "
                "it to send the rest"
            ) from None
        else:
            self.commit(cursors)
        finally:
            for cursor in cursors:
                cursor.handle.close()
        return self.sent

    def ship_stdin(self, stream: LineReader) -> int:
        offset = 0
        while not self.stop.is_set() and (line := stream.readline(MAX_LINE_BYTES)):
            if is_cut(line):
                size = len(line) + skip_rest_of_line(stream)[0]
                self._skip(TOO_LONG, "stdin", offset, size)
            else:
                size = len(line)
                value = line.rstrip(b"\r\n")
                self._send(value, self.keyer.key_for(value.decode(self.keyer.encoding, "replace")), "stdin", offset)
            offset += size
            if self._batch_due():
                self.commit([])
        self.commit([])
        return self.sent

    def follow(self, paths: Sequence[str]) -> int:
        """Tail the files until stopped (SIGTERM or SIGINT), surviving rotation and truncation."""
        cursors = [self._open(path) for path in paths]
        try:
            while not self.stop.is_set():
                # the backlog at start, and each poll's new lines, merged by event time
                self._send_merged(cursors, final=False)
                for index, cursor in enumerate(cursors):
                    cursors[index] = self._after_rotation(cursor, cursors)
                if (self._pending or self._skipped_since_commit) and self._batch_due():
                    self.commit(cursors)
                self.stop.wait(self.settings.poll_seconds)
            self.commit(cursors)
        finally:
            for cursor in cursors:
                cursor.handle.close()
        return self.sent

    def _after_rotation(self, cursor: _Cursor, cursors: Sequence[_Cursor]) -> _Cursor:
        try:
            status = os.stat(cursor.path)
        except FileNotFoundError:
            return cursor  # rotated away and not yet recreated: keep reading the old one
        if status.st_ino != cursor.inode:
            # The rest of the old file, even when stopping: the checkpoint then names the new file,
            # and nothing would read the old one's last lines again.
            self._send_lines(self._lines_of(cursor, final=True), cursors, stoppable=False)
            self.commit(cursors)
            cursor.handle.close()
            handle = open(cursor.path, "rb")  # noqa: SIM115 - owned by the cursor, closed when done with
            return _Cursor(cursor.path, handle, os.fstat(handle.fileno()).st_ino, 0, 0)
        if status.st_size < cursor.offset + (cursor.dropping or 0):  # truncated in place (copytruncate)
            cursor.handle.seek(0)
            cursor.offset = cursor.acknowledged = 0
            cursor.dropping = None
        return cursor


def _distinct_files(paths: Sequence[str]) -> list[str]:
    """Each file once, however often it is named (``logs/*.log logs/web1.log``): read twice from
    the same checkpoint, its lines were sent twice."""
    seen: set[str] = set()
    distinct = []
    for path in paths:
        key = path if path == "-" else os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            distinct.append(path)
    return distinct


def _time_of(line: _ReadLine) -> datetime:
    return line.time


def _unacknowledged_bytes(cursor: _Cursor) -> int:
    if cursor.handle.closed:  # a file sent to its end
        return 0
    try:
        return max(0, os.fstat(cursor.handle.fileno()).st_size - cursor.acknowledged)
    except (OSError, ValueError):  # a gzip member
        return 0


def topic_message_limit(bootstrap_servers: str, topic: str) -> int:
    """The largest record batch the topic accepts (its ``max.message.bytes``, or the broker's)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="revisit-ship")
    except KafkaError as error:
        raise BadInput(f"Kafka at {bootstrap_servers}: not reachable ({error})") from None
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": None})
        found = admin.describe_configs([resource], config_filter="all")
        entry = found.get("topic", {}).get(topic, {}).get("max.message.bytes")
        return int(entry["value"]) if entry else DEFAULT_MESSAGE_LIMIT  # no topic yet: the broker's default
    except KafkaError as error:
        raise ServiceFailure(f"topic {topic}: cannot read its configuration ({error})") from None
    finally:
        admin.close()


def make_producer(bootstrap_servers: str, max_request_size: int = DEFAULT_MESSAGE_LIMIT) -> KafkaProducer:
    """Idempotent, acks=all: the broker keeps one copy of a retried send. ``max_request_size`` is
    the topic's limit, so the producer, not the broker, refuses a line that is too large."""
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="revisit-ship",
            enable_idempotence=True,
            acks="all",
            linger_ms=20,
            compression_type=None,
            max_in_flight_requests_per_connection=5,
            max_request_size=max_request_size,
        )
    except KafkaError as error:
        raise BadInput(f"Kafka at {bootstrap_servers}: not reachable ({error})") from None


def run_ship(
    paths: Sequence[str],
    topic: str,
    follow: bool,
    bootstrap_servers: str,
    log: LogSettings,
    settings: ShipSettings,
    checkpoint_path: str | None,
) -> ShipResult:
    """The command: the number of lines sent and of lines skipped by reason."""
    if follow and any(p.endswith(".gz") or p == "-" for p in paths):
        raise BadInput("--follow works on plain files only (not .gz or -)")
    check_log_paths(paths)
    paths = _distinct_files(paths)
    stop = Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    producer = make_producer(bootstrap_servers, topic_message_limit(bootstrap_servers, topic))
    checkpoint = None if paths == ["-"] else Checkpoint(checkpoint_path or settings.checkpoint_path)
    metrics = RevisitMetrics.create()
    shipper = Shipper(producer, topic, LineKeyer(log), checkpoint, settings, stop, metrics)
    long_running = follow or paths == ["-"]
    endpoints = None
    if long_running and settings.web_port:
        endpoints = ServiceEndpoints(
            settings.web_host, settings.web_port, metrics.registry, {"broker": shipper.problem}
        ).start()
    try:
        if paths == ["-"]:
            shipper.ship_stdin(sys.stdin.buffer)
        elif follow:
            shipper.follow(paths)
        else:
            shipper.ship_once(paths)
        return ShipResult(shipper.sent, dict(sorted(shipper.skipped.items())))
    finally:
        producer.close(timeout=10)
        if endpoints is not None:
            endpoints.stop()
