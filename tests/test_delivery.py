"""Alert delivery against real protocol peers on loopback: an HTTP server standing in for Slack's
webhook and Web API and for a CRM webhook, and an aiosmtpd SMTP server. No client library is mocked."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from revisit.alerts.channels import remote_channels
from revisit.alerts.sender import DeliverySender
from revisit.core.config import settings_from_mapping
from revisit.demo import sample_alert
from revisit.storage.models import DeliveryRow, SnoozeRow
from revisit.storage.outbox import AlertOutbox
from revisit.storage.store import PendingRows, Store
from tests.shared_fixtures import Mailbox

HOSTILE_PATH = "/<!channel>?q=<script>alert(1)</script>&x=<@U0BOSS>"
TOKEN = "xoxb-secret-token-never-logged"


class Recorder(BaseHTTPRequestHandler):
    """Records every request; answers from ``server.answers`` (FIFO) or 200."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            status, headers, answer = server.answers.pop(0) if server.answers else (200, {}, None)
            server.requests.append((self.path, dict(self.headers), body, status))
        if answer is None:
            answer = (
                json.dumps({"ok": True, "channel": "C1", "ts": f"{len(server.requests)}.0001"})
                if self.path.startswith("/api/")
                else "ok"
            )
        payload = answer.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json" if self.path.startswith("/api/") else "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def http_peer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.lock, server.answers, server.requests = threading.Lock(), [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings_for(http_peer, smtp_peer, **delivery):
    host, port = http_peer.server_address
    controller, _ = smtp_peer
    base = {
        "default_channels": ["slack", "email", "webhook"],
        "history_url": "https://revisit.test/a/{account_id}",
        "backoff_seconds": 5.0,
        "group_wait_seconds": 0.0,
        "slack": {"api_url": f"http://{host}:{port}/api/", "channel": "#sales"},
        "email": {
            "host": controller.hostname,
            "port": controller.port,
            "security": "none",
            "sender": "revisit@example.test",
            "fallback_to": "team@example.test",
        },
    }
    base.update(delivery)
    return settings_from_mapping({"delivery": base})


@pytest.fixture
def secrets(http_peer, monkeypatch):
    host, port = http_peer.server_address
    monkeypatch.setenv("REVISIT_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("REVISIT_WEBHOOK_URL", f"http://{host}:{port}/crm")
    monkeypatch.setenv("REVISIT_WEBHOOK_SECRET", "s3cret")


def store_alert(db_url, settings, owner="owner@example.test", **changes):
    store = Store(db_url, delivery=settings.delivery)
    alert = sample_alert(settings, owner)
    alert = replace(alert, pages=("/", HOSTILE_PATH, "/pricing"), page_times=alert.page_times[:3], **changes)
    assert store.write_rows(PendingRows([], {}, [alert], {})) == [alert]
    return store, alert


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_one_alert_reaches_slack_email_and_webhook_once_each_escaped(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer)
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery)
    report = sender.run_once()
    assert dict(report.outcomes) == {("slack", "sent"): 1, ("email", "sent"): 1, ("webhook", "sent"): 1}
    assert sender.run_once().total() == 0  # nothing twice
    (slack_path, slack_headers, slack_body, _), (crm_path, crm_headers, crm_body, _) = http_peer.requests
    assert slack_path == "/api/chat.postMessage" and slack_headers["Authorization"] == f"Bearer {TOKEN}"
    posted = json.loads(slack_body)
    assert posted["channel"] == "#sales"
    rendered = json.dumps(posted["blocks"], ensure_ascii=False)
    assert "<!channel>" not in rendered and "<@U0BOSS>" not in rendered and "<script>" not in rendered
    assert "&lt;!channel&gt;" in rendered and "株式会社サンプル商事" in rendered
    assert "https://revisit.test/a/SAMPLE-0001" in rendered
    # The webhook: signed over timestamp.body, keyed by alert id.
    assert crm_path == "/crm" and crm_headers["X-Revisit-Alert-Id"] == alert.alert_id
    expected = hmac.new(
        b"s3cret", crm_headers["X-Revisit-Timestamp"].encode() + b"." + crm_body, hashlib.sha256
    ).hexdigest()
    assert crm_headers["X-Revisit-Signature"] == f"sha256={expected}"
    assert json.loads(crm_body)["alert"]["pages"][1] == HOSTILE_PATH
    # The e-mail: Japanese subject decoded intact, HTML escaped, plain text alongside.
    (message,) = smtp_peer[1].messages
    assert message["Subject"] == f"[revisit] {alert.account_name}が再訪しました"
    assert message["To"].addresses[0].addr_spec == "owner@example.test"
    html_part = message.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert HOSTILE_PATH in message.get_body(("plain",)).get_content()
    assert all(status == "sent" for _, _, status, _, _ in AlertOutbox(store).statuses())
    store.close()


def test_rate_limits_and_outages_are_retried_with_backoff(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack", "webhook"])
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    http_peer.answers += [
        (429, {"Retry-After": "30"}, json.dumps({"ok": False, "error": "ratelimited"})),
        (503, {}, "down"),
    ]
    assert dict(sender.run_once().outcomes) == {("slack", "retry"): 1, ("webhook", "retry"): 1}
    assert sender.run_once().total() == 0  # not due yet
    clock.now += timedelta(seconds=6)  # the webhook's backoff (5 s) has passed, Slack's Retry-After not
    assert dict(sender.run_once().outcomes) == {("webhook", "sent"): 1}
    clock.now += timedelta(seconds=30)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}
    rows = {channel: (status, attempts) for _, channel, status, attempts, _ in AlertOutbox(store).statuses()}
    assert rows == {"slack": ("sent", 2), "webhook": ("sent", 2)}
    store.close()


def test_a_revoked_token_is_dead_with_its_reason_and_the_secret_stays_out(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    http_peer.answers.append((200, {}, json.dumps({"ok": False, "error": "token_revoked"})))
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery)
    assert dict(sender.run_once().outcomes) == {("slack", "dead"): 1}
    ((_, _, status, attempts, error),) = AlertOutbox(store).statuses()
    assert (status, attempts, error) == ("dead", 1, "slack: token_revoked")
    assert sender.run_once().total() == 0
    store.close()


def test_an_unreachable_smtp_server_is_retried_then_given_up(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["email"], max_attempts=2)
    settings = replace(settings, delivery=replace(settings.delivery, email=replace(settings.delivery.email, port=1)))
    store, _ = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("email", "retry"): 1}
    clock.now += timedelta(minutes=5)
    assert dict(sender.run_once().outcomes) == {("email", "dead"): 1}
    ((_, _, status, attempts, error),) = AlertOutbox(store).statuses()
    assert status == "dead" and attempts == 2 and "127.0.0.1:1" in error
    store.close()


