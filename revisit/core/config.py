"""All of revisit's settings in one typed place.

Settings are frozen dataclasses with defaults that work out of the box; a TOML file may override any
of them. Loading is strict: an unknown key or a value of the wrong type is an error naming the key's
path (``intent.rules[2].weight``), because a silently ignored typo in a sales-alerting system shows
up weeks later as alerts that never came.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from revisit.core.errors import BadInput
from revisit.core.text import without_credentials

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# Addresses that are our own infrastructure when they appear as the remote address in front of an
# X-Forwarded-For header: loopback and private ranges, as nginx's real_ip module is usually set up.
DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
)

DEFAULT_ASSET_EXTENSIONS = (
    ".css",
    ".js",
    ".mjs",
    ".map",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".avif",
    ".svg",
    ".ico",
    ".bmp",
    ".woff",
    ".woff2",
    ".ttf",
    ".otf",
    ".eot",
    ".mp4",
    ".webm",
    ".mp3",
    ".ogg",
    ".txt",
    ".xml",
    ".json",
    ".gz",
    ".zip",
    ".rss",
    ".atom",
)
DEFAULT_ASSET_PREFIXES = (
    "/static/",
    "/assets/",
    "/images/",
    "/img/",
    "/css/",
    "/js/",
    "/fonts/",
    "/wp-content/",
    "/wp-includes/",
    "/favicon",
    "/robots.txt",
    "/.well-known/",
)


@dataclass(frozen=True)
class JsonFieldNames:
    """Where each value is found in a JSON-lines access log (dotted paths reach nested objects)."""

    client_ip: str = "remote_addr"
    timestamp: str = "time"
    request: str = "request"
    method: str = "method"
    path: str = "path"
    status: str = "status"
    size: str = "body_bytes_sent"
    referrer: str = "http_referer"
    user_agent: str = "http_user_agent"
    forwarded_for: str = "http_x_forwarded_for"
    vhost: str = "host"


@dataclass(frozen=True)
class LogSettings:
    """How access-log lines are read.

    ``format`` is ``auto`` (combined, common, nginx ``main`` with trailing fields and virtual-host
    prefixes, detected per line), ``combined``, ``common``, ``nginx_main``, ``json``, or an Apache
    ``LogFormat`` string such as ``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"``.
    """

    format: str = "auto"
    json_fields: JsonFieldNames = field(default_factory=JsonFieldNames)
    # IANA zone of timestamps written without an offset (Traefik's ``time``, HAProxy's accept date,
    # ISO times without ``Z``); times that carry an offset or are epoch numbers keep theirs.
    timezone: str = "UTC"
    # Text encoding of the log files (Python codec name): "utf-8", "cp932" (Shift_JIS as Windows
    # writes it: IIS on Japanese Windows), "euc_jp". Replay, ship's keys and the worker read with it.
    encoding: str = "utf-8"
    # Lines wrapped by a container runtime: "docker" (json-file driver) or "cri" (Kubernetes);
    # format = "auto" unwraps both on its own.
    container: str = "none"
    # HAProxy: the headers of haproxy.cfg's "capture request header" lines, in order
    haproxy_captures: tuple[str, ...] = ()
    # W3C extended logs (IIS, CloudFront): the layout before the first "#Fields:" line of a file,
    # IIS's default; a worker fed by ship reads lines of many files and partitions, so set it
    # to your "#Fields:" value there ("revisit logs check" prints it).
    w3c_fields: str = (
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
        "cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
    )
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED_PROXIES


@dataclass(frozen=True)
class FilterSettings:
    """Which hits are not people from companies looking at us."""

    drop_bots: bool = True
    asset_extensions: tuple[str, ...] = DEFAULT_ASSET_EXTENSIONS
    asset_prefixes: tuple[str, ...] = DEFAULT_ASSET_PREFIXES
    # Status patterns kept; everything else (errors, 404 scans) is filtered. "2xx" covers 200-299.
    keep_statuses: tuple[str, ...] = ("2xx", "3xx")
    own_networks: tuple[str, ...] = ()
    drop_private: bool = True


@dataclass(frozen=True)
class ReverseDnsSettings:
    """PTR lookups. Off by default: they send visitors' addresses to your DNS resolver."""

    enabled: bool = False
    nameservers: tuple[str, ...] = ()  # empty: the system's resolvers (/etc/resolv.conf)
    port: int = 53
    timeout_seconds: float = 2.0
    concurrency: int = 32  # queries in flight at once
    confirm_forward: bool = True  # believe a PTR name only if it resolves back to the address
    max_cache_seconds: int = 86_400  # answers are kept for their TTL, at most this long
    negative_cache_seconds: int = 3_600
    cache_size: int = 100_000


