"""What every log format shares: the line-length limit and naming why a line matched no format."""

from __future__ import annotations

import re

from revisit.core.hit import Malformed, MalformedReason

# Lines longer than this are not access-log lines; refusing them bounds memory and regex time.
MAX_LINE_CHARS = 64 * 1024

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


def match_line(pattern: re.Pattern[str], line: str) -> re.Match[str] | Malformed:
    """``pattern``'s match of a one-pattern format's line, or why the line is malformed (too long,
    or not this format): the prologue every such parser shares."""
    if len(line) > MAX_LINE_CHARS:
        return Malformed(MalformedReason.TOO_LONG)
    match = pattern.match(line)
    return match if match is not None else Malformed(classify_unparsable(line))