def closed_all_day(now: datetime) -> dict[str, object]:
    """Business hours 09:00-18:00 UTC on every weekday but today's: quiet all day today."""
    return {
        "enabled": True,
        "timezone": "UTC",
        "start": "09:00",
        "end": "18:00",
        "weekdays": [d for d in range(1, 8) if d != now.isoweekday()],
    }


def test_quiet_hours_defer_and_never_drop(tmp_path, http_peer, smtp_peer, secrets):
    now = datetime.now(UTC)
    settings = settings_for(
        http_peer,
        smtp_peer,
        default_channels=["slack"],
        business_hours=closed_all_day(now),
    )
    store, _ = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert sender.run_once().total() == 0 and http_peer.requests == []
    clock.now = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=9)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}
    store.close()


def test_quiet_hours_hold_people_not_the_webhook_and_a_held_alert_keeps_its_opening_line_in_the_digest(
    tmp_path, http_peer, smtp_peer, secrets
):
    """A tier A alert at night: the CRM's webhook gets it at once (quiet hours are for people),
    Slack at the opening, and the e-mail, in the morning digest, still carries the opening line."""
    now = datetime.now(UTC)
    settings = settings_for(
        http_peer,
        smtp_peer,
        digest_time="08:30",
        business_hours=closed_all_day(now),
    )
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("webhook", "sent"): 1}
    ((path, _, _, _),) = http_peer.requests
    assert path == "/crm"
    clock.now = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=9)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1, ("digest", "sent"): 1}
    store.close()
    (digest,) = smtp_peer[1].messages
    lines = digest.get_body(("plain",)).get_content().splitlines()
    assert f"書き出し例：{alert.opening_line}" in lines
    assert html.escape(f"書き出し例：{alert.opening_line}") in digest.get_body(("html",)).get_content()


def test_a_snoozed_account_gets_no_delivery_and_the_record_says_why(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["webhook"])
    db_url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    store = Store(db_url, delivery=settings.delivery)
    AlertOutbox(store).snooze("SAMPLE-0001", 30, "negotiating through the agency", "sato")
    store.close()
    store, _ = store_alert(db_url, settings)
    assert (
        DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once().total()
        == 0
    )
    ((_, _, status, _, note),) = AlertOutbox(store).statuses()
    assert status == "suppressed" and "by sato: negotiating through the agency" in note
    store.close()


def test_cli_sends_a_test_alert_and_snoozes(tmp_path, http_peer, smtp_peer, secrets, capsys):
    from revisit.cli import main

    config = tmp_path / "revisit.toml"
    config.write_text('[delivery.webhook]\nurl_env = "REVISIT_WEBHOOK_URL"\n', encoding="utf-8")
    assert main(["alerts", "test", "--channel", "webhook", "--config", str(config)]) == 0
    ((path, headers, body, _),) = http_peer.requests
    assert path == "/crm" and json.loads(body)["alert"]["account_id"] == "SAMPLE-0001"
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    # an id no list held is a typo or the wrong database: refused, nothing snoozed (it said "no
    # deliveries until ..." and silenced nothing)
    assert main(["alerts", "snooze", "A-1", "--days", "14", "--reason", "x", "--db", db]) == 2
    assert "A-1：このデータベースにない取引先です" in capsys.readouterr().err  # alerts.locale: Japanese by default
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name\nA-1,株式会社あおば工業\n", encoding="utf-8")
    assert main(["accounts", "import", str(accounts), "--db", db]) == 0
    for days in ("0", "0.0001", "367"):  # 100000 days was taken (shown as a date without its year), 0.0001 too
        assert main(["alerts", "snooze", "A-1", "--days", days, "--reason", "x", "--db", db]) == 2
        assert capsys.readouterr().err == "revisit: --days には 1〜366 の日数を指定してください\n"
    assert main(["alerts", "snooze", "A-1", "--days", "14", "--reason", " ", "--db", db]) == 2
    assert capsys.readouterr().err == "revisit: --reason に配信を止める理由を書いてください\n"
    assert main(["alerts", "snooze", "A-1", "--days", "14", "--reason", "busy season", "--by", "kato", "--db", db]) == 0
    said = capsys.readouterr().out.splitlines(keepends=True)[-1]
    store = Store(db)
    try:
        with store.engine.connect() as connection:
            (until,) = connection.execute(select(SnoozeRow.until)).scalars()
    finally:
        store.close()
    # the time as every command shows it to people: in business hours' zone, by its short name
    tokyo = until.replace(tzinfo=until.tzinfo or UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert said == f"A-1：{tokyo:%Y-%m-%d %H:%M} JST まで配信しません（busy season）\n"
    http_peer.answers.append((410, {}, "gone"))
    assert main(["alerts", "test", "--channel", "webhook", "--config", str(config)]) == 1
    assert "webhook: HTTP 410" in capsys.readouterr().err


def test_without_a_team_channel_the_owner_gets_a_direct_message(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    settings = replace(
        settings, delivery=replace(settings.delivery, slack=replace(settings.delivery.slack, channel=""))
    )
    store, _ = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings, owner="U0777ABCD")
    assert dict(
        DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once().outcomes
    ) == {("slack", "sent"): 1}
    ((path, _, body, _),) = http_peer.requests
    posted = json.loads(body)
    assert posted["channel"] == "U0777ABCD" and not posted["text"].startswith("<@")
    store.close()


def test_tier_c_and_quiet_hour_emails_arrive_in_one_daily_digest_per_owner(tmp_path, http_peer, smtp_peer, secrets):
    now = datetime.now(UTC)
    closed_today = [d for d in range(1, 8) if d != now.isoweekday()]
    settings = settings_for(
        http_peer,
        smtp_peer,
        default_channels=["slack", "email"],
        digest_time="08:30",
        business_hours={"enabled": True, "timezone": "UTC", "start": "09:00", "end": "18:00", "weekdays": closed_today},
    )
    db_url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    store, held = store_alert(db_url, settings)  # tier A, but outside business hours
    light = replace(
        sample_alert(settings, "owner@example.test"),
        alert_id="c0000000-0000-0000-0000-00000000000c",
        tier=type(held.tier)("C"),
        delivery="digest",
        account_name="有限会社ライトタッチ",
    )
    assert store.write_rows(PendingRows([], {}, [light], {})) == [light]
    planned = {(alert_id, channel) for alert_id, channel, *_ in AlertOutbox(store).statuses()}
    assert planned == {(held.alert_id, "slack"), (held.alert_id, "digest"), (light.alert_id, "digest")}
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert sender.run_once().total() == 0  # nothing before the digest time
    clock.now = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=9)
    assert dict(sender.run_once().outcomes) == {("digest", "sent"): 2, ("slack", "sent"): 1}
    (digest,) = smtp_peer[1].messages  # both alerts, one e-mail, to their owner
    assert digest["To"] == "owner@example.test" and "2" in digest["Subject"]
    text = digest.get_body(("plain",)).get_content()
    assert "有限会社ライトタッチ" in text and held.account_name in text
    assert "&lt;!channel&gt;" in digest.get_body(("html",)).get_content()
    store.close()


