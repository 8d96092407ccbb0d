"""The one wiring: settings and inputs in, a ready replay or worker out. The command line only
parses arguments and calls ``replay``, ``run_worker_process``, ``delivery_sender`` or
``load_checked_settings``; the demo and the tests call the same functions.

Every input is opened and validated here, before anything is written, so bad input (a missing log,
a broken account list, an unreadable mmdb) ends the command with status 2 and an untouched database.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from babel.numbers import is_currency

from revisit.alerts.channels import (
    Channel,
    DeliveryResult,
    channel_secrets,
    check_channel_names,
    remote_channels,
)
from revisit.alerts.channels.local import ConsoleChannel, JsonLinesChannel
from revisit.alerts.policy import ACTIVE, ALERTED, COOLDOWN, LOW_INTENT
from revisit.alerts.render import one_line, shown_time
from revisit.alerts.sender import DeliverySender, SenderThread, SendReport, wants_sender
from revisit.alerts.tracker import VisitTracker, track_and_store
from revisit.core.account import Account
from revisit.core.alert import Alert
from revisit.core.config import Settings, load_settings, secret_sources
from revisit.core.errors import BadInput
from revisit.core.hit import MalformedReason
from revisit.core.match import Ambiguity, MatchMethod
from revisit.core.text import printable
from revisit.enrichment.classify import HitClassifier, RunSummary
from revisit.enrichment.late import LateResolver
from revisit.enrichment.ledger import Ledger, LedgerResolver, learn
from revisit.enrichment.ledger_import import Learned, sightings_of_sign_ins
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver
from revisit.enrichment.parallel import matched_hits_of_files
from revisit.enrichment.prepared import prepare_accounts, prepare_stored_accounts
from revisit.enrichment.rdap import NetworkRegistration
from revisit.enrichment.resolve import (
    AccountNetworkResolver,
    ResolutionObserver,
    Resolver,
    ResolverChain,
)
from revisit.enrichment.terms import SourceTerms, check_source_terms
from revisit.privacy import AddressProtector
from revisit.storage.outbox import AlertOutbox, HeldDelivery
from revisit.storage.store import Store
from revisit.stream.check import LogCheckWords
from revisit.stream.filters import FilterReason
from revisit.stream.formats import make_line_parser
from revisit.stream.identity import SignInReader
from revisit.stream.sources import check_log_paths, read_lines

if TYPE_CHECKING:  # prometheus_client is imported by the processes that serve metrics, not by a replay
    from revisit.core.metrics import RevisitMetrics


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
    terms: tuple[SourceTerms, ...] = ()  # of every enabled source, for `revisit sources` and explain
    ledger_enabled: bool = True

    def use_ledger(self, store: Store) -> None:
        """Match by the ledger's unexpired, unrevoked entries (``ledger.enabled``)."""
        if self.ledger_enabled:
            self.index.use_ledger(Ledger(store.load_ledger(), datetime.now(UTC)))

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


def freeze_long_lived_objects(collect: bool = True) -> None:
    """Take what was built at start (the account index: a million objects for 100,000 accounts)
    out of the garbage collector's full collections. Each full collection visits every tracked
    object and stops the process meanwhile; without this its pauses grow with the account list
    and show as latency spikes. The objects are still freed by reference counting.

    ``collect``: the start-up's garbage collected first, for a process that runs for days. A
    replay ends within minutes and skips it: the collection found ~20 objects and took 0.1 s
    before the first line was read."""
    if collect:
        gc.collect()
    gc.freeze()


def build_enrichment(
    accounts: Sequence[Account] | AccountIndex,
    mmdb_paths: Sequence[str],
    settings: Settings,
    observer: ResolutionObserver | None = None,
) -> Enrichment:
    """``accounts``: a list, or its index as ``prepare_accounts`` kept it."""
    index = accounts if isinstance(accounts, AccountIndex) else AccountIndex(accounts, settings.matching)
    resolvers: list[Resolver] = [AccountNetworkResolver(index)]
    if settings.ledger.enabled:
        resolvers.append(LedgerResolver(index))
    maxmind = MaxMindResolver.from_paths(mmdb_paths, settings.resolution.mmdb_reload_seconds) if mmdb_paths else None
    if maxmind is not None:
        resolvers.append(maxmind)
    late = LateResolver(settings.resolution, observer=observer)
    chain = ResolverChain(resolvers, observer)
    terms = chain.terms() + late.terms
    return Enrichment(index, chain, maxmind, late if late.enabled else None, terms, settings.ledger.enabled)


