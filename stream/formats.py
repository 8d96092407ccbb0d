"""Access-log formats: each turns one line into `RawFields` or a `Malformed` reason.

Every parser tries a fast regular expression first (plain ``"[^"]*"`` quoted fields, as fast as a
bare regex can be) and only when that fails a slower, escape-aware one, so that the rare line with
``\\"`` inside a user agent costs more and the millions of ordinary lines do not.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from revisit.core.config import LogSettings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.balancers import AlbParser, ElbParser, EnvoyParser, HaproxyParser
from revisit.stream.fields import zone_named
from revisit.stream.jsonlogs import (
    JSON_PRESETS,
    ContainerLineParser,
    JsonLineParser,
    parse_record,
    preset_for,
    unwrap_container_line,
)
from revisit.stream.lines import MAX_LINE_CHARS as MAX_LINE_CHARS
from revisit.stream.lines import classify_unparsable as classify_unparsable
from revisit.stream.w3c import W3cParser

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

    # Optional with it: the fast pattern over a block of lines, anchored at each line's start, its
    # first group the whole line with its newline, then the fast pattern's groups, as the fast
    # pattern gives them for a line it matches alone (``stream.rows`` checks the count of matches).
    @property
    def block_pattern(self) -> re.Pattern[str] | None: ...

    def split(self, line: str) -> RawFields | Malformed: ...


FORMAT_NAMES = (
    "auto",
    *NAMED_FORMATS,
    "w3c",
    "iis",
    "cloudfront",
    "alb",
    "elb",
    "haproxy",
    "envoy",
    "json",
    *JSON_PRESETS,
)
CONTAINER_WRAPPERS = ("none", "docker", "cri")


def make_line_parser(settings: LogSettings) -> LineParser:
    """The parser for the configured format; raises BadInput for a format we cannot compile."""
    zone_named(settings.timezone)  # an unknown log.timezone fails here too, before ship sends a line
    try:
        codecs.lookup(settings.encoding)
    except LookupError:
        raise BadInput(
            f"log.encoding {settings.encoding!r}: not a known encoding (utf-8, cp932, euc_jp, ...)"
        ) from None
    if settings.container not in CONTAINER_WRAPPERS:
        raise BadInput(f"log.container {settings.container!r}: one of {', '.join(CONTAINER_WRAPPERS)}")
    parser = _parser_for_format(settings)
    if settings.container != "none" and settings.format != "auto":  # auto unwraps on its own
        return ContainerLineParser(parser)
    return parser


def _parser_for_format(settings: LogSettings) -> LineParser:
    name = settings.format
    if name == "auto":
        return AutoParser(settings)
    if name in W3C_NAMES:
        return W3cParser(settings.w3c_fields)
    if name == "alb":
        return AlbParser()
    if name == "elb":
        return ElbParser()
    if name == "haproxy":
        return HaproxyParser(settings.haproxy_captures)
    if name == "envoy":
        return EnvoyParser()
    if name == "json":
        return JsonLineParser(settings.json_fields)
    if name in JSON_PRESETS:
        return JsonLineParser(JSON_PRESETS[name])
    if name in NAMED_FORMATS:
        return LogFormatParser(NAMED_FORMATS[name])
    if is_nginx_log_format(name):
        return NginxLogFormatParser(name)
    if "%" not in name:
        raise BadInput(
            f"log.format: {name!r} unknown; one of {', '.join(FORMAT_NAMES)}, "
            "an Apache LogFormat string or an nginx log_format"
        )
    return LogFormatParser(name)


# RawFields from a regex's groups without NamedTuple._make's extra call: this runs once per line.
_new_raw_fields = tuple.__new__

# --- quoted-field patterns -------------------------------------------------------------------
_FAST_QUOTED = r'"([^"]*)"'
_ESCAPED_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_TIME = r"\[([^\]]+)\]"
_STATUS = r"(\d{3})"
_SIZE = r"(\d+|-)"


def _clf_fields(quoted: str, time: str) -> str:
    """A combined or common line's fields in RawFields' order, with these patterns of a quoted
    field and of the time; the empty first group stands for the absent vhost."""
    return " ".join((r"()(\S+) \S+ \S+", time, quoted, _STATUS, _SIZE, quoted, quoted)) + r"(.*)"


W3C_NAMES = ("w3c", "iis", "cloudfront")
# reasons no other layout can change (an Envoy line looks like a broken combined one: missing_fields)
_NOT_ANY_FORMAT = (MalformedReason.EMPTY, MalformedReason.COMMENT, MalformedReason.BINARY, MalformedReason.TOO_LONG)


class AutoParser:
    """``auto``: combined/common lines through `AutoClfParser` (its fast pattern is the hot loop's),
    and the formats a line names unambiguously: a ``#Fields:`` directive switches to W3C lines;
    AWS ALB, Classic ELB and HAProxy lines are tried on lines no other layout reads.

    Only lines the fast pattern misses come here, so combined logs pay nothing for the others.
    """

    def __init__(self, settings: LogSettings) -> None:
        self._clf = AutoClfParser()
        self.fast_pattern: re.Pattern[str] | None = self._clf.fast_pattern
        self.block_pattern: re.Pattern[str] | None = self._clf.block_pattern
        self._w3c_fields = settings.w3c_fields
        self._w3c: W3cParser | None = None
        self._others: tuple[LineParser, ...] = (
            AlbParser(),
            ElbParser(),
            HaproxyParser(settings.haproxy_captures),
            EnvoyParser(),
        )
        self._json = JsonLineParser(settings.json_fields)
        self._presets = {name: JsonLineParser(names) for name, names in JSON_PRESETS.items()}

    def split(self, line: str) -> RawFields | Malformed:
        if self._w3c is None:
            if not line.startswith("#Fields:"):
                return self._split_other(line)
            self._w3c = W3cParser(self._w3c_fields)
        parsed = self._w3c.split(line)
        if type(parsed) is Malformed and parsed.reason == MalformedReason.MISSING_FIELDS:
            return self._split_other(line)  # a combined line after a W3C file in the same stream
        return parsed

    def _split_other(self, line: str) -> RawFields | Malformed:
        if line.startswith("{"):
            return self._split_json(line)
        if line[:4].isdigit():
            unwrapped = unwrap_container_line(line)  # Kubernetes CRI
            if unwrapped is not None:
                return self.split(unwrapped)
        parsed = self._clf.split(line)
        if type(parsed) is not Malformed or parsed.reason in _NOT_ANY_FORMAT:
            return parsed
        for other in self._others:  # each starts unlike a combined line: one regex miss apiece
            found = other.split(line)
            if type(found) is not Malformed:
                return found
            if found.reason == MalformedReason.MISSING_FIELDS:
                parsed = found  # its layout's head matched, its tail is cut: say so over "unrecognized"
        return parsed

    def _split_json(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        record = parse_record(line)
        if isinstance(record, Malformed):
            return record
        wrapped = record.get("log")
        if isinstance(wrapped, str) and "stream" in record:  # Docker's json-file driver
            return self.split(wrapped) if not wrapped.startswith('{"log":') else Malformed(MalformedReason.BAD_JSON)
        preset = preset_for(record)
        return (self._presets[preset] if preset is not None else self._json).from_record(record)


class AutoClfParser:
    """The default: Apache/Nginx combined and common lines, with or without a virtual-host prefix,
    an X-Forwarded-For chain in the client field, and trailing fields (nginx ``main``), per line.
    """

    _FAST = re.compile("^" + _clf_fields(_FAST_QUOTED, _TIME))
    # The same over a block of lines (``stream.rows``): at each line's start, the whole line as the
    # first group, then the fast pattern's groups. Its quoted fields may run past a line's end, as
    # ``[^"\n]`` would not, but that class took twice the time of ``[^"]`` (0.68 µs a line): a line
    # cut inside a quote shows as fewer matches than lines, and a block without a line's share of
    # quotes is not searched at all (``stream.rows``).
    _BLOCK = re.compile("^(" + _clf_fields(_FAST_QUOTED, _TIME) + "\n)", re.MULTILINE)
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
    block_pattern = _BLOCK

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


# --- LogFormat templates: Apache LogFormat and nginx log_format strings ---------------------------
@dataclass(frozen=True, slots=True)
class _Segment:
    """Literal text, then one field: its name (None = read and ignored) and its unquoted pattern."""

    literal: str
    field: str | None
    pattern: str


class TemplateParser:
    """Lines written by a template of literal text and fields, compiled to a fast and a slow regex.

    A field right after a ``"`` is quoted: ``[^"]*`` in the fast regex, escape-aware in the slow one.
    """

    fast_pattern = None  # its groups follow the template, not RawFields
    block_pattern = None

    def __init__(self, description: str, segments: Sequence[_Segment], tail: str, json_escaped: bool = False) -> None:
        self._fields = [segment.field for segment in segments if segment.field is not None]
        if "client" not in self._fields or "timestamp" not in self._fields:
            raise BadInput(f"log format {description!r}: needs at least the client address and the time")
        if "request" not in self._fields and "path" not in self._fields:
            raise BadInput(f"log format {description!r}: needs the request line or its path")
        self._json_escaped = json_escaped
        fast, slow = ["^"], ["^"]
        for segment in segments:
            fast.append(re.escape(segment.literal))
            slow.append(re.escape(segment.literal))
            quoted = segment.literal.endswith('"')
            pattern = r'[^"]*' if quoted else segment.pattern
            if segment.field is None:
                fast.append(f"(?:{pattern})")
                slow.append(r'(?:(?:[^"\\]|\\.)*)' if quoted else f"(?:{pattern})")
            else:
                fast.append(f"({pattern})")
                slow.append(r'((?:[^"\\]|\\.)*)' if quoted else f"({pattern})")
        fast.append(re.escape(tail) + r"\s*$")
        slow.append(re.escape(tail) + r"\s*$")
        self._fast = re.compile("".join(fast))
        self._slow = re.compile("".join(slow))

    def values(self, line: str) -> dict[str, str] | Malformed:
        """The line's fields by name (``identity`` too, when the template was given one)."""
        match = self._fast.match(line)
        if match is None or '\\"' in line:
            if len(line) > MAX_LINE_CHARS:
                return Malformed(MalformedReason.TOO_LONG)
            match = self._slow.match(line)
            if match is None:
                return Malformed(classify_unparsable(line))
        values = dict(zip(self._fields, match.groups(), strict=True))  # one group per field
        if self._json_escaped:
            values = {name: _json_unescaped(value) for name, value in values.items()}
        return values

    def value_of(self, line: str, name: str) -> str | None:
        """One field of the line (None when the line does not parse): a third of ``values``'s
        cost, for a pass that wants one field of every line and the rest of a few."""
        match = self._fast.match(line)
        if match is None or '\\"' in line or self._json_escaped:
            values = self.values(line)
            return None if isinstance(values, Malformed) else values[name]
        return match.group(self._fields.index(name) + 1)

    def split(self, line: str) -> RawFields | Malformed:
        values = self.values(line)
        if isinstance(values, Malformed):
            return values
        return self.raw_fields(values)

    @staticmethod
    def raw_fields(values: dict[str, str]) -> RawFields:
        time = values["timestamp"]
        if time.startswith("["):
            time = time[1:-1]
        request = values.get("request")
        if request is None:
            query = values.get("query", "")
            args = values.get("args")
            if args and args != "-":
                query = f"?{args}"
            request = f"{values.get('method') or 'GET'} {values['path']}{query} HTTP/1.1"
        return RawFields(
            values.get("vhost"),
            values["client"],
            time,
            request,
            values.get("status", "200"),
            values.get("size") or "-",
            values.get("referrer"),
            values.get("user_agent"),
            values.get("forwarded_for"),
        )