@dataclass(frozen=True)
class RdapSettings:
    """Registry lookups through ipwhois. Off by default: they send visitors' addresses to the RIRs."""

    enabled: bool = False
    # The registries' terms forbid marketing use of their data (README, "Data sources"): enabling
    # RDAP needs this set too, as a record that whoever turned it on has read them.
    acknowledge_terms: bool = False
    url: str = "https://rdap-bootstrap.arin.net/bootstrap/ip/{address}"
    jpnic_url: str = "http://whois.nic.ad.jp/cgi-bin/whois_gw?lang=%2Fe&key={address}&submit=query"
    timeout_seconds: float = 5.0
    retries: int = 1
    requests_per_second: float = 2.0  # registries throttle clients that ask faster
    concurrency: int = 4
    cache_days: int = 30  # an answer holds for its whole network this long (in the database too)
    negative_cache_hours: int = 6  # a failed or empty lookup is not repeated for this long


@dataclass(frozen=True)
class ResolutionSettings:
    mmdb_paths: tuple[str, ...] = ()
    mmdb_reload_seconds: float = 60.0  # how often to look for replaced .mmdb files (0: never)
    cache_size: int = 200_000
    reverse_dns: ReverseDnsSettings = field(default_factory=ReverseDnsSettings)
    rdap: RdapSettings = field(default_factory=RdapSettings)
    late_max_in_flight: int = 10_000  # addresses waiting for reverse DNS / RDAP at once
    late_held_lines_per_address: int = 200  # lines held per address while it is looked up
    late_held_lines: int = 100_000  # lines held in all
    late_wait_seconds: float = 10.0  # replay: at the end, wait this long for lookups in flight


@dataclass(frozen=True)
class MatchingSettings:
    """Fuzzy name matching (rapidfuzz) for what normalisation cannot equalise."""

    fuzzy: bool = True
    fuzzy_min_score: float = 90.0  # 0-100: the best candidate needs at least this
    fuzzy_margin: float = 8.0  # ...and must beat the second best by this much, else no match
    fuzzy_min_length: int = 4  # names shorter than this (after normalisation) match exactly only
    # Where the validated account list and its index are kept between runs (enrichment.prepared):
    # empty = <system temp dir>/revisit-accounts-<uid>; must be this user's alone
    prepared_dir: str = ""


@dataclass(frozen=True)
class LedgerSettings:
    """The first-party network ledger: which addresses belong to which account, learned from
    sign-ins in the access log and from form or MA-tool exports (``revisit ledger import``)."""

    enabled: bool = True  # match visitors by the learned addresses
    # The log field carrying a signed-in user's e-mail or account id: an nginx variable
    # ("$upstream_http_x_user_email"), an Apache directive ("%u", "%{X-User-Email}o") or a JSON
    # path ("user.email"); log.format must then name a template or be json. Empty: not read.
    log_field: str = ""
    log_field_holds: Literal["email", "account_id"] = "email"
    # What is learned of an address: the address itself (32, 128) or its network (24, 48) when
    # an office's line is known to be a fixed block of its own.
    prefix_v4: int = 32
    prefix_v6: int = 64  # one site's LAN; a /128 changes daily with IPv6 privacy addresses
    expiry_days: int = 90  # an entry not seen again for this long is forgotten (dynamic addresses)
    # How often each streaming worker reads the ledger back from the database: what another worker
    # learned, imported or revoked is used here within this time (its own lessons at once).
    reload_seconds: float = 60.0