def test_a_sender_killed_mid_batch_delivers_every_alert_exactly_once_after_restart(
    tmp_path, http_peer, smtp_peer, secrets, monkeypatch
):
    import os
    import signal
    import subprocess
    import sys

    settings = settings_for(http_peer, smtp_peer, default_channels=["webhook"])
    db_url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    store, first = store_alert(db_url, settings)
    ids = [first.alert_id] + [f"{n:08d}-0000-0000-0000-000000000000" for n in range(1, 6)]
    store.write_rows(PendingRows([], {}, [replace(first, alert_id=i) for i in ids[1:]], {}))
    store.close()
    hold = threading.Event()  # the third request is received but never answered: the kill lands there
    released = threading.Event()
    answered: list[str] = []
    original = Recorder.do_POST

    def do_post(handler):
        if len(http_peer.requests) == 2 and not hold.is_set():
            hold.set()
            handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
            http_peer.requests.append((handler.path, dict(handler.headers), b"", 0))
            released.wait(timeout=30)  # until the sender has been killed
            return
        original(handler)
        answered.append(handler.headers["X-Revisit-Alert-Id"])

    monkeypatch.setattr(Recorder, "do_POST", do_post)
    config = tmp_path / "revisit.toml"
    config.write_text('[delivery]\ndefault_channels = ["webhook"]\npoll_seconds = 0.2\n', encoding="utf-8")
    command = [sys.executable, "-m", "revisit", "sender", "--config", str(config), "--db", db_url]
    sender = subprocess.Popen(command, env=os.environ.copy())
    assert hold.wait(timeout=60), "the sender never reached the third alert"
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=30)
    released.set()
    assert len(answered) == 2
    assert subprocess.run(command + ["--once"], env=os.environ.copy(), timeout=120).returncode == 0
    assert sorted(answered) == sorted(ids)  # each alert accepted exactly once
    store = Store(db_url)
    assert {status for _, _, status, _, _ in AlertOutbox(store).statuses()} == {"sent"}
    store.close()


def test_more_activity_becomes_one_reply_in_the_alerts_slack_thread(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"], thread_reply_delay_seconds=60.0)
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}
    first = json.loads(http_peer.requests[0][2])
    assert "thread_ts" not in first
    for extra in ("/contact", "/contact/thanks"):  # two more pages: still one reply
        alert = replace(alert, pages=alert.pages + (extra,), score=alert.score + 5)
        store.write_rows(PendingRows([], {}, [], {alert.alert_id: alert}))
    assert sender.run_once().total() == 0  # the reply waits, gathering the activity
    clock.now += timedelta(seconds=61)
    assert dict(sender.run_once().outcomes) == {("slack-thread", "sent"): 1}
    reply = json.loads(http_peer.requests[1][2])
    assert (reply["channel"], reply["thread_ts"]) == ("C1", "1.0001")  # the first message's ts
    assert "/contact/thanks" in json.dumps(reply["blocks"]) and str(alert.score) in json.dumps(reply["blocks"])
    assert len(http_peer.requests) == 2
    store.close()


