"""The formats beyond combined, over real samples (tests/data/logs/SOURCES.md): nginx log_format
strings, W3C extended logs (IIS, CloudFront), AWS ALB and Classic ELB, HAProxy, ..."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from revisit.cli import main
from revisit.core.config import LogSettings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, RawFields
from revisit.kafka.ship import LineKeyer
from revisit.stream.fields import TimestampParser, split_request, zone_named
from revisit.stream.formats import FORMAT_NAMES, NginxLogFormatParser, make_line_parser
from revisit.stream.sources import read_lines
from tests.conftest import ACCESS_LOGS
from tests.test_cli import ACCOUNTS
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


def _split_all(format_name: str, *paths: Path) -> list[RawFields | Malformed]:
    parser = make_line_parser(LogSettings(format=format_name))
    found: list[RawFields | Malformed] = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            found.extend(parser.split(line) for line in handle)
    return found


@pytest.mark.parametrize("format_name", ["w3c", "iis", "auto"])
@pytest.mark.parametrize(
    "sample, expected",
    [
        ("lnav_w3c.log", {"lines": 5, "comment": 4, "ok": 1}),
        ("lnav_iis85_excerpt.log", {"lines": 69, "comment": 40, "ok": 29}),
        ("cloudfront_web_2019-12.log", {"lines": 5, "comment": 2, "ok": 3}),
        ("iis_advanced_logging_arr_docs.log", {"lines": 6, "comment": 5, "ok": 1}),
    ],
)
def test_w3c_samples(format_name: str, sample: str, expected: dict[str, int]) -> None:
    counts, _ = parse_file(LOGS / sample, LogSettings(format=format_name))
    assert counts == expected


def test_w3c_fields_change_inside_one_stream() -> None:
    """HTTP.sys's layout (c-ip third), then IIS 8.5's (c-ip ninth), as when logs are concatenated."""
    found = _split_all("w3c", LOGS / "lnav_w3c.log", LOGS / "lnav_iis85_excerpt.log")
    parsed = [raw for raw in found if isinstance(raw, RawFields)]
    assert len(found) == 74 and len(parsed) == 30
    first, second, with_query = parsed[0], parsed[1], parsed[-1]
    assert (first.client, first.timestamp, first.request, first.status) == (
        "172.22.255.255",
        "2002-05-02T17:42:15Z",
        "GET /images/picture.jpg HTTP/1.1",
        "200",
    )
    assert first.user_agent == "Mozilla/4.0 (compatible;MSIE 5.5; Windows 2000 Server)"
    assert (second.client, second.status, second.referrer) == ("157.55.39.146", "404", None)
    assert second.user_agent == "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    assert split_request(with_query.request) == ("GET", "/", "c=4e5e5d7364f443e28fbf0d3ae744a59a")
    assert TimestampParser().parse(with_query.timestamp) == TimestampParser().parse("2015-01-13T22:29:45+00:00")


def test_cloudfront_fields() -> None:
    parsed = [
        raw for raw in _split_all("cloudfront", LOGS / "cloudfront_web_2019-12.log") if isinstance(raw, RawFields)
    ]
    raw = parsed[0]
    assert (raw.vhost, raw.client, raw.timestamp, raw.request, raw.size) == (
        "d111111abcdef8.cloudfront.net",
        "192.0.2.100",
        "2019-12-04T21:02:31Z",
        "GET /index.html HTTP/2.0",
        "392",
    )
    assert raw.user_agent == (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/78.0.3904.108 Safari/537.36"
    )


def test_iis_x_forwarded_for_and_local_time_fields() -> None:
    """IIS custom field X-Forwarded-For (IIS 8.5+) and Advanced Logging's local date and time."""
    parser = make_line_parser(LogSettings(format="iis"))
    assert isinstance(
        parser.split("#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status X-Forwarded-For\n"),
        Malformed,
    )
    raw = parser.split("2026-11-20 01:12:00 10.0.0.5 GET /pricing plan=pro 200 81.2.69.160\n")
    assert isinstance(raw, RawFields) and (raw.client, raw.forwarded_for) == ("10.0.0.5", "81.2.69.160")
    parser.split("#Fields: date-local time-local c-ip cs-uri-stem sc-status\n")
    raw = parser.split("2026-11-20 10:12:00 81.2.69.160 /pricing 200\n")
    assert isinstance(raw, RawFields)
    tokyo = TimestampParser(zone_named("Asia/Tokyo"))
    assert tokyo.parse(raw.timestamp) == tokyo.parse("2026-11-20T01:12:00Z")
    assert parser.split("2026-11-20 10:12:00 81.2.69.160\n") == Malformed("missing_fields")


def test_iis_advanced_logging_quoted_values_and_client_in_x_forwarded_for() -> None:
    """Microsoft's ARR example: Advanced Logging quotes its text values and, behind ARR, logs the
    visitor only in a custom X-Forwarded-For field (no c-ip, no cs-method)."""
    raw = _split_all("iis", LOGS / "iis_advanced_logging_arr_docs.log")[-1]
    assert isinstance(raw, RawFields)
    assert (raw.client, raw.forwarded_for, raw.timestamp, raw.request, raw.status, raw.size) == (
        "127.0.0.1:62489",
        None,
        "2009-10-16T18:51:29.983Z",
        "GET /iisstart.htm HTTP/1.1",
        "200",
        "1680",
    )
    # a quoted user agent keeps its spaces (Advanced Logging writes them as they came)
    parser = make_line_parser(LogSettings(format="iis"))
    parser.split("#Fields: date time c-ip cs-uri-stem sc-status cs(User-Agent)\n")
    quoted = parser.split('2017-09-23 00:03:11.235 192.168.64.43 / 401 "Mozilla/4.0 (ISA Server Connectivity Check)"\n')
    assert isinstance(quoted, RawFields) and quoted.user_agent == "Mozilla/4.0 (ISA Server Connectivity Check)"