def enabled_source_terms(settings: Settings, mmdb_paths: Sequence[str] = ()) -> tuple[SourceTerms, ...]:
    """The terms of every source the settings (and ``mmdb_paths``) turn on; each database's product
    is read from the file. BadInput (exit 2) for a file that cannot be read."""
    enrichment = build_enrichment([], list(settings.resolution.mmdb_paths) + list(mmdb_paths), settings)
    try:
        return enrichment.terms
    finally:
        enrichment.close()


def learn_sign_ins(logs: Sequence[str], settings: Settings, index: AccountIndex) -> Learned:
    """The ledger's lesson from the sign-ins in these logs (``ledger.log_field``)."""
    reader = SignInReader(settings.log, settings.ledger.log_field)
    learned = Learned()
    for path in logs:
        sign_ins = (s for s in map(reader.sign_in, read_lines([path], settings.log.encoding)) if s is not None)
        source = "stdin" if path == "-" else path.rsplit("/", 1)[-1]
        for sighting in sightings_of_sign_ins(sign_ins, settings.ledger.log_field_holds, source):
            learned.add(learn(sighting, index, settings.ledger, settings.filters.drop_private))
    return learned


def learns_sign_ins(logs: Sequence[str], settings: Settings) -> bool:
    """Whether replay reads the logs' sign-ins first (checked before anything is written)."""
    if not (settings.ledger.enabled and settings.ledger.log_field):
        return False
    SignInReader(settings.log, settings.ledger.log_field)  # a field the format lacks: exit 2 now
    if "-" in logs:
        raise BadInput("ledger.log_field: replay reads the logs twice (sign-ins first), so not from stdin (-)")
    return True


@dataclass(frozen=True)
class ReplayRequest:
    logs: Sequence[str]
    accounts_csv: str
    mmdb_paths: Sequence[str] = ()
    db_url: str | None = None
    alerts_jsonl: str | None = None
    encoding: str = "utf-8-sig"
    workers: int | None = None  # None: from settings


@dataclass
class ReplaySummary(RunSummary):
    """A replay's counts, and the organisations left unmatched because their names fit several
    accounts alike (by name), which only ``revisit explain`` told before."""

    ambiguous: tuple[Ambiguity, ...] = ()


def replay(request: ReplayRequest, settings: Settings, console: TextIO | None = None) -> ReplaySummary:
    console = console or sys.stdout  # read at call time: a default bound at import misses a redirected stdout
    check_log_paths(request.logs)
    prepared = prepare_accounts(request.accounts_csv, request.encoding, settings.matching, keep=False)
    enrichment = build_enrichment(
        prepared.index, list(settings.resolution.mmdb_paths) + list(request.mmdb_paths), settings
    )
    sign_ins = learns_sign_ins(request.logs, settings)
    store = open_store(request.db_url, settings, plan_in_event_time=True)
    try:
        if sign_ins:  # the lessons are stored with the list they name, before the lines are read
            store.save_accounts(prepared.accounts, prepared.digest, keys=prepared.keys)
            store.save_ledger_entries(learn_sign_ins(request.logs, settings, enrichment.index).entries)
        enrichment.use_ledger(store)
        if enrichment.late is not None:
            enrichment.remember_registrations(store.load_network_registrations())
        classifier = HitClassifier(settings, enrichment.index, enrichment.resolvers, late=enrichment.late)
        freeze_long_lived_objects(collect=False)
        tracker = VisitTracker(settings, dict(store.last_alert_times()))
        channels: list[Channel] = [
            JsonLinesChannel(request.alerts_jsonl or settings.alerts.jsonl_path),
            ConsoleChannel(console, settings.delivery.business_hours.timezone),
        ]
        summary = ReplaySummary()
        started = time.perf_counter()
        workers = request.workers if request.workers is not None else settings.replay.worker_count()
        matched = matched_hits_of_files(
            request.logs, classifier, summary, workers, settings.replay.parallel_min_mb * 1024 * 1024
        )
        try:
            # While the worker processes classify: keeping a new list (2 s for 100,000 accounts)
            # and storing it (0.85 s for 10,000) delayed their start (README, "Measured performance").
            prepared.keep()
            if not sign_ins:
                store.save_accounts(prepared.accounts, prepared.digest, keys=prepared.keys)
            track_and_store(matched, tracker, store.hit_sink(), ChannelSender(channels), summary)
        finally:
            matched.close()
        summary.seconds = time.perf_counter() - started
        summary.ambiguous = tuple(sorted(enrichment.index.ambiguous.values(), key=lambda a: a.organization))
        store.save_organizations(classifier.resolved_addresses)
        store.save_network_registrations(classifier.new_registrations)
        if settings.delivery.routes or settings.delivery.default_channels:
            console.write(deliver_due_alerts(store, settings) + "\n")
        return summary
    finally:
        store.close()
        enrichment.close()