def test_routes_choose_channels_and_business_hours_follow_the_owners_time_zone(tmp_path, http_peer, smtp_peer, secrets):
    from revisit.alerts.routing import plan_deliveries

    settings = settings_for(
        http_peer,
        smtp_peer,
        default_channels=["email"],
        routes=[
            {"tiers": ["A"], "min_score": 90, "channels": ["slack", "webhook"]},
            {"owners": ["vip@example.test"], "channels": ["slack"]},
            {"industries": ["sample"], "channels": ["slack"]},
        ],
        business_hours={
            "enabled": True,
            "timezone": "Asia/Tokyo",
            "start": "09:00",
            "end": "18:00",
            "weekdays": [1, 2, 3, 4, 5],
        },
    )
    alert = sample_alert(settings, "owner@example.test")  # tier A, score 85, industry "sample"
    monday_noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo, 07:00 in New York
    assert [(p.channel, p.route) for p in plan_deliveries(alert, settings.delivery, monday_noon_utc)] == [
        ("slack", "route 3")
    ]
    (tokyo,) = plan_deliveries(alert, settings.delivery, monday_noon_utc)
    assert tokyo.not_before == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # Tuesday 09:00 in Tokyo
    new_york = replace(alert, owner=replace(alert.owner, timezone="America/New_York"))
    (planned,) = plan_deliveries(new_york, settings.delivery, monday_noon_utc)
    assert planned.not_before == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
    vip = replace(alert, owner=replace(alert.owner, email="VIP@example.test"))
    assert [(p.channel, p.route) for p in plan_deliveries(vip, settings.delivery, monday_noon_utc)] == [
        ("slack", "route 2")
    ]
    top = replace(alert, score=95)  # the CRM's webhook is no person: it gets the alert at once
    assert [(p.channel, p.not_before) for p in plan_deliveries(top, settings.delivery, monday_noon_utc)] == [
        ("slack", datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
        ("webhook", monday_noon_utc),
    ]
    nowhere = replace(alert, industry="other")
    assert [p.channel for p in plan_deliveries(nowhere, settings.delivery, monday_noon_utc)] == [
        "digest"
    ]  # email, held


def test_a_slack_incoming_webhook_gets_the_blocks_and_its_429_is_honoured(tmp_path, http_peer, smtp_peer, monkeypatch):
    host, port = http_peer.server_address
    monkeypatch.delenv("REVISIT_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("REVISIT_SLACK_WEBHOOK_URL", f"http://{host}:{port}/services/T0/B0/secret")
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    http_peer.answers.append((429, {"Retry-After": "12"}, "rate_limited"))
    assert dict(sender.run_once().outcomes) == {("slack", "retry"): 1}
    clock.now += timedelta(seconds=11)
    assert sender.run_once().total() == 0
    clock.now += timedelta(seconds=2)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}
    path, _, body, _ = http_peer.requests[-1]
    assert path == "/services/T0/B0/secret"
    posted = json.loads(body)
    assert posted["blocks"][0]["text"]["text"].startswith("株式会社サンプル商事")
    assert f"{alert.page_times[0]:%H:%M}" in json.dumps(posted["blocks"])
    ((_, _, status, attempts, error),) = AlertOutbox(store).statuses()
    assert (status, attempts, error) == ("sent", 2, "")
    store.close()


def test_a_slack_incoming_webhook_mentions_the_owner_in_the_text_and_in_the_message(
    tmp_path, http_peer, smtp_peer, monkeypatch
):
    """The webhook posts to its one channel: the owner with a Slack id is mentioned there, as the
    bot-token path does in a team channel (Slack renders ``<@U…>`` from an incoming webhook too)."""
    host, port = http_peer.server_address
    monkeypatch.delenv("REVISIT_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("REVISIT_SLACK_WEBHOOK_URL", f"http://{host}:{port}/services/T0/B0/secret")
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings, owner="U0TANAKA1")
    assert dict(
        DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once().outcomes
    ) == {("slack", "sent"): 1}
    store.close()
    ((path, _, body, _),) = http_peer.requests
    posted = json.loads(body)
    assert posted["text"] == "<@U0TANAKA1> 株式会社サンプル商事 (revisit test)が再訪しました"
    assert posted["blocks"][1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "担当：<@U0TANAKA1>"}]}


def test_email_over_starttls_with_auth_and_a_wrong_password_is_retried_without_leaking_it(
    tmp_path, http_peer, monkeypatch
):
    import ssl
    import subprocess

    from aiosmtpd.smtp import AuthResult, LoginPassword

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (bytes(auth_data.login), bytes(auth_data.password)) == (
            b"revisit",
            b"pa55",
        )
        return AuthResult(success=ok)

    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        settings = settings_from_mapping(
            {
                "delivery": {
                    "default_channels": ["email"],
                    "group_wait_seconds": 0.0,
                    "backoff_seconds": 5.0,
                    "email": {
                        "host": "127.0.0.1",
                        "port": port,
                        "security": "starttls",
                        "username": "revisit",
                        "ca_file": str(cert),
                        "sender": "revisit@example.test",
                    },
                }
            }
        )
        store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
        clock = Clock()
        sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
        monkeypatch.setenv("REVISIT_SMTP_PASSWORD", "wrong-pa55word")
        assert dict(sender.run_once().outcomes) == {("email", "retry"): 1}
        ((_, _, status, _, error),) = AlertOutbox(store).statuses()
        # smtplib tries LOGIN after PLAIN is refused, and this server hangs up: either way a retry.
        assert status == "pending" and error.startswith("email: ") and "pa55" not in error
        monkeypatch.setenv("REVISIT_SMTP_PASSWORD", "pa55")  # an operator fixed the secret
        clock.now += timedelta(seconds=6)
        assert dict(sender.run_once().outcomes) == {("email", "sent"): 1}
        (message,) = mailbox.messages
        assert message["X-Revisit-Alert-Id"] == alert.alert_id
        store.close()
    finally:
        controller.stop()


def test_names_with_line_breaks_cannot_add_mail_headers(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["email"])
    db_url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    store, _ = store_alert(db_url, settings, account_name="Evil Corp\r\nBcc: everyone@example.test")
    assert dict(
        DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once().outcomes
    ) == {("email", "sent"): 1}
    (message,) = smtp_peer[1].messages
    assert message["Bcc"] is None and "\n" not in message["Subject"]
    assert message["Subject"].startswith("[revisit] Evil Corp  Bcc: everyone@example.test")
    store.close()