def test_w3c_fields_setting_is_checked() -> None:
    with pytest.raises(BadInput, match="log.w3c_fields"):
        make_line_parser(LogSettings(format="w3c", w3c_fields="date time cs-uri-stem"))


@pytest.mark.parametrize(
    "sample, log_format, summary",
    [
        ("lnav_iis85_excerpt.log", "auto", "lines 69  parsed 29  malformed 0"),  # 40 directives: skipped
        ("cloudfront_web_2019-12.log", "cloudfront", "lines 5  parsed 3  malformed 0"),  # #Version, #Fields: skipped
        ("nginx_ingress_controller.log", INGRESS_NGINX_UPSTREAM, "lines 29  parsed 27  malformed 2"),
        ("aws_alb_docs.log", "auto", "lines 7  parsed 7  malformed 0"),
        ("aws_elb_classic_docs.log", "elb", "lines 4  parsed 2  malformed 2"),
        ("lnav_haproxy.log", "haproxy", "lines 17  parsed 13  malformed 4"),
        ("matomo_incapsula_w3c.log", "auto", "lines 5  parsed 1  malformed 0"),  # 4 directives
        ("nswl_docker_readme.log", "w3c", "lines 7  parsed 3  malformed 0"),  # 4 directives
        ("matomo_traefik_json.log", "traefik", "lines 1  parsed 1  malformed 0"),
        ("gcp_lb_otel_ndjson.log", "auto", "lines 3  parsed 3  malformed 0"),
        ("elastic_istio_json.log", "istio", "lines 3  parsed 2  malformed 1"),
        ("elastic_istio_in_cri.log", {"format": "envoy", "container": "cri"}, "lines 15  parsed 15  malformed 0"),
        ("elastic_istio_text_public_client.log", "envoy", "lines 1  parsed 1  malformed 0"),
        ("elastic_envoyproxy.log", "envoy", "lines 7  parsed 4  malformed 3"),
    ],
)
def test_replay_reads_each_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample: str, log_format: str | dict[str, str], summary: str
) -> None:
    """``log_format``: the format's name, or the whole ``[log]`` section when it takes more."""
    log_section = log_format if isinstance(log_format, dict) else {"format": log_format}
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(tomli_w.dumps({"log": log_section}), encoding="utf-8")
    arguments = ["replay", str(LOGS / sample), "--accounts", str(tmp_path / "accounts.csv")]
    arguments += ["--config", str(tmp_path / "revisit.toml"), "--db", f"sqlite:///{tmp_path / 'r.sqlite'}"]
    assert main([*arguments, "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith(summary) for line in out.splitlines()), out


def test_ship_keys_w3c_lines_by_their_client() -> None:
    """ship keys each line with the same parser the worker reads it with (file order kept)."""
    keyer = LineKeyer(LogSettings(format="auto"))
    with open(LOGS / "lnav_iis85_excerpt.log", encoding="utf-8") as handle:
        keys = [keyer.key_for(line) for line in handle]  # the directives too, as ship sends them
    keys = [key for key in keys if not key.startswith(b"#")]
    assert keys[0] == b"157.55.39.146" and keys[-1] == b"183.60.244.30" and len(set(keys)) == 11


@pytest.mark.parametrize(
    "sample, names, expected",
    [
        ("aws_alb_docs.log", ("alb", "auto"), {"lines": 7, "ok": 7}),
        # the two TCP/SSL listener entries log "- - - " as their request: no page
        ("aws_elb_classic_docs.log", ("elb", "auto"), {"lines": 4, "ok": 2, "bad_request": 2}),
        # three "Proxy ... started" lines and one "SSL handshake failure"
        ("lnav_haproxy.log", ("haproxy", "auto"), {"lines": 17, "ok": 13, "unrecognized": 4}),
        # lines 2-10 come from a custom log-format (a host field after the server, no captures) on a
        # UNIX-socket listener: their client is "-", so no visitor address to read
        ("beats_haproxy.log", ("haproxy", "auto"), {"lines": 10, "ok": 1, "unrecognized": 9}),
    ],
)
def test_load_balancer_samples(sample: str, names: tuple[str, ...], expected: dict[str, int]) -> None:
    for name in names:
        counts, _ = parse_file(LOGS / sample, LogSettings(format=name))
        assert counts == expected, name


def test_alb_and_elb_fields() -> None:
    alb = _split_all("alb", LOGS / "aws_alb_docs.log")
    https, lambda_failed = alb[1], alb[6]
    assert isinstance(https, RawFields) and isinstance(lambda_failed, RawFields)
    assert (https.vhost, https.client, https.timestamp, https.status, https.size, https.user_agent) == (
        "www.example.com",
        "192.168.131.39:2817",
        "2018-07-02T22:23:00.186641Z",
        "200",
        "57",
        "curl/7.46.0",
    )
    assert split_request(https.request) == ("GET", "/", "")
    assert lambda_failed.status == "502" and lambda_failed.vhost is None
    elb = _split_all("elb", LOGS / "aws_elb_classic_docs.log")[0]
    assert isinstance(elb, RawFields) and (elb.client, elb.size, elb.user_agent) == (
        "192.168.131.39:2817",
        "29",
        "curl/7.38.0",
    )


def test_haproxy_fields_and_captures() -> None:
    first = _split_all("haproxy", LOGS / "lnav_haproxy.log")[3]
    assert isinstance(first, RawFields)
    assert (first.client, first.timestamp, first.status, first.size) == (
        "141.35.244.171",
        "25/Feb/2019:16:19:48.143",
        "200",
        "11394",
    )
    assert first.user_agent == "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:65.0) Gecko/20100101 Firefox/65.0"
    # HAProxy's own example (configuration.txt, "HTTP log format"), a Host header captured
    line = (
        "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in "
        'static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"\n'
    )
    raw = make_line_parser(LogSettings(format="haproxy", haproxy_captures=("Host",))).split(line)
    assert isinstance(raw, RawFields) and (raw.vhost, raw.client, raw.user_agent) == ("1wt.eu", "10.0.1.2", None)
    tokyo = TimestampParser(zone_named("Asia/Tokyo"))
    assert tokyo.parse(raw.timestamp) == tokyo.parse("2009-02-06T03:14:14.655Z")


def test_haproxy_empty_captures_in_a_real_line() -> None:
    """Beats' sample: three request captures and four response captures, most of them empty."""
    line = (LOGS / "beats_haproxy.log").read_text().splitlines(keepends=True)[0]
    named = make_line_parser(LogSettings(format="haproxy", haproxy_captures=("Host", "Referer", "User-Agent")))
    raw = named.split(line)
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.client, raw.status, raw.size, raw.referrer, raw.user_agent) == (
        "docs.example.internal",
        "1.2.3.4",
        "304",
        "168",
        None,
        None,
    )
    assert split_request(raw.request) == ("GET", "/component---src-pages-index-js-4b15624544f97cf0bb8f.js", "")
    # unnamed, a host name is not mistaken for a user agent
    unnamed = make_line_parser(LogSettings(format="haproxy")).split(line)
    assert isinstance(unnamed, RawFields) and (unnamed.vhost, unnamed.user_agent) == (None, None)
    utc = TimestampParser()
    assert utc.parse(raw.timestamp) == utc.parse("2018-07-30T09:03:52.726Z")


@pytest.mark.parametrize("format_name", ["caddy", "auto"])
def test_caddy_json_with_nested_request(format_name: str) -> None:
    counts, addresses = parse_file(LOGS / "lnav_caddy_excerpt.log", LogSettings(format=format_name, trusted_proxies=()))
    # the one line that is no request is Caddy's own "shutting down" notice
    assert counts == {"lines": 4, "ok": 3, "missing_fields": 1} and addresses == ["172.19.0.1"] * 3
    raw = _split_all(format_name, LOGS / "lnav_caddy_excerpt.log")[3]
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.timestamp, raw.status, raw.size) == ("localhost", "1761019957.9247544", "200", "188")
    assert split_request(raw.request) == ("GET", "/index.html", "")
    assert raw.user_agent == "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0"
    assert TimestampParser().parse(raw.timestamp) == TimestampParser().parse("2025-10-21T04:12:37.924754Z")