def deliver_due_alerts(store: Store, settings: Settings) -> str:
    """One pass of the sender after a replay, over what is due by the time of the log's last hit
    (its alerts were planned in event time); retries and what is still held are left to
    ``revisit sender``. Returns what was sent and what is held, for the console."""
    due_by = store.latest_hit_time() or datetime.now(UTC)
    report = delivery_sender(store, settings).run_once(limit=10_000, due_by=due_by)
    return delivery_summary(report, AlertOutbox(store).held(due_by), settings)


def delivery_summary(report: SendReport, held: Sequence[HeldDelivery], settings: Settings) -> str:
    """``delivered: slack sent 2, ...`` (or ``nothing due``), then each held message and until when,
    in the business time zone: a command that leaves something behind says so."""
    lines = [
        "delivered: "
        + (
            ", ".join(f"{channel} {outcome} {n}" for (channel, outcome), n in sorted(report.outcomes.items()))
            or "nothing due"
        )
    ]
    zone = ZoneInfo(settings.delivery.business_hours.timezone)
    for item in held:
        until = shown_time(item.until.astimezone(zone))
        lines.append(f"  held: {one_line(item.account_name)} via {item.channel} until {until}")
    return "\n".join(lines)


def load_checked_settings(path: str | None, check_terms: bool = True) -> Settings:
    """The settings of a command: the file and ``REVISIT_...`` overrides, with the channel names of
    the routes checked against the channels there are. ``check_terms=False`` only for ``revisit
    sources``: it prints the terms the refusal tells the user to read."""
    settings = load_settings(path)
    check_channel_names(settings.delivery)
    if check_terms:
        check_source_terms(settings.resolution)
    if settings.stream.max_disorder_seconds < 0:
        raise BadInput(f"stream.max_disorder_seconds: {settings.stream.max_disorder_seconds} is below 0")
    if settings.stream.idle_seconds <= 0:
        raise BadInput(f"stream.idle_seconds: {settings.stream.idle_seconds} must be above 0")
    if not is_currency(settings.alerts.currency):
        raise BadInput(f"alerts.currency: {settings.alerts.currency!r} is no ISO 4217 currency code (e.g. JPY, USD)")
    check_ledger_settings(settings)
    try:  # the [log] keys, read at start-up, not after a run has opened its files
        make_line_parser(settings.log)
    except BadInput as error:
        raise BadInput(f"{path}: {error}" if path else str(error)) from None
    return settings


def check_ledger_settings(settings: Settings) -> None:
    """Prefixes a learned address can be widened to, and an expiry: out of range is exit 2."""
    ledger = settings.ledger
    # no wider than an office's /16 or a site's /32: a wider block is a provider's, not a company's
    for key, value, low, high in (("prefix_v4", ledger.prefix_v4, 16, 32), ("prefix_v6", ledger.prefix_v6, 32, 128)):
        if not low <= value <= high:
            raise BadInput(f"ledger.{key}: {value} is not a prefix length from {low} to {high}")
    if ledger.expiry_days < 1:
        raise BadInput(f"ledger.expiry_days: {ledger.expiry_days} must be 1 or more")
    if not ledger.reload_seconds > 0:
        raise BadInput(f"ledger.reload_seconds: {ledger.reload_seconds} must be more than 0")


def all_secret_sources(settings: Settings) -> dict[str, tuple[str, str]]:
    """Every secret by name → (environment variable, file): the channels' and the others."""
    return {**channel_secrets(settings.delivery), **secret_sources(settings)}


def open_store(db_url: str | None, settings: Settings, plan_in_event_time: bool = False) -> Store:
    """The database of a pipeline run: hits stored with addresses protected as ``[privacy]`` says."""
    return Store(
        db_url or settings.database_url,
        delivery=settings.delivery,
        protect_address=AddressProtector.from_settings(settings.privacy).protect,
        plan_in_event_time=plan_in_event_time,
    )


