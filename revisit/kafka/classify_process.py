"""The classify stage in a process of its own, forked by the worker before it starts.

Why: in one process the two stages shared one interpreter lock. In a backlog the classify stage read
40,000 lines/s while the stateful stage, starved, stored the hits of 29,500 (0.45x the bare
consumer, bench 2026-12-02): the main thread was 98 % busy. Forked after the list, the databases and
the classifier are loaded, the child starts at once and shares those pages with the worker.

The stages talk only through Kafka, as before. A pipe carries what the worker's endpoints show of
the child: its readiness (each change, and a heartbeat every second) and, on each /metrics scrape,
what its metrics counted since the fork (``metric_deltas``), added to the worker's own
(``merged_families``): one /metrics for the worker, with the metric names of DESIGN.md.

Stops: SIGTERM or SIGINT to the worker stops the child too (it finishes its batch and commits);
a worker that dies (SIGKILL) leaves a child that notices within a second and stops; a child that
dies stops the worker (exit 1), so the supervisor restarts both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from mode import Service
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from revisit.core.config import Settings
from revisit.core.metrics import RevisitMetrics
from revisit.enrichment.classify import HitClassifier
from revisit.kafka.classify_stage import ClassifyStage, StageStore
from revisit.kafka.ledger_learning import StreamLedger

log = logging.getLogger("revisit.worker.classify")

HEARTBEAT_SECONDS = 1.0
STATUS_STALE_SECONDS = 5.0  # a child silent this long is reported not ready (a stuck loop)
METRICS_ANSWER_SECONDS = 2.0  # a scrape waits this long for the child's figures, then shows the last ones
STOP_SECONDS = 30.0  # SIGTERM, then SIGKILL: the child's batch in flight and its commit take well under
SUMMED_TYPES = frozenset({"counter", "histogram", "summary", "gaugehistogram"})

SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def _key(sample: Sample) -> SampleKey:
    return sample.name, tuple(sorted(sample.labels.items()))


def sample_values(registry: CollectorRegistry) -> dict[SampleKey, float]:
    return {_key(sample): sample.value for family in registry.collect() for sample in family.samples}


def metric_deltas(registry: CollectorRegistry, baseline: dict[SampleKey, float]) -> list[Metric]:
    """What the registry counted since ``baseline`` was taken: counters and histograms as
    differences, gauges where they changed; unchanged series left out, ``_created`` only of new ones.

    A forked child's registry starts as a copy of its parent's (series created at start-up,
    build info, collections counted so far): sent whole, those would be counted twice."""
    families = []
    for family in registry.collect():
        summed = family.type in SUMMED_TYPES
        samples = []
        for sample in family.samples:
            before = baseline.get(_key(sample))
            if before is None:
                samples.append(sample)
            elif sample.value == before or sample.name.endswith("_created"):
                continue
            elif summed:
                samples.append(sample._replace(value=sample.value - before))
            else:
                samples.append(sample)
        if samples:
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            copy.samples = samples
            families.append(copy)
    return families


def merged_families(own: Iterable[Metric], other: Iterable[Metric]) -> Iterator[Metric]:
    """``own`` with ``other``'s samples added: counters and histograms summed (the earliest
    ``_created``), gauges kept as ``own`` has them, series ``own`` lacks appended."""
    extra = {family.name: family for family in other}
    for family in own:
        added = extra.pop(family.name, None)
        if added is None:
            yield family
            continue
        values = {_key(sample): sample for sample in family.samples}
        summed = family.type in SUMMED_TYPES
        for sample in added.samples:
            key = _key(sample)
            mine = values.get(key)
            if mine is None:
                values[key] = sample
            elif sample.name.endswith("_created"):
                values[key] = mine._replace(value=min(mine.value, sample.value))
            elif summed:
                values[key] = mine._replace(value=mine.value + sample.value)
        combined = Metric(family.name, family.documentation, family.type, family.unit)
        combined.samples = list(values.values())
        yield combined
    yield from extra.values()


class MergedRegistry:
    """What ``prometheus_client.generate_latest`` takes: anything with ``collect()``."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