def test_the_documented_json_settings_read_no_caddy_line() -> None:
    """Why the presets exist: the plain json mapping finds no client in Caddy's nested request."""
    counts, _ = parse_file(LOGS / "lnav_caddy_excerpt.log", LogSettings(format="json"))
    assert counts == {"lines": 4, "missing_fields": 4}


def test_cloudflare_nanosecond_lines_are_counted_not_fatal() -> None:
    """Cloudflare's documented ndjson example logs no page (its job asked for three fields only)."""
    for name in ("cloudflare", "auto"):
        found = _split_all(name, LOGS / "cloudflare_docs_ndjson.log")
        assert found == [Malformed("missing_fields")] * 3
    parser = make_line_parser(LogSettings(format="cloudflare"))
    raw = parser.split(
        '{"ClientIP":"89.163.242.206","EdgeStartTimestamp":1506702504433000200,"RayID":"3a6050bcbe121a87",'
        '"ClientRequestURI":"/pricing?plan=pro","ClientRequestMethod":"GET","EdgeResponseStatus":200}\n'
    )
    assert isinstance(raw, RawFields) and raw.timestamp == "1506702504433000200"
    assert TimestampParser().parse(raw.timestamp) == TimestampParser().parse("2017-09-29T16:28:24.433000Z")


def test_traefik_prefers_start_utc_and_reads_local_time_in_log_timezone() -> None:
    """Field names from Traefik's access-log documentation (a JSON line written from them)."""
    parser = make_line_parser(LogSettings(format="traefik"))
    base = (
        '{"ClientHost":"81.2.69.160","RequestMethod":"GET","RequestPath":"/pricing","DownstreamStatus":200,'
        '"DownstreamContentSize":512,"RequestHost":"www.example.jp","request_User-Agent":"Mozilla/5.0",%s}\n'
    )
    with_utc = parser.split(base % '"StartUTC":"2026-11-20T01:12:00.123456789Z","time":"2026-11-20T10:12:00"')
    only_local = parser.split(base % '"time":"2026-11-20T10:12:00"')
    assert isinstance(with_utc, RawFields) and isinstance(only_local, RawFields)
    tokyo = TimestampParser(zone_named("Asia/Tokyo"))
    assert tokyo.parse(with_utc.timestamp) == tokyo.parse("2026-11-20T01:12:00.123456Z")
    assert tokyo.parse(only_local.timestamp) == tokyo.parse("2026-11-20T01:12:00Z")
    assert (with_utc.vhost, with_utc.user_agent, with_utc.size) == ("www.example.jp", "Mozilla/5.0", "512")


@pytest.mark.parametrize("settings", [LogSettings(format="auto"), LogSettings(format="caddy", container="docker")])
def test_docker_json_file_lines_are_unwrapped(settings: LogSettings) -> None:
    counts, _ = parse_file(LOGS / "caddy_in_docker_json.log", settings)
    assert counts == {"lines": 4, "ok": 3, "missing_fields": 1}


@pytest.mark.parametrize(
    "settings", [LogSettings(format="auto"), LogSettings(format=INGRESS_NGINX_UPSTREAM, container="cri")]
)
def test_cri_lines_are_unwrapped(settings: LogSettings) -> None:
    counts, _ = parse_file(LOGS / "ingress_in_cri.log", settings)
    assert counts == {"lines": 6, "ok": 4, "bad_request": 2}


