"""Structured logs: one JSON object per line for machines, readable lines for people at a terminal.

Every log record of the process (revisit's own, and Faust's, aiokafka's, SQLAlchemy's through the
standard library) goes through one structlog processor chain, applied in order:

1. time (UTC, ISO 8601), level and logger name;
2. fields passed with ``extra={...}`` (``alert_id``, ``channel``, ...);
3. ``event_id``: a unique id per record, to point at one line in a ticket or a log search;
4. secrets (tokens, passwords, webhook URLs, the database password) replaced by ``***``, and so
   is the password of any URL quoted in a message (``user:…@`` and ``password=…``), whichever
   database it names;
5. with privacy mode on, IP addresses cut to their network (/24, /48): a log is no place for
   personal data the database itself keeps only as configured;
6. rendering: JSON, or key=value lines for a terminal.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from revisit.core.config import (
    LoggingSettings,
    Settings,
    database_secrets,
    read_secret,
    secret_sources,
)
from revisit.core.text import without_credentials

if TYPE_CHECKING:
    import structlog

EventDict = MutableMapping[str, Any]
Processor = Callable[[Any, str, EventDict], EventDict]

MASK = "***"
# Keys whose values are secret whatever they hold.
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|api_?key", re.IGNORECASE)
# One pass over IPv6 candidates (possibly ending in a dotted IPv4, as in ::ffff:1.2.3.4) and IPv4
# candidates; each is checked with ipaddress before it is masked.
_ADDRESS_CANDIDATE = re.compile(
    r"(?<![\w:.])(?P<v6>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,7}(?::\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?)(?![\w:.])"
    r"|(?<![\w.])(?P<v4>\d{1,3}(?:\.\d{1,3}){3})(?![\w.])"
)
# Libraries whose INFO records are about their own plumbing.
QUIET_UNLESS_DEBUGGING = ("kafka.net.selector", "mode.timers")
CHATTY_LIBRARIES = ("aiokafka", "kafka", "faust", "mode", "sqlalchemy", "alembic", "urllib3", "slack_sdk")


def add_event_id(logger: Any, method: str, event: EventDict) -> EventDict:
    event["event_id"] = uuid.uuid4().hex
    return event


def secret_masker(secrets: Iterable[str]) -> Processor:
    """Replaces each known secret value, wherever it appears in a string, secret-named keys, and
    the credentials of any URL in a string (``without_credentials``)."""
    values = sorted({value for value in secrets if len(value) >= 4}, key=len, reverse=True)

    def mask_secrets(logger: Any, method: str, event: EventDict) -> EventDict:
        for key, value in event.items():
            if SECRET_KEYS.search(key) and value:
                event[key] = MASK
            elif isinstance(value, str):
                for secret in values:
                    if secret in value:
                        value = value.replace(secret, MASK)
                event[key] = without_credentials(value)
        return event

    return mask_secrets


def mask_address_text(text: str) -> str:
    """IPv4 → its /24 (``203.0.113.0/24``), IPv6 → its /48; other text is left as it is."""
    return _ADDRESS_CANDIDATE.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def mask_addresses(logger: Any, method: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask_address_text(value)
    return event


class DropFields:
    """Removes fields a library adds for its own console: uvicorn's ``color_message`` is its message
    again with ANSI colour codes, noise in a JSON log and in a log search."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        for name in self.names:
            event.pop(name, None)
        return event


def known_secrets(settings: Settings, sources: Mapping[str, tuple[str, str]] | None = None) -> list[str]:
    """The secret values this configuration uses (unreadable files are the channels' concern):
    the database password and every secret in ``sources`` (default: those outside the channels)."""
    values = list(database_secrets(settings.database_url))
    for variable, path in (secret_sources(settings) if sources is None else sources).values():
        try:
            values.append(read_secret(variable, path))
        except OSError:
            continue
    return [value for value in values if value]


def processor_chain(settings: Settings, sources: Mapping[str, tuple[str, str]] | None = None) -> list[Processor]:
    """Steps 1-5 of the module docstring, for standard-library records (see ``configure_logging``)."""
    return _processor_chain(settings, known_secrets(settings, sources))


def _processor_chain(settings: Settings, secrets: Iterable[str]) -> list[Processor]:
    import structlog

    chain: list[Processor] = [
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        DropFields("color_message"),
        add_event_id,
        structlog.processors.format_exc_info,
        secret_masker(secrets),
    ]
    if settings.privacy.enabled or settings.privacy.ip_storage != "full":
        chain.append(mask_addresses)
    return chain


def wants_json(logging_settings: LoggingSettings, stream: Any) -> bool:
    if logging_settings.format == "auto":
        return not (hasattr(stream, "isatty") and stream.isatty())
    return logging_settings.format == "json"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (tests and redirections replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        return None


class _ChainFormatter(logging.Formatter):
    """structlog's formatter with the chain of ``configure_logging``, made at the first record.

    Importing structlog (and ``rich``, which it imports whenever it is installed, as the test
    tools install it) took 0.2-0.3 s of every command's start; a replay that logs nothing no
    longer pays it. The secrets to mask are read when logging is configured, as before."""

    def __init__(self, settings: Settings, secrets: list[str], json_lines: bool) -> None:
        super().__init__()
        self._settings = settings
        self._secrets = secrets
        self._json_lines = json_lines
        self._made: structlog.stdlib.ProcessorFormatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._made is None:
            self._made = self._make()
        return self._made.format(record)

    def _make(self) -> structlog.stdlib.ProcessorFormatter:
        import structlog

        renderer = (
            structlog.processors.JSONRenderer(ensure_ascii=False)
            if self._json_lines
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_processor_chain(self._settings, self._secrets),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )


def configure_logging(
    settings: Settings,
    level: str | None = None,
    stream: Any = None,
    secret_sources: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Once per process, before anything logs: the root logger renders through the chain, which
    masks the values of ``secret_sources`` (the wiring passes every channel's too)."""
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(
        _ChainFormatter(
            settings, known_secrets(settings, secret_sources), wants_json(settings.logging, stream or sys.stderr)
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level_number = logging.getLevelName((level or settings.logging.level).upper())
    if not isinstance(level_number, int):
        level_number = logging.INFO
    root.setLevel(level_number)
    library_level = max(level_number, logging.getLevelName(settings.logging.library_level.upper()))
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    # Diagnostics of the libraries' own internals, repeated and not actionable: kafka-python 3's
    # network loop warns whenever one of its tasks runs over 0.1 s (a shipper's batch on a busy
    # machine: several a minute), and mode's timers whenever a run outlasts its interval (the
    # worker's 50 ms store timer during a burst, which the batch-duration metrics show). A new
    # user read both as faults (2026-12-02). Still shown at library_level = "debug".
    for name in QUIET_UNLESS_DEBUGGING:
        logging.getLogger(name).setLevel(library_level if library_level <= logging.DEBUG else logging.ERROR)
    # SQLAlchemy's INFO is every SQL statement with its parameters (visitor data): debug only
    logging.getLogger("sqlalchemy").setLevel(
        library_level if library_level <= logging.DEBUG else max(library_level, logging.WARNING)
    )