@dataclass(frozen=True)
class ClassifyChild:
    """The forked child and the worker's end of its pipe."""

    process: BaseProcess
    conn: Connection

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if it must (blocking: ``ClassifyProcess.on_stop`` runs it in a
        thread); after the child has ended, nothing to do."""
        if self.process.exitcode is None and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.join(STOP_SECONDS)
            if self.process.exitcode is None:
                log.error("the classify process did not stop in %.0f s: killed", STOP_SECONDS)
                self.process.kill()
        self.process.join()


@dataclass(frozen=True)
class StageParts:
    """What the child builds its stage from: the worker's own objects, inherited by ``fork()``
    (nothing is pickled or loaded again)."""

    settings: Settings
    classifier: HitClassifier
    metrics: RevisitMetrics
    store: StageStore
    ledger: StreamLedger | None
    forget_connections: Callable[[], None]  # the store's pooled connections, dropped in the child


def fork_classify_stage(parts: StageParts) -> ClassifyChild:
    """Start the child: ``fork()`` before the worker's event loop and threads exist (a lock held
    by another thread would stay held in the child forever)."""
    if threading.active_count() > 1:
        log.warning("forking the classify stage with %d threads running", threading.active_count())
    context = multiprocessing.get_context("fork")
    conn, child_conn = context.Pipe()
    process = context.Process(
        target=_child_main,
        name="revisit-classify",
        args=(child_conn, conn, os.getpid(), parts),
        daemon=False,  # it commits its offsets on the way out
    )
    process.start()
    child_conn.close()  # the child's end lives in the child: its exit is the worker's EOF
    log.info("classify stage started in process %d", process.pid)
    return ClassifyChild(process, conn)


class ClassifyProcess(Service):
    """The worker's side: reads the child's pipe on the worker's loop, answers for it in /readyz
    and /metrics, and stops it with the worker."""

    def __init__(self, child: ClassifyChild, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failed = False  # the child ended while the worker was not stopping it
        self._child, self._process, self._conn = child, child.process, child.conn
        self._status: str | None = "the classify process is starting"
        self._status_at: float | None = None
        self._exit_code: int | None = None
        self._stopping = False
        self._answers: list[asyncio.Future[list[Metric]]] = []
        self._last_families: list[Metric] = []

    def problem(self) -> str | None:
        """A readiness check: the child's own, or why it cannot give one."""
        if self._exit_code is not None:
            return f"the classify process exited (code {self._exit_code})"
        if self._status_at is not None and time.monotonic() - self._status_at > STATUS_STALE_SECONDS:
            return f"the classify process has not reported for {time.monotonic() - self._status_at:.0f} s"
        return self._status

    async def on_start(self) -> None:
        self.loop.add_reader(self._conn.fileno(), self._read)

    def _read(self) -> None:
        try:
            while self._conn.poll():
                kind, payload = self._conn.recv()
                if kind == "status":
                    self._status, self._status_at = payload, time.monotonic()
                elif kind == "metrics":
                    self._last_families = payload
                    answers, self._answers = self._answers, []
                    for answer in answers:
                        if not answer.done():
                            answer.set_result(payload)
        except (EOFError, OSError):
            self.loop.remove_reader(self._conn.fileno())
            self.add_future(self._reap())

    async def _reap(self) -> None:
        """The child closed its end: wait for its exit code; stop the worker if nobody asked it to go."""
        while self._process.exitcode is None:
            await asyncio.sleep(0.05)
        self._exit_code = self._process.exitcode
        if not self._stopping:
            self.failed = True
            log.error("the classify process exited (code %s): stopping the worker", self._exit_code)
            os.kill(os.getpid(), signal.SIGTERM)

    async def metric_families(self) -> list[Metric]:
        """The child's figures since the fork, or the last ones when it does not answer in time."""
        if self._exit_code is not None:
            return self._last_families
        answer: asyncio.Future[list[Metric]] = self.loop.create_future()
        self._answers.append(answer)
        try:
            self._conn.send(("metrics", None))
            return await asyncio.wait_for(answer, METRICS_ANSWER_SECONDS)
        except (TimeoutError, OSError):
            return self._last_families

    async def on_stop(self) -> None:
        self._stopping = True
        await asyncio.get_running_loop().run_in_executor(None, self._child.stop)  # the loop stays free
        self._conn.close()


def _child_main(conn: Connection, parents_end: Connection, parent_pid: int, parts: StageParts) -> None:
    parents_end.close()
    parts.forget_connections()  # the pooled database connections are the worker's: new ones here
    code = asyncio.run(_serve(conn, parent_pid, parts, sample_values(parts.metrics.registry)))
    raise SystemExit(code)


async def _serve(conn: Connection, parent_pid: int, parts: StageParts, baseline: dict[SampleKey, float]) -> int:
    """Run the stage until SIGTERM, SIGINT, the worker's death or a crash; 1 after a crash."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def worker_gone() -> None:
        if not stop.is_set():
            log.warning("the worker (process %d) is gone: the classify stage stops", parent_pid)
            stop.set()

    def answer() -> None:
        try:
            while conn.poll():
                conn.recv()  # the one request: the metrics
                conn.send(("metrics", metric_deltas(parts.metrics.registry, baseline)))
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            worker_gone()

    loop.add_reader(conn.fileno(), answer)
    stage = ClassifyStage(parts.settings, parts.classifier, parts.metrics, resolutions=parts.store, ledger=parts.ledger)
    await stage.start()
    try:
        while not stop.is_set() and not stage.crashed:
            if os.getppid() != parent_pid:
                worker_gone()
                break
            try:
                conn.send(("status", stage.problem()))
            except OSError:
                worker_gone()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
    finally:
        await stage.stop()
    if stage.crashed:
        log.error("the classify stage failed: %r", stage.crash_reason)
        return 1
    return 0
