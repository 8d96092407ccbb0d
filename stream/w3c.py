"""W3C extended log files (IIS 6-10, IIS Advanced Logging, CloudFront standard logs, Incapsula,
NetScaler): the field layout is named by ``#Fields:`` directive lines, which may change inside a file.

The parser keeps the layout it last read, so lines must reach it in file order (replay, and ship's
keyer, do). Before any directive the layout is ``log.w3c_fields`` (IIS's default fields).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote

from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.lines import MAX_LINE_CHARS, classify_unparsable

# IIS's default W3C fields (IIS 8.5 and later, unchanged since IIS 7)
IIS_DEFAULT_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
    "cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
_ROLES = {
    "date": "date",
    "time": "time",
    "date-local": "local_date",
    "time-local": "local_time",
    "c-ip": "client",
    "x-forwarded-for": "forwarded_for",
    "cs(x-forwarded-for)": "forwarded_for",
    "x-forwarded-for-ip": "forwarded_for",
    "s-xff": "forwarded_for",  # Incapsula: the X-Forwarded-For its proxy received
    "cs-method": "method",
    "cs-uri-stem": "stem",
    "cs-uri-query": "query",
    "cs-uri": "uri",
    "sc-status": "status",
    "sc-bytes": "size",
    "cs(referer)": "referrer",
    "cs(referrer)": "referrer",
    "cs(user-agent)": "user_agent",
    "x-host-header": "vhost",  # CloudFront: the site's own host; cs(Host) is the distribution's
    "cs-host": "host",
    "cs(host)": "host",
    "cs-version": "version",
    "cs-protocol-version": "version",
}
_COMMENT = Malformed(MalformedReason.COMMENT)
_MISSING = Malformed(MalformedReason.MISSING_FIELDS)


@dataclass(frozen=True, slots=True)
class W3cLayout:
    """Where each value is in a data line of one ``#Fields:`` layout (-1 = not logged)."""

    width: int
    client: int
    date: int
    time: int
    local: bool  # date-local/time-local: local time, read in log.timezone
    method: int
    stem: int
    query: int
    uri: int
    status: int
    size: int
    referrer: int
    user_agent: int
    forwarded_for: int
    vhost: int
    version: int

    @classmethod
    def parse(cls, fields: str) -> W3cLayout | None:
        """The layout of a ``#Fields:`` value; None when it lacks the client, the time or the page."""
        names = fields.split()
        where: dict[str, int] = {}
        for position, name in enumerate(names):
            where.setdefault(_ROLES.get(name.lower(), ""), position)
        local = "date" not in where and "local_date" in where
        date, time = (
            (where.get("local_date", -1), where.get("local_time", -1))
            if local
            else (
                where.get("date", -1),
                where.get("time", -1),
            )
        )
        # IIS Advanced Logging behind ARR may log the visitor only in its X-Forwarded-For field
        client = where.get("client", where.get("forwarded_for", -1))
        forwarded_for = where.get("forwarded_for", -1) if "client" in where else -1
        stem, uri = where.get("stem", -1), where.get("uri", -1)
        if client < 0 or date < 0 or time < 0 or (stem < 0 and uri < 0):
            return None
        return cls(
            width=len(names),
            client=client,
            date=date,
            time=time,
            local=local,
            method=where.get("method", -1),
            stem=stem,
            query=where.get("query", -1),
            uri=uri,
            status=where.get("status", -1),
            size=where.get("size", -1),
            referrer=where.get("referrer", -1),
            user_agent=where.get("user_agent", -1),
            forwarded_for=forwarded_for,
            vhost=where.get("vhost", where.get("host", -1)),
            version=where.get("version", -1),
        )


class W3cParser:
    """Lines of a W3C extended log; ``#`` directive lines are counted as comments."""

    fast_pattern = None

    block_pattern = None

    def __init__(self, default_fields: str = IIS_DEFAULT_FIELDS) -> None:
        layout = W3cLayout.parse(default_fields)
        if layout is None:
            raise BadInput(f"log.w3c_fields {default_fields!r}: needs c-ip, date, time and cs-uri-stem")
        self.layout: W3cLayout | None = layout

    def split(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.layout = W3cLayout.parse(line[8:])  # None: this layout's lines cannot be read
            return _COMMENT
        layout = self.layout
        if layout is None:
            return _MISSING
        text = line.rstrip("\r\n")
        values = text.split("\t") if "\t" in text else text.rstrip().split(" ")
        quoted = '"' in text
        if quoted:  # IIS Advanced Logging and Incapsula quote their text values, spaces and all
            # only a line that does not fit is re-split: an IIS query holding a quote keeps its width
            if "\t" not in text and len(values) != layout.width:
                values = _QUOTED_OR_BARE.findall(text)
            values = _unquoted(values)
        if len(values) != layout.width:
            if len(values) > layout.width and not any(values[layout.width :]):
                values = values[: layout.width]  # CloudFront ends lines with a tab
            else:
                return Malformed(classify_unparsable(line)) if len(values) < 3 else _MISSING
        timestamp = f"{values[layout.date]}T{values[layout.time]}" + ("" if layout.local else "Z")
        vhost = _value(values, layout.vhost)
        if layout.stem >= 0:
            target = values[layout.stem]
        else:
            target = values[layout.uri]
            if target[:1] not in ("/", "*") and "://" not in target:
                # Incapsula's cs-uri is the host and the path with no scheme: www.example.com/page.php
                host, slash, path = target.partition("/")
                target = slash + path or "/"
                vhost = vhost or host or None
        query = values[layout.query] if layout.query >= 0 else "-"
        if query not in ("-", "") and "?" not in target:
            target = f"{target}?{query}"
        method = values[layout.method] if layout.method >= 0 else "GET"
        version = values[layout.version] if layout.version >= 0 else "HTTP/1.1"
        return RawFields(
            vhost,
            values[layout.client],
            timestamp,
            f"{method} {target} {version if version.startswith('HTTP/') else 'HTTP/1.1'}",
            values[layout.status] if layout.status >= 0 else "200",
            values[layout.size] if layout.size >= 0 else "-",
            _value(values, layout.referrer),
            # a quoted user agent keeps its spaces, so its "+" is a plus ("; +http://www.google.com/bot.html")
            _value(values, layout.user_agent) if quoted else _decoded(_value(values, layout.user_agent)),
            _value(values, layout.forwarded_for),
        )


_QUOTED_OR_BARE = re.compile(r'"[^"]*"|[^ "]+')


def _unquoted(values: list[str]) -> list[str]:
    return [value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value for value in values]


def _value(values: list[str], position: int) -> str | None:
    if position < 0:
        return None
    value = values[position]
    return None if value in ("-", "") else value  # Incapsula quotes an empty value: ""


@functools.lru_cache(maxsize=8192)
def _decoded_text(value: str) -> str:
    if "%" in value:  # CloudFront percent-encodes (user agents twice: %2520 for a space)
        value = unquote(value)
        return unquote(value) if "%" in value else value
    # IIS writes a space as "+" and keeps a "+" as it is: "++" is a space, then a "+" ("; +http://")
    return " +".join(part.replace("+", " ") for part in value.split("++"))


def _decoded(value: str | None) -> str | None:
    """A user agent as the client sent it: W3C logs write no spaces."""
    return None if value is None else _decoded_text(value)
