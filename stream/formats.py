"""Access-log formats: each turns one line into `RawFields` or a `Malformed` reason.

Every parser tries a fast regular expression first (plain ``"[^"]*"`` quoted fields, as fast as a
bare regex can be) and only when that fails a slower, escape-aware one, so that the rare line with
``\\"`` inside a user agent costs more and the millions of ordinary lines do not.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any, Protocol

from revisit.core.config import JsonFieldNames, LogSettings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.fields import zone_named

# Lines longer than this are not access-log lines; refusing them bounds memory and regex time.
MAX_LINE_CHARS = 64 * 1024

COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
COMMON = '%h %l %u %t "%r" %>s %b'
NGINX_MAIN = '%h - %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i"'
VHOST_COMBINED = '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
NAMED_FORMATS = {
    "combined": COMBINED,
    "common": COMMON,
    "nginx_main": NGINX_MAIN,
    "vhost_combined": VHOST_COMBINED,
}


class LineParser(Protocol):
    # Optional shortcut for the hot loop: a regex whose groups() are already RawFields' fields in
    # order, valid for any line it matches that holds no escaped quote (None when there is none).
    # Read-only, so that a parser may declare it as a plain class attribute of a narrower type.
    @property
    def fast_pattern(self) -> re.Pattern[str] | None: ...

    def split(self, line: str) -> RawFields | Malformed: ...


def make_line_parser(settings: LogSettings) -> LineParser:
    """The parser for the configured format; raises BadInput for a format we cannot compile."""
    zone_named(settings.timezone)  # an unknown log.timezone fails here too, before ship sends a line
    name = settings.format
    if name == "auto":
        return AutoClfParser()
    if name == "json":
        return JsonLineParser(settings.json_fields)
    return LogFormatParser(NAMED_FORMATS.get(name, name))


# RawFields from a regex's groups without NamedTuple._make's extra call: this runs once per line.
_new_raw_fields = tuple.__new__

# --- quoted-field patterns -------------------------------------------------------------------
_FAST_QUOTED = r'"([^"]*)"'
_ESCAPED_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_TIME = r"\[([^\]]+)\]"
_STATUS = r"(\d{3})"
_SIZE = r"(\d+|-)"


class AutoClfParser:
    """The default: Apache/Nginx combined and common lines, with or without a virtual-host prefix,
    an X-Forwarded-For chain in the client field, and trailing fields (nginx ``main``), per line.
    """

    _FAST = re.compile(  # the empty first group stands for the absent vhost: groups() is RawFields' order
        r"^()(\S+) \S+ \S+ "
        + _TIME
        + " "
        + _FAST_QUOTED
        + " "
        + _STATUS
        + " "
        + _SIZE
        + " "
        + _FAST_QUOTED
        + " "
        + _FAST_QUOTED
        + r"(.*)"
    )
    _TOLERANT = re.compile(
        r"^([^\[]*?) "
        + _TIME
        + " "
        + _ESCAPED_QUOTED
        + " "
        + _STATUS
        + " "
        + _SIZE
        + r"(?: "
        + _ESCAPED_QUOTED
        + " "
        + _ESCAPED_QUOTED
        + r")?"
        + r'((?: (?:"(?:[^"\\]|\\.)*"|[^"\s]\S*))*)\s*$'
    )
    _PREFIX_TOKEN = re.compile(r'"[^"]*"|\S+')
    fast_pattern = _FAST

    def split(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        match = self._FAST.match(line)
        if match is not None and '\\"' not in line:
            return _new_raw_fields(RawFields, match.groups())
        return self._split_slowly(line)

    def _split_slowly(self, line: str) -> RawFields | Malformed:
        match = self._TOLERANT.match(line)
        if match is None:
            return Malformed(classify_unparsable(line))
        prefix, time, request, status, size, referrer, agent, rest = match.groups()
        interpreted = self._interpret_prefix(prefix)
        if isinstance(interpreted, Malformed):
            return interpreted
        vhost, client = interpreted
        return RawFields(vhost, client, time, request, status, size, referrer, agent, rest)

    def _interpret_prefix(self, prefix: str) -> tuple[str | None, str] | Malformed:
        """Split ``[vhost] client [remote] ident user`` into (vhost, client chain)."""
        tokens: list[str] = []
        for token in self._PREFIX_TOKEN.findall(prefix):
            if tokens and tokens[-1].endswith(","):
                tokens[-1] = f"{tokens[-1]} {token}"
            else:
                tokens.append(token)
        if len(tokens) < 3:
            return Malformed(MalformedReason.MISSING_FIELDS)
        groups = [token.strip('"') for token in tokens[:-2]]
        if len(groups) == 1:
            return None, groups[0]
        if len(groups) == 2:
            first_is_chain = tokens[0].startswith('"') or "," in tokens[0]
            if first_is_chain:  # nginx: "$http_x_forwarded_for" $remote_addr
                return None, f"{groups[0]}, {groups[1]}"
            return groups[0], groups[1]
        if len(groups) == 3:
            return groups[0], f"{groups[1]}, {groups[2]}"
        return Malformed(MalformedReason.BAD_CLIENT)


_ERROR_LOG = re.compile(
    r"^(?:\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} +\d+ [\d:.]+ \d{4}\] \["  # Apache error log
    r"|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] )"  # nginx error log
)
_CLF_START = re.compile(r'^[^\[]*\[[^\]]+\] "')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def classify_unparsable(line: str) -> str:
    """Name the reason a line matched no format, for the counters and the dead-letter output."""
    text = line.strip()
    if not text:
        return MalformedReason.EMPTY
    if text.startswith("#"):
        return MalformedReason.COMMENT
    if _CONTROL.search(text):
        return MalformedReason.BINARY
    if _ERROR_LOG.match(text):
        return MalformedReason.ERROR_LOG
    if _CLF_START.match(text):
        unescaped_quotes = len(re.findall(r'(?<!\\)"', text))
        if unescaped_quotes % 2 == 1:
            return MalformedReason.TRUNCATED
        return MalformedReason.MISSING_FIELDS
    return MalformedReason.UNRECOGNIZED


# --- Apache LogFormat strings ----------------------------------------------------------------
_DIRECTIVE = re.compile(r"%(?:\{([^}]*)\})?[<>]?([a-zA-Z%])")
_HEADER_FIELDS = {"referer": "referrer", "user-agent": "user_agent", "x-forwarded-for": "forwarded_for"}


class LogFormatParser:
    """Lines written by an Apache ``LogFormat`` (or an nginx ``log_format`` spelled the same way)."""

    fast_pattern = None  # its groups follow the format string, not RawFields

    def __init__(self, log_format: str) -> None:
        self.log_format = log_format
        self._fields: list[str] = []
        fast, slow = self._compile(log_format)
        if "client" not in self._fields or "timestamp" not in self._fields:
            raise BadInput(f"log format {log_format!r}: needs at least %h (client) and %t (time)")
        if "request" not in self._fields and "path" not in self._fields:
            raise BadInput(f"log format {log_format!r}: needs %r or %U for the page")
        self._fast = re.compile(fast)
        self._slow = re.compile(slow)

    def _compile(self, log_format: str) -> tuple[str, str]:
        fast, slow = ["^"], ["^"]
        position = 0
        for directive in _DIRECTIVE.finditer(log_format):
            literal = log_format[position : directive.start()]
            fast.append(re.escape(literal))
            slow.append(re.escape(literal))
            position = directive.end()
            quoted = literal.endswith('"')
            argument, letter = directive.group(1), directive.group(2)
            name, pattern = self._directive(argument, letter, quoted)
            if letter == "%":
                fast.append("%")
                slow.append("%")
                continue
            if name is None:
                group_fast = group_slow = f"(?:{pattern})"
            else:
                self._fields.append(name)
                group_fast = f"({pattern})"
                group_slow = r"((?:[^\"\\]|\\.)*)" if quoted else group_fast
            fast.append(group_fast)
            slow.append(group_slow)
        tail = re.escape(log_format[position:])
        fast.append(tail + r"\s*$")
        slow.append(tail + r"\s*$")
        return "".join(fast), "".join(slow)

    def _directive(self, argument: str | None, letter: str, quoted: bool) -> tuple[str | None, str]:
        text = r'[^"]*' if quoted else r"\S+"
        if letter in "ha":
            return ("client", text)
        if letter in "vV":
            return ("vhost", r"[^\s:]+" if not quoted else text)
        if letter == "t" and argument is None:
            return ("timestamp", r"\[[^\]]+\]") if not quoted else ("timestamp", text)
        if letter == "r":
            return ("request", text)
        if letter == "s":
            return ("status", r"\d{3}")
        if letter in "bBO":
            return ("size", r"\d+|-")
        if letter == "m":
            return ("method", text)
        if letter == "U":
            return ("path", text)
        if letter == "q":
            return ("query", r"\S*")
        if letter == "i" and argument is not None:
            field = _HEADER_FIELDS.get(argument.lower())
            return (field, text)
        return (None, text)

    def split(self, line: str) -> RawFields | Malformed:
        match = self._fast.match(line)
        if match is None or '\\"' in line:
            if len(line) > MAX_LINE_CHARS:
                return Malformed(MalformedReason.TOO_LONG)
            match = self._slow.match(line)
            if match is None:
                return Malformed(classify_unparsable(line))
        values = dict(zip(self._fields, match.groups(), strict=True))  # one group per field
        time = values["timestamp"]
        if time.startswith("["):
            time = time[1:-1]
        request = values.get("request")
        if request is None:
            request = f"{values.get('method', 'GET')} {values['path']}{values.get('query', '')} HTTP/1.1"
        return RawFields(
            values.get("vhost"),
            values["client"],
            time,
            request,
            values.get("status", "200"),
            values.get("size", "-"),
            values.get("referrer"),
            values.get("user_agent"),
            values.get("forwarded_for"),
        )


# --- JSON lines --------------------------------------------------------------------------------
class JsonLineParser:
    """One JSON object per line, field names from config (``log.json_fields``)."""

    fast_pattern = None

    def __init__(self, names: JsonFieldNames) -> None:
        self._names = names
        self._getters: dict[str, Callable[[dict[str, Any]], Any]] = {
            field: _dotted_getter(getattr(names, field)) for field in names.__dataclass_fields__
        }

    def split(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        text = line.strip()
        if not text:
            return Malformed(MalformedReason.EMPTY)
        try:
            record = json.loads(text)
        except ValueError:
            return Malformed(classify_unparsable(line) if not text.startswith("{") else MalformedReason.BAD_JSON)
        if not isinstance(record, dict):
            return Malformed(MalformedReason.BAD_JSON)
        get = self._getters
        client = get["client_ip"](record)
        time = get["timestamp"](record)
        if client is None or time is None:
            return Malformed(MalformedReason.MISSING_FIELDS)
        request = get["request"](record)
        if request is None:
            path = get["path"](record)
            if path is None:
                return Malformed(MalformedReason.MISSING_FIELDS)
            request = f"{get['method'](record) or 'GET'} {path} HTTP/1.1"
        status = get["status"](record)
        size = get["size"](record)
        return RawFields(
            _text_or_none(get["vhost"](record)),
            str(client),
            str(time),
            str(request),
            str(status if status is not None else "200"),
            str(size if size is not None else "-"),
            _text_or_none(get["referrer"](record)),
            _text_or_none(get["user_agent"](record)),
            _text_or_none(get["forwarded_for"](record)),
        )


def _dotted_getter(path: str) -> Callable[[dict[str, Any]], Any]:
    keys = path.split(".")
    if len(keys) == 1:
        return operator.methodcaller("get", keys[0])

    def get(record: dict[str, Any]) -> Any:
        value: Any = record
        for key in keys:
            if not isinstance(value, dict):  # json.loads gives dicts; typing.Mapping checks are slow
                return None
            value = value.get(key)
        return value

    return get


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