def _json_unescaped(value: str) -> str:
    """nginx ``escape=json`` writes ``\\"``, ``\\\\`` and ``\\u0001``; the value as it was sent."""
    if "\\" not in value:
        return value
    try:
        decoded = json.loads(f'"{value}"')
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


_DIRECTIVE = re.compile(r"%(?:\{([^}]*)\})?[<>]?([a-zA-Z%])")
_HEADER_FIELDS = {"referer": "referrer", "user-agent": "user_agent", "x-forwarded-for": "forwarded_for"}


class LogFormatParser(TemplateParser):
    """Lines written by an Apache ``LogFormat`` string."""

    def __init__(self, log_format: str, identity: str = "") -> None:
        """``identity``: one directive of the format (``%u``, ``%{X-User-Email}o``) read as the
        signed-in user (the first-party ledger's ``ledger.log_field``)."""
        self.log_format = log_format
        segments: list[_Segment] = []
        literal = ""
        position = 0
        for directive in _DIRECTIVE.finditer(log_format):
            literal += log_format[position : directive.start()]
            position = directive.end()
            argument, letter = directive.group(1), directive.group(2)
            if letter == "%":
                literal += "%"
                continue
            name, pattern = self._directive(argument, letter)
            if identity and directive.group(0).replace("<", "").replace(">", "") == identity:
                name = "identity"
            segments.append(_Segment(literal, name, pattern))
            literal = ""
        super().__init__(log_format, segments, literal + log_format[position:])

    @staticmethod
    def _directive(argument: str | None, letter: str) -> tuple[str | None, str]:
        if letter in "ha":
            return ("client", r"\S+")
        if letter in "vV":
            return ("vhost", r"[^\s:]+")
        if letter == "t" and argument is None:
            return ("timestamp", r"\[[^\]]+\]")
        if letter == "r":
            return ("request", r"\S+")
        if letter == "s":
            return ("status", r"\d{3}")
        if letter in "bBO":
            return ("size", r"\d+|-")
        if letter == "m":
            return ("method", r"\S+")
        if letter == "U":
            return ("path", r"\S+")
        if letter == "q":
            return ("query", r"\S*")
        if letter == "i" and argument is not None:
            return (_HEADER_FIELDS.get(argument.lower()), r"\S+")
        return (None, r"\S+")