def test_unknown_format_name_lists_the_valid_ones() -> None:
    with pytest.raises(BadInput, match="log.format: 'nginx-json' unknown; one of auto, combined, .*caddy"):
        make_line_parser(LogSettings(format="nginx-json"))
    with pytest.raises(BadInput, match="log.container 'podman'"):
        make_line_parser(LogSettings(container="podman"))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "ClientIP",
                "EdgeStartTimestamp",
                "ClientRequestURI",
                "request",
                "ts",
                "log",
                "stream",
                "ClientHost",
                "StartUTC",
                "httpRequest",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=8,
        ),
    )
)
def test_no_json_value_raises(record: dict[str, object]) -> None:
    line = json.dumps(record) + "\n"
    for name in ("auto", "caddy", "cloudflare", "traefik", "gcp_lb", "istio"):
        raw = make_line_parser(LogSettings(format=name)).split(line)
        if isinstance(raw, RawFields):
            TimestampParser().parse(raw.timestamp)


def test_log_encoding_cp932_and_euc_jp(tmp_path: Path) -> None:
    """IIS on Japanese Windows writes CP932; older Apache servers EUC-JP. The referrer is a search."""
    line = (
        "2015-01-13 09:49:46 100.79.192.81 GET / - 80 - 188.120.253.124 NerdyBot "
        "https://www.google.co.jp/search?q=株式会社サクラ精機 200 0 0 960 205 468\n"
    )
    header = (LOGS / "lnav_iis85_excerpt.log").read_text(encoding="utf-8").splitlines(keepends=True)[:4]
    for encoding in ("cp932", "euc_jp"):
        log = tmp_path / f"u_ex150113.{encoding}.log"
        log.write_bytes(("".join(header) + line).encode(encoding))
        parser = make_line_parser(LogSettings(format="iis", encoding=encoding))
        parsed = [parser.split(text) for text in read_lines([str(log)], encoding)]
        raw = parsed[-1]
        assert isinstance(raw, RawFields) and raw.referrer == "https://www.google.co.jp/search?q=株式会社サクラ精機"
        in_utf8 = [parser.split(text) for text in read_lines([str(log)])][-1]
        assert isinstance(in_utf8, RawFields) and "\ufffd" in (in_utf8.referrer or "")


def test_unknown_log_encoding_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text('[log]\nencoding = "shift-jiss"\n', encoding="utf-8")
    arguments = ["replay", str(LOGS / "lnav_w3c.log"), "--accounts", str(tmp_path / "accounts.csv")]
    arguments += ["--config", str(tmp_path / "revisit.toml"), "--db", f"sqlite:///{tmp_path / 'r.sqlite'}"]
    assert main(arguments) == 2
    assert "log.encoding 'shift-jiss'" in capsys.readouterr().err


def test_a_w3c_log_is_never_cut_into_ranges(tmp_path: Path) -> None:
    """A range starting mid-file would not see the #Fields: line above it."""
    from revisit.enrichment.parallel import can_split

    big = tmp_path / "u_ex150113.log"
    big.write_text((LOGS / "lnav_iis85_excerpt.log").read_text(encoding="utf-8") * 20, encoding="utf-8")
    combined = tmp_path / "access.log"
    combined.write_text((LOGS / "nginx_ingress_controller.log").read_text(encoding="utf-8") * 20, encoding="utf-8")
    assert not can_split(str(big), 1024) and can_split(str(combined), 1024)


def test_logs_check_reports_format_share_reasons_and_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "check", "--locale", "en", str(LOGS / "lnav_haproxy.log")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "format: haproxy"
    assert out[1].startswith("lines 17  parsed 13 (76.4 % of 17 lines that are not empty or comments)  malformed 4")
    assert out[2:5] == [
        "  layout not recognised 4",
        "    Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy prod_http_in started.",
        "    Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy tools_http_frnt started.",
    ]
    assert out[-3:] == ["config:", "  [log]", '  format = "haproxy"']


def test_logs_check_speaks_japanese_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """alerts.locale is Japanese unless configured: the report in Japanese, each reason by its name."""
    assert main(["logs", "check", str(LOGS / "lnav_haproxy.log")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "形式：haproxy",
        "行数 17  解析 13（空行とコメントを除く 17 行の 76.4 %）  不正 4",
        "  形式が分からない行 4",
        "    Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy prod_http_in started.",
        "    Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy tools_http_frnt started.",
        "設定：",
        "  [log]",
        '  format = "haproxy"',
    ]
    config = tmp_path / "revisit.toml"
    config.write_text('[log]\nformat = "alb"\n', encoding="utf-8")
    assert main(["logs", "check", str(LOGS / "lnav_iis85_excerpt.log"), "--config", str(config)]) == 2
    assert capsys.readouterr().out.splitlines()[:2] == [
        "形式：alb",
        "警告：log.format 'alb' では先頭の行の半分も読めません。auto なら w3c を選びます",
    ]


def test_logs_check_says_what_auto_would_pick_when_the_named_format_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text('[log]\nformat = "alb"\n', encoding="utf-8")
    assert (
        main(["logs", "check", "--locale", "en", str(LOGS / "lnav_iis85_excerpt.log"), "--config", str(config)]) == 2
    )  # 0 % read
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "format: alb",
        "warning: log.format 'alb' reads under half of the first lines; auto would pick: w3c",
    ]
    assert out[-2:] == ["  [log]", '  format = "w3c"']


