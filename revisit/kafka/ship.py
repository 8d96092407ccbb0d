"""``revisit ship``: access-log lines into Kafka, keyed by client IP, at least once.

Files are read as bytes so that the checkpoint can hold exact byte offsets. The checkpoint of a file
moves only after the broker acknowledged every line before it (the producer is flushed per batch),
so a restart never skips a line and re-sends at most the batch that was in flight. With ``--follow``
files are tailed like ``tail -F``: a rotated file is read to its end before the new one is opened,
and a truncated file is read again from its start.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import BinaryIO

from kafka import KafkaProducer
from kafka.errors import KafkaError

from revisit.core.config import LogSettings, ShipSettings
from revisit.core.errors import BadInput, ServiceFailure
from revisit.core.hit import Malformed
from revisit.core.metrics import RevisitMetrics
from revisit.endpoints import ServiceEndpoints
from revisit.stream.fields import ClientAddressResolver
from revisit.stream.formats import make_line_parser


class LineKeyer:
    """The partition key of a line: its client address, so that one visitor's lines stay in order
    on one partition and the worker's per-address caches stay partition-local."""

    def __init__(self, settings: LogSettings) -> None:
        self._parser = make_line_parser(settings)
        self._clients = ClientAddressResolver(settings.trusted_proxies)

    def key_for(self, line: str) -> bytes:
        raw = self._parser.split(line)
        if not isinstance(raw, Malformed):
            client = self._clients.client_ip(raw.client, raw.forwarded_for)
            if client is not None:
                return client.encode()
        return line.split(" ", 1)[0][:64].encode("utf-8", "replace")


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
    offset: int  # bytes read and handed to the producer
    acknowledged: int  # bytes the broker confirmed


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
        self._errors: list[BaseException] = []
        self._pending = 0
        self._last_flush = time.monotonic()
        self._flushing_since: float | None = None  # set while waiting for the broker's acknowledgements

    # --- sending -------------------------------------------------------------------------
    def _send(self, raw_line: bytes) -> None:
        value = raw_line.rstrip(b"\r\n")
        key = self.keyer.key_for(value.decode("utf-8", "replace"))
        future = self.producer.send(self.topic, key=key, value=value)
        future.add_errback(self._errors.append)
        self.sent += 1
        self._pending += 1

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
            raise ServiceFailure(
                f"the broker refused a line: {self._errors[0]!r}; "
                "the checkpoint was not moved, so a restart re-sends from there"
            )
        self.metrics.lines_acknowledged.inc(self._pending)
        self._pending = 0
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

    def _read_available(self, cursor: _Cursor, final: bool, cursors: Sequence[_Cursor]) -> None:
        """Send every complete line now in the file; with ``final`` also an unterminated last one."""
        while not self.stop.is_set():
            line = cursor.handle.readline()
            if not line:
                return
            if not line.endswith(b"\n") and not final:
                cursor.handle.seek(cursor.offset)  # a line still being written: wait for its end
                return
            cursor.offset += len(line)
            self._send(line)
            if self._batch_due():
                self.commit(cursors)

    def ship_once(self, paths: Sequence[str]) -> int:
        """Send what the files hold now, from their checkpoints, and return."""
        for path in paths:
            cursor = self._open(path)
            try:
                self._read_available(cursor, final=True, cursors=[cursor])
                self.commit([cursor])
            finally:
                cursor.handle.close()
        return self.sent

    def ship_stdin(self, stream: BinaryIO) -> int:
        for line in stream:
            if self.stop.is_set():
                break
            self._send(line)
            if self._batch_due():
                self.commit([])
        self.commit([])
        return self.sent

    def follow(self, paths: Sequence[str]) -> int:
        """Tail the files until stopped (SIGTERM or SIGINT), surviving rotation and truncation."""
        cursors = [self._open(path) for path in paths]
        try:
            while not self.stop.is_set():
                for index, cursor in enumerate(cursors):
                    self._read_available(cursor, final=False, cursors=cursors)
                    cursors[index] = self._after_rotation(cursor, cursors)
                if self._pending and self._batch_due():
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
            self._read_available(cursor, final=True, cursors=cursors)  # the rest of the old file
            self.commit(cursors)
            cursor.handle.close()
            handle = open(cursor.path, "rb")  # noqa: SIM115 - owned by the cursor, closed when done with
            return _Cursor(cursor.path, handle, os.fstat(handle.fileno()).st_ino, 0, 0)
        if status.st_size < cursor.offset:  # truncated in place (copytruncate)
            cursor.handle.seek(0)
            cursor.offset = cursor.acknowledged = 0
        return cursor


def _unacknowledged_bytes(cursor: _Cursor) -> int:
    try:
        return max(0, os.fstat(cursor.handle.fileno()).st_size - cursor.acknowledged)
    except (OSError, ValueError):  # a gzip member, or a handle already closed
        return 0


def make_producer(bootstrap_servers: str) -> KafkaProducer:
    """Idempotent, acks=all: the broker keeps one copy of a retried send."""
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="revisit-ship",
            enable_idempotence=True,
            acks="all",
            linger_ms=20,
            compression_type=None,
            max_in_flight_requests_per_connection=5,
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
) -> int:
    """The command: returns the number of lines sent."""
    if follow and any(p.endswith(".gz") or p == "-" for p in paths):
        raise BadInput("--follow works on plain files only (not .gz or -)")
    for path in paths:
        if path != "-" and not Path(path).is_file():
            raise BadInput(f"{path}: log file not found")
    stop = Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    producer = make_producer(bootstrap_servers)
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
            return shipper.ship_stdin(sys.stdin.buffer)
        if follow:
            return shipper.follow(paths)
        return shipper.ship_once(paths)
    finally:
        producer.close(timeout=10)
        if endpoints is not None:
            endpoints.stop()
