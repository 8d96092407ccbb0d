"""Replay of large plain files on several cores.

The file is cut into byte ranges at line ends. Each range is classified (parse, filter, resolve,
match) in a forked worker process, with the parent's classifier copied by the fork, so nothing is
pickled on the way in. Workers send back their counts and their matched hits only: on real traffic
that is a few percent of the lines. The parent feeds the hits into its single VisitTracker in file
order (several files merged by event time), so sessions, alerts and alert ids are exactly those of a
sequential run.

This is the same shape as the streaming worker's scale-out: stateless classification spread out,
per-account state in one place.
"""

from __future__ import annotations

import dataclasses
import heapq
import io
import multiprocessing
import operator
import os
import pickle
import queue
import struct
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from revisit.core.errors import BadInput
from revisit.core.hit import Hit
from revisit.core.match import AccountMatch
from revisit.core.organization import Organization
from revisit.enrichment.classify import (
    HitClassifier,
    MatchedHit,
    RunSummary,
    matched_hits_of_text,
)
from revisit.stream.sources import (
    decoding_failures_named,
    newline_is_one_byte,
    read_blocks,
    skip_rest_of_line,
    text_blocks,
)

HITS_PER_MESSAGE = 1000
WORKER_POLL_SECONDS = 1.0
_RANGE_BUFFER = 1 << 16


# A matched hit as it crosses from a worker to the parent: the hit's fields as a plain tuple. A
# frozen dataclass pickles as its class and a state that ``_dataclass_setstate`` sets again field by
# field, looking up the class's fields for every object; as a tuple, rebuilt by the class itself,
# a batch of the bench's hits pickled in 5-11 µs a hit against 20-23 µs, and was read back in 8-13
# µs against 10-21 µs (CPU time, alternating, load average 4). The organisation and the match are
# shared by the hits of one address, so the pickle of a batch holds each once.
PackedHit = tuple[tuple[Any, ...], Organization, AccountMatch, str]
_HIT_FIELDS = tuple(field.name for field in dataclasses.fields(Hit))
_hit_values = operator.attrgetter(*_HIT_FIELDS)


def pack_hit(matched: MatchedHit) -> PackedHit:
    return _hit_values(matched.hit), matched.organization, matched.match, matched.raw_line


def unpack_hit(packed: PackedHit) -> MatchedHit:
    values, organization, match, raw_line = packed
    return MatchedHit(Hit(*values), organization, match, raw_line)


