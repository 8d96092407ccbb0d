"""Sign-ins in the access log: lines whose configured field (``ledger.log_field``) names the user.

A site that knows who is signed in can write it into its access log: nginx ``$remote_user`` or a
header the application sets (``$upstream_http_x_user_email``), Apache ``%u`` or
``%{X-User-Email}o``, a JSON field. The first-party network ledger learns from these lines which
addresses an account's people use (``revisit.enrichment.ledger``).

The field is read by a second parser of the same template rather than by the hot path's: most
lines carry no sign-in, and learning runs as its own pass (``revisit ledger learn``, and replay
when the field is configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from revisit.core.config import LogSettings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, RawFields
from revisit.core.networks import IPAddress
from revisit.stream.fields import ClientAddressResolver, TimestampParser, normalize_address, zone_named
from revisit.stream.formats import (
    NAMED_FORMATS,
    LogFormatParser,
    NginxLogFormatParser,
    is_nginx_log_format,
)
from revisit.stream.jsonlogs import JSON_PRESETS, JsonLineParser, _path_getter, parse_record


@dataclass(frozen=True, slots=True)
class SignIn:
    address: IPAddress
    seen_at: datetime
    identity: str  # as the log wrote it: an e-mail or an account id


def _named(identity: str) -> str | None:
    identity = identity.strip()
    return identity if identity and identity != "-" else None


class _FieldsAndIdentity(Protocol):
    def read(self, line: str) -> tuple[RawFields, str] | None:
        """The line's fields and identity; None without one (checked first: most lines have
        none, and building the fields is half the cost of reading a line)."""


class _TemplateIdentity:
    def __init__(self, parser: LogFormatParser | NginxLogFormatParser, field: str) -> None:
        if "identity" not in parser._fields:
            raise BadInput(f"ledger.log_field {field!r} is not a field of log.format {parser.log_format!r}")
        self._parser = parser

    def read(self, line: str) -> tuple[RawFields, str] | None:
        value = self._parser.value_of(line, "identity")
        identity = _named(value) if value is not None else None
        if identity is None:
            return None
        values = self._parser.values(line)
        return (self._parser.raw_fields(values), identity) if not isinstance(values, Malformed) else None


class _JsonIdentity:
    def __init__(self, parser: JsonLineParser, field: str) -> None:
        self._parser = parser
        self._get = _path_getter(field)

    def read(self, line: str) -> tuple[RawFields, str] | None:
        record = parse_record(line)
        if isinstance(record, Malformed):
            return None
        value: Any = self._get(record)
        identity = _named(value) if isinstance(value, str) else None
        if identity is None:
            return None
        fields = self._parser.from_record(record)
        return (fields, identity) if not isinstance(fields, Malformed) else None


def _reader(settings: LogSettings, field: str) -> _FieldsAndIdentity:
    name = settings.format
    if name == "json":
        return _JsonIdentity(JsonLineParser(settings.json_fields), field)
    if name in JSON_PRESETS:
        return _JsonIdentity(JsonLineParser(JSON_PRESETS[name]), field)
    if name in NAMED_FORMATS:
        return _TemplateIdentity(LogFormatParser(NAMED_FORMATS[name], field), field)
    if is_nginx_log_format(name):
        return _TemplateIdentity(NginxLogFormatParser(name, field), field)
    if "%" in name:
        return _TemplateIdentity(LogFormatParser(name, field), field)
    raise BadInput(
        f"ledger.log_field {field!r}: log.format {name!r} has no named fields; set log.format to your "
        "LogFormat / log_format template, a named format (combined) or json"
    )


class SignInReader:
    """The sign-in of a line, if it has one (``-`` and empty values are no sign-in)."""

    def __init__(self, settings: LogSettings, field: str) -> None:
        if not field:
            raise BadInput("ledger.log_field is not set: name the log field that carries the signed-in user")
        self._reader = _reader(settings, field)
        self._timestamps = TimestampParser(zone_named(settings.timezone))
        self._clients = ClientAddressResolver(settings.trusted_proxies, 4096)

    def sign_in(self, line: str) -> SignIn | None:
        read = self._reader.read(line)
        if read is None:
            return None
        fields, identity = read
        seen_at = self._timestamps.parse(fields.timestamp)
        client_ip = self._clients.client_ip(fields.client, fields.forwarded_for)
        address = normalize_address(client_ip) if client_ip is not None else None
        if seen_at is None or address is None:
            return None
        return SignIn(address, seen_at, identity)