def delivery_sender(store: Store, settings: Settings, metrics: RevisitMetrics | None = None) -> DeliverySender:
    """The sender with the real channels over ``store``'s outbox: what every process runs."""
    return DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, metrics=metrics)


@dataclass(frozen=True)
class WorkerRequest:
    accounts_csv: str | None = None  # None: the list in the database
    mmdb_paths: Sequence[str] = ()
    db_url: str | None = None
    encoding: str = "utf-8-sig"


def _stop_during_start_up(number: int, frame: object) -> None:
    """SIGTERM while the worker starts (checking topics, loading the list: seconds with 100,000
    accounts), before Faust handles signals: nothing has been read or committed yet, so it stops
    cleanly (exit 0, as after a stop once running) instead of dying of the signal."""
    logging.getLogger("revisit.worker").info("stopped by SIGTERM before it started: nothing read, nothing to finish")
    raise SystemExit(0)


def run_worker_process(request: WorkerRequest, settings: Settings) -> int:
    """``revisit worker``: checks the topics, loads the accounts, builds the same classifier as
    replay and runs the Kafka worker (with the sender in a thread when channels are configured)."""
    signal.signal(signal.SIGTERM, _stop_during_start_up)  # until Faust's own handler takes over
    from revisit.kafka.ledger_learning import StreamLedger
    from revisit.kafka.topics import missing_topics
    from revisit.kafka.worker import run_worker

    missing = missing_topics(settings.kafka)
    if missing:
        raise BadInput(
            f"Kafka at {settings.kafka.bootstrap_servers}: topics missing: {', '.join(missing)}; "
            "create them with `revisit topics create`"
        )
    # the same start-up as replay: a list kept by its digest is loaded, not validated again
    prepared = (
        prepare_accounts(request.accounts_csv, request.encoding, settings.matching) if request.accounts_csv else None
    )
    store = open_store(request.db_url, settings)
    if prepared is not None:
        store.save_accounts(prepared.accounts, prepared.digest, keys=prepared.keys)
    else:
        prepared = prepare_stored_accounts(store.account_list_digest(), store.load_accounts, settings.matching)
        if not prepared.accounts:
            store.close()
            raise BadInput(
                "no accounts in the database: import a list with `revisit accounts import CSV` or pass --accounts"
            )
    from revisit.core.metrics import RevisitMetrics

    metrics = RevisitMetrics.create()
    metrics.watch_garbage_collector()
    enrichment = build_enrichment(
        prepared.index,
        list(settings.resolution.mmdb_paths) + list(request.mmdb_paths),
        settings,
        metrics.observe_resolution,
    )
    enrichment.remember_registrations(store.load_network_registrations())
    enrichment.use_ledger(store)
    late_resolvers = [
        name
        for name, on in (
            ("reverse_dns", settings.resolution.reverse_dns.enabled),
            ("rdap", settings.resolution.rdap.enabled),
        )
        if on
    ]
    metrics.start_series(
        parse_reasons=MalformedReason.ALL,
        filter_reasons=FilterReason.ALL,
        match_methods=[method.value for method in MatchMethod],
        resolvers=[resolver.name for resolver in enrichment.resolvers.resolvers] + late_resolvers,
    )
    classifier = HitClassifier(settings, enrichment.index, enrichment.resolvers, late=enrichment.late)
    ledger = (
        StreamLedger(settings, enrichment.index, store.revoked_ledger_keys())
        if settings.ledger.enabled and settings.ledger.log_field
        else None
    )
    sender = None
    if settings.delivery.sender_in_worker and wants_sender(settings.delivery):
        sender = SenderThread(delivery_sender(store, settings, metrics))
    freeze_long_lived_objects()
    try:
        return run_worker(settings, classifier, store, metrics, sender, ledger)
    finally:
        store.close()
        enrichment.close()


AMBIGUOUS_EXAMPLES = 3  # organisations named in the summary's line on ambiguous names


@dataclass(frozen=True)
class SummaryWords:
    """The words of a run's console summary (``format_summary``) in one language: templates for
    ``str.format`` and the names of the reasons lines were counted under (malformed, skipped,
    filtered) and of the decisions that raised no alert as the hits came."""

    head: str
    malformed: str
    skipped: str
    filtered: str
    late: str
    accounts_seen: str
    no_alert: str
    threshold: str
    ambiguous: str
    more: str
    processed: str
    separator: str
    names: Mapping[str, str] = field(default_factory=dict)  # reason or decision → its name (else itself)

    def counts(self, template: str, counts: Mapping[str, int]) -> str:
        """``template`` with its ``{items}``: each name and count, in the order of the keys."""
        items = self.separator.join(f"{self.names.get(key, key)} {count:,}" for key, count in sorted(counts.items()))
        return template.format(items=items)