def test_a_later_visit_inside_the_cooldown_is_a_thread_reply_not_a_new_alert(tmp_path, http_peer, smtp_peer, secrets):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"], thread_reply_delay_seconds=0.0)
    store, alert = store_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}

    def hit(minutes: float, path: str) -> dict:
        at = (alert.last_seen + timedelta(minutes=minutes)).astimezone(UTC)  # hit rows are stored in UTC
        return {
            "hit_key": f"later:{minutes}",
            "account_id": alert.account_id,
            "session_id": "later",
            "occurred_at": at,
            "client_ip": "203.0.113.9",
            "method": "GET",
            "path": path,
            "query": "",
            "status": 200,
            "referrer": "",
            "user_agent": "ua",
            "page_label": None,
            "match_method": "domain",
            "organization_name": "Sample",
        }

    store.write_rows(PendingRows([hit(-1, "/before-the-alert")], {}, [], {}))  # part of the alerted visit
    assert sender.run_once().total() == 0
    store.write_rows(PendingRows([hit(180, "/pricing"), hit(182, "/<!here>")], {}, [], {}))  # 3 hours later
    assert dict(sender.run_once().outcomes) == {("slack-thread", "sent"): 1}
    reply = json.loads(http_peer.requests[-1][2])
    assert reply["thread_ts"] == "1.0001"
    rendered = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "/pricing" in rendered and "&lt;!here&gt;" in rendered and "<!here>" not in rendered
    assert "/before-the-alert" not in rendered and ": 2" in rendered
    store.write_rows(PendingRows([hit(60 * 30, "/much-later")], {}, [], {}))  # past thread_reply_hours: silence
    assert sender.run_once().total() == 0
    store.close()


def test_a_csv_owner_slack_that_is_no_member_id_is_refused_and_never_mentioned(
    tmp_path, http_peer, smtp_peer, secrets, capsys
):
    """At import the list is refused, naming file, line and column; an id that reached the
    database before it was checked is never put into a mention nor used as a DM channel."""
    from revisit.cli import main

    url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name,owner_slack\nC-1,Sakura,<!channel>\n", encoding="utf-8")
    assert main(["accounts", "import", str(accounts), "--db", url]) == 2
    assert capsys.readouterr().err == (
        f"revisit: {accounts}:2:3: owner_slack：'<!channel>' は Slack のメンバー ID ではありません"
        "（U か W に英大文字・数字 8 文字以上：U024BE7LH）\n"  # in alerts.locale, as accounts lint says it
    )
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    store, _ = store_alert(url, settings, owner="U123> <!here")
    DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once()
    store.close()
    store, _ = store_alert(f"sqlite:///{tmp_path / 'e.sqlite'}", settings, owner="U123> <!here")
    delivery = replace(settings.delivery, slack=replace(settings.delivery.slack, channel="", fallback_channel="#team"))
    DeliverySender(AlertOutbox(store), remote_channels(delivery), delivery).run_once()
    store.close()
    to_sales, to_team = (json.loads(body) for _, _, body, _ in http_peer.requests)
    assert (to_sales["channel"], to_team["channel"]) == ("#sales", "#team")
    for posted in (to_sales, to_team):
        assert posted["text"] == "株式会社サンプル商事 (revisit test)が再訪しました"
        assert "<!here" not in json.dumps(posted, ensure_ascii=False)


HOSTILE_ACCOUNT_ID = "営業 A?x#1<!here>"
BACKTICK_PATH = "/a`<!here>`b>c&d"


def hostile_alert(db_url, settings):
    store = Store(db_url, delivery=settings.delivery)
    alert = sample_alert(settings, "U024BE7LH")
    alert = replace(
        alert, account_id=HOSTILE_ACCOUNT_ID, pages=("/", BACKTICK_PATH, "/pricing"), page_times=alert.page_times[:3]
    )
    assert store.write_rows(PendingRows([], {}, [alert], {})) == [alert]
    return store, alert


def test_visitor_paths_and_account_ids_arrive_escaped_unfurled_never_and_the_link_encoded(
    tmp_path, http_peer, smtp_peer, secrets
):
    """Through the loopback Slack API: the alert and its thread reply keep every path inside its
    code span, escape ``<``, ``>``, ``&``, ask Slack not to unfurl, and the history button's URL
    carries the account id percent-encoded."""
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"], thread_reply_delay_seconds=60.0)
    store, alert = hostile_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1}
    alert = replace(alert, pages=alert.pages + ("/z`<!channel>`",))
    store.write_rows(PendingRows([], {}, [], {alert.alert_id: alert}))
    clock.now += timedelta(seconds=61)
    assert dict(sender.run_once().outcomes) == {("slack-thread", "sent"): 1}
    store.close()
    posted, reply = (json.loads(body) for _, _, body, _ in http_peer.requests)
    times = [f"{at:%H:%M}" for at in alert.page_times]
    assert posted["blocks"][3]["text"]["text"].splitlines()[1:] == [
        f"1. {times[0]} `/`",
        f"2. {times[1]} `/aˋ&lt;!here&gt;ˋb&gt;c&amp;d`",
        f"3. {times[2]} `/pricing`",
    ]
    assert posted["text"] == "<@U024BE7LH> 株式会社サンプル商事 (revisit test)が再訪しました"
    (button,) = posted["blocks"][-1]["elements"]
    assert button["url"] == "https://revisit.test/a/%E5%96%B6%E6%A5%AD%20A%3Fx%231%3C%21here%3E"
    # only the page after what the first message showed
    assert reply["blocks"][0]["text"]["text"].splitlines()[1:] == [
        f"• {alert.last_seen:%m-%d %H:%M} `/zˋ&lt;!channel&gt;ˋ`"
    ]
    for message in (posted, reply):
        assert (message["unfurl_links"], message["unfurl_media"]) == (False, False)