@dataclass(frozen=True)
class DormancyThresholds:
    """Months since the last deal or contact at which an account enters each tier."""

    tier_a_months: int = 6
    tier_b_months: int = 12
    tier_c_months: int = 24


@dataclass(frozen=True)
class DormancySettings:
    default: DormancyThresholds = field(default_factory=DormancyThresholds)
    # Per-industry overrides, keyed by the CSV's `industry` value (consumables: months; plant: years).
    by_industry: Mapping[str, DormancyThresholds] = field(default_factory=dict)

    def thresholds_for(self, industry: str) -> DormancyThresholds:
        return self.by_industry.get(industry, self.default)


@dataclass(frozen=True)
class PageRule:
    """A page pattern that signals buying intent; ``pattern`` is a glob unless ``regex`` is true."""

    pattern: str
    weight: int
    label: str
    regex: bool = False


DEFAULT_PAGE_RULES = (
    PageRule("*/pricing*", 30, "pricing"),
    PageRule("*/price*", 30, "pricing"),
    PageRule("*/plans*", 25, "pricing"),
    PageRule("*/ryokin*", 30, "pricing"),
    PageRule("*/料金*", 30, "pricing"),
    PageRule("*/contact*", 40, "contact"),
    PageRule("*/inquiry*", 40, "contact"),
    PageRule("*/お問い合わせ*", 40, "contact"),
    PageRule("*/demo*", 40, "demo"),
    PageRule("*/trial*", 40, "trial"),
    PageRule("*/free-trial*", 40, "trial"),
    PageRule("*/case-stud*", 25, "case study"),
    PageRule("*/cases/*", 25, "case study"),
    PageRule("*/customers/*", 20, "case study"),
    PageRule("*/導入事例*", 25, "case study"),
    PageRule("*/products*", 15, "product"),
    PageRule("*/product/*", 15, "product"),
    PageRule("*/solutions*", 12, "product"),
    PageRule("*/service*", 12, "product"),
    PageRule("*/whitepaper*", 20, "document"),
    PageRule("*/download*", 20, "document"),
    PageRule("*/documents*", 20, "document"),
    PageRule("*/catalog*", 20, "document"),
    PageRule("*/資料*", 20, "document"),
    PageRule("*/seminar*", 15, "seminar"),
    PageRule("*/webinar*", 15, "seminar"),
    PageRule("*/events/*", 12, "seminar"),
)


@dataclass(frozen=True)
class IntentSettings:
    session_gap_minutes: int = 30
    threshold: int = 10
    rules: tuple[PageRule, ...] = DEFAULT_PAGE_RULES


@dataclass(frozen=True)
class AlertSettings:
    cooldown_hours: int = 24
    # An alert waits this long (event time) after the page that triggered it, gathering the rest of
    # the visit, so sales gets one alert with the whole story rather than the first two pages.
    grouping_minutes: int = 10
    locale: str = "ja"
    currency: str = "JPY"  # ISO 4217 code of the account list's amounts (lifetime_value)
    jsonl_path: str = "revisit-alerts.jsonl"


@dataclass(frozen=True)
class SlackSettings:
    """Incoming webhook, or a bot token for ``chat.postMessage`` (DM to the owner's Slack user id,
    else ``channel`` with a mention). Secrets are named here, never written here."""

    webhook_url_env: str = "REVISIT_SLACK_WEBHOOK_URL"
    webhook_url_file: str = ""
    bot_token_env: str = "REVISIT_SLACK_BOT_TOKEN"
    bot_token_file: str = ""
    channel: str = ""  # e.g. "#sales-alerts": the bot posts every alert here, mentioning the owner
    fallback_channel: str = ""  # without ``channel``: where alerts of owners without a Slack id go
    api_url: str = "https://slack.com/api/"
    timeout_seconds: float = 10.0
    # Buttons on each alert (対応した / 商談化 / 興味なし / スヌーズ), answered by `revisit web serve` at
    # POST /slack/interactivity (the Slack app's Request URL), which checks the app's signing secret.
    interactive: bool = False
    signing_secret_env: str = "REVISIT_SLACK_SIGNING_SECRET"
    signing_secret_file: str = ""
    snooze_days: int = 30


