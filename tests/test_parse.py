"""Parsing: every real log in ../shared/data/access-logs, exact counts, and each format's details."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revisit.core.config import JsonFieldNames, LogSettings, Settings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, RawFields
from revisit.stream.fields import (
    ClientAddressResolver,
    TimestampParser,
    normalize_address,
    split_request,
)
from revisit.stream.formats import LogFormatParser, make_line_parser
from tests.conftest import ACCESS_LOGS

TRUSTED = Settings().log.trusted_proxies


DEFAULT_LOG_SETTINGS = LogSettings()


def parse_file(path: Path, settings: LogSettings = DEFAULT_LOG_SETTINGS) -> tuple[Counter, list[str | None]]:
    """Counts by outcome (ok or a malformed reason) and the client address of each parsed line."""
    parser = make_line_parser(settings)
    clients = ClientAddressResolver(settings.trusted_proxies)
    timestamps = TimestampParser()
    counts: Counter = Counter()
    addresses: list[str | None] = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            counts["lines"] += 1
            raw = parser.split(line)
            if isinstance(raw, Malformed):
                counts[raw.reason] += 1
            elif timestamps.parse(raw.timestamp) is None:
                counts["bad_timestamp"] += 1
            elif split_request(raw.request) is None:
                counts["bad_request"] += 1
            else:
                counts["ok"] += 1
                addresses.append(clients.client_ip(raw.client, raw.forwarded_for))
    return counts, addresses


# Expected outcome of every shared log, checked line by line against the files when written.
EXPECTED = {
    "elastic-examples-apache/apache_logs": {"lines": 10000, "ok": 9999, "truncated": 1},
    "logparser-hackers/hackers-access.log": {"lines": 3456, "ok": 3456},
    "lnav_zanbil_shop_access_log.log": {"lines": 1000, "ok": 1000},
    "edge-cases/beats_apache_darwin-2.4.23.log": {"lines": 6, "ok": 5, "bad_request": 1},
    "edge-cases/beats_apache_test.log": {"lines": 7, "ok": 5, "bad_request": 2},
    "edge-cases/beats_nginx_access.log": {"lines": 13, "ok": 13},
    "edge-cases/beats_nginx_test-with-host.log": {"lines": 10, "ok": 8, "bad_request": 2},
    "edge-cases/beats_nginx_test.log": {"lines": 7, "ok": 6, "bad_request": 1},
    "edge-cases/crowdsec_apache2-logs.log": {"lines": 9, "ok": 7, "error_log": 2},
    "edge-cases/crowdsec_apache2-malformed.log": {"lines": 11, "bad_request": 11},
    "edge-cases/crowdsec_nginx-http-malformed.log": {"lines": 12, "bad_request": 12},
    "edge-cases/crowdsec_nginx_http-logs.log": {"lines": 9, "ok": 7, "missing_fields": 1, "error_log": 1},
    "edge-cases/lnav_logfile_access_log.0.log": {"lines": 3, "ok": 3},
    "edge-cases/lnav_logfile_access_log.1.log": {"lines": 1, "bad_request": 1},
    "edge-cases/lnav_logfile_bad_access_log.0.log": {"lines": 3, "ok": 2, "missing_fields": 1},
}


def test_every_shared_log_is_covered() -> None:
    found = {
        str(p.relative_to(ACCESS_LOGS))
        for p in ACCESS_LOGS.rglob("*")
        if p.is_file() and p.suffix not in (".md",) and p.name not in ("LICENSE", "README.md", "SOURCES.md")
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_log_counts(name: str) -> None:
    counts, _ = parse_file(ACCESS_LOGS / name)
    assert dict(counts) == EXPECTED[name]


def test_client_addresses_of_prefixed_and_forwarded_lines() -> None:
    _, addresses = parse_file(ACCESS_LOGS / "edge-cases/beats_nginx_test-with-host.log")
    assert addresses == [
        "10.0.0.2",  # every hop is ours: the left-most (original) client, filtered later as private
        "172.17.0.1",
        "81.2.69.143",  # right-most address that is not a trusted proxy
        "81.2.69.143",  # vhost:port prefix
        "204.246.1.1",  # quoted X-Forwarded-For chain, then the connecting proxy
        "2a02:cf40:10ff:f00f::8000",  # IPv6 in a chain behind an IP-address vhost
        None,
        None,  # "localhost" is not an address
    ]


def test_hackers_log_keeps_its_ipv6_client() -> None:
    _, addresses = parse_file(ACCESS_LOGS / "logparser-hackers/hackers-access.log")
    assert addresses.count("2400:8900::f03c:91ff:fe50:5089") == 6  # grep -c; SOURCES.md says 12
    assert len(set(addresses)) == 520


def test_forwarded_for_is_read_only_behind_a_trusted_proxy() -> None:
    clients = ClientAddressResolver(TRUSTED)
    # the connecting address is a public one: the header could be forged, so it is ignored
    assert clients.client_ip("66.249.83.1", '"103.28.132.65"') == "66.249.83.1"
    # behind our own proxy the right-most untrusted entry is the visitor
    assert clients.client_ip("10.1.2.3", "198.51.100.7, 203.0.113.9, 10.9.9.9") == "203.0.113.9"
    assert clients.client_ip("127.0.0.1", '"-"') == "127.0.0.1"


def test_trusted_proxies_of_both_ip_versions_are_told_apart() -> None:
    """Proxies are checked by integer masks kept per IP version: an IPv6 client is never taken
    for an IPv4 proxy (or the reverse), whatever the integers; ``::ffff:`` clients are IPv4."""
    clients = ClientAddressResolver(("0.0.0.0/8", "10.0.0.0/8", "2001:db8:1::/48", "fe80::/10"))
    # ::a00:1 is 10.0.0.1's integer as IPv6: not a trusted proxy, so the header is not read
    assert clients.client_ip("::a00:1", "81.2.69.160") == "::a00:1"
    assert clients.client_ip("2001:db8:1::5", "81.2.69.160, 2001:db8:1::9") == "81.2.69.160"
    assert clients.client_ip("10.7.7.7", "2400:4050::1, 10.1.1.1") == "2400:4050::1"
    assert clients.client_ip("::ffff:10.2.3.4", "198.51.100.7") == "198.51.100.7"  # an IPv4-mapped proxy
    assert clients.client_ip("2001:db8:2::1", "81.2.69.160") == "2001:db8:2::1"  # outside the /48


def test_nginx_main_trailing_forwarded_for_is_used_behind_a_proxy() -> None:
    parser = make_line_parser(LogSettings(format="nginx_main"))
    line = (
        '10.0.0.5 - - [22/Jan/2019:03:58:26 +0330] "GET /pricing HTTP/1.1" 200 512 "-" '
        '"Mozilla/5.0" "81.2.69.160, 10.0.0.4"\n'
    )
    raw = parser.split(line)
    assert isinstance(raw, RawFields)
    assert ClientAddressResolver(TRUSTED).client_ip(raw.client, raw.forwarded_for) == "81.2.69.160"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("[::1]:443", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("81.2.69.143:8080", "81.2.69.143"),
        ("0.0.0.0", "0.0.0.0"),
        ("monitoring-server", None),
        ("unix:", None),
    ],
)
def test_odd_addresses_are_normalized(text: str, expected: str | None) -> None:
    address = normalize_address(text)
    assert (str(address) if address is not None else None) == expected


def test_timestamps_are_aware_and_keep_their_offset() -> None:
    parser = TimestampParser()
    value = parser.parse("25/Oct/2015:04:11:25 +0100")
    assert value == datetime(2015, 10, 25, 3, 11, 25, tzinfo=UTC)
    assert value.utcoffset() == timedelta(hours=1)
    assert parser.parse("22/Jan/2019:03:58:26 +0330").utcoffset() == timedelta(hours=3, minutes=30)
    assert parser.parse("2026-11-20T10:12:00+09:00").utcoffset() == timedelta(hours=9)
    assert parser.parse("2026-11-20T01:12:00Z").tzinfo is not None
    assert parser.parse("1763600000").year == 2025
    assert parser.parse("31/Foo/2015:04:11:25 +0100") is None
    assert parser.parse("99/Oct/2015:04:11:25 +0100") is None


@pytest.mark.parametrize(
    "line, reason",
    [
        ("\n", "empty"),
        ("# a comment\n", "comment"),
        ("\x00\x01\x02binary\n", "binary"),
        ("[Thu Oct 13 12:24:49.880562 2022] [auth_basic:error] [pid 10] AH01618\n", "error_log"),
        ('1.2.3.4 - - [17/Oct/2023:05:57:49 +1100] "GET / HTTP/1.1" 200 226 "-" "Mozilla/5.0 (X11\n', "truncated"),
        ("just some words\n", "unrecognized"),
        ("1.2.3.4 - - [17/Oct/2023:05:57:49 +1100] " + '"GET /' + "a" * 70_000 + ' HTTP/1.1" 200 1\n', "too_long"),
    ],
)
def test_malformed_lines_are_named(line: str, reason: str) -> None:
    parser = make_line_parser(LogSettings())
    assert parser.split(line) == Malformed(reason)


def test_escaped_quotes_inside_fields_take_the_slow_path() -> None:
    parser = make_line_parser(LogSettings())
    line = '81.2.69.160 - - [17/May/2015:10:05:03 +0000] "GET /x HTTP/1.1" 200 7 "-" "Agent \\"quoted\\" 1.0"\n'
    raw = parser.split(line)
    assert isinstance(raw, RawFields)
    assert raw.user_agent == 'Agent \\"quoted\\" 1.0'


def test_common_format_line_has_no_agent() -> None:
    raw = make_line_parser(LogSettings()).split(
        '116.203.1.1 - - [05/Mar/2021:09:01:38 +0100] "GET /t HTTP/1.0" 200 1513\n'
    )
    assert isinstance(raw, RawFields) and raw.user_agent is None and raw.status == "200"


def test_apache_logformat_from_config() -> None:
    log_format = '%v %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D'
    parser = make_line_parser(LogSettings(format=log_format))
    line = (
        'www.example.jp 81.2.69.160 - alice [20/Nov/2026:10:12:00 +0900] "GET /pricing?a=1 HTTP/2.0" '
        '200 5120 "https://www.google.com/" "Mozilla/5.0 (X11)" 1234\n'
    )
    raw = parser.split(line)
    assert raw == RawFields(
        "www.example.jp",
        "81.2.69.160",
        "20/Nov/2026:10:12:00 +0900",
        "GET /pricing?a=1 HTTP/2.0",
        "200",
        "5120",
        "https://www.google.com/",
        "Mozilla/5.0 (X11)",
        None,
    )
    assert split_request(raw.request) == ("GET", "/pricing", "a=1")
    assert parser.split("garbage\n") == Malformed("unrecognized")


def test_logformat_without_client_is_refused() -> None:
    with pytest.raises(BadInput, match="needs at least"):
        LogFormatParser('%t "%r" %>s')


def test_json_lines_with_configured_field_names() -> None:
    names = JsonFieldNames(
        client_ip="client.ip",
        timestamp="@timestamp",
        request="req",
        status="code",
        user_agent="ua",
        referrer="ref",
        forwarded_for="xff",
    )
    parser = make_line_parser(LogSettings(format="json", json_fields=names))
    record = {
        "client": {"ip": "2001:1c00::1"},
        "@timestamp": "2026-11-20T10:12:00+09:00",
        "req": "GET /contact HTTP/1.1",
        "code": 200,
        "ua": "Mozilla/5.0",
        "xff": None,
    }
    raw = parser.split(json.dumps(record) + "\n")
    assert isinstance(raw, RawFields)
    assert (raw.client, raw.status, raw.request, raw.user_agent) == (
        "2001:1c00::1",
        "200",
        "GET /contact HTTP/1.1",
        "Mozilla/5.0",
    )
    assert parser.split('{"client": {}}\n') == Malformed("missing_fields")
    assert parser.split('{"broken": \n') == Malformed("bad_json")
    assert parser.split("[1, 2]\n") == Malformed("bad_json")


@pytest.mark.parametrize(
    "request_text, expected",
    [
        ("GET /pricing HTTP/1.1", ("GET", "/pricing", "")),
        ("GET http://example.com/a?b=c HTTP/1.1", ("GET", "/a", "b=c")),
        ("GET /old", ("GET", "/old", "")),
        ("-", None),
        ("", None),
        ("HELP", None),
        ("\\x16\\x03\\x01\\x01 \\x02", None),
        ("GET /a HTTX/1.1", None),
    ],
)
def test_split_request(request_text: str, expected) -> None:
    assert split_request(request_text) == expected