# nginx variables → RawFields' fields and the pattern of their unquoted value
_CLF_TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
_NGINX_VARIABLES: dict[str, tuple[str | None, str]] = {
    "remote_addr": ("client", r"\S+"),
    "realip_remote_addr": ("client", r"\S+"),
    "time_local": ("timestamp", _CLF_TIME),
    "time_iso8601": ("timestamp", r"\S+"),
    "msec": ("timestamp", r"\d+(?:\.\d+)?"),
    "request": ("request", r"\S+"),
    "request_method": ("method", r"\S+"),
    "request_uri": ("path", r"\S+"),
    "uri": ("path", r"\S+"),
    "document_uri": ("path", r"\S+"),
    "args": ("args", r"\S*"),
    "query_string": ("args", r"\S*"),
    "status": ("status", r"\d{3}"),
    "body_bytes_sent": ("size", r"\d+|-"),
    "bytes_sent": ("size", r"\d+|-"),
    "http_referer": ("referrer", r"\S+"),
    "http_user_agent": ("user_agent", r"\S+"),
    "http_x_forwarded_for": ("forwarded_for", r"\S+(?:, \S+)*"),
    "host": ("vhost", r"\S+"),
    "http_host": ("vhost", r"\S+"),
    "server_name": ("vhost", r"\S+"),
}
_NGINX_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_NGINX_DIRECTIVE = re.compile(r"^\s*log_format\s+\S+\s+((?:\w+=\S+\s+)*)(.*?);?\s*$", re.DOTALL)
_NGINX_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|([^\s'\";]+)")


def is_nginx_log_format(text: str) -> bool:
    """An nginx template: a ``log_format`` directive, or ``$variables`` and no Apache ``%`` directive."""
    if text.lstrip().startswith("log_format"):
        return True
    return _NGINX_VARIABLE.search(text) is not None and _DIRECTIVE.search(text) is None


class NginxLogFormatParser(TemplateParser):
    """Lines written by an nginx ``log_format``, pasted verbatim from nginx.conf (the directive,
    its name, ``escape=json`` and its quoted pieces) or as the bare template string."""

    def __init__(self, definition: str, identity: str = "") -> None:
        """``identity``: one variable of the format (``$remote_user``, ``$upstream_http_x_user``)
        read as the signed-in user (the first-party ledger's ``ledger.log_field``)."""
        self.log_format = definition
        template, json_escaped = self._template(definition)
        segments: list[_Segment] = []
        literal = ""
        position = 0
        for variable in _NGINX_VARIABLE.finditer(template):
            literal += template[position : variable.start()]
            position = variable.end()
            name = variable.group(1) or variable.group(2)
            # an unknown variable may be empty ([$proxy_upstream_name]) or a list (upstream_addr "a, b")
            field, pattern = _NGINX_VARIABLES.get(name, (None, r"\S*(?:, \S+)*"))
            if field is not None and field in (segment.field for segment in segments):
                field = None  # the first of two variables for one field wins ($host and $http_host)
            if identity and identity.lstrip("$").strip("{}") == name:
                field = "identity"
            segments.append(_Segment(literal, field, pattern))
            literal = ""
        super().__init__(definition, segments, literal + template[position:], json_escaped)

    @staticmethod
    def _template(definition: str) -> tuple[str, bool]:
        directive = _NGINX_DIRECTIVE.match(definition)
        if directive is None:
            return definition, False
        options, body = directive.groups()
        pieces = [
            quoted_single if quoted_single is not None else quoted_double if quoted_double is not None else bare
            for quoted_single, quoted_double, bare in _NGINX_STRING.findall(body)
        ]
        template = "".join(re.sub(r"\\(.)", r"\1", piece) for piece in pieces)
        return template, "escape=json" in options