@dataclass(frozen=True)
class EmailSettings:
    host: str = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: str = "REVISIT_SMTP_PASSWORD"
    password_file: str = ""
    sender: str = "revisit@localhost"
    fallback_to: str = ""  # for accounts without an owner e-mail
    ca_file: str = ""  # a CA bundle to trust for the server's certificate (an internal relay)
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebhookSettings:
    url_env: str = "REVISIT_WEBHOOK_URL"
    url_file: str = ""
    secret_env: str = "REVISIT_WEBHOOK_SECRET"
    secret_file: str = ""
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Route:
    """Alerts that match every given condition go to ``channels`` (empty condition = any)."""

    channels: tuple[str, ...]
    tiers: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()  # owner e-mail or name
    industries: tuple[str, ...] = ()
    min_score: int = 0


@dataclass(frozen=True)
class BusinessHours:
    """Quiet hours defer deliveries to the next opening; they never drop them."""

    enabled: bool = False
    timezone: str = "Asia/Tokyo"
    start: str = "09:00"
    end: str = "18:00"
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO: Monday = 1


@dataclass(frozen=True)
class DeliverySettings:
    # Routes are tried in order and the first match decides; no match: ``default_channels``.
    routes: tuple[Route, ...] = ()
    default_channels: tuple[str, ...] = ()  # e.g. ["slack", "email"]; empty: alerts stay in the database
    history_url: str = ""  # e.g. "https://revisit.example/accounts/{account_id}"
    max_attempts: int = 8
    backoff_seconds: float = 30.0  # doubles after each failure, up to backoff_max_seconds
    backoff_max_seconds: float = 3600.0
    poll_seconds: float = 2.0
    # Like Alertmanager's group_wait: a new alert's first message waits this long, so the pages of
    # a burst arrive in it rather than as replies.
    group_wait_seconds: float = 30.0
    # The worker runs a sender thread when channels are configured; false: run `revisit sender` apart.
    sender_in_worker: bool = True
    # /metrics, /healthz and /readyz of `revisit sender` (0: none); inside the worker, the worker's own
    web_host: str = "127.0.0.1"
    web_port: int = 6068
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    # Tier C alerts, and e-mails held by quiet hours, go out once a day per owner in one e-mail,
    # at this time in the owner's time zone (the list's owner_timezone, else business_hours.timezone).
    digest_time: str = "08:30"
    # Realtime alerts per owner and day (in the owner's time zone); the ones beyond go to that
    # owner's digest, highest priority first, which says how many. 0: no limit.
    owner_daily_budget: int = 0
    # More pages on an alert already posted to Slack become one reply in its thread this much later.
    thread_reply_delay_seconds: float = 60.0
    # Pages seen this long after an alert (matching the default alerts.cooldown_hours) are replies in
    # its thread rather than silence.
    thread_reply_hours: float = 24.0
    slack: SlackSettings = field(default_factory=SlackSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


@dataclass(frozen=True)
class StreamSettings:
    """Event time (README, "Event time"): how far out of order hits may arrive and still be taken
    in their place. The watermark is the newest event time seen minus this bound; a visit's pages,
    its alert's grouping window and the cooldown are decided once the watermark has passed them.
    60 s covers the clock skew and buffering of several web servers writing one log each (their
    lines reach a merge at most a few seconds apart) with a wide margin, and costs the alert that
    much delay."""

    max_disorder_seconds: int = 60
    # Worker: a raw partition that has given no line for this long stops holding the watermark
    # back; when all have, the watermark passes every hit read (a quiet site's last visit is not held).
    idle_seconds: float = 10.0


@dataclass(frozen=True)
class ReplaySettings:
    # Worker processes for large plain files; 0 = one per core (at most 4), 1 = no parallelism.
    workers: int = 0
    parallel_min_mb: int = 32

    def worker_count(self) -> int:
        if self.workers > 0:
            return self.workers
        return min(os.cpu_count() or 1, 4)


@dataclass(frozen=True)
class KafkaSettings:
    """The streaming mode's broker and topics (see ``revisit topics create``)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    raw_topic: str = "revisit.raw"  # access-log lines, keyed by client IP
    matched_topic: str = "revisit.matched"  # matched hits re-keyed by account id (JSON)
    dead_letter_topic: str = "revisit.dead-letter"  # lines that could not be parsed, with reasons
    partitions: int = 4
    retention_hours: int = 168


@dataclass(frozen=True)
class ShipSettings:
    checkpoint_path: str = "revisit-ship.checkpoint.json"
    # The checkpoint moves after the broker acknowledged a batch: a restart re-sends at most this tail.
    batch_lines: int = 2000
    batch_seconds: float = 1.0
    poll_seconds: float = 0.25  # how often a followed file is checked for new lines and rotation
    # /metrics, /healthz and /readyz while following files or stdin (0: none)
    web_host: str = "127.0.0.1"
    web_port: int = 6067


@dataclass(frozen=True)
class WorkerSettings:
    app_id: str = "revisit-worker"  # also the consumer group: workers with one id share the work
    web_host: str = "127.0.0.1"
    web_port: int = 6066  # /metrics, /healthz and /readyz
    lag_interval_seconds: float = 5.0
    # How soon the group notices a worker that died without leaving (SIGKILL, lost machine).
    session_timeout_seconds: float = 10.0
    # Matched hits are stored in one transaction per batch (and at least this often).
    store_batch: int = 500
    store_interval_seconds: float = 0.05
    # Visits over, held alerts released and cooldowns passed (in event time, plus this margin for
    # late events) leave the worker's state table at each sweep.
    forget_interval_seconds: float = 60.0
    forget_margin_minutes: int = 15
    # Faust's own files (table metadata; tables themselves live in memory and their changelogs):
    # empty = <system temp dir>/revisit-worker-<uid>/<app_id>, never the current directory
    data_dir: str = ""


# analyst: read and export; sales: also snooze and record outcomes for the accounts whose
# owner_email (the account list's column) is the user's email; admin: all of it for every account,
# and the settings page.
Role = Literal["analyst", "sales", "admin"]


@dataclass(frozen=True)
class WebUser:
    name: str
    password_hash: str  # argon2, printed by `revisit web hash-password`; never the password itself
    role: Role = "analyst"
    email: str = ""  # a sales user acts on the accounts with this owner_email (compared case-insensitively)


@dataclass(frozen=True)
class ApiToken:
    """A bearer token for the JSON API; only its SHA-256 is configured (`revisit web new-token`)."""

    name: str
    token_sha256: str
    role: Role = "analyst"
    email: str = ""  # as for a user: the accounts a sales token may act on


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    users: tuple[WebUser, ...] = ()
    api_tokens: tuple[ApiToken, ...] = ()
    # Signs the session cookie (at least 32 bytes, never a documented example). The cookie only names
    # a session kept in the database; who the user is and their role come from [[web.users]] on
    # every request, so removing a user or changing a role acts at once.
    session_secret_env: str = "REVISIT_WEB_SESSION_SECRET"
    session_secret_file: str = ""
    # With users configured, a missing secret stops the server; false: a random one is made at start
    # (every session ends when the server restarts).
    session_secret_required: bool = True
    secure_cookies: bool = True  # cookies only over HTTPS (browsers also allow them on localhost); HSTS too
    session_hours: float = 12.0  # a session ends this long after login, used or not
    # Logins: after this many failures for one user name or from one address, that name or address
    # waits login_lockout_seconds, doubling with each further failure up to login_lockout_max_seconds
    # (answer 429 with Retry-After). Failures are forgotten after login_lockout_max_seconds of quiet.
    login_failures_before_lockout: int = 5
    login_lockout_seconds: float = 30.0
    login_lockout_max_seconds: float = 3600.0
    # An argon2 check takes 64 MiB: at most this many at once; a login waits this long for a turn,
    # then gets 503 with Retry-After.
    password_checks_at_once: int = 4
    password_check_wait_seconds: float = 2.0
    page_size: int = 50
    visits_per_page: int = 10  # an account page's visits, newest first, this many a page
    default_days: int = 30  # lists show visits of the last N days unless a date range is given
    # IANA zone of every time, date filter, week and chart day shown; empty: the zone of
    # delivery.business_hours (the alerts' "10:12 +0900" and the page's time are then the same).
    timezone: str = ""
    # ja or en for whoever has not chosen with the switch in the page header; empty: the browser's
    # Accept-Language (English when it asks for neither).
    locale: str = ""


LogLevel = Literal["debug", "info", "warning", "error", "critical"]


@dataclass(frozen=True)
class LoggingSettings:
    # json: one object per line (for log shippers); console: for people; auto: console at a terminal
    format: Literal["auto", "json", "console"] = "auto"
    level: LogLevel = "info"
    library_level: LogLevel = "warning"  # Faust, aiokafka, SQLAlchemy... (never below ``level``)


@dataclass(frozen=True)
class PrivacySettings:
    """Visitor IP addresses are personal data (see revisit/privacy.py and the README's data map)."""

    # Logs show addresses only as their network (/24, /48); on by itself when ip_storage is not full.
    enabled: bool = False
    # What the database keeps of a visitor's address: full, truncated (/24, /48) or hashed (keyed).
    ip_storage: Literal["full", "truncated", "hashed"] = "full"
    ip_hash_key_env: str = "REVISIT_IP_HASH_KEY"
    ip_hash_key_file: str = ""
    retention_days: int = 180  # `revisit retention` deletes hits older than this
    # What the web UI's visits export shows of a visitor's address: network (/24, /48), full or none.
    web_visitor_ips: Literal["network", "full", "none"] = "network"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///revisit.sqlite"
    log: LogSettings = field(default_factory=LogSettings)
    filters: FilterSettings = field(default_factory=FilterSettings)
    resolution: ResolutionSettings = field(default_factory=ResolutionSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    dormancy: DormancySettings = field(default_factory=DormancySettings)
    intent: IntentSettings = field(default_factory=IntentSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    ship: ShipSettings = field(default_factory=ShipSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    web: WebSettings = field(default_factory=WebSettings)


ENV_PREFIX = "REVISIT_"
ENV_SEPARATOR = "__"  # REVISIT_DELIVERY__SLACK__CHANNEL → delivery.slack.channel


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the defaults, a TOML file, then ``REVISIT_...`` environment overrides.

    An override names a key path with double underscores (``REVISIT_KAFKA__PARTITIONS=8``,
    ``REVISIT_DATABASE_URL=...``); its value is read as a TOML value (``8``, ``true``,
    ``["slack", "email"]``) or else taken as a string. Secrets such as ``REVISIT_SLACK_BOT_TOKEN``
    are not settings (they have no double underscore and no key of that name) and are left alone.
    Raises BadInput naming the file or variable and the key's path.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise BadInput(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as error:
            raise BadInput(f"{path}: not valid TOML: {error}") from None
        except UnicodeDecodeError as error:
            raise BadInput(f"{path}: not UTF-8 text (byte {error.start}): TOML files are UTF-8") from None
        except IsADirectoryError:
            raise BadInput(f"{path}: a directory, not a config file") from None
    try:
        settings_from_mapping(data)  # the file alone first: its errors name the file
    except ConfigError as error:
        raise BadInput(f"{path}: {error}") from None
    for variable, key_path in _override_variables(os.environ if environ is None else environ):
        _set_path(data, key_path, _env_value((os.environ if environ is None else environ)[variable]))
        try:
            settings_from_mapping(data)
        except ConfigError as error:
            raise BadInput(f"environment variable {variable}: {error}") from None
    return settings_from_mapping(data)


def _override_variables(environ: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    top_level = {f.name for f in dataclasses.fields(Settings)}
    found = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        if ENV_SEPARATOR in rest or rest in top_level:
            found.append((variable, rest.split(ENV_SEPARATOR)))
    return found


def _env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _set_path(data: dict[str, Any], key_path: list[str], value: Any) -> None:
    table = data
    for key in key_path[:-1]:
        child = table.setdefault(key, {})
        if not isinstance(child, dict):
            child = table[key] = {}
        table = child
    table[key_path[-1]] = value


def secret_sources(settings: Settings) -> dict[str, tuple[str, str]]:
    """The secrets outside the channels by name → (environment variable, file): where
    ``read_secret`` finds them. Each channel names its own (``revisit.alerts.channels``); the
    wiring's ``all_secret_sources`` has both."""
    return {
        "web session secret": (settings.web.session_secret_env, settings.web.session_secret_file),
        "IP hash key": (settings.privacy.ip_hash_key_env, settings.privacy.ip_hash_key_file),
    }


def read_secret(env_name: str, file_path: str, environ: Mapping[str, str] | None = None) -> str:
    """From the file if one is named (Docker/Kubernetes secrets), else from the environment.
    Raises OSError when the named file cannot be read."""
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return (os.environ if environ is None else environ).get(env_name, "").strip() if env_name else ""


# Query parameters of a database URL whose values are secret (password=, sslpassword=, ...).
_SECRET_QUERY_KEY = re.compile(r"pass(word)?|passwd|pwd|secret|token", re.IGNORECASE)


def _parsed_database_url(url: str) -> URL | None:
    """SQLAlchemy's reading of ``url``, or None when it cannot read it. Imported here: a command
    that never opens a database does not pay for importing SQLAlchemy."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def database_secrets(url: str) -> tuple[str, ...]:
    """The passwords a database URL carries, in the userinfo and in ``password=``-style query
    parameters (libpq reads both): the values to mask wherever the URL could have been quoted."""
    parsed = _parsed_database_url(url)
    if parsed is None:
        return ()
    query_secrets = [
        value
        for name, values in parsed.query.items()
        if _SECRET_QUERY_KEY.search(name)
        for value in ((values,) if isinstance(values, str) else values)
    ]
    return tuple(value for value in (parsed.password or "", *query_secrets) if value)


def masked_url(url: str) -> str:
    """A database URL fit for a message: SQLAlchemy renders it with the password hidden, and
    ``password=``-style query values are masked too; a URL it cannot parse is masked as text."""
    parsed = _parsed_database_url(url)
    return without_credentials(url if parsed is None else parsed.render_as_string(hide_password=True))


def effective_settings(settings: Settings) -> dict[str, Any]:
    """The settings as plain data for ``revisit config check``, with a database password masked."""
    data = _plain(settings)
    data["database_url"] = masked_url(data.get("database_url", ""))
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class ConfigError(ValueError):
    """A config value is unknown or of the wrong type; the message starts with the key path."""


def settings_from_mapping(data: Mapping[str, Any]) -> Settings:
    return _build_dataclass(Settings, data, "")


def _build_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'top level'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else key
        if key not in known:
            raise ConfigError(f"{key_path}: unknown key")
        values[key] = _convert(hints[key], value, key_path)
    try:
        return cls(**values)
    except TypeError as error:  # a required field (PageRule.pattern, ...) is missing
        raise ConfigError(f"{path or 'top level'}: {error}") from None


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build_dataclass(hint, value, path)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(_convert(item_hint, item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin in (collections.abc.Mapping, dict):
        key_hint, item_hint = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {type(value).__name__}")
        return types.MappingProxyType({str(k): _convert(item_hint, v, f"{path}.{k}") for k, v in value.items()})
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"{path}: expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported setting type {hint!r}")  # a bug in this module
