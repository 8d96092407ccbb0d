"""Wiring: settings and inputs in, a ready pipeline out. Used by the CLI, the demo and the tests.

Every input is opened and validated here, before anything is written, so bad input (a missing log,
a broken account list, an unreadable mmdb) ends the command with status 2 and an untouched database.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, field
from typing import Sequence, TextIO

from alerts.channels import Channel, ConsoleChannel, DeliveryResult, JsonLinesChannel
from alerts.policy import Alert
from enrichment.accounts import Account, load_accounts
from enrichment.late import LateResolver
from enrichment.match import AccountIndex
from enrichment.maxmind import MaxMindResolver
from enrichment.rdap import NetworkRegistration
from enrichment.resolve import AccountNetworkResolver, ResolutionObserver, Resolver, ResolverChain
from revisit.config import Settings
from revisit.privacy import AddressProtector
from revisit.storage.store import Store
from stream.parallel import matched_hits_of_files
from stream.pipeline import HitClassifier, RunSummary, VisitTracker, track_and_store
from stream.sources import check_log_paths


@dataclass
class ChannelSender:
    """Hands each new alert to every channel and keeps the delivery results."""

    channels: Sequence[Channel]
    results: list[DeliveryResult] = field(default_factory=list)

    def deliver(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            for channel in self.channels:
                self.results.append(channel.send(alert))


@dataclass(frozen=True)
class Enrichment:
    index: AccountIndex
    resolvers: ResolverChain  # the fast ones, asked on the hot path
    maxmind: MaxMindResolver | None
    late: LateResolver | None  # reverse DNS and RDAP, off the hot path; None when both are off

    def remember_registrations(self, registrations: Sequence[NetworkRegistration]) -> None:
        """RDAP answers kept by earlier runs (the database), so they are not asked again."""
        if self.late is not None:
            for registration in registrations:
                self.late.registrations.add(registration)

    def close(self) -> None:
        if self.maxmind is not None:
            self.maxmind.close()
        if self.late is not None:
            self.late.close()


def freeze_long_lived_objects() -> None:
    """Take what was built at start (the account index: a million objects for 100,000 accounts)
    out of the garbage collector's full collections. Each full collection visits every tracked
    object and stops the process meanwhile; without this its pauses grow with the account list
    and show as latency spikes. The objects are still freed by reference counting."""
    gc.collect()
    gc.freeze()


def build_enrichment(accounts: Sequence[Account], mmdb_paths: Sequence[str], settings: Settings,
                     observer: ResolutionObserver | None = None) -> Enrichment:
    index = AccountIndex(accounts, settings.matching)
    resolvers: list[Resolver] = [AccountNetworkResolver(index)]
    maxmind = (MaxMindResolver.from_paths(mmdb_paths, settings.resolution.mmdb_reload_seconds)
               if mmdb_paths else None)
    if maxmind is not None:
        resolvers.append(maxmind)
    late = LateResolver(settings.resolution, observer=observer)
    return Enrichment(index, ResolverChain(resolvers, observer), maxmind, late if late.enabled else None)


@dataclass(frozen=True)
class ReplayRequest:
    logs: Sequence[str]
    accounts_csv: str
    mmdb_paths: Sequence[str] = ()
    db_url: str | None = None
    alerts_jsonl: str | None = None
    encoding: str = "utf-8-sig"
    workers: int | None = None  # None: from settings


def replay(request: ReplayRequest, settings: Settings, console: TextIO = sys.stdout) -> RunSummary:
    check_log_paths(request.logs)
    accounts = load_accounts(request.accounts_csv, request.encoding)
    enrichment = build_enrichment(accounts, list(settings.resolution.mmdb_paths) + list(request.mmdb_paths), settings)
    store = Store(request.db_url or settings.database_url, delivery=settings.delivery,
                  protect_address=AddressProtector.from_settings(settings.privacy).protect)
    try:
        store.save_accounts(accounts)
        if enrichment.late is not None:
            enrichment.remember_registrations(store.load_network_registrations())
        classifier = HitClassifier(settings, enrichment.index, enrichment.resolvers, late=enrichment.late)
        freeze_long_lived_objects()
        tracker = VisitTracker(settings, dict(store.last_alert_times()))
        channels: list[Channel] = [JsonLinesChannel(request.alerts_jsonl or settings.alerts.jsonl_path),
                                   ConsoleChannel(console)]
        summary = RunSummary()
        started = time.perf_counter()
        workers = request.workers if request.workers is not None else settings.replay.worker_count()
        matched = matched_hits_of_files(request.logs, classifier, summary, workers,
                                        settings.replay.parallel_min_mb * 1024 * 1024)
        track_and_store(matched, tracker, store.hit_sink(), ChannelSender(channels), summary)
        summary.seconds = time.perf_counter() - started
        store.save_organizations(classifier.resolved_addresses)
        store.save_network_registrations(classifier.new_registrations)
        if settings.delivery.routes or settings.delivery.default_channels:
            deliver_due_alerts(store, settings)
        return summary
    finally:
        store.close()
        enrichment.close()


def deliver_due_alerts(store: Store, settings: Settings) -> None:
    """One pass of the sender after a replay; retries are left to ``revisit sender``."""
    from alerts.sender import DeliverySender

    DeliverySender.for_store(store, settings.delivery).run_once(limit=10_000)


def format_summary(summary: RunSummary) -> str:
    numbers = summary.as_dict()
    lines = [
        f"lines {numbers['lines']:,}  parsed {numbers['parsed']:,}  malformed {numbers['malformed']:,}  "
        f"filtered {numbers['filtered']:,}  resolved {numbers['resolved']:,}  matched {numbers['matched']:,}  "
        f"alerts {numbers['alerts']:,} ({summary.alerts_new:,} new)",
    ]
    if summary.malformed:
        lines.append("  malformed: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.malformed.items())))
    if summary.filtered:
        lines.append("  filtered:  " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.filtered.items())))
    if summary.accounts_seen:
        lines.append(f"  dormant-list accounts seen: {len(summary.accounts_seen):,}")
    if summary.seconds > 0:
        lines.append(f"  processed in {summary.seconds:.2f} s ({summary.lines / summary.seconds:,.0f} lines/s)")
    return "\n".join(lines)
