"""Logs, health endpoints and resolver failures: what an SRE relies on when something is wrong."""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from ipaddress import ip_address

import pytest
from prometheus_client import CollectorRegistry, Counter

from revisit.app import all_secret_sources
from revisit.core.config import load_settings
from revisit.core.errors import BadInput
from revisit.core.logs import configure_logging, mask_address_text
from revisit.core.metrics import RevisitMetrics
from revisit.core.organization import Organization, OrgKind
from revisit.endpoints import ServiceEndpoints
from revisit.enrichment.resolve import ResolverChain


@pytest.fixture
def captured_logs():
    """Configures logging into a buffer and gives the parsed JSON lines (conftest restores the root
    logger after the test)."""
    buffer = io.StringIO()

    def configure(**environment: str):
        settings = load_settings(None, {"REVISIT_LOGGING__FORMAT": "json", **environment})
        configure_logging(settings, stream=buffer, secret_sources=all_secret_sources(settings))
        return lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]

    return configure


def test_log_lines_are_json_with_an_event_id_and_context(captured_logs) -> None:
    lines = captured_logs()
    log = logging.getLogger("revisit.sender")
    log.warning("alert %s via %s: given up", "a-1", "slack", extra={"alert_id": "a-1", "channel": "slack"})
    log.warning("second")
    first, second = lines()
    assert first["event"] == "alert a-1 via slack: given up" and first["level"] == "warning"
    assert first["logger"] == "revisit.sender" and first["time"].endswith("Z")
    assert (first["alert_id"], first["channel"]) == ("a-1", "slack")
    assert len(first["event_id"]) == 32 and first["event_id"] != second["event_id"]


def test_library_internals_warn_only_when_debugging(captured_logs) -> None:
    """kafka-python's slow-task notes and mode's timer overlaps are left out; a library's own
    warnings are not."""
    lines = captured_logs()
    logging.getLogger("kafka.net.selector").warning("Task ran for 0.113s (>0.100s threshold)")
    logging.getLogger("mode.timers").warning("Timer store_pending_rows is overlapping")
    logging.getLogger("kafka.producer.sender").warning("broker refused a batch")
    assert [line["event"] for line in lines()] == ["broker refused a batch"]
    debugging = captured_logs(REVISIT_LOGGING__LIBRARY_LEVEL="debug", REVISIT_LOGGING__LEVEL="debug")  # same buffer
    logging.getLogger("mode.timers").warning("Timer store_pending_rows is overlapping")
    assert [line["event"] for line in debugging()] == [
        "broker refused a batch",
        "Timer store_pending_rows is overlapping",
    ]