# the reasons a line is not a hit (``MalformedReason``, ``FilterReason``), by name: their codes
# are the metrics' labels, and "status 300" read like HTTP status 300
ENGLISH_REASON_NAMES: Mapping[str, str] = {
    MalformedReason.EMPTY: "empty",
    MalformedReason.COMMENT: "comments",
    MalformedReason.BINARY: "binary data",
    MalformedReason.ERROR_LOG: "error-log lines",
    MalformedReason.TRUNCATED: "cut short",
    MalformedReason.MISSING_FIELDS: "fields missing",
    MalformedReason.BAD_CLIENT: "unreadable client",
    MalformedReason.BAD_REQUEST: "unreadable request",
    MalformedReason.BAD_TIMESTAMP: "unreadable time",
    MalformedReason.BAD_JSON: "unreadable JSON",
    MalformedReason.TOO_LONG: "too long",
    MalformedReason.UNRECOGNIZED: "layout not recognised",
    FilterReason.STATUS: "status not kept",
    FilterReason.ASSET: "static files",
    FilterReason.BOT: "crawlers and bots",
    FilterReason.CLIENT_NOT_IP: "client not an IP address",
    FilterReason.PRIVATE_ADDRESS: "private addresses",
    FilterReason.OWN_NETWORK: "own networks",
}
JAPANESE_REASON_NAMES: Mapping[str, str] = {
    MalformedReason.EMPTY: "空行",
    MalformedReason.COMMENT: "コメント行",
    MalformedReason.BINARY: "バイナリの行",
    MalformedReason.ERROR_LOG: "エラーログの行",
    MalformedReason.TRUNCATED: "途中で切れた行",
    MalformedReason.MISSING_FIELDS: "項目の足りない行",
    MalformedReason.BAD_CLIENT: "接続元が読めない行",
    MalformedReason.BAD_REQUEST: "リクエストが読めない行",
    MalformedReason.BAD_TIMESTAMP: "日時が読めない行",
    MalformedReason.BAD_JSON: "JSON が読めない行",
    MalformedReason.TOO_LONG: "長すぎる行",
    MalformedReason.UNRECOGNIZED: "形式が分からない行",
    FilterReason.STATUS: "対象外のステータス",
    FilterReason.ASSET: "静的ファイル",
    FilterReason.BOT: "クローラー・ボット",
    FilterReason.CLIENT_NOT_IP: "接続元が IP アドレスでない",
    FilterReason.PRIVATE_ADDRESS: "プライベートアドレス",
    FilterReason.OWN_NETWORK: "自社ネットワーク",
}
ENGLISH_SUMMARY = SummaryWords(
    head="lines {lines:,}  parsed {parsed:,}  malformed {malformed:,}  filtered {filtered:,}  "
    "resolved {resolved:,}  matched {matched:,}  alerts {alerts:,} ({new:,} new)",
    malformed="  malformed: {items}",
    skipped="  skipped:   {items}",
    filtered="  filtered:  {items}",
    late="  late: {late:,} matched hits came over stream.max_disorder_seconds after newer ones "
    '(taken as they came: README, "Event time")',
    accounts_seen="  accounts on the list seen: {count:,}",
    no_alert="  matched hits that raised no alert as they came: {items}",
    threshold=" (a visit alerts from intent.threshold {threshold}, its pages weighed by intent.rules)",
    ambiguous="  fit several accounts: {count:,} organisation(s) left unmatched, their names fit several "
    "accounts alike (none is alerted; a domain or network on the accounts tells them apart)",
    more="    … and {count:,} more",
    processed="  processed in {seconds:.2f} s ({rate:,.0f} lines/s)",
    separator=", ",
    names=ENGLISH_REASON_NAMES,
)
JAPANESE_SUMMARY = SummaryWords(
    head="行数 {lines:,}  解析 {parsed:,}  不正 {malformed:,}  除外 {filtered:,}  組織を特定 {resolved:,}  "
    "休眠顧客に照合 {matched:,}  アラート {alerts:,}（新規 {new:,}）",
    malformed="  不正な行：{items}",
    skipped="  読み飛ばした行：{items}",
    filtered="  除外した行：{items}",
    late="  遅れて届いた照合ヒット：{late:,} 件（より新しいヒットから stream.max_disorder_seconds 以上遅れて"
    "届き、届いた順に処理しました。README「Event time」）",
    accounts_seen="  アクセスがあったリストの取引先：{count:,} 社",
    no_alert="  その時点でアラートを出さなかった照合ヒット：{items}",
    threshold="（訪問は関心度スコアが intent.threshold の {threshold} に達した時点でアラートになります。"
    "ページの重みは intent.rules）",
    ambiguous="  複数の取引先に同程度に当てはまり照合しなかった組織：{count:,} 件"
    "（どの取引先にもアラートは出ません。取引先にドメインかネットワークを登録すると区別できます）",
    more="    ほか {count:,} 件",
    processed="  処理時間 {seconds:.2f} 秒（毎秒 {rate:,.0f} 行）",
    separator="、",
    names={
        **JAPANESE_REASON_NAMES,
        ACTIVE: "取引中の顧客",
        COOLDOWN: "クールダウン中",
        LOW_INTENT: "関心度スコアがしきい値未満",
    },
)