def test_logs_check_never_rounds_up_to_100_percent_while_a_line_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = (LOGS / "nginx_ingress_controller.log").read_text(encoding="utf-8").splitlines()[0]
    log = tmp_path / "access.log"
    log.write_text("\n".join([line] * 9_999 + ["not a request at all"]) + "\n", encoding="utf-8")
    assert main(["logs", "check", "--locale", "en", str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("lines 10,000  parsed 9,999 (99.9 % of 10,000 lines that are not empty or comments)")


def test_logs_check_of_a_file_nothing_parses_exits_2_without_proposing_a_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "notes.txt"
    log.write_text("meeting at ten\nbring the slides\n", encoding="utf-8")
    assert main(["logs", "check", "--locale", "en", str(log)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("lines 2  parsed 0 (0.0 % of 2 lines")
    assert out[-1] == "no line parses with any known format: no [log] config to propose (see log.format in README)"
    assert "config:" not in out


def test_logs_check_of_an_empty_file_or_one_of_comments_exits_2_without_proposing_a_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing parsed is nothing parsed: an empty file got exit 0 and a proposed format."""
    empty = tmp_path / "empty.log"
    empty.write_text("", encoding="utf-8")
    assert main(["logs", "check", str(empty)]) == 2
    assert capsys.readouterr().out.splitlines()[-1] == (
        "確かめる行がありません（空のファイルか、コメントだけです）。提案できる [log] の設定はありません"
    )
    directives = tmp_path / "u_ex.log"
    directives.write_text("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n", encoding="utf-8")
    assert main(["logs", "check", "--locale", "en", str(directives)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert "config:" not in out
    assert out[-1] == "no line to check: the files hold no data (empty, or comments only): no [log] config to propose"


def test_logs_check_of_a_missing_file_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "check", "--locale", "en", "/nonexistent/access.log"]) == 2
    assert capsys.readouterr().err == "revisit: /nonexistent/access.log: log file not found\n"
    # said in alerts.locale, as the rest of the command's output (Japanese by default)
    assert main(["logs", "check", "/nonexistent/access.log"]) == 2
    assert capsys.readouterr().err == "revisit: /nonexistent/access.log：ログファイルがありません\n"


_SAMPLES = sorted(path for path in LOGS.glob("*.log"))
_SAMPLE_LINES = [line for path in _SAMPLES for line in path.read_text(encoding="utf-8").splitlines(keepends=True)]
_EVERY_FORMAT = [*FORMAT_NAMES, INGRESS_NGINX_UPSTREAM, NGINX_COMBINED_DIRECTIVE, '%h %l %u %t "%r" %>s %b']


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.tuples(st.sampled_from(_SAMPLE_LINES), st.integers(0, 400), st.text(max_size=12)).map(
            lambda cut: cut[0][: cut[1]] + cut[2] + cut[0][cut[1] :]  # a real line with text put inside
        ),
        st.tuples(st.sampled_from(_SAMPLE_LINES), st.integers(0, 400)).map(lambda cut: cut[0][: cut[1]]),
    )
)
def test_no_line_makes_any_format_raise(line: str) -> None:
    """Every format, fed real lines with text inserted or cut short, and random text: an outcome, never
    an exception; a #Fields: line with odd fields included."""
    for name in _EVERY_FORMAT:
        parser = make_line_parser(LogSettings(format=name))
        for text in ("#Fields: " + line, line):
            raw = parser.split(text)
            if isinstance(raw, RawFields):
                TimestampParser().parse(raw.timestamp)
                split_request(raw.request)


@pytest.mark.parametrize("format_name", ["envoy", "auto"])
def test_envoy_and_istio_text_lines(format_name: str) -> None:
    envoy = _split_all(format_name, LOGS / "envoy_docs.log")[0]
    istio_client, istio_server = _split_all(format_name, LOGS / "istio_envoy_docs.log")
    assert isinstance(envoy, RawFields) and isinstance(istio_client, RawFields) and isinstance(istio_server, RawFields)
    # Envoy's default format logs no client address: the X-Forwarded-For chain stands for it
    assert (envoy.vhost, envoy.client, envoy.status, envoy.size, envoy.user_agent) == (
        "locations",
        "10.0.35.28",
        "204",
        "0",
        "nsq2http",
    )
    assert split_request(envoy.request) == ("POST", "/api/v1/locations", "")
    assert (istio_client.client, istio_server.client) == ("10.44.1.23:46520", "10.44.1.23:37652")
    assert istio_server.timestamp == "2020-11-25T21:26:18.409Z" and istio_server.status == "418"


@pytest.mark.parametrize("format_name", ["gcp_lb", "istio", "auto"])
def test_gcp_and_istio_json_presets(format_name: str) -> None:
    """Lines written from the documented field names (Cloud Logging's HttpRequest; Istio's JSON
    access-log encoding); the public samples are read in test_gcp_load_balancer_samples and
    test_istio_json_sample."""
    gcp = (
        '{"httpRequest":{"requestMethod":"GET","requestUrl":"https://www.example.jp/pricing?plan=pro",'
        '"status":200,"responseSize":"5120","userAgent":"Mozilla/5.0","remoteIp":"81.2.69.160",'
        '"referer":"https://www.google.co.jp/"},"timestamp":"2026-11-20T01:12:00.123456Z",'
        '"resource":{"type":"http_load_balancer"}}\n'
    )
    istio = (
        '{"start_time":"2020-11-25T21:26:18.409Z","method":"GET","path":"/status/418","protocol":"HTTP/1.1",'
        '"response_code":418,"bytes_sent":135,"user_agent":"curl/7.73.0-DEV","x_forwarded_for":null,'
        '"authority":"httpbin:8000","downstream_remote_address":"10.44.1.23:46520"}\n'
    )
    parser = make_line_parser(LogSettings(format=format_name))
    if format_name != "istio":
        raw = parser.split(gcp)
        assert isinstance(raw, RawFields) and (raw.client, raw.status, raw.size, raw.referrer) == (
            "81.2.69.160",
            "200",
            "5120",
            "https://www.google.co.jp/",
        )
        assert split_request(raw.request) == ("GET", "/pricing", "plan=pro")
    if format_name != "gcp_lb":
        raw = parser.split(istio)
        assert isinstance(raw, RawFields) and (raw.client, raw.vhost, raw.status) == (
            "10.44.1.23:46520",
            "httpbin:8000",
            "418",
        )


# --- real samples of the formats that had none (tests/data/logs/SOURCES.md) ----------------------


@pytest.mark.parametrize(
    "sample, detected, summary",
    [
        ("matomo_incapsula_w3c.log", "w3c", "lines 5  parsed 1 (100.0 % of 1 lines that are not empty or comments)"),
        ("nswl_docker_readme.log", "w3c", "lines 7  parsed 3 (100.0 % of 3 lines that are not empty or comments)"),
        ("matomo_traefik_json.log", "traefik", "lines 1  parsed 1 (100.0 % of 1 lines that are not empty or comments)"),
        ("gcp_lb_otel_ndjson.log", "gcp_lb", "lines 3  parsed 3 (100.0 % of 3 lines that are not empty or comments)"),
        ("elastic_istio_json.log", "istio", "lines 3  parsed 2 (66.6 % of 3 lines that are not empty or comments)"),
        ("elastic_istio_text.log", "envoy", "lines 8  parsed 8 (100.0 % of 8 lines that are not empty or comments)"),
        ("elastic_envoyproxy.log", "envoy", "lines 7  parsed 4 (57.1 % of 7 lines that are not empty or comments)"),
    ],
)
def test_logs_check_detects_each_real_sample(
    capsys: pytest.CaptureFixture[str], sample: str, detected: str, summary: str
) -> None:
    assert main(["logs", "check", "--locale", "en", str(LOGS / sample)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"format: {detected}" and out[1].startswith(summary), out
    assert out[-2:] == ["  [log]", f'  format = "{detected}"']


@pytest.mark.parametrize("format_name", ["w3c", "auto"])
def test_incapsula_w3c_sample(format_name: str) -> None:
    """Incapsula quotes every value ("" when empty), logs the page as host and path with no scheme
    in cs-uri, its query apart in cs-uri-query, and spells the referrer header cs(Referrer)."""
    counts, addresses = parse_file(LOGS / "matomo_incapsula_w3c.log", LogSettings(format=format_name))
    assert counts == {"lines": 5, "comment": 4, "ok": 1} and addresses == ["123.123.123.123"]
    raw = _split_all(format_name, LOGS / "matomo_incapsula_w3c.log")[-1]
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.client, raw.timestamp, raw.status, raw.referrer, raw.forwarded_for) == (
        "www.example.com",
        "123.123.123.123",
        "2017-06-28T07:26:35Z",
        "200",
        None,
        "123.123.123.123",
    )
    assert split_request(raw.request) == ("GET", "/page.php", "variable=test")
    assert raw.user_agent == (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/58.0.3029.110 Safari/537.36"
    )


def test_a_quoted_w3c_user_agent_keeps_its_plus() -> None:
    """Quoted values keep their spaces, so a "+" in them is a plus, not IIS's escaped space."""
    parser = make_line_parser(LogSettings(format="w3c"))
    header = (LOGS / "matomo_incapsula_w3c.log").read_text(encoding="utf-8").splitlines(keepends=True)[3]
    assert parser.split(header) == Malformed("comment")
    line = (
        (LOGS / "matomo_incapsula_w3c.log")
        .read_text(encoding="utf-8")
        .splitlines()[4]
        .replace(
            "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/58.0.3029.110 Safari/537.36",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
    )
    raw = parser.split(line + "\n")
    assert isinstance(raw, RawFields)
    assert raw.user_agent == "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize("format_name", ["w3c", "auto"])
def test_netscaler_web_logging_sample(format_name: str) -> None:
    """NSWL's W3C output: a #Fields: line ending in a space, sc-servicename and cs(Cookie) fields."""
    counts, addresses = parse_file(LOGS / "nswl_docker_readme.log", LogSettings(format=format_name))
    assert counts == {"lines": 7, "comment": 4, "ok": 3} and addresses == ["172.16.0.1"] * 3
    raw = _split_all(format_name, LOGS / "nswl_docker_readme.log")[4]
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.client, raw.timestamp, raw.status, raw.size, raw.referrer, raw.user_agent) == (
        None,
        "172.16.0.1",
        "2017-10-29T03:54:12Z",
        "200",
        "131",
        None,
        "curl/7.54.0",
    )
    assert split_request(raw.request) == ("GET", "/", "")


@pytest.mark.parametrize("format_name", ["traefik", "auto"])
def test_traefik_json_sample(format_name: str) -> None:
    """The status returned to the visitor (DownstreamStatus 200), not the origin's (504); the time
    the request started (StartUTC), not when the line was written (time, two minutes later)."""
    counts, addresses = parse_file(LOGS / "matomo_traefik_json.log", LogSettings(format=format_name))
    assert counts == {"lines": 1, "ok": 1} and addresses == ["172.0.0.1"]
    raw = _split_all(format_name, LOGS / "matomo_traefik_json.log")[0]
    assert isinstance(raw, RawFields)
    assert (raw.vhost, raw.client, raw.status, raw.size, raw.referrer, raw.user_agent) == (
        "localhost",
        "172.0.0.1",
        "200",
        "15",
        "www.example.com",
        "Prometheus/2.40.5",
    )
    assert split_request(raw.request) == ("GET", "/my/app/auth", "id=1234&user=dude")
    assert TimestampParser().parse(raw.timestamp) == TimestampParser().parse("2023-08-11T11:39:21.773360Z")


_GCP_DOCUMENTS = (
    "global_external_application_load_balancer.json",
    "regional_external_application_load_balancer.json",
    "enforced_security_policy.json",
)


def test_gcp_sample_lines_are_the_published_entries() -> None:
    """gcp_lb_otel_ndjson.log holds the three published LogEntry documents one per line, as Cloud
    Logging's exports to Cloud Storage and Pub/Sub carry them."""
    documents = [json.loads((LOGS / "gcp_lb_otel" / name).read_text(encoding="utf-8")) for name in _GCP_DOCUMENTS]
    lines = (LOGS / "gcp_lb_otel_ndjson.log").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == documents


@pytest.mark.parametrize("format_name", ["gcp_lb", "auto"])
def test_gcp_load_balancer_samples(format_name: str) -> None:
    """A global and a regional external Application Load Balancer and a Cloud Armor denial: the
    regional one logs the visitor's port, and only the request URL names the site."""
    counts, addresses = parse_file(LOGS / "gcp_lb_otel_ndjson.log", LogSettings(format=format_name))
    assert counts == {"lines": 3, "ok": 3} and addresses == ["79.117.34.252"] * 3
    global_lb, regional, denied = _split_all(format_name, LOGS / "gcp_lb_otel_ndjson.log")
    assert isinstance(global_lb, RawFields) and isinstance(regional, RawFields) and isinstance(denied, RawFields)
    assert (global_lb.vhost, global_lb.client, global_lb.timestamp, global_lb.status, global_lb.size) == (
        "35.227.246.6",
        "79.117.34.252",
        "2025-11-20T13:35:27.558637Z",
        "200",
        "780",
    )
    assert global_lb.user_agent == "curl/8.7.1" and split_request(global_lb.request) == ("GET", "/", "")
    assert (regional.vhost, regional.client) == ("34.0.217.72", "79.117.34.252:60102")
    assert split_request(regional.request) == ("GET", "/", "curl=")
    assert (denied.vhost, denied.status, denied.size, denied.referrer) == ("136.110.215.198", "403", "275", None)
    assert denied.user_agent == (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/142.0.0.0 Safari/537.36"
    )
    assert TimestampParser().parse(denied.timestamp) == TimestampParser().parse("2025-11-11T12:25:33.653165Z")


# --- Istio and Envoy lines from Elastic's integrations (tests/data/logs/SOURCES.md, ELv2) --------


@pytest.mark.parametrize("format_name", ["istio", "auto"])
def test_istio_json_sample(format_name: str) -> None:
    """Istio's JSON encoding: numbers as JSON numbers, nulls for absent values, an IPv6 client as
    ``[addr]:port``, and a request Envoy could not decode (http1.codec_error: method, path and
    authority "-"), which has no page."""
    counts, addresses = parse_file(LOGS / "elastic_istio_json.log", LogSettings(format=format_name))
    assert counts == {"lines": 3, "ok": 2, "bad_request": 1}
    assert addresses == ["10.124.0.13", "2a02:cf40::4e36"]
    _, ipv6, codec_error = _split_all(format_name, LOGS / "elastic_istio_json.log")
    assert isinstance(ipv6, RawFields) and isinstance(codec_error, RawFields)
    assert (ipv6.vhost, ipv6.client, ipv6.timestamp, ipv6.status, ipv6.size, ipv6.forwarded_for) == (
        "reviews:9080",
        "[2a02:cf40::4e36]:5000",
        "2022-09-08T12:51:05.656Z",
        "200",
        "358",
        None,
    )
    assert split_request(ipv6.request) == ("GET", "/reviews/0", "")
    assert ipv6.user_agent == (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/103.0.5060.114 Safari/537.36"
    )
    assert TimestampParser().parse(ipv6.timestamp) == datetime(2022, 9, 8, 12, 51, 5, 656000, tzinfo=UTC)
    # Envoy's "-" for a request without a Host is no site name
    assert (codec_error.vhost, codec_error.client, codec_error.status) == (None, "10.128.0.60:51643", "400")
    assert split_request(codec_error.request) is None


@pytest.mark.parametrize(
    "settings", [LogSettings(format="envoy", container="cri"), LogSettings(format="auto")], ids=["envoy+cri", "auto"]
)
def test_istio_text_lines_in_cri_sample(settings: LogSettings) -> None:
    """istio-proxy's text lines as the kubelet stores them: the time read is Envoy's start time,
    not the runtime's (three seconds later on the first line); the client is the downstream peer."""
    counts, addresses = parse_file(LOGS / "elastic_istio_in_cri.log", settings)
    assert counts == {"lines": 15, "ok": 15}
    # reviews (10.24.0.10) is called by 10.24.0.11 and itself calls ratings: 7 and 8 lines
    assert addresses[:3] == ["10.24.0.11", "10.24.0.10", "10.24.0.10"]
    assert (addresses.count("10.24.0.11"), addresses.count("10.24.0.10")) == (7, 8)
    parser = make_line_parser(settings)
    with open(LOGS / "elastic_istio_in_cri.log", encoding="utf-8", newline="") as handle:
        first = parser.split(handle.readline())
    assert first == RawFields(
        "reviews:9080",
        "10.24.0.11:49888",
        "2022-07-22T12:24:09.217Z",
        "GET /reviews/0 HTTP/1.1",
        "0",  # downstream_remote_disconnect: the visitor left before the answer
        "0",
        None,
        "curl/7.79.1",
        None,
    )


@pytest.mark.parametrize("format_name", ["envoy", "auto"])
def test_istio_text_samples(format_name: str) -> None:
    """Istio's text lines with an X-Forwarded-For chain (the ingress gateway's hop, port 0), an IPv6
    downstream peer, and the one public visitor address of Elastic's samples."""
    counts, addresses = parse_file(LOGS / "elastic_istio_text.log", LogSettings(format=format_name))
    assert counts == {"lines": 8, "ok": 8}
    assert addresses == [
        "10.68.1.7",
        "10.128.0.64",
        "10.124.2.6",
        "10.124.2.6",
        "10.128.0.161",
        "10.124.2.6",
        "10.124.0.12",
        "2a02:cf40::4e36",
    ]
    lines = _split_all(format_name, LOGS / "elastic_istio_text.log")
    forwarded = lines[1]
    assert isinstance(forwarded, RawFields)
    assert (forwarded.vhost, forwarded.client, forwarded.forwarded_for, forwarded.status, forwarded.size) == (
        "35.184.82.199",
        "10.128.0.64:0",
        "10.128.0.64",
        "200",
        "18028",
    )
    assert split_request(forwarded.request) == ("GET", "/static/bootstrap/fonts/glyphicons-halflings-regular.woff2", "")
    counts, addresses = parse_file(LOGS / "elastic_istio_text_public_client.log", LogSettings(format=format_name))
    assert counts == {"lines": 1, "ok": 1} and addresses == ["89.160.20.156"]


@pytest.mark.parametrize(
    "format_name, expected",
    [
        ("envoy", {"lines": 7, "ok": 4, "bad_request": 1, "unrecognized": 2}),
        ("auto", {"lines": 7, "ok": 4, "bad_request": 1, "missing_fields": 2}),
    ],
)
def test_envoy_default_format_sample(format_name: str, expected: dict[str, int]) -> None:
    """Envoy's older default format (no response details): a TCP proxy line (``"- - -"``: no page),
    a request with no X-Forwarded-For (no visitor address), Emissary-ingress's ``ACCESS `` prefix;
    the last two lines are a log shipper's records (the line in ``message`` beside Kubernetes
    metadata), which no runtime writes: they stay malformed."""
    counts, addresses = parse_file(LOGS / "elastic_envoyproxy.log", LogSettings(format=format_name))
    assert counts == expected
    assert addresses == [None, "172.17.0.3", "172.17.0.3", "192.168.0.9"]
    emissary = _split_all(format_name, LOGS / "elastic_envoyproxy.log")[4]
    assert emissary == RawFields(
        "localhost:9001",
        "192.168.0.9",
        "2024-04-25T17:51:55.294Z",
        "GET /backend/ HTTP/1.1",
        "200",
        "141",
        None,
        "curl/8.4.0",
        None,
    )


def test_logs_check_detects_istio_in_cri_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "check", "--locale", "en", str(LOGS / "elastic_istio_in_cri.log")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "format: envoy"
    assert out[1].startswith("lines 15  parsed 15 (100.0 % of 15 lines that are not empty or comments)"), out
    assert out[-3:] == ["  [log]", '  format = "envoy"', '  container = "cri"']


def test_ship_keys_istio_lines_by_their_client() -> None:
    """ship's partition key is the visitor's address, brackets and port removed (IPv6 too)."""
    keyer = LineKeyer(LogSettings(format="istio"))
    with open(LOGS / "elastic_istio_json.log", encoding="utf-8") as handle:
        assert [keyer.key_for(line) for line in handle] == [b"10.124.0.13", b"2a02:cf40::4e36", b"10.128.0.60"]
    keyer = LineKeyer(LogSettings(format="envoy", container="cri"))
    with open(LOGS / "elastic_istio_in_cri.log", encoding="utf-8") as handle:
        assert keyer.key_for(handle.readline()) == b"10.24.0.11"


@pytest.mark.parametrize("name", ["alb", "auto"])
def test_an_alb_line_cut_after_the_user_agent_is_missing_fields_not_a_visit(tmp_path, name) -> None:
    """The docs' HTTP entry cut right after ``"curl/7.46.0"``: 12 of its 25 fields are gone."""
    whole = (LOGS / "aws_alb_docs.log").read_text(encoding="utf-8").splitlines()[0]
    cut = whole[: whole.index('"curl/7.46.0"') + len('"curl/7.46.0"')]
    log = tmp_path / "alb.log"
    log.write_text(whole + "\n" + cut + "\n", encoding="utf-8")
    counts, _ = parse_file(log, LogSettings(format=name))
    assert counts == {"lines": 2, "ok": 1, "missing_fields": 1}


def test_w3c_directives_are_skipped_not_malformed_in_replay_and_logs_check(tmp_path, capsys) -> None:
    """lnav's IIS 8.5 excerpt: 40 directive lines (#Software, #Version, #Date, #Fields) and 29
    requests; one request line broken by us makes exactly one malformed line."""
    lines = (LOGS / "lnav_iis85_excerpt.log").read_text(encoding="utf-8").splitlines()
    broken = next(n for n, line in enumerate(lines) if not line.startswith("#"))
    lines[broken] = lines[broken].split(" ")[0] + " 10:00:00"
    log = tmp_path / "iis.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    arguments = ["replay", str(log), "--accounts", str(tmp_path / "accounts.csv")]
    assert main([*arguments, "--db", f"sqlite:///{tmp_path / 'r.sqlite'}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("行数 69  解析 28  不正 1") for line in out), out
    assert "  読み飛ばした行：コメント行 40" in out
    assert main(["logs", "check", "--locale", "en", str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("lines 69  parsed 28 (96.5 % of 29 lines") and line.endswith("malformed 1") for line in out
    )
    assert "skipped (no data): comments 40" in out


def test_an_unknown_log_format_in_the_config_names_the_file_and_the_key(tmp_path, capsys) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[log]\nformat = "isito"\n', encoding="utf-8")
    log = tmp_path / "x.log"
    log.write_text("x\n", encoding="utf-8")
    assert main(["logs", "check", "--locale", "en", str(log), "--config", str(config)]) == 2
    assert capsys.readouterr().err.startswith(f"revisit: {config}: log.format: 'isito' unknown; one of auto, combined,")
