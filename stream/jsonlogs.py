"""JSON-lines access logs (Caddy, Cloudflare Logpush, Traefik, Envoy/Istio, Google Cloud load
balancing, nginx ``escape=json``) and the container runtimes' wrappers around any line.

A mapping (`JsonFieldNames`) names where each value is: dotted paths reach nested objects
(``request.headers.User-Agent``), ``a|b`` takes the first path present, and a list (Caddy's header
values) gives its items joined by ", ". Numbers are kept whole, so a nanosecond epoch stays exact.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any, Protocol

from revisit.core.config import JsonFieldNames
from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.lines import MAX_LINE_CHARS, classify_unparsable

# Mappings of the JSON logs other software writes by default (their documentation's field names).
JSON_PRESETS: dict[str, JsonFieldNames] = {
    "caddy": JsonFieldNames(
        client_ip="request.client_ip|request.remote_ip",
        timestamp="ts",
        request="",
        method="request.method",
        path="request.uri",
        status="status",
        size="size",
        referrer="request.headers.Referer",
        user_agent="request.headers.User-Agent",
        forwarded_for="request.headers.X-Forwarded-For",
        vhost="request.host",
    ),
    "cloudflare": JsonFieldNames(
        client_ip="ClientIP",
        timestamp="EdgeStartTimestamp",
        request="",
        method="ClientRequestMethod",
        path="ClientRequestURI",
        status="EdgeResponseStatus",
        size="EdgeResponseBytes",
        referrer="ClientRequestReferer",
        user_agent="ClientRequestUserAgent",
        forwarded_for="",
        vhost="ClientRequestHost",
    ),
    "traefik": JsonFieldNames(
        client_ip="ClientHost",
        timestamp="StartUTC|time",  # StartUTC always has its Z; "time" is local time without an offset
        request="",
        method="RequestMethod",
        path="RequestPath",
        status="DownstreamStatus",
        size="DownstreamContentSize",
        referrer="request_Referer",
        user_agent="request_User-Agent",
        forwarded_for="request_X-Forwarded-For",
        vhost="RequestHost",
    ),
    "istio": JsonFieldNames(  # Istio's JSON access log (Envoy with meshConfig.accessLogEncoding=JSON)
        client_ip="downstream_remote_address",
        timestamp="start_time",
        request="",
        method="method",
        path="path",
        status="response_code",
        size="bytes_sent",
        referrer="",
        user_agent="user_agent",
        forwarded_for="x_forwarded_for",
        vhost="authority",
    ),
    "gcp_lb": JsonFieldNames(  # Cloud Logging LogEntry of an external HTTP(S) load balancer
        client_ip="httpRequest.remoteIp",
        timestamp="timestamp",
        request="",
        method="httpRequest.requestMethod",
        path="httpRequest.requestUrl",
        status="httpRequest.status",
        size="httpRequest.responseSize",
        referrer="httpRequest.referer",
        user_agent="httpRequest.userAgent",
        forwarded_for="",
        vhost="",
    ),
}


class JsonLineParser:
    """One JSON object per line, field names from config (``log.json_fields``) or a preset."""

    fast_pattern = None

    block_pattern = None

    def __init__(self, names: JsonFieldNames) -> None:
        self._names = names
        self._getters: dict[str, Callable[[dict[str, Any]], Any]] = {
            field: _path_getter(getattr(names, field)) for field in names.__dataclass_fields__
        }

    def split(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        record = parse_record(line)
        if isinstance(record, Malformed):
            return record
        return self.from_record(record)

    def from_record(self, record: dict[str, Any]) -> RawFields | Malformed:
        get = self._getters
        client = get["client_ip"](record)
        time = get["timestamp"](record)
        if client is None or time is None or isinstance(client, dict | list):
            return Malformed(MalformedReason.MISSING_FIELDS)
        request = get["request"](record)
        if not isinstance(request, str):
            path = get["path"](record)
            if path is None or isinstance(path, dict | list):
                return Malformed(MalformedReason.MISSING_FIELDS)
            request = f"{_text(get['method'](record)) or 'GET'} {path} HTTP/1.1"
        vhost = _text(get["vhost"](record))
        if vhost == "-":  # Envoy's JSON, like its text, writes "-" for a request without a Host
            vhost = None
        if vhost is None and request.count(" ") == 2:
            vhost = _url_host(request.split(" ")[1])  # Google Cloud logs the host only in requestUrl
        status = get["status"](record)
        size = get["size"](record)
        return RawFields(
            vhost,
            str(client),
            _time_text(time),
            request,
            str(status if status is not None else "200"),
            str(size if size is not None else "-"),
            _text(get["referrer"](record)),
            _text(get["user_agent"](record)),
            _text(get["forwarded_for"](record)),
        )


def parse_record(line: str) -> dict[str, Any] | Malformed:
    """The object on a JSON line, or why there is none."""
    text = line.strip()
    if not text:
        return Malformed(MalformedReason.EMPTY)
    try:
        record = json.loads(text)
    except ValueError:  # RecursionError is a ValueError's sibling: nesting is bounded by the line limit
        return Malformed(classify_unparsable(line) if not text.startswith("{") else MalformedReason.BAD_JSON)
    except RecursionError:
        return Malformed(MalformedReason.BAD_JSON)
    if not isinstance(record, dict):
        return Malformed(MalformedReason.BAD_JSON)
    return record


def preset_for(record: dict[str, Any]) -> str | None:
    """The preset whose distinctive keys a record has (``auto``), or None."""
    if "ClientIP" in record and "EdgeStartTimestamp" in record:
        return "cloudflare"
    if "ClientHost" in record and ("StartUTC" in record or "time" in record):
        return "traefik"
    if isinstance(record.get("httpRequest"), dict) and "timestamp" in record:
        return "gcp_lb"
    if isinstance(record.get("request"), dict) and "ts" in record:
        return "caddy"
    if "downstream_remote_address" in record and "start_time" in record:
        return "istio"
    return None


# --- container runtimes -----------------------------------------------------------------------
_CRI = re.compile(r"^\d{4}-\d\d-\d\dT\S+ (?:stdout|stderr) [FP] ")


def unwrap_container_line(line: str) -> str | None:
    """The line a container wrote, from Docker's json-file driver (``{"log": "...\\n", "stream":
    ..., "time": ...}``) or a Kubernetes CRI log (``<time> stdout F <line>``); None when not wrapped."""
    if line.startswith('{"log":'):
        record = parse_record(line)
        if isinstance(record, dict) and isinstance(record.get("log"), str):
            return str(record["log"])
        return None
    match = _CRI.match(line)
    return line[match.end() :] if match is not None else None


class Splitter(Protocol):
    def split(self, line: str) -> RawFields | Malformed: ...


class ContainerLineParser:
    """Any format inside Docker json-file or CRI lines (``log.container``); bare lines pass too."""

    fast_pattern = None

    block_pattern = None

    def __init__(self, inner: Splitter) -> None:
        self._inner = inner

    def split(self, line: str) -> RawFields | Malformed:
        if len(line) > MAX_LINE_CHARS:
            return Malformed(MalformedReason.TOO_LONG)
        unwrapped = unwrap_container_line(line)
        return self._inner.split(line if unwrapped is None else unwrapped)


def _path_getter(spec: str) -> Callable[[dict[str, Any]], Any]:
    if not spec:
        return lambda record: None
    alternatives = [_dotted_getter(path) for path in spec.split("|")]
    if len(alternatives) == 1:
        return alternatives[0]

    def first_present(record: dict[str, Any]) -> Any:
        for get in alternatives:
            value = get(record)
            if value is not None:
                return value
        return None

    return first_present


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


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):  # Caddy logs each header as a list of values
        return ", ".join(str(item) for item in value) or None
    return str(value)


def _url_host(target: str) -> str | None:
    """The host of an absolute URL (``https://www.example.jp:8443/pricing`` → ``www.example.jp``)."""
    if not target.startswith(("http://", "https://")):
        return None
    authority = target.split("/", 3)[2].rpartition("@")[2]
    if authority.startswith("["):  # an IPv6 literal: [2001:db8::1]:8443
        end = authority.find("]")
        return authority[1:end] if end > 1 else None
    return authority.partition(":")[0] or None


def _time_text(value: Any) -> str:
    """A float epoch as digits, never ``1.545e+18``: the unit is read from the magnitude later."""
    text = str(value)
    if isinstance(value, float) and "e" in text and 1 <= abs(value) < 1e30:
        return str(int(value))
    return text