def test_a_slack_incoming_webhook_post_escapes_paths_and_does_not_unfurl(tmp_path, http_peer, smtp_peer, monkeypatch):
    host, port = http_peer.server_address
    monkeypatch.delenv("REVISIT_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("REVISIT_SLACK_WEBHOOK_URL", f"http://{host}:{port}/services/T0/B0/secret")
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"])
    store, alert = hostile_alert(f"sqlite:///{tmp_path / 'd.sqlite'}", settings)
    assert dict(
        DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once().outcomes
    ) == {("slack", "sent"): 1}
    store.close()
    ((path, _, body, _),) = http_peer.requests
    posted = json.loads(body)
    assert path == "/services/T0/B0/secret" and (posted["unfurl_links"], posted["unfurl_media"]) == (False, False)
    assert f"2. {alert.page_times[1]:%H:%M} `/aˋ&lt;!here&gt;ˋb&gt;c&amp;d`" in posted["blocks"][3]["text"]["text"]


JST = timezone(timedelta(hours=9))


def jst_alert(settings):
    """The sample alert as a replay of a +09:00 log makes it: every time in the log's own offset."""
    alert = sample_alert(settings, "owner@example.test")
    return replace(
        alert,
        first_seen=alert.first_seen.astimezone(JST),
        last_seen=alert.last_seen.astimezone(JST),
        page_times=tuple(at.astimezone(JST) for at in alert.page_times),
    )


def test_the_html_part_of_an_alert_mail_carries_the_text_parts_dates_zone_and_headings(
    tmp_path, http_peer, smtp_peer, secrets
):
    """Through the loopback SMTP server: the HTML part says when (date, times and the zone's name,
    as the command line writes it) and has the 書き出し例 and 訪問履歴 headings of the text part."""
    settings = settings_for(http_peer, smtp_peer, default_channels=["email"])
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}", delivery=settings.delivery)
    alert = jst_alert(settings)
    store.write_rows(PendingRows([], {}, [alert], {}))
    DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once()
    store.close()
    (message,) = smtp_peer[1].messages
    first, last = alert.first_seen, alert.last_seen
    span = (
        f"{first:%Y-%m-%d %H:%M} – {last:%H:%M} JST"
        if first.date() == last.date()
        else f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} JST"
    )
    text = message.get_body(("plain",)).get_content().splitlines()
    assert f"閲覧ページ：{span}" in text
    page = message.get_body(("html",)).get_content()
    assert f"<h3>閲覧ページ：{span}</h3><ul><li>{alert.page_times[0]:%H:%M} <code>/</code></li>" in page
    assert f"<h3>書き出し例</h3><blockquote>{alert.opening_line}</blockquote>" in page
    link = "https://revisit.test/a/SAMPLE-0001"
    assert f'<h3>訪問履歴</h3><p><a href="{link}">{link}</a></p>' in page
    assert ["書き出し例", alert.opening_line] == text[text.index("書き出し例") : text.index("書き出し例") + 2]


def stored_hit(alert, at: datetime, path: str) -> dict:
    return {
        "hit_key": f"{alert.account_id}:{at.isoformat()}:{path}",
        "account_id": alert.account_id,
        "session_id": f"s{at:%H}",
        "occurred_at": at.astimezone(UTC),
        "client_ip": "203.0.113.9",
        "method": "GET",
        "path": path,
        "query": "",
        "status": 200,
        "referrer": "",
        "user_agent": "ua",
        "page_label": None,
        "match_method": "domain",
        "organization_name": "Sample",
    }


def reply_paths(request_body: bytes) -> list[str]:
    """The paths a thread reply lists, in order (each sits in a code span)."""
    import re

    return re.findall(r"`([^`]*)`", json.loads(request_body)["blocks"][0]["text"]["text"])


def test_a_comeback_is_one_reply_with_exactly_the_later_pages_and_replaying_it_sends_nothing_more(
    db_url, http_peer, smtp_peer, secrets
):
    """Times of a +09:00 log (SQLite keeps no offset, PostgreSQL does: both compare in UTC); the
    same log replayed, or re-read by a worker, adds no row and no message of any kind."""
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack", "webhook"], thread_reply_delay_seconds=0.0)
    store = Store(db_url, delivery=settings.delivery)
    alert = jst_alert(settings)
    visit = [stored_hit(alert, at, path) for at, path in zip(alert.page_times, alert.pages, strict=True)]
    comeback = [
        stored_hit(alert, alert.last_seen + timedelta(hours=3), "/contact"),
        stored_hit(alert, alert.last_seen + timedelta(hours=3, minutes=2), "/case-studies/kyoto"),
    ]

    def replay() -> None:
        store.write_rows(PendingRows(visit, {}, [alert], {}))
        store.write_rows(PendingRows(comeback, {}, [], {}))

    replay()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery)
    assert dict(sender.run_once().outcomes) == {
        ("slack", "sent"): 1,
        ("webhook", "sent"): 1,
        ("slack-thread", "sent"): 1,
    }
    slack, crm, reply = http_peer.requests
    assert crm[1]["Idempotency-Key"] == f"{alert.alert_id}:webhook"
    assert json.loads(reply[2])["thread_ts"] == "1.0001"
    assert reply_paths(reply[2]) == ["/contact", "/case-studies/kyoto"]
    rows = AlertOutbox(store).statuses()
    for _ in range(2):  # the same log replayed, then re-read by a restarted worker
        replay()
        assert sender.run_once().total() == 0
    assert len(http_peer.requests) == 3 and AlertOutbox(store).statuses() == rows
    # a later comeback is a reply of its own, with only what came after the first reply
    store.write_rows(PendingRows([stored_hit(alert, alert.last_seen + timedelta(hours=5), "/pricing")], {}, [], {}))
    assert dict(sender.run_once().outcomes) == {("slack-thread", "sent"): 1}
    assert reply_paths(http_peer.requests[-1][2]) == ["/pricing"]
    replay()
    assert sender.run_once().total() == 0 and len(http_peer.requests) == 4
    store.close()


def test_a_reply_waits_for_its_first_message_and_then_lists_only_what_that_message_did_not(
    sqlite_url, http_peer, smtp_peer, secrets
):
    settings = settings_for(http_peer, smtp_peer, default_channels=["slack"], thread_reply_delay_seconds=0.0)
    store = Store(sqlite_url, delivery=settings.delivery)
    alert = jst_alert(settings)
    store.write_rows(PendingRows([], {}, [alert], {}))
    with store.engine.begin() as connection:  # the first message is held (quiet hours, a Slack outage)
        connection.execute(update(DeliveryRow).values(not_before=datetime.now(UTC) + timedelta(hours=1)))
    store.write_rows(
        PendingRows([stored_hit(alert, alert.last_seen + timedelta(hours=2), "/seminar/2026")], {}, [], {})
    )
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert sender.run_once().total() == 0
    clock.now += timedelta(hours=1, seconds=1)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 1, ("slack-thread", "sent"): 1}
    first, reply = http_peer.requests
    assert "thread_ts" not in json.loads(first[2]) and reply_paths(reply[2]) == ["/seminar/2026"]
    ((_, _, status, attempts, _), (_, _, reply_status, reply_attempts, _)) = AlertOutbox(store).statuses()
    assert (status, attempts, reply_status, reply_attempts) == ("sent", 1, "sent", 1)  # the wait was no attempt
    store.close()


