"""The values a parsed access-log line turns into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, final


class RawFields(NamedTuple):
    """A line split into its fields, still as text.

    This is what every log format produces. It is a tuple rather than a frozen dataclass because one
    is made for every line, and most lines are dropped (bots, assets, unknown visitors) before any
    value in it needs converting; the `Hit` is only built for the hits that matter.
    """

    vhost: str | None
    client: str  # the client field; may be a chain such as "10.0.0.2, 10.0.0.1, 85.181.35.98"
    timestamp: str
    request: str
    status: str
    size: str
    referrer: str | None
    user_agent: str | None
    forwarded_for: str | None  # raw X-Forwarded-For text (or trailing fields that may hold it)


@dataclass(frozen=True, slots=True)
class Hit:
    """One page view by a client, judged at its own time (event time), never the wall clock."""

    client_ip: str
    timestamp: datetime
    method: str
    path: str
    query: str
    status: int
    size: int
    referrer: str
    user_agent: str
    vhost: str = ""


class MalformedReason:
    """Why a line could not be parsed. Counted per reason; the run goes on."""

    EMPTY = "empty"
    COMMENT = "comment"
    BINARY = "binary"
    ERROR_LOG = "error_log"
    TRUNCATED = "truncated"
    MISSING_FIELDS = "missing_fields"
    BAD_CLIENT = "bad_client"
    BAD_REQUEST = "bad_request"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_JSON = "bad_json"
    TOO_LONG = "too_long"
    UNRECOGNIZED = "unrecognized"
    ALL = (
        EMPTY,
        COMMENT,
        BINARY,
        ERROR_LOG,
        TRUNCATED,
        MISSING_FIELDS,
        BAD_CLIENT,
        BAD_REQUEST,
        BAD_TIMESTAMP,
        BAD_JSON,
        TOO_LONG,
        UNRECOGNIZED,
    )
    # lines no log format means as a request (W3C's #Fields/#Date directives, blank lines): counted
    # apart as skipped, never as malformed, so an IIS file with one bad line reads "malformed 1"
    NOT_DATA = (EMPTY, COMMENT)


@final  # outcomes are told apart by `type(x) is Malformed`, which mypy narrows for final classes
@dataclass(frozen=True, slots=True)
class Malformed:
    reason: str
