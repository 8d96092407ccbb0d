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

import heapq
import multiprocessing
import os
import queue
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from revisit.enrichment.classify import (
    HitClassifier,
    MatchedHit,
    RunSummary,
    tally,
    with_late_resolution,
)
from revisit.stream.sources import MAX_LINE_BYTES, is_cut, read_lines, skip_rest_of_line

HITS_PER_MESSAGE = 5000
WORKER_POLL_SECONDS = 1.0


def line_aligned_ranges(path: str | Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file, each starting at the beginning of a line."""
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(size * k // parts)
            skip_rest_of_line(handle)  # the line we landed in belongs to the previous range
            position = handle.tell()
            if starts[-1] < position < size:
                starts.append(position)
    return [(start, end) for start, end in zip(starts, starts[1:] + [size], strict=True)]


def read_range(path: str | Path, start: int, end: int, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of ``[start, end)``, read and decoded like ``read_lines`` (UTF-8, bad bytes
    replaced, an over-long line cut and the rest of it dropped)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while position < end and (raw := handle.readline(MAX_LINE_BYTES)):
            position += len(raw)
            if is_cut(raw):
                position += skip_rest_of_line(handle)[0]
            yield raw.decode(encoding, "replace")


def _classify_range(classifier: HitClassifier, path: str, start: int, end: int, results: multiprocessing.Queue) -> None:
    """Worker body: classify one range, stream matched hits back, then the counts."""
    try:
        classifier.resolved_addresses.clear()  # report only what this worker learned
        classifier.new_registrations.clear()
        summary = RunSummary()
        batch: list[MatchedHit] = []
        outcomes = with_late_resolution(
            read_range(path, start, end, classifier.settings.log.encoding), classifier, classifier.settings
        )
        for matched in tally(outcomes, summary):
            batch.append(matched)
            if len(batch) >= HITS_PER_MESSAGE:
                results.put(("hits", batch))
                batch = []
        if batch:
            results.put(("hits", batch))
        results.put(("done", (summary, classifier.resolved_addresses, classifier.new_registrations)))
    except BaseException:  # the parent must hear about it rather than wait forever
        results.put(("error", traceback.format_exc()))


def classify_in_parallel(
    classifier: HitClassifier, path: str, workers: int, summary: RunSummary
) -> Iterator[MatchedHit]:
    """Matched hits of one file in file order; every line's outcome is counted into ``summary``."""
    context = multiprocessing.get_context("fork")
    jobs = []
    for start, end in line_aligned_ranges(path, workers):
        results = context.Queue()
        process = context.Process(
            target=_classify_range,
            args=(classifier, path, start, end, results),
            name=f"revisit-replay-{start}",
            daemon=True,
        )
        process.start()
        jobs.append((process, results, start, end))
    try:
        for process, results, start, end in jobs:
            while True:
                try:
                    kind, payload = results.get(timeout=WORKER_POLL_SECONDS)
                except queue.Empty:
                    if not process.is_alive():
                        raise RuntimeError(
                            f"{path}: worker for bytes {start}-{end} ended "
                            f"(exit code {process.exitcode}) without its results"
                        ) from None
                    continue
                if kind == "hits":
                    yield from payload
                elif kind == "done":
                    part, resolved, registrations = payload
                    summary.add_counts(part)
                    classifier.resolved_addresses.update(resolved)
                    classifier.new_registrations.extend(registrations)
                    break
                else:
                    raise RuntimeError(f"{path}: worker for bytes {start}-{end} failed:\n{payload}")
            process.join()
    finally:
        for process, _results, _start, _end in jobs:
            if process.is_alive():
                process.kill()
                process.join()


def can_split(path: str, min_bytes: int) -> bool:
    """Only plain files can be cut into ranges; small ones are not worth a process. A W3C log
    (its first byte a ``#`` directive) is read whole: its ``#Fields:`` lines set the layout of the
    lines after them, which a range starting mid-file would not see."""
    if path == "-" or path.endswith(".gz") or os.path.getsize(path) < min_bytes:
        return False
    with open(path, "rb") as handle:
        return handle.read(1) != b"#"


def matched_hits_of_files(
    paths: Sequence[str], classifier: HitClassifier, summary: RunSummary, workers: int, min_bytes: int
) -> Iterator[MatchedHit]:
    """Matched hits of all the files merged by event time: large plain files in parallel, the rest
    in-process.

    Several files are the logs of several web servers behind one load balancer, each in its own
    time order: a visit's pages are spread over them. ``heapq.merge`` keeps one hit of each file in
    hand (memory grows with the number of files, not their length: no sort of the whole input), and
    what is still out of order, within a file, goes to the tracker's disorder buffer (README,
    "Event time"). The cores are shared among the files being read at once."""
    per_file = max(1, workers // max(1, len(paths)))
    return heapq.merge(
        *(_matched_hits_of_file(path, classifier, summary, per_file, min_bytes) for path in paths), key=_event_time
    )


def _event_time(matched: MatchedHit) -> datetime:
    return matched.hit.timestamp


def _matched_hits_of_file(
    path: str, classifier: HitClassifier, summary: RunSummary, workers: int, min_bytes: int
) -> Iterator[MatchedHit]:
    if workers > 1 and can_split(path, min_bytes):
        yield from classify_in_parallel(classifier, path, workers, summary)
    else:
        outcomes = with_late_resolution(
            read_lines([path], classifier.settings.log.encoding), classifier, classifier.settings
        )
        yield from tally(outcomes, summary)
