"""Late resolution: reverse DNS and RDAP, too slow for the hot path, on a thread of their own.

The hot path hands over an address it could not match (``submit``, which never blocks) and goes
on; the address's hits are held by the caller. Answers come back through ``finished()``, which the
hot path drains between batches: it then re-classifies the held hits, so a visit from a company
that only RDAP knows still becomes a session and may alert, just a little later.

Inside, one asyncio loop runs reverse DNS natively (dnspython) and RDAP in a small thread pool
(ipwhois is blocking), with a bounded number of lookups in flight and a rate limit for RDAP,
whose registries throttle clients that ask too often.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from revisit.core.config import ResolutionSettings
from revisit.core.networks import IPAddress
from revisit.core.organization import Organization
from revisit.core.phrase import Phrase
from revisit.enrichment.rdap import (
    NetworkRegistration,
    RdapClient,
    RdapLookupFailed,
    RegistrationCache,
)
from revisit.enrichment.reverse_dns import ReverseDnsResolver, public_suffixes
from revisit.enrichment.terms import late_source_terms

log = logging.getLogger("revisit.resolve.late")

Answer = TypeVar("Answer")
INTAKE_SECONDS = 0.1  # how often the late-resolution thread takes in submitted addresses

# (resolver name, seconds taken, result: "answer", "none" or "error"), as in enrichment.resolve
LateObserver = Callable[[str, float, str], None]


@dataclass(frozen=True, slots=True)
class SourceNote:
    """One late resolver's answer in words, for ``revisit explain``: its label, and its clues as
    sentences (``Phrase``) or, for an answer read back from the database, as the stored text."""

    source: str  # "reverse DNS", "RDAP", "RDAP (cached)"
    said: tuple[Phrase | str, ...]

    def __str__(self) -> str:
        return f"{self.source}: {'; '.join(map(str, self.said))}"


@dataclass(frozen=True, slots=True)
class LateAnswer:
    address: str  # as submitted
    organization: Organization | None
    notes: tuple[SourceNote, ...]  # each resolver's answer, for `revisit explain`
    new_registration: NetworkRegistration | None = None  # to keep in the database


class RateLimiter:
    """At most ``rate`` starts per second, spaced evenly (a registry sees a steady trickle)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class DaemonThreads:
    """A few daemon threads for ipwhois' blocking lookups.

    Not a ThreadPoolExecutor: Python joins those at exit, so a process ending while a registry
    takes its time (replay's forked classifiers, a worker on SIGTERM) would wait for the answer."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        for number in range(count):
            threading.Thread(target=self._work, name=f"{name}-{number}", daemon=True).start()

    def run(self, function: Callable[..., Any], *args: Any) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((future, function, args))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                self._jobs.put(None)  # let the next thread see it too
                return
            future, function, args = job
            try:
                result, error = function(*args), None
            except BaseException as failure:
                result, error = None, failure
            future.get_loop().call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class LateResolver:
    """Reverse DNS then RDAP for addresses the fast resolvers could not match.

    Thread-safe where the hot path calls it (``submit``, ``finished``, ``in_flight``). The thread
    starts on first use, in the process that uses it (replay forks classifier processes).
    """

    def __init__(
        self,
        config: ResolutionSettings,
        registrations: RegistrationCache | None = None,
        observer: LateObserver | None = None,
    ) -> None:
        self.config = config
        self.terms = late_source_terms(config)  # of reverse DNS and RDAP, when turned on
        self.rdap = RdapClient(config.rdap) if config.rdap.enabled else None
        if config.reverse_dns.enabled:
            public_suffixes()  # parsed here, in the parent of replay's forked classifiers
        self.registrations = registrations or RegistrationCache()
        self.observer = observer
        self._done: queue.SimpleQueue[LateAnswer] = queue.SimpleQueue()
        self._submitted: set[str] = set()
        self._incoming: collections.deque[tuple[IPAddress, str]] = collections.deque()
        self._tasks: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self._idle = threading.Event()
        self._idle.set()
        # made on the late-resolution thread, in its event loop
        self._reverse_dns: ReverseDnsResolver | None = None
        self._rdap_pool: DaemonThreads | None = None

    @property
    def enabled(self) -> bool:
        return self.config.reverse_dns.enabled or self.rdap is not None

    # --- called from the hot path ----------------------------------------------------------
    def submit(self, address: IPAddress, key: str) -> bool:
        """Queue a lookup; False when too many are waiting (the address then stays unmatched).

        Only appends to a queue the late-resolution thread takes in every 100 ms: waking that
        thread for each address would make the hot path hand the interpreter lock back and forth
        thousands of times a second."""
        with self._lock:
            if key in self._submitted:
                return True
            if len(self._submitted) >= self.config.late_max_in_flight:
                return False
            self._submitted.add(key)
            self._idle.clear()
        if self._loop is None or self._owner_pid != os.getpid():
            self._running_loop()
        self._incoming.append((address, key))
        return True

    def finished(self) -> list[LateAnswer]:
        """Answers that arrived since the last call (never blocks)."""
        answers = []
        while True:
            try:
                answers.append(self._done.get_nowait())
            except queue.Empty:
                return answers

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._submitted)

    def wait_idle(self, timeout: float) -> bool:
        """Until every submitted lookup has answered (True) or ``timeout`` seconds passed (False)."""
        return self._idle.wait(timeout)

    def resolve_now(self, address: IPAddress) -> LateAnswer:
        """One lookup, waited for (``revisit explain``); not for the hot path."""
        future = asyncio.run_coroutine_threadsafe(self._lookup(address, str(address)), self._running_loop())
        return future.result()

    def close(self) -> None:
        """Stop the thread: lookups in flight are abandoned (their lines were counted unmatched)."""
        if self._loop is not None and self._owner_pid == os.getpid():
            with contextlib.suppress(TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(self._cancel_all(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._loop = self._thread = None

    async def _cancel_all(self) -> None:
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- on the late-resolution thread ------------------------------------------------------
    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._owner_pid != os.getpid():
                self._owner_pid = os.getpid()
                self._incoming.clear()  # a forked copy's queue and tasks belong to the parent
                self._tasks = set()
                self._loop = asyncio.new_event_loop()
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._loop, ready), name="revisit-late-resolution", daemon=True
                )
                self._thread.start()
                ready.wait()
            return self._loop

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        dns_settings, rdap = self.config.reverse_dns, self.config.rdap
        self._reverse_dns = ReverseDnsResolver(dns_settings) if dns_settings.enabled else None
        self._rdap_pool = DaemonThreads(max(1, rdap.concurrency), "revisit-rdap")
        self._rdap_slots = asyncio.Semaphore(max(1, rdap.concurrency))
        self._rdap_rate = RateLimiter(rdap.requests_per_second)
        self._tasks.add(loop.create_task(self._take_in()))
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            self._rdap_pool.stop()
            loop.close()

    async def _take_in(self) -> None:
        """Moves submitted addresses to the lookers every INTAKE_SECONDS, starting as many lookers
        as may work at once: a few coroutines, not one per address (thousands of waiting tasks
        cost this thread, and so the hot path, time)."""
        waiting: asyncio.Queue[tuple[IPAddress, str]] = asyncio.Queue()
        lookers = max(
            self.config.reverse_dns.concurrency if self.config.reverse_dns.enabled else 0,
            self.config.rdap.concurrency if self.rdap is not None else 0,
            1,
        )
        for _ in range(lookers):
            task = asyncio.get_running_loop().create_task(self._look(waiting))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
        while True:
            while self._incoming:
                waiting.put_nowait(self._incoming.popleft())
            await asyncio.sleep(INTAKE_SECONDS)

    async def _look(self, waiting: asyncio.Queue[tuple[IPAddress, str]]) -> None:
        while True:
            address, key = await waiting.get()
            await self._resolve(address, key)

    async def _resolve(self, address: IPAddress, key: str) -> None:
        try:
            answer = await self._lookup(address, key)
        except Exception as error:
            log.warning("late resolution failed for an address: %s: %s", type(error).__name__, error)
            failed = Phrase.of("late resolution failed: {error}", error=type(error).__name__)
            answer = LateAnswer(key, None, (SourceNote("reverse DNS / RDAP", (failed,)),))
        self._done.put(answer)
        with self._lock:
            self._submitted.discard(key)
            if not self._submitted:
                self._idle.set()

    async def _lookup(self, address: IPAddress, key: str) -> LateAnswer:
        notes: list[SourceNote] = []
        if self._reverse_dns is not None:
            ptr = await self._timed(
                "reverse_dns", self._reverse_dns.lookup(address), lambda answer: answer.organization is not None
            )
            notes.append(SourceNote("reverse DNS", (ptr.note,)))
            if ptr.organization is not None:
                # a company domain, or an ISP pool name: either way RDAP would add nothing
                return LateAnswer(key, ptr.organization, tuple(notes))
        if self.rdap is None:
            return LateAnswer(key, None, tuple(notes))
        now = datetime.now(UTC)
        cached = self.registrations.find(address, now)
        if cached is not None:
            notes.append(SourceNote("RDAP (cached)", cached.evidence_said or (cached.evidence,)))
            return LateAnswer(key, cached.organization(), tuple(notes))
        registration = await self._timed("rdap", self._ask_rdap(address), lambda found: found.found)
        self.registrations.add(registration)
        notes.append(SourceNote("RDAP", registration.evidence_said or (registration.evidence,)))
        return LateAnswer(key, registration.organization(), tuple(notes), registration)

    async def _ask_rdap(self, address: IPAddress) -> NetworkRegistration:
        assert self.rdap is not None
        async with self._rdap_slots:
            await self._rdap_rate.wait()
            assert self._rdap_pool is not None
            try:
                return await self._rdap_pool.run(self.rdap.lookup, address)
            except RdapLookupFailed as error:
                return self.rdap.negative(address, str(error))

    async def _timed(self, name: str, lookup: Awaitable[Answer], answered: Callable[[Answer], bool]) -> Answer:
        """Awaits one resolver, reporting its time and result to the observer (the metrics)."""
        started = time.perf_counter()
        try:
            result = await lookup
        except Exception:
            if self.observer is not None:
                self.observer(name, time.perf_counter() - started, "error")
            raise
        if self.observer is not None:
            self.observer(name, time.perf_counter() - started, "answer" if answered(result) else "none")
        return result