def test_mail_has_a_date_a_message_id_stable_per_alert_and_digests_reply_to_the_owner(
    tmp_path, http_peer, smtp_peer, secrets
):
    from email.utils import parsedate_to_datetime

    settings = settings_for(http_peer, smtp_peer, default_channels=["email"])
    before = datetime.now(UTC).replace(microsecond=0)
    store, alert = store_alert(f"sqlite:///{tmp_path / 'first.sqlite'}", settings)
    again = Store(f"sqlite:///{tmp_path / 'again.sqlite'}", delivery=settings.delivery)
    again.write_rows(PendingRows([], {}, [alert], {}))
    for database in (store, again):  # the same alert sent twice (a sender restarted mid-send): one Message-ID
        DeliverySender(AlertOutbox(database), remote_channels(settings.delivery), settings.delivery).run_once()
        database.close()
    store, other = store_alert(
        f"sqlite:///{tmp_path / 'other.sqlite'}", settings, alert_id="0" * 8 + "-0000-0000-0000-" + "0" * 12
    )
    DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once()
    store.close()
    first, again, third = smtp_peer[1].messages
    assert before <= parsedate_to_datetime(first["Date"]) <= datetime.now(UTC)
    assert first["Message-ID"] == again["Message-ID"] != third["Message-ID"]
    assert first["Message-ID"].startswith("<revisit.") and first["Message-ID"].endswith("@example.test>")
    assert first["Reply-To"] is None  # it went to the owner: a reply goes to the sender, nobody else
    # a digest from the team address: replies reach the owner it was about
    digest_settings = settings_for(
        http_peer,
        smtp_peer,
        default_channels=["email"],
        email={**settings_mapping_email(smtp_peer), "sender": "sales-team@example.test"},
    )
    store = Store(f"sqlite:///{tmp_path / 'digest.sqlite'}", delivery=digest_settings.delivery)
    light = replace(sample_alert(digest_settings, "owner@example.test"), tier=type(alert.tier)("C"), delivery="digest")
    store.write_rows(PendingRows([], {}, [light], {}))
    clock = Clock()
    clock.now += timedelta(days=1, hours=1)  # past the next digest time
    DeliverySender(
        AlertOutbox(store), remote_channels(digest_settings.delivery), digest_settings.delivery, clock
    ).run_once()
    digest = smtp_peer[1].messages[-1]
    assert digest["From"] == "sales-team@example.test"
    assert str(digest["Reply-To"]) == "テスト担当 <owner@example.test>"
    assert digest["Date"] is not None and digest["Message-ID"] not in {first["Message-ID"], third["Message-ID"]}
    store.close()


def test_a_digest_to_the_team_address_names_each_accounts_owner_and_has_no_reply_to(
    tmp_path, http_peer, smtp_peer, secrets
):
    """An owner without e-mail: their digest goes to ``email.fallback_to``, where the team must read
    whose account each line is; there is nobody to reply to, so no Reply-To header at all."""
    settings = settings_for(http_peer, smtp_peer, default_channels=["email"])
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}", delivery=settings.delivery)
    base = sample_alert(settings)
    light = replace(base, tier=type(base.tier)("C"), delivery="digest", owner=replace(base.owner, name="山本"))
    nobody = replace(
        light,
        alert_id="00000000-0000-0000-0000-000000000002",
        account_name="有限会社だれも",
        owner=replace(base.owner, name=""),
    )
    assert len(store.write_rows(PendingRows([], {}, [light, nobody], {}))) == 2
    clock = Clock()
    clock.now += timedelta(days=1, hours=1)  # past the next digest time
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("digest", "sent"): 2}
    store.close()
    (digest,) = smtp_peer[1].messages
    assert digest["To"] == "team@example.test" and "Reply-To" not in digest
    lines = digest.get_body(("plain",)).get_content().splitlines()
    assert {line for line in lines if line.startswith("■")} == {
        "■ 株式会社サンプル商事 (revisit test)（担当：山本）",
        "■ 有限会社だれも（担当者なし）",
    }
    assert "株式会社サンプル商事 (revisit test)（担当：山本）: " in digest.get_body(("html",)).get_content()


def settings_mapping_email(smtp_peer) -> dict:
    controller, _ = smtp_peer
    return {
        "host": controller.hostname,
        "port": controller.port,
        "security": "none",
        "fallback_to": "team@example.test",
    }


