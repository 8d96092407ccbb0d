"""Load balancers' own access logs: AWS Application Load Balancer, AWS Classic ELB, HAProxy httplog.

Each is a fixed layout that starts unlike any web server's line (a listener type, an ISO time, a
syslog tag), so ``auto`` can try them on the lines the combined pattern misses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.lines import match_line

_QUOTED = r'"((?:[^"\\]|\\.)*)"'


def _text(value: str | None) -> str | None:
    return None if value is None or value == "-" else value


class AlbParser:
    """``type time elb client:port target:port t t t elb_status target_status received sent "request"
    "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name" "chosen_cert_arn"
    matched_rule_priority request_creation_time "actions_executed" "redirect_url" "error_reason" ...``
    (AWS docs, "Access log entries"). Those 25 fields are in every documented entry (the docs'
    seven examples all have them; later fields such as ``"target:port_list"`` came after and stay
    optional): a line cut off before ``error_reason`` is ``missing_fields``, not a visit."""

    fast_pattern = None

    block_pattern = None
    _LINE = re.compile(
        r"^(?:https?|h2|grpcs|wss?) (\S+) \S+ (\S+) \S+ \S+ \S+ \S+ (\d{3}|-) \S+ \d+ (\d+) " + _QUOTED + " " + _QUOTED
    )
    _TAIL = re.compile(r' \S+ \S+ \S+ "[^"]*" "([^"]*)" "[^"]*" \S+ \S+ "[^"]*" "[^"]*" "[^"]*"(?: |$)')

    def split(self, line: str) -> RawFields | Malformed:
        match = match_line(self._LINE, line)
        if isinstance(match, Malformed):
            return match
        tail = self._TAIL.match(line, match.end())
        if tail is None:
            return Malformed(MalformedReason.MISSING_FIELDS)
        time, client, status, size, request, agent = match.groups()
        domain = tail.group(1)
        return RawFields(_text(domain), client, time, request, status, size, None, _text(agent), None)


class ElbParser:
    """Classic ELB: ``time elb client:port backend:port t t t elb_status backend_status received sent
    "request" "user_agent" ssl_cipher ssl_protocol``; TCP listeners log ``"- - - "`` as the request."""

    fast_pattern = None

    block_pattern = None
    _LINE = re.compile(
        r"^(\d{4}-\d\d-\d\dT[\d:.]+Z) \S+ (\S+) \S+ \S+ \S+ \S+ (\d{3}|-) \S+ \d+ (\d+) "
        + _QUOTED
        + r"(?: "
        + _QUOTED
        + r")?"
    )

    def split(self, line: str) -> RawFields | Malformed:
        match = match_line(self._LINE, line)
        if isinstance(match, Malformed):
            return match
        time, client, status, size, request, agent = match.groups()
        return RawFields(None, client, time, request, status, size, None, _text(agent), None)


_CAPTURED = {"user-agent": 7, "referer": 6, "x-forwarded-for": 8, "host": 0}  # RawFields positions
_AGENT_LIKE = re.compile(r"^[A-Za-z][\w.-]*/\S")


class HaproxyParser:
    """``option httplog`` lines, with or without the syslog prefix: ``client:port [accept date with
    ms] frontend backend/server timers status bytes ... {captured request headers} {captured
    response headers} "request"``.

    Which header each ``{a|b}`` capture holds is only in haproxy.cfg: ``log.haproxy_captures`` names
    them in order; without it a capture that reads like ``product/version ...`` is the user agent.
    """

    fast_pattern = None

    block_pattern = None
    _LINE = re.compile(
        r"^(?:[^\[]*\[\d+\]: )?(\S+):\d+ \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?)\] "
        r"\S+ \S+ \S+ (-?\d+) \+?(\d+) \S+ \S+ \S+ \S+ \S+(?: \{([^}]*)\})?(?: \{[^}]*\})? "
        r'"((?:[^"\\]|\\.)*)"?\s*$'
    )

    def __init__(self, captures: Sequence[str] = ()) -> None:
        self._captures = [_CAPTURED.get(name.lower()) for name in captures]

    def split(self, line: str) -> RawFields | Malformed:
        match = match_line(self._LINE, line)
        if isinstance(match, Malformed):
            return match
        client, time, status, size, captured, request = match.groups()
        values: list[str | None] = [None, client, time, request, status, size, None, None, None]
        if captured:
            for position, value in zip(self._captured_positions(captured), captured.split("|"), strict=False):
                if position is not None and value:
                    values[position] = value
        return RawFields._make(values)

    def _captured_positions(self, captured: str) -> list[int | None]:
        if self._captures:
            return self._captures
        return [7 if _AGENT_LIKE.match(value) else None for value in captured.split("|")]


class EnvoyParser:
    """Envoy's default text access log, and Istio's (which adds the response details after the
    flags and the upstream cluster and addresses at the end): ``[start] "METHOD path PROTOCOL"
    code flags ... "x-forwarded-for" "user-agent" "request-id" "authority" "upstream host" ...``.

    The client is Istio's ``DOWNSTREAM_REMOTE_ADDRESS``; Envoy's default format logs none, so there
    the X-Forwarded-For chain stands for it. Emissary-ingress (formerly Ambassador) writes Envoy's
    format after ``ACCESS `` (such a line in Elastic's Envoy sample read as missing_fields).
    """

    fast_pattern = None

    block_pattern = None
    _LINE = re.compile(
        r'^(?:ACCESS )?\[(\S+)\] "((?:[^"\\]|\\.)*)" (\d+) \S+(?: \S+ \S+ "[^"]*")? (?:\d+|-) (\d+|-) \S+ \S+ '
        r'"([^"]*)" "([^"]*)" "[^"]*" "([^"]*)" "[^"]*"(?: \S+ \S+ \S+ (\S+) \S+ \S+)?\s*$'
    )

    def split(self, line: str) -> RawFields | Malformed:
        match = match_line(self._LINE, line)
        if isinstance(match, Malformed):
            return match
        time, request, status, size, forwarded, agent, authority, downstream = match.groups()
        if downstream is None:  # plain Envoy: the forwarded chain is all there is
            return RawFields(_text(authority), forwarded, time, request, status, size, None, _text(agent), None)
        return RawFields(
            _text(authority), downstream, time, request, status, size, None, _text(agent), _text(forwarded)
        )
