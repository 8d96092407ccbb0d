"""The formats beyond combined: nginx log_format strings, ... over real samples (tests/data/logs/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revisit.core.config import LogSettings
from revisit.core.errors import BadInput
from revisit.core.hit import RawFields
from revisit.stream.fields import split_request
from revisit.stream.formats import NginxLogFormatParser, make_line_parser
from tests.conftest import ACCESS_LOGS
from tests.test_parse import parse_file

LOGS = Path(__file__).parent / "data" / "logs"

# nginx's own "combined", pasted verbatim from nginx.conf (directive, name, quoted pieces, semicolon)
NGINX_COMBINED_DIRECTIVE = """log_format combined '$remote_addr - $remote_user [$time_local] '
                    '"$request" $status $body_bytes_sent '
                    '"$http_referer" "$http_user_agent"';"""
# ingress-nginx's default log-format-upstream (its ConfigMap takes the bare template)
INGRESS_NGINX_UPSTREAM = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent" $request_length $request_time [$proxy_upstream_name] '
    "[$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time "
    "$upstream_status $req_id"
)


def test_nginx_combined_directive_pasted_verbatim_reads_the_apache_sample() -> None:
    counts, _ = parse_file(
        ACCESS_LOGS / "elastic-examples-apache/apache_logs", LogSettings(format=NGINX_COMBINED_DIRECTIVE)
    )
    assert counts == {"lines": 10000, "ok": 9999, "truncated": 1}


def test_ingress_nginx_default_format_with_upstream_lists() -> None:
    counts, addresses = parse_file(
        LOGS / "nginx_ingress_controller.log", LogSettings(format=INGRESS_NGINX_UPSTREAM, trusted_proxies=())
    )
    # the two bad_request lines are the sample's own "PATCHp" and "geti" methods
    assert counts == {"lines": 29, "ok": 27, "bad_request": 2}
    assert addresses.count("2a02:cf40::4e36") == 2 and addresses[0] == "192.168.64.1"


def test_nginx_time_iso8601_msec_and_split_request_variables() -> None:
    parser = make_line_parser(
        LogSettings(format="$host $remote_addr $msec $time_iso8601 $request_method $uri $args $status")
    )
    raw = parser.split("www.example.jp 81.2.69.160 1763600000.123 2025-11-20T10:13:20+09:00 GET /pricing a=1 200\n")
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.client, raw.timestamp, raw.status) == (
        "www.example.jp",
        "81.2.69.160",
        "1763600000.123",
        "200",
    )
    assert split_request(raw.request) == ("GET", "/pricing", "a=1")


def test_nginx_escape_json_format() -> None:
    """The JSON log_format most published nginx.conf files use; values escaped as escape=json does."""
    definition = """log_format json escape=json
'{'
  '"time_local":"$time_local",'
  '"remote_addr":"$remote_addr",'
  '"remote_user":"$remote_user",'
  '"request":"$request",'
  '"status": "$status",'
  '"body_bytes_sent":"$body_bytes_sent",'
  '"request_time":"$request_time",'
  '"http_referrer":"$http_referer",'
  '"http_user_agent":"$http_user_agent"'
'}';"""
    parser = make_line_parser(LogSettings(format=definition))
    record = {
        "time_local": "22/Apr/2024:17:56:07 +0000",
        "remote_addr": "43.163.232.152",
        "remote_user": "",
        "request": "GET /search?q=%E6%A4%9C%E7%B4%A2 HTTP/1.1",
        "status": "200",
        "body_bytes_sent": "248",
        "request_time": "0.000",
        "http_referrer": "",
        "http_user_agent": 'Agent "quoted" \\ \x01 1.0',
    }
    line = json.dumps(record, separators=(",", ":")).replace('"status":', '"status": ') + "\n"
    raw = parser.split(line)
    assert isinstance(raw, RawFields)
    assert (raw.client, raw.timestamp, raw.status, raw.size) == (
        "43.163.232.152",
        "22/Apr/2024:17:56:07 +0000",
        "200",
        "248",
    )
    assert raw.user_agent == 'Agent "quoted" \\ \x01 1.0' and raw.referrer == ""


def test_nginx_format_without_address_is_refused() -> None:
    with pytest.raises(BadInput, match="needs at least the client address"):
        NginxLogFormatParser('[$time_local] "$request" $status')