def line_aligned_ranges(path: str | Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file, each starting at the beginning of a line."""
    size = os.path.getsize(path)
    return _aligned(path, [size * k // parts for k in range(1, parts)])


SMALLEST_RANGE_BYTES = 1 << 16


def tapered_ranges(path: str | Path, workers: int, per_worker: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file at line starts: ``1 / (workers * per_worker)`` of the file
    each, until a worker's share of half of what is left is smaller; then that share (a
    quarter of the rest with two workers), down to an eighth of the first ranges' size.

    The workers end together within the time of one last range: with equal ranges (13 MB of
    the 1,000,000-line bench file each, ~0.3 s of a worker) one core waited half of that on
    average while the other finished; the last ranges here are 1.7 MB. The first ranges stay
    as they were, as the parent holds the hits of a range until the ranges before it are done."""
    size = os.path.getsize(path)
    full = max(1, size // (workers * per_worker))
    smallest = max(full // 8, SMALLEST_RANGE_BYTES)
    cuts: list[int] = []
    position = 0
    while True:
        position += max(smallest, min(full, (size - position) // (2 * workers)))
        if position >= size:
            break
        cuts.append(position)
    return _aligned(path, cuts)


def _aligned(path: str | Path, cuts: Sequence[int]) -> list[tuple[int, int]]:
    """The ranges between the line starts at or after each of ``cuts`` (increasing byte offsets)."""
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as handle:
        for cut in cuts:
            handle.seek(cut)
            skip_rest_of_line(handle)  # the line we landed in belongs to the previous range
            position = handle.tell()
            if starts[-1] < position < size:
                starts.append(position)
    return [(start, end) for start, end in zip(starts, starts[1:] + [size], strict=True)]


class _ByteRange(io.RawIOBase):
    """``[start, end)`` of a file as a stream of its own, so its lines are read and decoded by
    ``text_blocks`` like a whole file's."""

    def __init__(self, handle: io.FileIO, start: int, end: int) -> None:
        handle.seek(start)
        self._handle = handle
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        count = self._handle.readinto(view)
        self._left -= count
        return count

    def close(self) -> None:
        self._handle.close()
        super().close()


def read_range(path: str | Path, start: int, end: int, encoding: str = "utf-8") -> Iterator[str]:
    """The text of ``[start, end)`` in blocks of whole lines, read and decoded like ``read_blocks``
    (bad bytes replaced, an over-long line cut and the rest of it dropped). Ranges begin at lines'
    starts, so an over-long line lies in one range."""
    handle = open(path, "rb", buffering=0)  # noqa: SIM115 (closed with the blocks)
    blocks = text_blocks(io.BufferedReader(_ByteRange(handle, start, end), _RANGE_BUFFER), encoding, owned=True)
    return decoding_failures_named(blocks, str(path), encoding)


_RECORD_LENGTH = struct.Struct("<I")
_READ_CHUNK = 1 << 20


class DecisionFiles:
    """Where replay's worker processes tell each other what they decided per client address.

    Each worker met nearly every address of the file (its ranges are spread over the whole
    file), and deciding one (resolvers, then the account index) took ~110 µs against ~15 µs to
    read another worker's decision back (the 1,000,000-line bench, 10,000 addresses, 10,000
    accounts). One unnamed temporary file per worker, made before the fork: its worker appends
    length-prefixed pickles of ``(address, outcome)`` to it, the others read what is new when
    they meet an address they have not decided. A worker reading while another writes sees a
    record's beginning at worst, and reads the rest at its next miss. Files rather than pipes:
    a writer never waits for a reader that has stopped asking."""

    def __init__(self, workers: int) -> None:
        self._files = [tempfile.TemporaryFile() for _ in range(workers)]  # noqa: SIM115 (closed by close)

    def for_worker(self, number: int) -> WorkerDecisions:
        return WorkerDecisions(
            self._files[number].fileno(), [f.fileno() for n, f in enumerate(self._files) if n != number]
        )

    def close(self) -> None:
        for file in self._files:
            file.close()


@dataclass(slots=True)
class _PeerFile:
    """Another worker's file, as far as it was read (``partial``: a record's beginning)."""

    fd: int
    offset: int = 0
    partial: bytes = b""


class WorkerDecisions:
    """One worker's side of ``DecisionFiles`` (``SharedDecisions`` for its classifier): writes at
    its own offsets and reads at its own (``pwrite``/``pread``), so the file offsets the forked
    processes share are never moved."""

    def __init__(self, own: int, peers: Sequence[int]) -> None:
        self._own = own
        self._written = 0
        self._peers = [_PeerFile(fd) for fd in peers]
        self._received: dict[str, object] = {}
        self.published = 0
        self.taken = 0

    def publish(self, client_ip: str, outcome: object) -> None:
        """Append the decision to this worker's file. A write that fails (a full disk) ends the
        sharing of this worker, not the run: the others decide what it would have told them (a
        record left half written is never read whole)."""
        if self._own < 0:
            return
        payload = pickle.dumps((client_ip, outcome), pickle.HIGHEST_PROTOCOL)
        record = _RECORD_LENGTH.pack(len(payload)) + payload
        written = 0
        try:
            while written < len(record):
                written += os.pwrite(self._own, record[written:], self._written + written)
        except OSError:
            self._own = -1
            return
        self._written += len(record)
        self.published += 1

    def take(self, client_ip: str) -> object | None:
        self._read_peers()
        outcome = self._received.pop(client_ip, None)
        self.taken += outcome is not None
        return outcome

    def _read_peers(self) -> None:
        received = self._received
        for peer in self._peers:
            chunk = os.pread(peer.fd, _READ_CHUNK, peer.offset)
            if not chunk:
                continue
            peer.offset += len(chunk)
            data = peer.partial + chunk if peer.partial else chunk
            position = 0
            end = len(data)
            while end - position >= 4:
                (length,) = _RECORD_LENGTH.unpack_from(data, position)
                if end - position - 4 < length:
                    break
                client_ip, outcome = pickle.loads(data[position + 4 : position + 4 + length])
                received.setdefault(client_ip, outcome)
                position += 4 + length
            peer.partial = data[position:]


def _classify_ranges(
    classifier: HitClassifier,
    path: str,
    ranges: Sequence[tuple[int, int]],
    next_range: Any,
    results: multiprocessing.Queue,
    worker: int,
    decisions: DecisionFiles | None = None,
) -> None:
    """Worker body: take the next range not taken yet (``next_range``, shared by the workers),
    classify it, stream its matched hits back, then its counts; again until none is left; at the
    end what the worker resolved. Each message names its range: the parent puts them in order.
    With ``decisions``, addresses another worker decided are taken from it."""
    try:
        if decisions is not None:
            classifier.use_shared_decisions(decisions.for_worker(worker))
        classifier.resolved_addresses.clear()  # report only what this worker learned
        classifier.new_registrations.clear()
        classifier.index.ambiguous.clear()
        taken = 0
        while True:
            with next_range.get_lock():
                number = next_range.value
                next_range.value += 1
            if number >= len(ranges):
                break
            taken += 1
            start, end = ranges[number]
            summary = RunSummary()
            batch: list[PackedHit] = []
            blocks = read_range(path, start, end, classifier.settings.log.encoding)
            for matched in matched_hits_of_text(blocks, classifier, summary):
                batch.append(pack_hit(matched))
                if len(batch) >= HITS_PER_MESSAGE:
                    results.put(("hits", number, batch))
                    batch = []
            if batch:
                results.put(("hits", number, batch))
            results.put(("range", number, summary))
        learned = (classifier.resolved_addresses, classifier.new_registrations, classifier.index.ambiguous)
        results.put(("done", worker, (taken, *learned)))
    except BadInput as error:  # bad input is told as the one-process run tells it
        results.put(("bad_input", worker, str(error)))
    except BaseException:  # the parent must hear about it rather than wait forever
        results.put(("error", worker, traceback.format_exc()))


class ParallelFile:
    """One file classified by worker processes, started as soon as this is made (the caller's
    remaining start-up, such as storing the account list, overlaps their work); iterated, the
    matched hits in file order, every line's outcome counted into ``summary``. ``close`` stops
    the workers of a run that ends early.

    The file is cut into ``RANGES_PER_WORKER`` ranges a worker, and smaller ones at its end
    (``tapered_ranges``); a worker that finishes one takes the next one nobody took, so a worker
    slowed down (by the parent storing the list, or by other programs on the machine) takes
    fewer and the workers end together. The parent takes
    each range's hits in file order as they come, holding those of later ranges that came first.
    With one range a worker (each sent its hits 5,000 at a time), the parent had the hits only
    as the workers ended, and tracked them all after: 0.7-0.9 s from the last worker's end to the
    last hit stored on the 1,000,000-line bench, 0.1 s with eight ranges each. With late
    resolution on, a worker's lines are one range, as a held line waits for its answer until the
    end of its range."""

    RANGES_PER_WORKER = 8

    def __init__(self, classifier: HitClassifier, path: str, workers: int, summary: RunSummary) -> None:
        self.classifier = classifier
        self.path = path
        self.summary = summary
        if classifier.late is None:
            self._ranges = tapered_ranges(path, workers, self.RANGES_PER_WORKER)
        else:
            self._ranges = line_aligned_ranges(path, workers)
        workers = min(workers, len(self._ranges))
        classifier.prepare_to_fork()
        # late resolution answers an address in the process that asked: nothing to share then
        self._decisions = DecisionFiles(workers) if classifier.late is None and workers > 1 else None
        context = multiprocessing.get_context("fork")
        self._results: multiprocessing.Queue = context.Queue()
        next_range = context.Value("q", 0)
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for number in range(workers):
            process = context.Process(
                target=_classify_ranges,
                args=(classifier, path, self._ranges, next_range, self._results, number, self._decisions),
                name=f"revisit-replay-{number + 1}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)
        self._early: dict[int, list[tuple[str, Any]]] = {}  # messages of ranges after the one being read
        self._finished: list[Any] = []  # the workers' "done" payloads
        self.ranges_taken: dict[int, int] = {}  # worker number → how many ranges it classified, once done

    @property
    def range_count(self) -> int:
        return len(self._ranges)

    def __iter__(self) -> Iterator[MatchedHit]:
        try:
            for number in range(len(self._ranges)):
                yield from self._hits_of(number)
            while len(self._finished) < len(self._processes):
                self._take(None)
            for worker, (taken, resolved, registrations, ambiguous) in self._finished:
                self.ranges_taken[worker] = taken
                self.classifier.resolved_addresses.update(resolved)
                self.classifier.new_registrations.extend(registrations)
                self.classifier.index.add_ambiguous(ambiguous.values())
            for process in self._processes:
                process.join()
        finally:
            self.close()

    def _hits_of(self, number: int) -> Iterator[MatchedHit]:
        while True:
            early = self._early.get(number)
            if early:
                kind, payload = early.pop(0)
            else:
                kind, payload = self._take(number)
            if kind == "hits":
                yield from map(unpack_hit, payload)
            else:
                self._early.pop(number, None)
                self.summary.add_counts(payload)
                return

    def _take(self, wanted: int | None) -> tuple[str, Any]:
        """The next message of range ``wanted`` (None: of no range, a worker's end), holding
        those of other ranges until their turn."""
        while True:
            try:
                kind, number, payload = self._results.get(timeout=WORKER_POLL_SECONDS)
            except queue.Empty:
                ended = [p for p in self._processes if not p.is_alive() and p.exitcode != 0]
                if ended:
                    raise RuntimeError(
                        f"{self.path}: worker {ended[0].name} ended (exit code {ended[0].exitcode}) without its results"
                    ) from None
                continue
            if kind == "bad_input":
                raise BadInput(payload)
            if kind == "error":
                raise RuntimeError(f"{self.path}: worker {self._processes[number].name} failed:\n{payload}")
            if kind == "done":
                self._finished.append((number, payload))
                if wanted is None:
                    return kind, payload
                continue
            if number == wanted:
                return kind, payload
            self._early.setdefault(number, []).append((kind, payload))

    def close(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()
        if self._decisions is not None:
            self._decisions.close()


def can_split(path: str, min_bytes: int, encoding: str = "utf-8") -> bool:
    """Only plain files can be cut into ranges; small ones are not worth a process. Ranges are cut
    after a ``\n`` byte: a file whose encoding writes a newline otherwise (UTF-16, UTF-32) is read
    whole. A W3C log (its first byte a ``#`` directive) is read whole too: its ``#Fields:`` lines
    set the layout of the lines after them, which a range starting mid-file would not see."""
    if path == "-" or path.endswith(".gz") or os.path.getsize(path) < min_bytes:
        return False
    if not newline_is_one_byte(encoding):
        return False
    with open(path, "rb") as handle:
        return handle.read(1) != b"#"


class MatchedHits:
    """The matched hits of a replay's files, merged by event time (``matched_hits_of_files``);
    ``close`` stops the worker processes of a run that ends early."""

    def __init__(self, hits: Iterator[MatchedHit], parallel: Sequence[ParallelFile]) -> None:
        self._hits = hits
        self._parallel = parallel

    def __iter__(self) -> Iterator[MatchedHit]:
        return self._hits

    def __next__(self) -> MatchedHit:
        return next(self._hits)

    def close(self) -> None:
        for file in self._parallel:
            file.close()


def matched_hits_of_files(
    paths: Sequence[str], classifier: HitClassifier, summary: RunSummary, workers: int, min_bytes: int
) -> MatchedHits:
    """Matched hits of all the files merged by event time: large plain files in parallel (their
    worker processes start now), the rest in-process.

    Several files are the logs of several web servers behind one load balancer, each in its own
    time order: a visit's pages are spread over them. ``heapq.merge`` keeps one hit of each file in
    hand (memory grows with the number of files, not their length: no sort of the whole input), and
    what is still out of order, within a file, goes to the tracker's disorder buffer (README,
    "Event time"). The cores are shared among the files being read at once."""
    per_file = max(1, workers // max(1, len(paths)))
    parallel: list[ParallelFile] = []
    per_path: list[Iterable[MatchedHit]] = []
    for path in paths:
        if per_file > 1 and can_split(path, min_bytes, classifier.settings.log.encoding):
            parallel.append(ParallelFile(classifier, path, per_file, summary))
            per_path.append(parallel[-1])
        else:
            per_path.append(_matched_hits_in_process(path, classifier, summary))
    return MatchedHits(heapq.merge(*per_path, key=_event_time), parallel)


def _event_time(matched: MatchedHit) -> datetime:
    return matched.hit.timestamp


def _matched_hits_in_process(path: str, classifier: HitClassifier, summary: RunSummary) -> Iterator[MatchedHit]:
    yield from matched_hits_of_text(read_blocks([path], classifier.settings.log.encoding), classifier, summary)