def summary_words(locale: str) -> SummaryWords:
    return JAPANESE_SUMMARY if locale == "ja" else ENGLISH_SUMMARY


JAPANESE_LOG_CHECK = LogCheckWords(
    format="形式：{name}",
    configured_string="設定した log.format の書式",
    warning="警告：log.format {format!r} では先頭の行の半分も読めません。auto なら {detected} を選びます",
    counts="行数 {lines:,}  解析 {parsed:,}（空行とコメントを除く {data:,} 行の {share} %）  不正 {malformed:,}",
    skipped="読み飛ばした行（データなし）：{items}",
    unreadable="どの形式でも読める行がありません。提案できる [log] の設定はありません（README の log.format を参照）",
    empty="確かめる行がありません（空のファイルか、コメントだけです）。提案できる [log] の設定はありません",
    config="設定：",
    separator="、",
    names=JAPANESE_REASON_NAMES,
)


def log_check_words(locale: str) -> LogCheckWords:
    """The words of ``revisit logs check`` (``stream.check.render``) in ``locale``."""
    return JAPANESE_LOG_CHECK if locale == "ja" else LogCheckWords(names=ENGLISH_REASON_NAMES)


def format_summary(
    summary: RunSummary, locale: str = "en", explain_options: str = "", threshold: int | None = None
) -> str:
    """The console summary in ``locale`` (ja or en); each example of an ambiguous name comes with
    the ``revisit explain`` command (``explain_options``: the replay's list and databases) that
    tells why."""
    words = summary_words(locale)
    numbers = summary.as_dict()
    lines = [
        words.head.format(**numbers, new=summary.alerts_new)  # lines, parsed, malformed, ... alerts
    ]
    for template, counts in (
        (words.malformed, summary.malformed),
        (words.skipped, summary.skipped),
        (words.filtered, summary.filtered),
    ):
        if counts:
            lines.append(words.counts(template, counts))
    if summary.late:
        lines.append(words.late.format(late=summary.late))
    if summary.accounts_seen:
        lines.append(words.accounts_seen.format(count=len(summary.accounts_seen)))
    no_alert = {kind: count for kind, count in summary.decisions.items() if kind != ALERTED and count}
    if no_alert:
        shown_threshold = LOW_INTENT in no_alert and threshold is not None
        lines.append(
            words.counts(words.no_alert, no_alert)
            + (words.threshold.format(threshold=threshold) if shown_threshold else "")
        )
    if isinstance(summary, ReplaySummary) and summary.ambiguous:
        lines += _ambiguous_lines(summary.ambiguous, words, explain_options)
    if summary.seconds > 0:
        lines.append(words.processed.format(seconds=summary.seconds, rate=summary.lines / summary.seconds))
    return "\n".join(lines)


def _ambiguous_lines(ambiguous: Sequence[Ambiguity], words: SummaryWords, explain_options: str) -> list[str]:
    lines = [words.ambiguous.format(count=len(ambiguous))]
    for example in ambiguous[:AMBIGUOUS_EXAMPLES]:
        command = " ".join(part for part in ("revisit explain", example.address, explain_options) if part)
        lines.append(printable(f"    {example.organization!r} → {', '.join(example.account_ids)}: {command}"))
    if len(ambiguous) > AMBIGUOUS_EXAMPLES:
        lines.append(words.more.format(count=len(ambiguous) - AMBIGUOUS_EXAMPLES))
    return lines