def test_replay_delivers_what_its_log_made_due_says_what_it_holds_and_a_second_replay_sends_nothing(
    tmp_path, http_peer, smtp_peer, secrets
):
    """The Apache sample log (May 2015) with the README's default grouping wait (30 s): the replay's
    delivery pass goes by the log's own time, lists what is still held (the last visit's wait runs
    past the log's last line), `revisit sender --once` then sends it, and the same log replayed
    again sends nothing of any kind."""
    from tests.conftest import APACHE_LOG, mmdb
    from tests.test_cli import ACCOUNTS, CONFIG

    host, port = http_peer.server_address
    controller, mailbox = smtp_peer
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(
        CONFIG
        + f"""
[delivery]
default_channels = ["slack", "email", "webhook"]
[delivery.slack]
api_url = "http://{host}:{port}/api/"
channel = "#sales"
[delivery.email]
host = "{controller.hostname}"
port = {controller.port}
security = "none"
sender = "revisit@example.test"
fallback_to = "team@example.test"
""",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    common = ["--config", str(tmp_path / "revisit.toml"), "--db", db]
    replay = [
        "replay",
        str(APACHE_LOG),
        "--accounts",
        str(tmp_path / "accounts.csv"),
        "--mmdb",
        mmdb("GeoIP2-ISP-Test"),
    ]
    replay += ["--alerts-jsonl", str(tmp_path / "a.jsonl"), "--workers", "1", *common]

    def run(*arguments: str) -> list[str]:
        """The command's lines about delivery (it runs as a user runs it: its own process)."""
        import os
        import subprocess
        import sys

        done = subprocess.run(
            [sys.executable, "-m", "revisit", *arguments],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line.startswith(("delivered:", "  held:"))]

    held = "until 2015-05-21 03:06 JST"
    assert run(*replay) == [
        "delivered: digest sent 1, email sent 3, slack sent 3, webhook sent 4",  # the CRM sees the digest's one too
        f"  held: Rackspace Office Inc. via email {held}",
        f"  held: Rackspace Office Inc. via slack {held}",
        f"  held: Rackspace Office Inc. via webhook {held}",
    ]
    assert (len(http_peer.requests), len(mailbox.messages)) == (7, 4)
    assert run("sender", "--once", *common) == ["delivered: email sent 1, slack sent 1, webhook sent 1"]
    assert run("sender", "--once", *common) == ["delivered: nothing due"]
    assert run(*replay) == ["delivered: nothing due"]  # the same log again: nothing of any kind
    assert run("sender", "--once", *common) == ["delivered: nothing due"]
    assert (len(http_peer.requests), len(mailbox.messages)) == (9, 5)


def test_an_owners_daily_budget_sends_the_rest_to_their_digest_highest_priority_first_and_says_so(
    tmp_path, http_peer, smtp_peer, secrets
):
    settings = settings_for(http_peer, smtp_peer, owner_daily_budget=1)
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}", delivery=settings.delivery)
    base = sample_alert(settings, "owner@example.test")
    first = replace(base, alert_id="00000000-0000-0000-0000-000000000001", priority="normal")
    medium = replace(base, alert_id="00000000-0000-0000-0000-000000000002", account_name="中村工業", priority="medium")
    high = replace(base, alert_id="00000000-0000-0000-0000-000000000003", account_name="高田製作所", priority="high")
    other = replace(
        base, alert_id="00000000-0000-0000-0000-000000000004", owner=replace(base.owner, email="other@example.test")
    )
    assert len(store.write_rows(PendingRows([], {}, [first, medium, high, other], {}))) == 4
    planned = {(alert_id[-1], channel) for alert_id, channel, *_ in AlertOutbox(store).statuses()}
    assert planned == {
        ("1", "slack"), ("1", "email"), ("1", "webhook"),  # within the budget
        ("2", "digest"), ("2", "webhook"),  # past it: the digest, and the CRM still sees it at once
        ("3", "digest"), ("3", "webhook"),
        ("4", "slack"), ("4", "email"), ("4", "webhook"),  # another owner's budget
    }  # fmt: skip
    clock = Clock()
    sender = DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery, clock)
    assert dict(sender.run_once().outcomes) == {("slack", "sent"): 2, ("email", "sent"): 2, ("webhook", "sent"): 4}
    clock.now += timedelta(days=1, hours=1)  # past the owner's next digest time
    assert dict(sender.run_once().outcomes) == {("digest", "sent"): 2}
    digest = smtp_peer[1].messages[-1]
    assert digest["To"] == "owner@example.test"
    lines = digest.get_body(("plain",)).get_content().splitlines()
    assert lines[2] == "本日の通知上限を超えたため、2 件をこちらにまとめました（優先度の高い順）。"
    assert [line for line in lines if line.startswith("■")] == ["■ 高田製作所", "■ 中村工業"]
    store.close()


def test_the_digest_comes_at_the_owners_own_morning_and_the_webhook_sees_digest_alerts_at_once(
    tmp_path, http_peer, smtp_peer, secrets
):
    from revisit.alerts.routing import plan_deliveries

    settings = settings_for(http_peer, smtp_peer, default_channels=["email", "webhook"], digest_time="08:30")
    light = replace(sample_alert(settings, "owner@example.test"), tier=type(sample_alert(settings).tier)("C"))
    light = replace(light, delivery="digest")
    monday_noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    tokyo = [(p.channel, p.not_before) for p in plan_deliveries(light, settings.delivery, monday_noon_utc)]
    assert tokyo == [("digest", datetime(2026, 11, 23, 23, 30, tzinfo=UTC)), ("webhook", monday_noon_utc)]
    new_york = replace(light, owner=replace(light.owner, timezone="America/New_York"))
    planned = [(p.channel, p.not_before) for p in plan_deliveries(new_york, settings.delivery, monday_noon_utc)]
    assert planned == [
        ("digest", datetime(2026, 11, 23, 13, 30, tzinfo=UTC)),
        ("webhook", monday_noon_utc),
    ]  # 08:30 there


def test_the_daily_budget_counts_alerts_by_when_the_rep_is_told_not_when_the_visit_began(
    tmp_path, http_peer, smtp_peer, secrets
):
    """Visits that began yesterday (23:58), told today (00:03): they count on today's budget."""
    settings = settings_for(http_peer, smtp_peer, owner_daily_budget=1)
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}", delivery=settings.delivery)
    base = sample_alert(settings, "owner@example.test")
    yesterday = timedelta(days=1)
    began_yesterday = replace(
        base,
        first_seen=base.first_seen - yesterday,
        last_seen=base.last_seen - yesterday,
        page_times=tuple(t - yesterday for t in base.page_times),
    )
    first = replace(began_yesterday, alert_id="00000000-0000-0000-0000-000000000001")
    second = replace(began_yesterday, alert_id="00000000-0000-0000-0000-000000000002", account_name="中村工業")
    assert len(store.write_rows(PendingRows([], {}, [first, second], {}))) == 2
    planned = {(alert_id[-1], channel) for alert_id, channel, *_ in AlertOutbox(store).statuses()}
    assert ("2", "digest") in planned and ("2", "email") not in planned and ("1", "email") in planned
    store.close()