def test_secrets_never_reach_the_log(captured_logs, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REVISIT_SLACK_BOT_TOKEN", "xoxb-1111-secret-token")
    password_file = tmp_path / "smtp-password"
    password_file.write_text("hunter2-smtp\n", encoding="utf-8")
    lines = captured_logs(
        REVISIT_DELIVERY__EMAIL__PASSWORD_FILE=str(password_file),
        REVISIT_DATABASE_URL="postgresql+psycopg://revisit:db-pass-42@db/revisit",
    )
    log = logging.getLogger("slack_sdk")
    log.warning("POST with Authorization: Bearer xoxb-1111-secret-token failed")
    log.warning("login with hunter2-smtp refused; database postgresql+psycopg://revisit:db-pass-42@db/revisit")
    log.warning("connecting", extra={"password": "anything", "api_key": "k-123456"})
    text = json.dumps(lines())
    for secret in ("xoxb-1111-secret-token", "hunter2-smtp", "db-pass-42", "anything", "k-123456"):
        assert secret not in text
    assert text.count("***") == 5


def test_privacy_mode_masks_addresses_in_logs(captured_logs) -> None:
    lines = captured_logs(REVISIT_PRIVACY__ENABLED="true")
    logging.getLogger("revisit.worker").warning(
        "visitor 203.0.113.77 and 2001:db8:1234:5678::1 via ::ffff:198.51.100.9 at 12:30:45, version 4.1.1"
    )
    assert lines()[0]["event"] == (
        "visitor 203.0.113.0/24 and 2001:db8:1234::/48 via 198.51.100.0/24 at 12:30:45, version 4.1.1"
    )


def test_without_privacy_mode_addresses_stay(captured_logs) -> None:
    lines = captured_logs()
    logging.getLogger("revisit.worker").warning("visitor 203.0.113.77")
    assert lines()[0]["event"] == "visitor 203.0.113.77"


@pytest.mark.parametrize(
    "text, masked",
    [
        ("999.1.1.1", "999.1.1.1"),  # not an address
        ("fe80::1%eth0 ok", "fe80::/48 ok"),
        ("[::1]:443", "[::/48]:443"),
        ("10.0.0.1:8080", "10.0.0.0/24:8080"),
        ("no address here", "no address here"),
    ],
)
def test_address_masking_edge_cases(text: str, masked: str) -> None:
    assert mask_address_text(text) == masked


def test_a_closed_choice_names_the_key_and_the_choices() -> None:
    with pytest.raises(
        BadInput,
        match=r"REVISIT_LOGGING__FORMAT: logging.format: expected one of 'auto', 'json', "
        r"'console', got 'xml'",
    ):
        load_settings(None, {"REVISIT_LOGGING__FORMAT": "xml"})


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_endpoints_answer_health_readiness_and_metrics() -> None:
    registry = CollectorRegistry()
    Counter("revisit_example_total", "An example.", registry=registry).inc(3)
    state = {"database": "database unavailable: connection refused"}
    endpoints = ServiceEndpoints(
        "127.0.0.1", 0, registry, {"database": lambda: state["database"], "broken": lambda: 1 / 0, "fine": lambda: None}
    ).start()
    try:
        assert fetch(endpoints.port, "/healthz") == (200, '{"status": "ok"}')
        status, body = fetch(endpoints.port, "/readyz")
        assert status == 503 and json.loads(body) == {
            "status": "not ready",
            "checks": {
                "database": "database unavailable: connection refused",
                "broken": "ZeroDivisionError: division by zero",
                "fine": "ok",
            },
        }
        assert "revisit_example_total 3.0" in fetch(endpoints.port, "/metrics")[1]
        assert fetch(endpoints.port, "/nothing")[0] == 404
    finally:
        endpoints.stop()
    endpoints = ServiceEndpoints("127.0.0.1", 0, registry, {"database": lambda: None}).start()
    try:
        assert fetch(endpoints.port, "/readyz") == (200, '{"status": "ready", "checks": {"database": "ok"}}')
    finally:
        endpoints.stop()


class Failing:
    name = "flaky"

    def resolve(self, address):
        raise OSError("database file vanished")


class Answering:
    name = "maxmind"

    def resolve(self, address):
        return Organization(name="Example K.K.", kind=OrgKind.BUSINESS, source=self.name, confidence=0.8)


def test_a_failing_resolver_is_counted_and_the_next_one_answers(caplog) -> None:
    metrics = RevisitMetrics.create()
    chain = ResolverChain([Failing(), Answering()], metrics.observe_resolution)
    with caplog.at_level(logging.WARNING, logger="revisit.resolve"):
        organization = chain.resolve_organization(ip_address("192.0.2.1"))
    assert organization is not None and organization.name == "Example K.K."
    value = metrics.registry.get_sample_value
    assert value("revisit_resolutions_total", {"resolver": "flaky", "result": "error"}) == 1
    assert value("revisit_resolutions_total", {"resolver": "maxmind", "result": "answer"}) == 1
    assert value("revisit_resolution_duration_seconds_count", {"resolver": "flaky"}) == 1
    assert "resolver flaky failed" in caplog.text and "database file vanished" in caplog.text


def test_database_passwords_in_any_url_are_masked_in_the_log(captured_logs) -> None:
    """Not only the configured database's password: a URL from ``--db`` or an error message, with
    the password in the userinfo or in the query string."""
    lines = captured_logs(REVISIT_DATABASE_URL="postgresql+psycopg://revisit@db/revisit?password=configured-77")
    log = logging.getLogger("revisit.storage")
    log.warning("cannot reach postgresql+psycopg://ops:other-db-pass@db2:5432/revisit")
    log.warning("cannot reach postgresql://ops@db3/revisit?sslmode=require&password=query-pass-1&x=1: refused")
    log.warning("dsn host=db4 password=kw-pass-9 dbname=revisit", extra={"url": "mysql://u:extra-pw-3@h/d"})
    log.warning("the configured one: configured-77")
    first, second, third, fourth = lines()
    assert first["event"] == "cannot reach postgresql+psycopg://ops:***@db2:5432/revisit"
    assert second["event"] == "cannot reach postgresql://ops@db3/revisit?sslmode=require&password=***&x=1: refused"
    assert (third["event"], third["url"]) == ("dsn host=db4 password=*** dbname=revisit", "mysql://u:***@h/d")
    assert fourth["event"] == "the configured one: ***"


def test_uvicorns_coloured_copy_of_its_messages_stays_out_of_the_json_log(captured_logs) -> None:
    import asyncio

    import uvicorn

    async def empty_app(scope, receive, send) -> None:
        return None

    lines = captured_logs()
    server = uvicorn.Server(uvicorn.Config(empty_app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))

    async def start_and_stop() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        server.should_exit = True
        await serving

    asyncio.run(start_and_stop())
    logged = [line for line in lines() if line["logger"] == "uvicorn.error"]
    assert [line["event"].split(" [")[0] for line in logged if "server process" in line["event"]] == [
        "Started server process",
        "Finished server process",
    ]
    assert any(line["event"].startswith("Uvicorn running on http://127.0.0.1:") for line in logged)
    assert all("color_message" not in line and "\x1b[" not in json.dumps(line) for line in logged)
